"""The unit table against pint: every entry, every conversion, and the pint path for units outside the table.

neuroguide converts the common units with factors from its own table, multiplied as pint multiplies
them; pint is loaded only for a unit the table does not list. These tests read every entry back
through pint, compare conversions on random magnitudes, and check that a unit outside the table
(pint path) gives the same answers as its table spelling.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import calculators, units
from neuroguide._numeric import clean
from neuroguide.formulas import CalcResult

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TABLE = sorted(units._TABLE)
ANALYTES = (None, *sorted(units.ANALYTES))
AS_OF = dt.date(2026, 11, 23)


def _pint_unit(text: str) -> Any:
    return units.parse_unit(text)


@pytest.mark.parametrize("text", TABLE)
def test_every_table_entry_is_what_pint_reads(text: str) -> None:
    # parse_unit applies the allow-list and the grammar: a table text is one the parser accepts.
    unit = _pint_unit(text)
    dim, factor, symbol, name = units._TABLE[text]
    assert dim == str(unit.dimensionality)
    assert factor == float(units.get_registry().Quantity(1.0, unit).to_root_units().magnitude)
    assert symbol == units._symbol(unit)
    assert name == str(unit)
    assert units._items(name) == tuple((k, int(v)) for k, v in unit._units.items())


def test_the_table_covers_the_vocabulary_and_the_plausibility_table() -> None:
    from neuroguide._plausible import spans
    from neuroguide._vocabulary import vocabulary

    wanted = {s.unit for s in vocabulary().values() if s.unit} | {s.unit for s in spans().values()}
    wanted |= {w.unit for s in spans().values() for w in s.likely}
    assert wanted <= set(units._TABLE)
    # Every spelling of micromole per litre the parser accepts, and the common dose and B12 units.
    for text in ("umol/L", "µmol/L", "μmol/L", "umol/l", "mg/dL", "pg/mL", "pmol/L", "ug", "mcg", "µg", "μg"):
        assert text in units._TABLE
    for text in ("mg/day", "mg/m2", "m**2", "mmol/mol", "%", "mL/min", "mmHg", "year", "kg", "cm"):
        assert text in units._TABLE


def _reference(value: float, src: str, dst: str, analyte: str | None) -> float:
    """The conversion done by pint alone (the 0.1.0 path)."""
    ureg = units.get_registry()
    q = ureg.Quantity(value, _pint_unit(src))
    target = _pint_unit(dst)
    if q.dimensionality == target.dimensionality:
        return float(q.to(target).magnitude)
    assert analyte is not None
    mw = ureg.Quantity(units.ANALYTES[analyte].molar_mass, _pint_unit("g/mol"))
    if target.dimensionality == ureg.get_dimensionality("[substance]/[length]**3"):
        return float((q / mw).to(target).magnitude)
    return float((q * mw).to(target).magnitude)


def _convertible(src: str, dst: str, analyte: str | None) -> bool:
    try:
        units.scale(src, dst, analyte=analyte)
    except ng.UnitError:
        return False
    return True


PAIRS = [
    (a, b, analyte)
    for a, b in itertools.product(TABLE, TABLE)
    for analyte in ANALYTES
    if _convertible(a, b, analyte) and (analyte is None or units._TABLE[a][0] != units._TABLE[b][0])
]


@given(st.sampled_from(PAIRS), st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_table_conversions_equal_pints(pair: tuple[str, str, str | None], value: float) -> None:
    src, dst, analyte = pair
    fast = units.magnitude(units.quantity(value, src), dst, analyte=analyte)
    # The float-noise policy (_numeric): equal at 12 significant digits ...
    assert clean(fast) == clean(_reference(value, src, dst, analyte))
    # ... and a conversion within one dimension is the very float pint gives.
    if analyte is None:
        assert units.convert(units.quantity(value, src), dst).magnitude == _reference(value, src, dst, None)


@given(st.sampled_from(TABLE), st.sampled_from(TABLE), st.sampled_from(ANALYTES))
def test_refusals_equal_pints(src: str, dst: str, analyte: str | None) -> None:
    try:
        units.magnitude(units.quantity(1.0, src), dst, analyte=analyte)
        fast: type[Exception] | None = None
    except ng.UnitError as exc:
        fast = type(exc)
    try:
        slow_q = units.get_registry().Quantity(1.0, _pint_unit(src))
        units.convert(slow_q, dst, analyte=analyte)  # type: ignore[arg-type]  # a pint quantity is accepted too
        slow: type[Exception] | None = None
    except ng.UnitError as exc:
        slow = type(exc)
    assert fast is slow


# Units outside the table: pint reads them once; the answers equal those of the table spelling.
SPELLINGS = [
    ("mg/dL", "mg / dL"),
    ("mg/dL", "mg/(dL)"),
    ("umol/L", "umol / L"),
    ("mL/min", "mL*min^-1"),
    ("kg", "kg*1"),
    ("cm", "(cm)"),
    ("mg/day", "mg / day"),
    ("ug", "ug*1"),
]


@pytest.mark.parametrize(("table", "other"), SPELLINGS)
def test_a_spelling_outside_the_table_takes_the_pint_path(table: str, other: str) -> None:
    assert table in units._TABLE and other not in units._TABLE
    try:
        units.parse_unit(other)
    except ng.UnknownUnitError:
        pytest.skip(f"{other!r} is refused by the grammar")
    a, b = units.quantity(1.5, table), units.parse_quantity(f"1.5 {other}")
    assert units.format_quantity(a) == units.format_quantity(b)
    for target in (table, *[t for t in TABLE if _convertible(table, t, None)][:6]):
        assert units.magnitude(a, target) == units.magnitude(b, target)


@given(st.floats(min_value=40, max_value=200), st.floats(min_value=0.3, max_value=8), st.sampled_from([0, 1, 2]))
def test_calculators_give_identical_results_on_both_paths(weight: float, scr: float, way: int) -> None:
    w_table, w_other = f"{weight!r} kg", f"{weight!r} kg*1"
    s_table, s_other = [(f"{scr!r} mg/dL", f"{scr!r} mg / dL"), (f"{scr * 88.4!r} umol/L", f"{scr * 88.4!r} umol / L"),
                        (f"{scr!r} mg/dL", f"{scr!r} mg/(dL)")][way]  # fmt: skip
    args: dict[str, Any] = {"age": 60, "sex": "female"}
    try:
        fast = calculators.cockcroft_gault(weight=w_table, serum_creatinine=s_table, **args)
    except ng.InputError as exc:
        with pytest.raises(type(exc)):
            calculators.cockcroft_gault(weight=w_other, serum_creatinine=s_other, **args)
        return
    slow = calculators.cockcroft_gault(weight=w_other, serum_creatinine=s_other, **args)
    assert fast == slow
    assert fast.value.magnitude == slow.value.magnitude


def test_dose_and_patient_give_identical_results_on_both_paths() -> None:
    a = ng.check_dose("gabapentin", "1800 mg/day", crcl="45 mL/min")
    b = ng.check_dose("gabapentin", "1800 mg / day", crcl="45 mL*min^-1")
    assert a == b
    data = json.loads((EXAMPLES / "t2d-metformin.json").read_text(encoding="utf-8"))
    spelled = json.loads(json.dumps(data).replace("mg/dL", "mg / dL").replace(" kg", " kg*1"))
    assert spelled != data
    p, q = ng.Patient.from_dict(data), ng.Patient.from_dict(spelled)
    assert p.normalized == q.normalized
    assert ng.assess(p, as_of=AS_OF).recommendations == ng.assess(q, as_of=AS_OF).recommendations


# -- the quantity object ------------------------------------------------------------------------------


def test_a_quantity_answers_everything_a_pint_quantity_does() -> None:
    q = units.parse_quantity("70 kg")
    assert q.magnitude == 70.0
    assert q.to("lb").magnitude == pytest.approx(154.3235835294143)
    assert f"{q.units:~}" == "kg"
    assert q == ng.Q_(70000, "g") and q == units.parse_quantity("70000 g")
    assert isinstance(ng.Q_(1, "g"), ng.Quantity) and isinstance(q, ng.Quantity)
    assert hash(q) == hash(units.parse_quantity("70 kg"))
    assert units.parse_quantity("70000 g") < units.parse_quantity("71 kg")
    assert pickle.loads(pickle.dumps(q)) == q
    assert q.pint()._REGISTRY is ng.ureg
    assert (q * 2).magnitude == 140.0


def test_a_lazy_result_is_a_calc_result() -> None:
    args: dict[str, Any] = {"age": 60, "weight": "70 kg", "serum_creatinine": "1.0 mg/dL", "sex": "male"}
    r = calculators.cockcroft_gault(**args)
    eager = CalcResult(**{a.name: getattr(r, a.name) for a in attrs.fields(CalcResult)})
    assert isinstance(r, CalcResult) and r == eager and eager == r
    assert repr(r) == repr(eager)
    assert pickle.loads(pickle.dumps(r)) == r
    assert attrs.evolve(calculators.cockcroft_gault(**args), name="x").steps == r.steps
    assert r.inputs["weight"] == "70 kg" and r.steps[0].value == "1 mg/dL"


def _run(code: str) -> Any:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_patients_and_calculators_do_not_load_pint() -> None:
    code = (
        "import json, sys, pathlib, neuroguide as ng\n"
        f"for p in sorted(pathlib.Path({str(EXAMPLES)!r}).glob('*.json')): ng.Patient.from_json(p)\n"
        "ng.calculators.cockcroft_gault(age=60, weight='70 kg', serum_creatinine='88 umol/L', sex='male')\n"
        "ng.calculators.creatinine_clearance(age=60, weight='70 kg', serum_creatinine='1 mg/dL', sex='male',\n"
        "    height='175 cm', weight_convention='bmi-dependent')\n"
        "print(json.dumps('pint' in sys.modules))"
    )
    assert _run(code) is False


def test_an_unusual_unit_loads_pint_and_still_works() -> None:
    code = (
        "import json, sys, neuroguide as ng\n"
        "r = ng.calculators.cockcroft_gault(age=60, weight='154 lb', serum_creatinine='1 mg / dL', sex='male')\n"
        "print(json.dumps(['pint' in sys.modules, r.inputs['weight']]))"
    )
    assert _run(code) == [True, "69.85 kg"]


def test_pint_quantities_are_still_accepted() -> None:
    other: pint.UnitRegistry[Any] = pint.UnitRegistry()
    weight: Any = other.Quantity(70, "kg")  # 0.1.0's quantity type, still accepted at run time
    r = calculators.cockcroft_gault(age=60, weight=weight, serum_creatinine=ng.Q_(1.0, "mg/dL"), sex="male")
    assert r == calculators.cockcroft_gault(age=60, weight="70 kg", serum_creatinine="1.0 mg/dL", sex="male")
