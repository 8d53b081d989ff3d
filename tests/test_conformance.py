"""Conformance decks written by others (GDL2 vectors, HbA1c anchors, UCUM examples), with exact counts.

If a calculator changes behaviour, a count here changes and the test fails; a new
disagreement nobody has explained shows up as cause "our bug" and fails too. The decks
are vendored in tests/conformance/decks/ and the runner lives in tools/conformance/
(repository tooling, not the wheel). A missing deck fails these tests; nothing is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import neuroguide as ng
import tools.conformance as conformance
from neuroguide.formulas import _scores
from tools.conformance import DECKS

# Every vendored deck folder and the files the runner reads or the FHIR work will read.
VENDORED = {
    "gdl2_test_fixtures": ("BMI.v1.test.yml", "PROVENANCE.md", "LICENSE-Apache-2.0.txt"),
    "hba1c": ("hba1c_ngsp_ifcc_eag_anchor_points.csv", "PROVENANCE.md"),
    "ucum": ("ucum_examples_v1.5_2020.tsv", "PROVENANCE.md", "LICENSE.md"),
    "ecqm_cms122": ("madie_2025PY_summary.csv", "madie_2025PY_qicore", "r4_2021", "PROVENANCE.md"),
    "cms123v7": ("cms123v7_value_sets.csv", "PROVENANCE.md", "LICENSE-Apache-2.0.txt"),
}


@pytest.mark.parametrize("deck", sorted(VENDORED))
def test_every_deck_is_vendored_with_its_licence_and_provenance(deck: str) -> None:
    folder = DECKS / deck
    assert folder.is_dir(), f"conformance deck {deck!r} is missing from {DECKS}"
    for name in VENDORED[deck]:
        assert (folder / name).exists(), f"{deck}/{name} is missing"
    assert (DECKS / "README.md").is_file()


@pytest.fixture(scope="module")
def report() -> conformance.ConformanceReport:
    return conformance.run(DECKS)


GDL = "gdl2_test_fixtures/"
CSV = "hba1c/hba1c_ngsp_ifcc_eag_anchor_points.csv"
UCUM = "ucum/ucum_examples_v1.5_2020.tsv"

# (deck, calculator): (vectors, run, agreed, disagreed, skipped, {cause: count})
EXPECTED: dict[tuple[str, str], tuple[int, int, int, int, int, dict[str, int]]] = {
    (GDL + "A1C_calculator.v1.test.yml", "eag-adag"): (2, 1, 1, 0, 1, {}),
    (GDL + "A1C_calculator.v1.test.yml", "a1c-from-eag"): (2, 2, 2, 0, 0, {}),
    (GDL + "BMI.v1.test.yml", "bmi"): (7, 7, 7, 0, 0, {}),
    (GDL + "BSA_Dubois.v1.test.yml", "bsa-dubois"): (7, 7, 7, 0, 0, {}),
    (GDL + "BSA_Mosteller.v1.test.yml", "bsa-mosteller"): (4, 4, 3, 1, 0, {"convention": 1}),
    (GDL + "Creatinine_Clearance_Cockcroft_Gault.v1.test.yml", "creatinine-clearance"): (
        12, 12, 8, 4, 0, {"convention": 4}
    ),
    (GDL + "DN4.v1.test.yml", "dn4"): (2, 2, 2, 0, 0, {}),
    (GDL + "Estimated_Average_Glucose.v1.test.yml", "eag-adag"): (5, 5, 5, 0, 0, {}),
    (GDL + "Estimated_GFR_Cockcroft_Gault.v1.test.yml", "creatinine-clearance"): (4, 4, 0, 4, 0, {"convention": 4}),
    (GDL + "Ideal_Body_Weight_Adjusted_Body_Weight.v0.test.yml", "ibw-devine"): (
        9, 9, 6, 3, 0, {"convention": 1, "deck defect": 2}
    ),
    (GDL + "Ideal_Body_Weight_Adjusted_Body_Weight.v0.test.yml", "adjusted-body-weight"): (
        4, 4, 2, 2, 0, {"convention": 1, "deck defect": 1}
    ),
    (GDL + "Ideal_Body_Weight_Adjusted_Body_Weight.v0.test.yml", "actual/IBW (adjusted-body-weight step)"): (
        4, 4, 0, 4, 0, {"convention": 3, "deck defect": 1}
    ),
    (CSV, "hba1c-to-ifcc"): (10, 10, 10, 0, 0, {}),
    (CSV, "eag-adag (mg/dL)"): (13, 13, 12, 1, 0, {"deck defect": 1}),
    (CSV, "eag-adag (mmol/L)"): (9, 9, 7, 2, 0, {"deck defect": 2}),
    (UCUM, "units.parse_unit"): (848, 238, 238, 0, 610, {}),
    (UCUM, "units.convert (safety)"): (8, 8, 8, 0, 0, {}),
}  # fmt: skip


def test_every_run_is_expected(report: conformance.ConformanceReport) -> None:
    assert {(r.deck, r.calculator) for r in report.runs} == set(EXPECTED)


@pytest.mark.parametrize(("key", "counts"), list(EXPECTED.items()), ids=[f"{d}:{c}" for d, c in EXPECTED])
def test_counts_per_deck_and_calculator(
    report: conformance.ConformanceReport,
    key: tuple[str, str],
    counts: tuple[int, int, int, int, int, dict[str, int]],
) -> None:
    r = report.get(*key)
    assert (r.total, r.run, r.agreed, r.disagreed, r.skipped, r.causes()) == counts


def test_no_unexplained_disagreement(report: conformance.ConformanceReport) -> None:
    assert report.totals()["our bug"] == 0
    for _, v in report.disagreements():
        assert v.cause in ("convention", "deck defect")
        assert v.note
    assert not any("stale entry" in v.note for r in report.runs for v in r.vectors)


def test_totals(report: conformance.ConformanceReport) -> None:
    assert report.totals() == {
        "vectors": 950,
        "run": 339,
        "agreed": 318,
        "disagreed": 21,
        "skipped": 611,
        "convention": 14,
        "deck defect": 7,
        "our bug": 0,
    }


def test_decks_without_a_calculator_are_listed(report: conformance.ConformanceReport) -> None:
    names = {d.removeprefix(GDL) for d, _, _ in report.not_applicable}
    assert names == {
        "AUDIT-C.v1.test.yml",
        "CKD-EPI.v1.test.yml",
        "CKD_classification.v1.test.yml",
        "GFR_assessment.v1.test.yml",
        "MDRD_GFR_equation.v1.test.yml",
        "Neuropathy_pain_scale.v1.test.yml",
        "Replacement_Doses_of_Vitamin_D.v2.test.yml",
        "Vitamin_D_Doses_Range_Recommendation.v0.test.yml",
    }
    assert report.missing == ()


def test_cockcroft_gault_deck_runs_with_ceil_and_derived_date(report: conformance.ConformanceReport) -> None:
    r = report.get("Creatinine_Clearance_Cockcroft_Gault.v1.test.yml", "creatinine-clearance")
    assert r.conventions[0] == "evaluation date 2019-12-31 (derived from the deck's expected ages)"
    assert "rounding='ceil' to whole mL/min (the deck's rule)" in r.conventions
    male_24_5 = next(v for v in r.vectors if v.vector == "#8 male_24yo_54kg_5mg/dl")
    assert male_24_5.outcome == "agree"
    assert male_24_5.got == "age 24; CrCl 18.00 ml/min"
    children = [v for v in r.vectors if v.outcome == "disagree"]
    assert [v.vector.split()[0] for v in children] == ["#1", "#2", "#3", "#4"]
    assert all("refused: age" in v.got for v in children)


def test_umol_deck_uses_its_current_datetime(report: conformance.ConformanceReport) -> None:
    r = report.get("Estimated_GFR_Cockcroft_Gault.v1.test.yml", "creatinine-clearance")
    assert r.conventions[0] == "evaluation date 2019-11-28 (the deck's current_datetime)"
    got = {v.vector.split()[0]: v.got for v in r.vectors}
    assert got["#3"] == "CrCl 73.86 ml/min"  # the deck's rounded 1.23 constant gives 74.00
    assert got["#4"] == "CrCl 62.78 ml/min"


def test_ibw_deck_defects_are_named(report: conformance.ConformanceReport) -> None:
    r = report.get("Ideal_Body_Weight_Adjusted_Body_Weight.v0.test.yml", "ibw-devine")
    by_pos = {v.vector.split()[0]: v for v in r.vectors}
    assert by_pos["#4"].cause == "deck defect"
    assert (by_pos["#4"].expected, by_pos["#4"].got) == ("89 lb", "196 lb")
    assert by_pos["#1"].outcome == "agree"  # empty input: both give no output
    assert by_pos["#2"].got == "151 lb"


def test_hba1c_csv_disagreements(report: conformance.ConformanceReport) -> None:
    mmol = report.get(CSV, "eag-adag (mmol/L)")
    dis = {v.vector: (v.expected, v.got) for v in mmol.vectors if v.outcome == "disagree"}
    assert dis == {"row 9: 8.0 %": ("10.1 mmol/L", "10.2 mmol/L"), "row 10: 8.5 %": ("10.9 mmol/L", "11.0 mmol/L")}
    mg = report.get(CSV, "eag-adag (mg/dL)")
    assert [(v.expected, v.got) for v in mg.vectors if v.outcome == "disagree"] == [("297 mg/dL", "298 mg/dL")]
    six = next(v for v in mg.vectors if v.vector == "row 5: 6.0 %")
    assert (six.outcome, six.got) == ("agree", "126 mg/dL")
    ifcc = report.get(CSV, "hba1c-to-ifcc")
    assert next(v for v in ifcc.vectors if v.vector == "row 6: 6.5 %").got == "48 mmol/mol"


def test_ucum_key_codes(report: conformance.ConformanceReport) -> None:
    r = report.get(UCUM, "units.parse_unit")
    by_code = {v.vector.split(": ", 1)[1]: v for v in r.vectors}
    for code in ("mg/dL", "umol/L", "pmol/L", "pg/mL", "mmol/mol", "[IU]/L", "mm[Hg]", "kg/m2", "mL/min", "%"):
        assert by_code[code].outcome == "agree", code
    for code in ("10*3/uL", "{cells}/uL", "[arb'U]", "mL/min/{1.73_m2}", "U/L", "Cel"):
        assert by_code[code].outcome == "skipped", code
        assert by_code[code].note.startswith("refused")
    safety = report.get(UCUM, "units.convert (safety)")
    assert all(v.got == "refused" for v in safety.vectors)


def test_ucum_spelling() -> None:
    assert conformance.ucum_spelling("[IU]/L") == "IU/L"
    assert conformance.ucum_spelling("mm[Hg]") == "mmHg"
    assert conformance.ucum_spelling("kg/(s.m2)") == "kg/(s*m2)"
    assert conformance.ucum_spelling("/wk") == "1/week"
    assert conformance.ucum_spelling("[lb_av]") == "lb"
    for code in ("10*3/uL", "{cells}", "24.h", "[pH]"):
        with pytest.raises(ValueError, match="refused"):
            conformance.ucum_spelling(code)


def test_iu_and_mmol_per_mol_never_convert_wrongly() -> None:
    with pytest.raises(ng.IncompatibleUnitsError):
        ng.calculators.b12_convert("1000 IU/L")
    from neuroguide.units import convert, parse_quantity

    with pytest.raises(ng.IncompatibleUnitsError):
        convert(parse_quantity("48 mmol/mol"), "umol/L", analyte="creatinine")


def test_every_gdl_deck_reads_as_a_mapping_of_test_cases() -> None:
    files = sorted((DECKS / "gdl2_test_fixtures").glob("*.test.yml"))
    assert len(files) == 17
    for path in files:
        deck = conformance.read_gdl_deck(path)
        assert isinstance(deck, dict) and deck["test_cases"], path.name


def test_a_broken_deck_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "Broken.v1.test.yml"
    bad.write_text("test_cases: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Broken\.v1\.test\.yml: not valid YAML"):
        conformance.read_gdl_deck(bad)


def test_known_causes_are_data_and_each_has_a_note() -> None:
    known = conformance.load_known_causes()
    assert len(known) == 21  # one entry per explained disagreement (14 convention + 7 deck defect)
    assert {cause for cause, _ in known.values()} == {"convention", "deck defect"}
    assert all(note for _, note in known.values())


def test_a_known_cause_without_a_valid_cause_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "known.toml"
    path.write_text(
        '[[explained]]\ndeck = "BMI.v1.test.yml"\ncalculator = "bmi"\npositions = [1]\ncause = "our bug"\nnote = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="explained entry 1"):
        conformance.load_known_causes(path)
    path.write_text('[[explained]]\ndeck = "BMI.v1.test.yml"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="lacks 'calculator'"):
        conformance.load_known_causes(path)


def test_dn4_items_match_the_deck_labels() -> None:
    deck = conformance.read_gdl_deck(DECKS / "gdl2_test_fixtures" / "DN4.v1.test.yml")
    labels = [str(k).split("|", 1)[1] for k in deck["test_cases"][0]["input"][1]]
    assert labels == [text for _, text in _scores.DN4_ITEMS]


def test_markdown_page(report: conformance.ConformanceReport) -> None:
    md = report.to_markdown()
    assert md.startswith("# Conformance against decks written by others")
    assert "| deck | calculator | vectors | run | agreed | disagreed | skipped | causes |" in md
    assert "## Disagreements and their causes" in md
    assert "Totals: 950 vectors, 339 run, 318 agreed, 21 disagreed (14 convention, 7 deck defect, 0 our bug)" in md
    for deck, _ in EXPECTED:
        assert f"`{deck}`" in md
    assert "`mm[Hg]`" in md


def test_a_changed_expectation_is_reported_as_our_bug(tmp_path: Path) -> None:
    # A deck edited to expect another BMI: nobody explained that disagreement, so it is "our bug".
    gdl = tmp_path / "gdl2_test_fixtures"
    gdl.mkdir()
    text = (DECKS / "gdl2_test_fixtures" / "BMI.v1.test.yml").read_text(encoding="utf-8")
    (gdl / "BMI.v1.test.yml").write_text(text.replace("22.22,kg/m2", "22.23,kg/m2"), encoding="utf-8")
    result = conformance.run(tmp_path)
    bmi = result.get("BMI.v1.test.yml", "bmi")
    assert (bmi.agreed, bmi.disagreed, bmi.causes()) == (6, 1, {"our bug": 1})
    assert set(result.missing) == {CSV, UCUM}


def test_partial_folder_and_missing_folder(tmp_path: Path) -> None:
    shutil.copytree(DECKS / "hba1c", tmp_path / "hba1c")
    result = conformance.run(tmp_path)
    assert [r.calculator for r in result.runs] == ["hba1c-to-ifcc", "eag-adag (mg/dL)", "eag-adag (mmol/L)"]
    assert "gdl2_test_fixtures/" in result.missing
    with pytest.raises(FileNotFoundError):
        conformance.run(tmp_path / "absent")
