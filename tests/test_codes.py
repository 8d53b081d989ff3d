"""The standard-code data (codes.toml): every fact accounted for, every code verified and traceable to its list."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from neuroguide import terminology as t
from neuroguide._docgen_codes import codes_page
from neuroguide._vocabulary import vocabulary
from neuroguide.exceptions import GuidelineDataError

DECKS = Path(__file__).parent / "conformance" / "decks"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
# How the vendored code lists name the code systems.
CSV_NAMES = {"loinc": "LOINC", "snomed": "SNOMED-CT", "icd10cm": "ICD-10-CM"}


def all_codes() -> list[tuple[str, t.Code]]:
    return [(fact, c) for fact, b in t.bindings().items() for c in b.codes]


def test_every_fact_is_bound_or_says_why_not() -> None:
    bound, unbound = set(t.bindings()), set(t.unbound()) - {"medications"}
    facts = set(vocabulary())
    assert not bound & unbound
    assert facts - bound - unbound == set(), "add the fact to [facts] or [unbound] in codes.toml"
    assert (bound | unbound) - facts == set()
    assert all(reason.strip() for reason in t.unbound().values())
    assert t.unbound_reason("medications")


def test_findings_and_conditions_bound_since_0_1() -> None:
    # 19 facts had codes before the findings and conditions were bound; these five were added with their lists
    added = {"claudication", "foot-ulcer", "bariatric-surgery", "known-cancer", "optic-neuritis-history"}
    assert added <= set(t.bindings())
    assert len(t.bindings()) >= 24


def test_every_binding_has_codes_or_a_value_set_and_a_resource() -> None:
    for fact, binding in t.bindings().items():
        assert binding.codes or binding.value_set, fact
        assert binding.resource is not None, fact


def test_every_code_has_a_verification_record() -> None:
    sources = t.sources()
    for fact, c in all_codes():
        assert c.source in sources, (fact, c.code)
        assert c.display.strip() and c.version.strip(), (fact, c.code)
        assert len(c.verification) > 40, (fact, c.code)  # says where and how, not just "checked"
        assert c.system.uri in (LOINC, SCT, ICD), (fact, c.code)


def test_hl7_page_codes_are_rows_of_the_vendored_file() -> None:
    with (DECKS / "hl7_fhir_codes" / "fhir_vitalsigns_heartrate_loinc.csv").open(encoding="utf-8") as f:
        rows = {r["code"]: r["display"] for r in csv.DictReader(f)}
    checked = [(fact, c) for fact, c in all_codes() if c.source == "fhir-vitalsigns-heartrate"]
    assert checked
    for fact, c in checked:
        assert rows.get(c.code) == c.display, (fact, c.code)


def test_vsac_codes_are_rows_of_the_vendored_value_set_file() -> None:
    rows = {}
    for path in sorted((DECKS / "vsac_ecqm_2024").glob("vsac_ecqm_2024_*.csv")):  # codes, then findings
        with path.open(encoding="utf-8") as f:
            rows.update({(r["code_system_name"], r["code"]): r for r in csv.DictReader(f)})
    checked = 0
    for fact, c in all_codes():
        if c.source != "vsac-ecqm-2024":
            continue
        row = rows.get((CSV_NAMES[c.system.key], c.code))
        assert row is not None, f"{fact}: {c.code} is not in the vendored VSAC rows"
        assert row["display"] == c.display, (fact, c.code)
        assert row["code_system_version"] in c.version, (fact, c.code)
        assert row["valueset_oid"] in c.verification, (fact, c.code)
        checked += 1
    assert checked >= 100


def test_hspc_lab_codes_are_rows_of_the_vendored_fhir_value_set_file() -> None:
    with (DECKS / "hl7_fhir_codes" / "fhir_hspc_quantitative_labs_loinc.csv").open(encoding="utf-8") as f:
        rows = {r["code"]: r for r in csv.DictReader(f)}
    checked = [(fact, c) for fact, c in all_codes() if c.source == "fhir-hspc-quantitative-labs"]
    assert [c.code for _, c in checked] == ["2132-9"]
    for fact, c in checked:
        row = rows[c.code]
        assert (row["code_system"], row["display"]) == (c.system.uri, c.display), (fact, c.code)
        assert row["commit"] in c.verification and row["file"] in c.verification, (fact, c.code)


def test_glycemic_screening_codes_are_rows_of_the_vendored_value_set_file() -> None:
    with (DECKS / "vsac_dqm_2026" / "vsac_dqm_2026_codes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    checked = [(fact, c) for fact, c in all_codes() if c.source == "vsac-dqm-2026"]
    assert {c.code for _, c in checked} == {"1518-0", "14995-5"}
    for fact, c in checked:
        mine = [r for r in rows if (r["code_system_name"], r["code"]) == (CSV_NAMES[c.system.key], c.code)]
        # listed in both 'Glycemic Screening Tests' value sets, with the same display and LOINC version
        assert {r["valueset_oid"] for r in mine} == {"2.16.840.1.113762.1.4.1160.4", "2.16.840.1.113762.1.4.1160.5"}
        for row in mine:
            assert row["display"] == c.display, (fact, c.code)
            assert row["code_system_version"] in c.version, (fact, c.code)
            assert row["valueset_oid"] in c.verification, (fact, c.code)


def test_cms123_codes_are_rows_of_the_vendored_value_set_file() -> None:
    with (DECKS / "cms123v7" / "cms123v7_value_sets.csv").open(encoding="utf-8") as f:
        rows = {(r["code_system_name"], r["code"]): r["display"] for r in csv.DictReader(f)}
    for fact, c in all_codes():
        if c.source == "cms123v7":
            assert rows[(CSV_NAMES[c.system.key], c.code)] == c.display, (fact, c.code)


# Expected codes written from the VSAC expansions themselves (not read from codes.toml).
EXPECTED = [
    (LOINC, "29463-7", "weight", "Body weight"),
    (LOINC, "3141-9", "weight", "Body weight Measured"),
    (LOINC, "8302-2", "height", "Body height"),
    (LOINC, "2160-0", "serum-creatinine", "Creatinine [Mass/volume] in Serum or Plasma"),
    (LOINC, "14682-9", "serum-creatinine", "Creatinine [Moles/volume] in Serum or Plasma"),
    (LOINC, "1558-6", "fasting-glucose", "Fasting glucose [Mass/volume] in Serum or Plasma"),
    (LOINC, "2345-7", "random-glucose", "Glucose [Mass/volume] in Serum or Plasma"),
    (LOINC, "2132-9", "b12-total", "Cobalamin (Vitamin B12) [Mass/volume] in Serum or Plasma"),
    (LOINC, "1518-0", "ogtt-2h-glucose", "Glucose [Mass/volume] in Serum or Plasma --2 hours post 75 g glucose PO"),
    (LOINC, "14995-5", "ogtt-2h-glucose", "Glucose [Moles/volume] in Serum or Plasma --2 hours post 75 g glucose PO"),
    (LOINC, "4548-4", "hba1c", "Hemoglobin A1c/Hemoglobin.total in Blood"),
    (LOINC, "40443-4", "resting-heart-rate", "Heart rate --resting"),
    (ICD, "N18.6", "end-stage-renal-disease", "End stage renal disease"),
    (SCT, "46177005", "end-stage-renal-disease", "End-stage renal disease (disorder)"),
    (ICD, "N18.31", "kidney-disease", "Chronic kidney disease, stage 3a"),
    (SCT, "4855003", "retinopathy", "Retinopathy due to diabetes mellitus (disorder)"),
    (SCT, "77176002", "smoker", "Smoker (finding)"),
    (ICD, "F10.20", "alcohol-excess", "Alcohol dependence, uncomplicated"),
    (ICD, "K50.90", "inflammatory-bowel-disease", "Crohn's disease, unspecified, without complications"),
    (ICD, "K90.0", "malabsorption", "Celiac disease"),
    (SCT, "367336001", "chemotherapy", "Chemotherapy (procedure)"),
    (SCT, "63491006", "claudication", "Intermittent claudication (finding)"),
    (SCT, "238794007", "foot-ulcer", "Ischemic foot ulcer (disorder)"),
    (ICD, "L89.623", "foot-ulcer", "Pressure ulcer of left heel, stage 3"),
    (SCT, "430715008", "bariatric-surgery", "Bariatric operative procedure (procedure)"),
]


@pytest.mark.parametrize(("system", "code", "fact", "display"), EXPECTED)
def test_code_stands_for_its_fact(system: str, code: str, fact: str, display: str) -> None:
    found = t.lookup(system, code)
    assert found is not None
    assert found[0] == fact
    assert found[1].display == display


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (LOINC, "38483-4"),  # creatinine in whole blood: not serum creatinine
        (LOINC, "2339-0"),  # glucose in blood: the criteria are for plasma
        (ICD, "F10.21"),  # alcohol dependence in remission: not current use
        (ICD, "K51.40"),  # inflammatory polyps of colon
        (SCT, "8392000"),  # non-smoker
        (LOINC, "8867-4"),  # heart rate, not said to be at rest
        (ICD, "L89.621"),  # pressure ulcer of the heel, stage 1: intact skin, not an ulcer
        (ICD, "I70.243"),  # ulceration of the ankle, not the foot
        (ICD, "I70.219"),  # claudication of an extremity not said to be a leg
        (SCT, "26452005"),  # total gastrectomy: not bariatric surgery
        (ICD, "R33.9"),  # retention of urine: the red flag must be new, a code cannot say so
        (LOINC, "69001-6"),  # heart rate standing, not at rest
    ],
)
def test_neighbouring_codes_that_mean_something_else_are_not_bound(system: str, code: str) -> None:
    assert t.lookup(system, code) is None


def test_diabetes_codes_still_read_as_diabetes() -> None:
    for system, code in ((SCT, "44054006"), (ICD, "E11.9"), (ICD, "E11.42"), (ICD, "E11.319")):
        found = t.lookup(system, code)
        assert found is not None and found[0] == "diabetes", code


def test_preferred_code_is_the_first_listed() -> None:
    weight = t.preferred("weight")
    assert weight is not None and weight.code == "29463-7"
    assert t.preferred("numbness") is None
    assert t.preferred("prior-amputation") is None  # a value set, no single code to send


def test_a_code_listed_for_two_facts_is_refused() -> None:
    c = t.bindings()["weight"].codes[0]
    clash = {
        "weight": t.bindings()["weight"],
        "height": t.Binding(fact="height", codes=(c,), resource=t.Resource.OBSERVATION),
    }
    problems = t._clashes(clash)
    assert problems and "29463-7" in str(problems[0])
    with pytest.raises(GuidelineDataError):
        raise GuidelineDataError(problems)


def test_codes_page_shows_each_facts_codes_and_each_reason() -> None:
    page = codes_page().text
    for _fact, c in all_codes():
        assert c.code in page
    for fact, reason in t.unbound().items():
        assert reason.split(".")[0].replace("'", "") in page.replace("\\", "").replace("'", ""), fact
    assert f"{len(t.bindings())} of {len(vocabulary())} facts" in page


# The wording each "second fact" rule relies on, written from the value-set displays (not read from codes.toml).
IMPLIED_WORDING = {
    "diabetic-peripheral-neuropathy": "with diabetic polyneuropathy",
    "retinopathy": "diabetic retinopathy",
    "foot-ulcer": "with foot ulcer",
    "charcot-foot": "neuropathic arthropathy",
    "dialysis": "on dialysis",
}
# Peripheral artery disease or limb ischaemia, as the displays of the pad rules state it.
PAD_WORDING = (
    "ischemic foot ulcer",
    "ischemic ulcer of toe",
    "atherosclerosis of native arteries of right leg",
    "atherosclerosis of native arteries of left leg",
    "atherosclerosis of native arteries of extremities with intermittent claudication",
    "due to atherosclerosis of artery of limb",
    "with diabetic peripheral angiopathy",
    "with peripheral angiopathy",
)


def test_each_second_fact_code_says_so_in_its_own_display() -> None:
    for rule in t.implications():
        for code in rule.codes:
            found = t.lookup(rule.system.uri, code)
            assert found is not None and found[0] != rule.fact, (rule.fact, code)
            display = found[1].display.lower()
            if rule.fact == "kidney-disease":
                assert "chronic kidney disease" in display or display == "end stage renal disease", code
                continue
            if rule.fact == "pad":
                assert any(w in display for w in PAD_WORDING), (code, display)
                continue
            wording = IMPLIED_WORDING[rule.fact]
            assert wording in display, (rule.fact, code, display)
            assert f"without {wording.split()[-1]}" not in display, (rule.fact, code, display)


@pytest.mark.parametrize(
    ("system", "code", "facts"),
    [
        (ICD, "E11.42", ("diabetic-peripheral-neuropathy",)),
        (ICD, "E10.3293", ("retinopathy",)),
        (ICD, "E13.621", ("foot-ulcer",)),
        (SCT, "314904008", ("charcot-foot",)),
        (ICD, "E11.22", ("kidney-disease",)),
        (ICD, "N18.6", ("kidney-disease",)),
        (SCT, "236435004", ("dialysis",)),
        (ICD, "E11.40", ()),  # diabetic neuropathy, unspecified: not said to be a polyneuropathy
        (ICD, "E11.21", ()),  # diabetic nephropathy: not said to be chronic kidney disease
        (ICD, "E11.36", ()),  # diabetic cataract
        (SCT, "1481000119100", ()),  # type 2 diabetes WITHOUT retinopathy
        (SCT, "236436003", ()),  # end-stage renal failure with a transplant: not on dialysis
        (SCT, "238794007", ("pad",)),  # ischaemic foot ulcer
        (SCT, "429768000", ("pad",)),  # ischaemic ulcer of toe
        (ICD, "I70.234", ("pad",)),
        (ICD, "I70.235", ("pad",)),
        (ICD, "I70.244", ("pad",)),
        (ICD, "I70.245", ("pad",)),
        (ICD, "I70.211", ("pad",)),
        (ICD, "I70.212", ("pad",)),
        (ICD, "I70.213", ("pad",)),
        (SCT, "792845002", ("pad",)),  # claudication due to atherosclerosis
        (SCT, "63491006", ()),  # intermittent claudication: names no cause
        (ICD, "L89.612", ()),  # heel pressure ulcer: not ischaemic
        (ICD, "E10.51", ("pad",)),
        (ICD, "E10.52", ("pad",)),
        (ICD, "E11.51", ("pad",)),
        (ICD, "E11.52", ("pad",)),
        (ICD, "E13.51", ("pad",)),
        (ICD, "E13.52", ("pad",)),
        (SCT, "314902007", ("pad",)),  # type II diabetes with peripheral angiopathy
        (ICD, "E11.59", ()),  # other circulatory complications: not said to be peripheral
    ],
)
def test_codes_that_name_a_second_fact(system: str, code: str, facts: tuple[str, ...]) -> None:
    assert t.implied(system, code) == facts


def test_history_rules_name_boolean_facts_and_a_past_finding() -> None:
    rules = {h.fact: h.of for h in t.histories()}
    assert rules == {"prior-foot-ulcer": ("foot-ulcer",)}
    assert t.history_of("foot-ulcer") == ("prior-foot-ulcer",)
    assert t.history_of("claudication") == ()


def test_codes_page_lists_the_second_fact_rules() -> None:
    page = codes_page().text
    assert "Codes that name a second fact" in page
    for rule in t.implications():
        assert f"`{rule.fact}`" in page


# Written from the HL7 pages themselves (FHIR heart-rate value set, US Core 3.1.1 allergy substances), not codes.toml.
RESTING_HEART_RATE = {
    "40443-4": "Heart rate --resting",
    "67129-7": "Heart rate Peripheral artery by palpation --resting",
}
RXNORM_INGREDIENTS = {
    "6809": ("metformin", "Metformin"),
    "25480": ("gabapentin", "gabapentin"),
    "187832": ("pregabalin", "pregabalin"),
    "72625": ("duloxetine", "duloxetine"),
    "11248": ("vitamin B12", "Vitamin B 12"),
    "32592": ("oxaliplatin", "oxaliplatin"),
    "56946": ("paclitaxel", "Paclitaxel"),
    "40048": ("carboplatin", "Carboplatin"),
    "6922": ("metronidazole", "Metronidazole"),
    "7486": ("nitrous oxide", "Nitrous Oxide"),
    "11202": ("vincristine", "vincristine"),  # HL7 mCODE 4.0.0 vincristine examples
}


def test_resting_heart_rate_codes_are_the_resting_codes_of_the_fhir_value_set() -> None:
    with (DECKS / "hl7_fhir_codes" / "fhir_vitalsigns_heartrate_loinc.csv").open(encoding="utf-8") as f:
        rows = {r["code"]: r["display"] for r in csv.DictReader(f)}
    codes = {c.code: c.display for c in t.bindings()["resting-heart-rate"].codes}
    assert codes == RESTING_HEART_RATE
    for code, display in codes.items():
        assert rows[code] == display and "--resting" in display
    for neighbour in ("8867-4", "68999-2", "69000-8", "69001-6"):  # no state, supine, sitting, standing
        assert t.lookup(LOINC, neighbour) is None


def test_rxnorm_ingredient_codes_are_rows_of_the_hl7_lists() -> None:
    with (DECKS / "hl7_fhir_codes" / "us_core_allergy_substance_rxnorm.csv").open(encoding="utf-8") as f:
        rows = {r["code"]: r["display"] for r in csv.DictReader(f)}
    with (DECKS / "hl7_fhir_codes" / "mcode_stu4_rxnorm.csv").open(encoding="utf-8") as f:
        mcode = {r["code"]: r["display"] for r in csv.DictReader(f)}
    found = t.ingredients()
    assert set(found) == set(rows) | set(mcode)
    for code, entry in found.items():
        listed = rows if entry.source == "us-core-allergy-substance" else mcode
        assert entry.source in ("us-core-allergy-substance", "mcode-stu4") and len(entry.verification) > 40
        assert listed[code] == entry.display, code
    for code, (drug, display) in RXNORM_INGREDIENTS.items():
        got = t.ingredient(code)
        assert got is not None and (got.ingredient, got.display) == (drug, display)
    assert t.ingredient("860975") is None  # metformin 500 mg oral tablet: a clinical drug, not the ingredient


def test_every_rxnorm_ingredient_is_a_drug_neuroguide_recognises() -> None:
    import re

    from neuroguide._agents import RECOGNISED

    root = Path(__file__).parent.parent / "guidelines"
    agents = {
        a.casefold() for f in root.glob("*/*.toml") for a in re.findall(r'^agent = "([^"]+)"', f.read_text(), re.M)
    }
    for entry in t.ingredients().values():
        assert entry.ingredient.casefold() in agents | RECOGNISED, entry.ingredient


def test_codes_page_lists_the_rxnorm_ingredient_codes() -> None:
    page = codes_page().text
    for code, (drug, _) in RXNORM_INGREDIENTS.items():
        assert f"`{code}`" in page and drug in page


def test_every_ucum_code_is_the_row_of_the_ucum_example_table_it_names() -> None:
    with (DECKS / "ucum" / "ucum_examples_v1.5_2020.tsv").open(encoding="utf-8") as f:
        rows = {int(r[0]): r[1] for r in csv.reader(f, delimiter="\t") if r and r[0].isdigit()}
    for code in t.ucum_units():
        row = t.ucum_row(code)
        assert row is not None and rows[row] == code, (code, row)
    for code in ("[lb_av]", "[in_i]", "kPa"):  # units an EHR sends for weight, height and pressures
        assert t.ucum_unit(code) is not None
    assert t.ucum_unit("[oz_av]") is None  # ounces: not on neuroguide's unit allow-list
