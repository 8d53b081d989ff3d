"""Bad input is refused with a clear, field-naming error; never a traceback from inside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.cli import main

AS_OF = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ng.assess([], as_of=AS_OF), "patient"),  # type: ignore[arg-type]
        (lambda: ng.assess({}, as_of=dt.date(9999, 12, 31)), "as_of"),
        (lambda: ng.assess({}, as_of=AS_OF, statuses=("bogus",)), "statuses"),
        (lambda: ng.neurotoxicity(None), "name"),  # type: ignore[arg-type]
    ],
)
def test_api_input_errors_name_the_field(call: Any, field: str) -> None:
    with pytest.raises(ng.InputError) as info:
        call()
    assert info.value.field == field


def test_unknown_guideline_filter_is_refused() -> None:
    with pytest.raises(ng.UnknownGuidelineError, match="nope"):
        ng.assess({}, as_of=AS_OF, guidelines=("nope",))


def test_dose_before_any_dosing_guideline_says_so() -> None:
    with pytest.raises(ng.NotInEffectError, match="in effect on 2020-01-01"):
        ng.check_dose("pregabalin", "300 mg", per="day", crcl="90 mL/min", as_of=dt.date(2020, 1, 1))
    with pytest.raises(ng.UnknownAgentError):
        ng.check_dose("pregablin", "300 mg", per="day")


@pytest.mark.parametrize(
    ("medication", "field"),
    [
        ({"agent": "metformin", "dose": "2000 mL", "per": "day"}, "medications[0].dose"),
        ({"agent": "metformin", "started": "2020-01-01", "stopped": "2019-01-01"}, "medications[0].stopped"),
    ],
)
def test_medication_input_is_checked(medication: dict[str, Any], field: str) -> None:
    with pytest.raises(ng.InputError) as info:
        ng.Patient.from_dict({"medications": [medication]})
    assert info.value.field == field


def test_binary_file_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ng.InputError, match="UTF-8"):
        ng.Patient.from_json(path)
    assert main(["assess", str(path), "--as-of", "2026-11-23"]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_validate_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/no/such/dir/2020.1.toml"]) == 2
    assert "readable guideline file" in capsys.readouterr().err


def test_verify_without_a_lock_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--root", str(tmp_path)]) == 2
    assert "lock.json" in capsys.readouterr().err


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"neuroguide {ng.__version__}"
