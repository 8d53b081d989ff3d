from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide.cli import main

EXAMPLE = {
    "id": "cli-example",
    "birth_date": "1962-03-14",
    "diabetes": {"type": "type-2", "diagnosed": "2012-05-02"},
    "last": {"neuropathy-exam": "2025-06-10"},
}


@pytest.fixture
def patient_file(tmp_path: Path) -> Path:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    return path


def test_assess_prints_a_report(patient_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(patient_file), "--as-of", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    assert "Evaluation date 2026-11-23\n" in out
    assert "OVERDUE by 166 days (due 2025-06-10)" not in out  # due is 12 months after the last exam
    assert "OVERDUE by 166 days (due 2026-06-10)" in out
    assert "rule dpn-screening (ada-neuropathy 2026.2)" in out
    assert "Guideline versions used:" in out
    assert "sha256" in out


def test_assess_json_is_the_record_and_replays(patient_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(patient_file), "--as-of", "2026-11-23", "--json"]) == 0
    record = ng.EvaluationRecord.from_json(capsys.readouterr().out)
    assert record.as_of.isoformat() == "2026-11-23"
    assert ng.replay(record).identical


def test_assess_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(EXAMPLE)))
    assert main(["assess", "-", "--as-of", "2026-11-23"]) == 0
    assert "dpn-screening" in capsys.readouterr().out


def test_bad_input_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"measurements": {"serum-creatinine": "0 mg/dL"}}), encoding="utf-8")
    assert main(["assess", str(path), "--as-of", "2026-11-23"]) == 2
    err = capsys.readouterr().err
    assert "measurements.serum-creatinine" in err
    assert "0 mg/dL" in err


def test_bad_date_option_exits_2(patient_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["assess", str(patient_file), "--as-of", "23/11/2026"])
    assert info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", "/no/such/file.json", "--as-of", "2026-11-23"]) == 2
    assert "file" in capsys.readouterr().err


def test_rules_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--guideline", "ada-neuropathy"]) == 0
    assert "dpn-screening" in capsys.readouterr().out
    assert main(["rules", "--kind", "screening", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(r["kind"] == "screening" for r in rows)
    assert main(["show", "dpn-screening"]) == 0
    out = capsys.readouterr().out
    assert "5 years after the diagnosis of type 1 diabetes" in out
    assert "verified secondary" in out
    assert main(["show", "no-such-rule"]) == 2


def test_validate_packaged(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["assess", "rules", "show", "dose", "calc", "validate"])
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_calc_runs_a_calculator(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calc", "cockcroft-gault", "age=70", "weight=72 kg", "serum_creatinine=1.4 mg/dL", "sex=female"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cockcroft-gault" in out
    assert "42.5 mL/min" in out  # (140 - 70) x 72 / (72 x 1.4) x 0.85 = 42.5


def test_calc_lists_inputs_and_names_them_on_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "cockcroft-gault"]) == 0
    assert "inputs: age=... weight=... serum_creatinine=... sex=..." in capsys.readouterr().out
    assert main(["calc", "cockcroft-gault", "age=70"]) == 2
    assert "serum_creatinine=..." in capsys.readouterr().err


def test_assess_without_as_of_says_it_used_today(patient_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(patient_file)]) == 0
    assert "(today; choose another date with --as-of YYYY-MM-DD)" in capsys.readouterr().out


def test_dose_requires_a_period(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["dose", "cyanocobalamin", "1000 ug", "--route", "intramuscular"])
    assert exc.value.code == 2
    assert "--per" in capsys.readouterr().err


def test_calc_names_an_unknown_or_missing_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "cockcroft-gault", "age=70", "weigth=72 kg", "serum_creatinine=1.4 mg/dL", "sex=female"]) == 2
    err = capsys.readouterr().err
    assert "cockcroft-gault.weigth" in err and "'weight'" in err and "72 kg" in err
    assert main(["calc", "cockcroft-gault", "age=70", "sex=female"]) == 2
    err = capsys.readouterr().err
    assert "cockcroft-gault.weight" in err and "serum_creatinine=..." in err


