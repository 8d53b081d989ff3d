"""``neuroguide assess`` on a FHIR Bundle: read through neuroguide.fhir, or a clear error without the extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroguide.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in (EXAMPLES / "fhir").glob("*.json"))
AS_OF = "2026-11-23"


def run(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["assess", str(path), "--as-of", AS_OF, *extra])
    got = capsys.readouterr()
    return code, got.out, got.err


def with_encounter(tmp_path: Path) -> Path:
    bundle = json.loads((EXAMPLES / "fhir" / "t2d-metformin.json").read_text(encoding="utf-8"))
    encounter = {"resourceType": "Encounter", "id": "visit-1", "status": "finished", "class": {"code": "AMB"}}
    bundle["entry"].append({"resource": encounter})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", NAMES)
def test_a_bundle_gives_the_report_of_its_json_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    code, from_fhir, err = run(EXAMPLES / "fhir" / f"{name}.json", capsys)
    assert code == 0, err
    assert run(EXAMPLES / f"{name}.json", capsys)[1] == from_fhir


def test_unrecognised_resources_are_listed_in_their_own_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    code, out, _ = run(with_encounter(tmp_path), capsys, "--all-missing")
    assert code == 0
    missing, notes = out.split("What is missing to decide more")[1].split("From the FHIR data: not used")
    assert "Encounter/visit-1" not in missing  # not an input to add
    assert "Encounter/visit-1" in notes and "does not read this resource type" in notes


def test_json_output_warns_about_what_was_not_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    code, out, err = run(with_encounter(tmp_path), capsys, "--json")
    assert code == 0 and json.loads(out)["as_of"] == AS_OF
    assert "1 FHIR item(s) not used" in err and "Encounter/visit-1" in err


def test_without_the_fhir_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from neuroguide import fhir

    monkeypatch.setattr(fhir, "_MISSING_EXTRA", ImportError("No module named 'fhir.resources'"))
    code, out, err = run(EXAMPLES / "fhir" / "t2d-metformin.json", capsys)
    assert code == 2 and out == ""
    assert "FHIR (Bundle)" in err and "neuroguide[fhir]" in err and "from a checkout" in err


def test_patient_json_is_still_read_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(EXAMPLES / "t2d-metformin.json", capsys)
    assert code == 0 and "neuroguide assessment of" in out
