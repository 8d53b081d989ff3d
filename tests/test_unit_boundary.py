"""One unit-parsing boundary: every malformed unit text is a UnitError naming the text, on every public entry point.

The crashers are the inputs that made pint's parser raise TokenError, TypeError,
AssertionError or ZeroDivisionError in 0.1.0 (reliability review 2026-11), and
their neighbours.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.cli import main
from neuroguide.units import parse_quantity, parse_unit
from test_fuzz import CALC_VALID

# The one list of pint crashers is the bad-input catalogue (tests/data/bad_inputs/units.json, ids "crasher-N").
_DECK = json.loads((Path(__file__).parent / "data" / "bad_inputs" / "units.json").read_text(encoding="utf-8"))
CRASHERS = [case["text"] for case in _DECK["cases"] if case["id"].startswith("crasher-")]
UNIT_CRASHERS = [";", "{", "mg(", "mg+mg", "mg/0", "0/0", "mg**", ")", "mg mg", "%%", "mg^^2", "(" * 500]
AS_OF = dt.date(2026, 11, 23)


@pytest.mark.parametrize("text", CRASHERS)
def test_parse_quantity_names_the_text(text: str) -> None:
    with pytest.raises(ng.UnitError) as info:
        parse_quantity(text, "dose")
    assert info.value.field == "dose"
    assert info.value.value == text


@pytest.mark.parametrize("text", UNIT_CRASHERS)
def test_parse_unit_names_the_text(text: str) -> None:
    with pytest.raises(ng.UnknownUnitError) as info:
        parse_unit(text, "unit")
    assert info.value.value == text


VALID = ["300 mg", "1.0 mg / dL", "72 1/min", "2 min^-1", "550 mg/m2", "1.2 mg/(dL)", "5 mg/kg/day"]


@pytest.mark.parametrize("text", VALID)
def test_valid_units_still_parse(text: str) -> None:
    assert parse_quantity(text, "x").magnitude > 0


def _patient_entry(text: str) -> list[Callable[[], Any]]:
    return [
        lambda: ng.assess({"measurements": {"weight": text}}, as_of=AS_OF),
        lambda: ng.Patient.from_dict({"medications": [{"agent": "gabapentin", "dose": text, "per": "day"}]}),
        lambda: ng.Patient.from_dict({"medications": [{"agent": "oxaliplatin", "cumulative": text}]}),
        lambda: ng.check_dose("gabapentin", text, per="day"),
        lambda: ng.check_dose("gabapentin", "300 mg", per="day", crcl=text),
    ]


# The valid calculator calls are the fuzz targets' table; the calculators that take no quantity are left out.
_BOOLEAN_CALCS = ("dn4", "tcss", "mnsi-examination", "mnsi-questionnaire", "iwgdf-category")
_CALC_VALID = {name: kwargs for name, kwargs in CALC_VALID.items() if name not in _BOOLEAN_CALCS}


def _calc_entries(text: str) -> list[Callable[[], Any]]:
    calls: list[Callable[[], Any]] = []
    for name, kwargs in _CALC_VALID.items():
        fn = ng.calculators.REGISTRY[name]
        for key, value in kwargs.items():
            if isinstance(value, str) and key != "sex":
                calls.append(functools.partial(fn, **{**kwargs, key: text}))
    return calls


def test_every_calculator_has_a_valid_call() -> None:
    quantity_calcs = {n for n in ng.calculators.REGISTRY if n not in _BOOLEAN_CALCS}
    assert quantity_calcs == set(_CALC_VALID)
    for name, kwargs in _CALC_VALID.items():
        ng.calculators.REGISTRY[name](**kwargs)


@pytest.mark.parametrize("text", CRASHERS[:20])
def test_every_api_entry_point_refuses_crashers_with_a_neuroguide_error(text: str) -> None:
    for call in [*_patient_entry(text), *_calc_entries(text)]:
        with pytest.raises(ng.NeuroguideError):
            call()


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("text", CRASHERS[:14])
def test_cli_commands_exit_2_naming_the_text(text: str, tmp_path: Path) -> None:
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps({"measurements": {"weight": text}}), encoding="utf-8")
    for argv in (
        ("dose", "gabapentin", text, "--per", "day", "--crcl", "90 mL/min"),
        ("dose", "gabapentin", "300 mg", "--per", "day", "--crcl", text),
        ("calc", "cockcroft-gault", "age=60", f"weight={text}", "serum_creatinine=1 mg/dL", "sex=male"),
        ("assess", str(patient), "--as-of", "2026-11-23"),
    ):
        code, shown = _cli(*argv)
        assert code == 2, shown
        assert "Traceback" not in shown
        assert text in shown


@pytest.mark.parametrize("text", ["500 ug(", "500 ;", "500 ug+ug", "500 ug/0", "500 )"])
def test_guideline_loader_refuses_unit_typos_naming_file_and_key(text: str) -> None:
    from neuroguide._loading import guideline_root, load_file

    data = (guideline_root() / "drug-dosing" / "2026.1.toml").read_text(encoding="utf-8")
    assert 'dose_max = "500 ug"' in data
    broken = data.replace('dose_max = "500 ug"', f'dose_max = "{text}"', 1).encode()
    with pytest.raises(ng.GuidelineDataError) as info:
        load_file(broken, "drug-dosing/2026.1.toml")
    assert "drug-dosing/2026.1.toml" in str(info.value)
    assert "dose_max" in str(info.value)


def test_tiny_dose_is_refused_not_divided_by_zero() -> None:
    with pytest.raises(ng.UnitError, match="dose"):
        ng.check_dose("duloxetine", "1e-320 mcg", per="week")


def test_nan_and_infinite_quantities_are_refused() -> None:
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ng.UnitError):
            ng.check_dose("gabapentin", ng.Q_(bad, "mg"), per="day", crcl="90 mL/min")