def test_schema_prints_the_patient_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from neuroguide.schema import patient_schema

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == patient_schema()


def test_dose_include_in_review_checks_an_in_review_regimen_and_says_it_is_not_verified(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # midodrine's only regimen (midodrine-oh) is in review: without the option the dose is not checked.
    assert main(["dose", "midodrine", "30 mg", "--per", "day", "--as-of", "2026-11-30"]) == 2
    err = capsys.readouterr().err
    assert "in review" in err and "--include-in-review" in err  # says how to check it anyway
    argv = ["dose", "midodrine", "30 mg", "--per", "day", "--as-of", "2026-11-30", "--include-in-review"]
    assert main(argv) == 1  # within the unverified regimen's range: marked, and not a pass
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert head.startswith("WITHIN-RANGE; NOT YET VERIFIED (rule in review): ")
    assert "rule midodrine-oh (drug-dosing" in out
    assert "  unverified: no approved regimen for midodrine; rule midodrine-oh is in review" in out
    assert main([*argv[:2], "90 mg", *argv[3:]]) == 1  # above 30 mg/day: still a finding, marked unverified
    assert capsys.readouterr().out.startswith("ABOVE-RANGE; NOT YET VERIFIED (rule in review): ")
    assert main([*argv, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["rule_status"] == "in-review"
    # An approved regimen is checked as before and not marked.
    approved = ["dose", "gabapentin", "900 mg", "--per", "day", "--crcl", "70 mL/min", "--as-of", "2026-11-30"]
    assert main(approved) == 0
    plain = capsys.readouterr().out
    assert main([*approved, "--include-in-review"]) == 0
    assert capsys.readouterr().out == plain and plain.startswith("WITHIN-RANGE: ")


def test_dose_include_in_review_never_turns_an_approved_finding_into_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    # The clinician's case: 300 ug/day sublingual is below the approved ASMBS 350-500 ug/day (b12-bariatric-oral);
    # the in-review seed regimen (250-350 ug/day) must not make it a pass.
    argv = ["dose", "cyanocobalamin", "300 ug", "--per", "day", "--route", "sublingual", "--as-of", "2026-11-30"]
    assert main(argv) == 1
    plain = capsys.readouterr().out
    assert plain.startswith("BELOW-RANGE: ") and "rule b12-bariatric-oral (drug-dosing" in plain
    assert main([*argv, "--include-in-review"]) == 1
    assert capsys.readouterr().out == plain  # the approved verdict, unmarked, as without the option
    # Within the approved range: a pass either way, unmarked.
    within = [*argv[:2], "400 ug", *argv[3:]]
    assert main(within) == 0 and main([*within, "--include-in-review"]) == 0
    assert "NOT YET VERIFIED" not in capsys.readouterr().out


def test_dose_help_states_the_exit_codes_and_what_include_in_review_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dose", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "used only when no approved one names the drug" in text
    assert (
        "exit codes: 0 within the range of an approved regimen; 1 not within it, or any verdict from a regimen in"
        in text
    )


def test_dose_help_offers_include_in_review_as_assess_does(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("assess", "dose"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--include-in-review also evaluate rules still in review" in text, command


def test_help_wraps_to_the_width_shutil_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from neuroguide import cli

    for columns in ("57", "0", "wide"):
        monkeypatch.setenv("COLUMNS", columns)
        assert cli._columns() == shutil.get_terminal_size().columns
    monkeypatch.delenv("COLUMNS")
    assert cli._columns() == shutil.get_terminal_size().columns
    monkeypatch.setenv("COLUMNS", "57")
    import argparse

    assert cli._Help("neuroguide")._width == argparse.RawDescriptionHelpFormatter("neuroguide")._width == 55


def test_a_core_command_runs_without_the_cyclic_collector_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from neuroguide import cli

    seen: list[bool] = []

    def dispatch(args: object) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    assert gc.isenabled()
    assert cli.main(["assess", "examples/t2d-metformin.json"]) == 0
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        cli.main(["assess", "examples/t2d-metformin.json"])
    finally:
        assert not gc.isenabled()
        gc.enable()
