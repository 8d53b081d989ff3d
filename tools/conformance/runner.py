"""Run neuroguide's calculators and unit layer against test decks written by others.

Repository tooling, not part of the wheel (it was ``neuroguide.conformance`` in
0.1.0). The decks are vendored in ``tests/conformance/decks/`` (each folder has
its licence and provenance; see the README there):

* ``gdl2_test_fixtures/*.test.yml``: openEHR GDL2 test vectors by Cambio CDS
  (Cockcroft-Gault in mg/dL and umol/L, BMI, BSA Mosteller and Du Bois, IBW/ABW,
  A1C <-> eAG, eAG from IFCC, DN4 ...), read with PyYAML.
* ``hba1c/hba1c_ngsp_ifcc_eag_anchor_points.csv``: published HbA1c anchor points.
* ``ucum/ucum_examples_v1.5_2020.tsv``: the UCUM table of example codes.

Use (the tests and the documentation build call it)::

    from tools.conformance import DECKS, run
    report = run(DECKS)
    report.runs            # one CalculatorRun per (deck, calculator)
    report.to_markdown()   # a readable page with tables

Each deck runs under its own conventions (Cockcroft-Gault rounded up to whole
mL/min; eAG kept to 1 decimal; ages as the deck computes them on a fixed
evaluation date). Each vector either agrees, disagrees or is skipped (with the
reason). Every disagreement has a cause: ``"convention"`` (the deck chose
differently, and we say how), ``"deck defect"`` (the deck is wrong, and we say
why), or ``"our bug"``: a disagreement nobody has explained yet. The explained
causes are data, in ``known_causes.toml`` beside this module; a new disagreement
is therefore reported as ``"our bug"`` until someone explains it there.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, cast

import attrs
import yaml

from neuroguide.calculators import (
    CalcResult,
    a1c_from_eag,
    adjusted_body_weight,
    bmi,
    bsa_dubois,
    bsa_mosteller,
    creatinine_clearance,
    dn4,
    eag,
    hba1c_to_ifcc,
    ibw_devine,
)
from neuroguide.exceptions import IncompatibleUnitsError, InputError, UnknownUnitError
from neuroguide.units import Quantity, convert, format_quantity, get_registry, parse_quantity, parse_unit, quantity

__all__ = [
    "CalculatorRun",
    "Cause",
    "ConformanceReport",
    "Outcome",
    "VectorResult",
    "load_known_causes",
    "read_gdl_deck",
    "run",
    "ucum_spelling",
]

Outcome = Literal["agree", "disagree", "skipped"]
Cause = Literal["convention", "deck defect", "our bug"]
CAUSES: tuple[Cause, ...] = ("convention", "deck defect", "our bug")


@attrs.frozen(kw_only=True)
class VectorResult:
    """One test vector (or one published pair) and what happened to it.

    Attributes:
        vector: the deck's id for it (GDL2 ids are prefixed with their position, ``#3``,
            because some decks repeat ids).
        outcome: ``"agree"``, ``"disagree"`` or ``"skipped"``.
        expected: the deck's expected output, as written in the deck.
        got: ours, at the deck's precision and unit (or ``"refused: ..."``).
        cause: for a disagreement: ``"convention"``, ``"deck defect"`` or ``"our bug"``.
        note: the explanation (or, for a skip, the reason).

    """

    vector: str
    outcome: Outcome
    expected: str = ""
    got: str = ""
    cause: Cause | None = None
    note: str = ""


@attrs.frozen(kw_only=True)
class CalculatorRun:
    """The vectors of one deck run through one of our calculators."""

    deck: str
    calculator: str
    conventions: tuple[str, ...]
    vectors: tuple[VectorResult, ...]

    @property
    def total(self) -> int:
        """Vectors in the deck for this calculator (run + skipped)."""
        return len(self.vectors)

    @property
    def run(self) -> int:
        """Vectors actually compared."""
        return sum(v.outcome != "skipped" for v in self.vectors)

    @property
    def agreed(self) -> int:
        """Vectors where our answer equals the deck's."""
        return sum(v.outcome == "agree" for v in self.vectors)

    @property
    def disagreed(self) -> int:
        """Vectors where our answer differs."""
        return sum(v.outcome == "disagree" for v in self.vectors)

    @property
    def skipped(self) -> int:
        """Vectors not run (each with its reason)."""
        return sum(v.outcome == "skipped" for v in self.vectors)

    def causes(self) -> dict[Cause, int]:
        """Disagreements counted by cause."""
        counts = Counter(v.cause for v in self.vectors if v.outcome == "disagree" and v.cause is not None)
        return {c: counts[c] for c in CAUSES if counts[c]}


@attrs.frozen(kw_only=True)
class ConformanceReport:
    """Everything :func:`run` found: per deck and calculator, and decks we have no calculator for."""

    runs: tuple[CalculatorRun, ...]
    not_applicable: tuple[tuple[str, int, str], ...] = ()
    missing: tuple[str, ...] = ()

    def get(self, deck: str, calculator: str) -> CalculatorRun:
        """Return the run of ``calculator`` on ``deck`` (deck file name, e.g. ``"BMI.v1.test.yml"``).

        Raises:
            KeyError: no such run.

        """
        for r in self.runs:
            if (r.deck == deck or r.deck.endswith("/" + deck)) and r.calculator == calculator:
                return r
        raise KeyError((deck, calculator))

    def disagreements(self) -> list[tuple[CalculatorRun, VectorResult]]:
        """Every disagreement, with its run."""
        return [(r, v) for r in self.runs for v in r.vectors if v.outcome == "disagree"]

    def totals(self) -> dict[str, int]:
        """Summed counts: vectors, run, agreed, disagreed, skipped and each cause."""
        out = {
            "vectors": sum(r.total for r in self.runs),
            "run": sum(r.run for r in self.runs),
            "agreed": sum(r.agreed for r in self.runs),
            "disagreed": sum(r.disagreed for r in self.runs),
            "skipped": sum(r.skipped for r in self.runs),
        }
        for cause in CAUSES:
            out[cause] = sum(r.causes().get(cause, 0) for r in self.runs)
        return out

    def to_markdown(self) -> str:
        """Render the report as a Markdown page (MyST/CommonMark tables)."""
        return _markdown(self)


def read_gdl_deck(path: Path) -> Any:
    """Read one GDL2 ``*.test.yml`` deck with PyYAML's safe loader.

    Raises:
        ValueError: the file is not valid YAML (the message names the file).

    """
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML: {exc}") from exc


# -- GDL2 deck helpers -----------------------------------------------------------


@attrs.frozen
class _Case:
    index: int
    id: str
    input: Mapping[str, Any]
    expected: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"#{self.index} {self.id}".strip()

    def get(self, code: str, *, output: bool = False) -> Any:
        """Value of the element whose key starts with ``code|`` (e.g. ``gt0003``), else None."""
        src = self.expected if output else self.input
        for key, value in src.items():
            if str(key).split("|", 1)[0] == code:
                return value
        return None


def _cases(deck: Mapping[str, Any]) -> list[_Case]:
    out = []
    for n, case in enumerate(deck.get("test_cases") or [], start=1):
        inp = (case.get("input") or {}).get(1) or {}
        exp = (case.get("expected_output") or {}).get(1) or {}
        out.append(_Case(n, str(case.get("id", "")).strip(), inp, exp))
    return out


def _gdl_quantity(text: Any) -> tuple[Decimal, str]:
    """Split a GDL2 ``"value,unit"`` (e.g. ``"25,kg"``) into the number and the unit."""
    number, _, unit = str(text).partition(",")
    return Decimal(number.strip()), unit.strip()


def _gdl_label(text: Any) -> str:
    """Text of a coded value: ``"local::at0006|Female|"`` -> ``"Female"``; ``"0|local::at0003|X|"`` -> ``"X"``."""
    parts = [p for p in str(text).split("|") if p]
    return parts[-1].strip() if parts else ""


def _places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _ours_at(q: Quantity, unit: str, places: int) -> Decimal:
    value = float(convert(q, unit).magnitude)
    return Decimal(f"{value:.12g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _compare_quantity(expected: Any, ours: Quantity) -> tuple[bool, str, str]:
    """Compare our quantity with a deck's ``"value,unit"`` at the deck's unit and number of decimals."""
    number, unit = _gdl_quantity(expected)
    got = _ours_at(ours, unit, _places(number))
    return got == number, f"{number} {unit}", f"{got} {unit}"


def _q(text: Any) -> str:
    number, unit = _gdl_quantity(text)
    return f"{number} {unit}"


KNOWN_CAUSES_FILE = Path(__file__).with_name("known_causes.toml")


def load_known_causes(path: Path = KNOWN_CAUSES_FILE) -> dict[tuple[str, str, int], tuple[Cause, str]]:
    """Read the explained disagreements, keyed by (deck file, calculator, vector position).

    Raises:
        ValueError: an entry lacks a field or names a cause other than "convention" or "deck defect".

    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    known: dict[tuple[str, str, int], tuple[Cause, str]] = {}
    for n, entry in enumerate(data.get("explained", []), start=1):
        try:
            deck, calculator, positions = str(entry["deck"]), str(entry["calculator"]), entry["positions"]
            cause, note = entry["cause"], str(entry["note"]).strip()
        except KeyError as exc:
            raise ValueError(f"{path.name}: explained entry {n} lacks {exc.args[0]!r}") from None
        if cause not in ("convention", "deck defect") or not note:
            raise ValueError(
                f"{path.name}: explained entry {n}: cause {cause!r} needs a note and must be "
                "'convention' or 'deck defect'"
            )
        for pos in positions:
            known[(deck, calculator, int(pos))] = (cause, note)
    return known


# Explained disagreements. Anything else that disagrees is reported as "our bug" until explained there.
_KNOWN_CAUSES = load_known_causes()

_CG_MG = "Creatinine_Clearance_Cockcroft_Gault.v1.test.yml"
_CG_UMOL = "Estimated_GFR_Cockcroft_Gault.v1.test.yml"
_IBW = "Ideal_Body_Weight_Adjusted_Body_Weight.v0.test.yml"
_MOSTELLER = "BSA_Mosteller.v1.test.yml"
_A1C_CSV = "hba1c_ngsp_ifcc_eag_anchor_points.csv"


def _finish(deck: str, calculator: str, pos: int, label: str, ok: bool, expected: str, got: str) -> VectorResult:
    known = _KNOWN_CAUSES.get((deck, calculator, pos))
    if ok:
        note = "a known-cause entry exists but the vector agreed (stale entry)" if known else ""
        return VectorResult(vector=label, outcome="agree", expected=expected, got=got, note=note)
    if known is None:
        return VectorResult(
            vector=label,
            outcome="disagree",
            expected=expected,
            got=got,
            cause="our bug",
            note="unexplained disagreement: investigate",
        )
    return VectorResult(vector=label, outcome="disagree", expected=expected, got=got, cause=known[0], note=known[1])


def _attempt(fn: Callable[..., CalcResult], /, *args: Any, **kwargs: Any) -> CalcResult | str:
    try:
        return fn(*args, **kwargs)
    except InputError as exc:
        return f"refused: {exc}"


def _deck_as_of(deck: Mapping[str, Any], cases: Sequence[_Case], birth_code: str, age_code: str) -> dt.date | None:
    """The deck's evaluation date: its ``current_datetime``, else derived from its expected ages.

    GDL2 computes age as (current year - birth year). When a deck carries no
    ``current_datetime``, every vector's birth year plus its expected age gives
    the year the deck was written; all must agree. We then evaluate on 31
    December of that year, where completed years equal the year difference.
    """
    stamp = deck.get("current_datetime")
    if stamp:
        return dt.datetime.fromisoformat(str(stamp)).date()
    years = set()
    for case in cases:
        birth, age = case.get(birth_code), case.get(age_code, output=True)
        if birth and age:
            years.add(_birth(birth).year + int(_gdl_quantity(age)[0]))
    if len(years) != 1:
        return None
    return dt.date(years.pop(), 12, 31)


def _birth(text: Any) -> dt.date:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).date()


def _gdl_sex(text: Any) -> str:
    return _gdl_label(text).lower()


# -- one function per applicable GDL2 deck -------------------------------------------


def _run_cg(name: str, deck: Mapping[str, Any], *, umol: bool) -> list[CalculatorRun]:
    cases = _cases(deck)
    codes = (
        {"birth": "gt0002", "sex": "gt0003", "weight": "gt0005", "height": "gt0007", "scr": "gt0009", "out": "gt0011"}
        if umol
        else {"birth": "gt0003", "sex": "gt0004", "weight": "gt0008", "scr": "gt0019", "out": "gt0014", "age": "gt0006"}
    )
    as_of = _deck_as_of(deck, cases, codes["birth"], codes.get("age", "-"))
    rounding: Literal["ceil"] | None = None if umol else "ceil"
    vectors = []
    for case in cases:
        if as_of is None:
            vectors.append(VectorResult(vector=case.label, outcome="skipped", note="no evaluation date derivable"))
            continue
        age = as_of.year - _birth(case.get(codes["birth"])).year  # the deck's convention: year difference
        result = _attempt(
            creatinine_clearance,
            age=age,
            weight=_q(case.get(codes["weight"])),
            serum_creatinine=_q(case.get(codes["scr"])),
            sex=_gdl_sex(case.get(codes["sex"])),
            rounding=rounding,
        )
        expected_parts = [f"CrCl {_q(case.get(codes['out'], output=True))}"]
        ok = True
        got_parts = []
        if "age" in codes and case.get(codes["age"], output=True) is not None:
            exp_age = int(_gdl_quantity(case.get(codes["age"], output=True))[0])
            expected_parts.insert(0, f"age {exp_age}")
            got_parts.append(f"age {age}")
            ok = ok and exp_age == age
        if isinstance(result, str):
            ok = False
            got_parts.append(result)
        else:
            same, _, got = _compare_quantity(case.get(codes["out"], output=True), result.value)
            ok = ok and same
            got_parts.append(f"CrCl {got}")
        vectors.append(
            _finish(
                name,
                "creatinine-clearance",
                case.index,
                case.label,
                ok,
                "; ".join(expected_parts),
                "; ".join(got_parts),
            )
        )
    conventions = [
        f"evaluation date {as_of.isoformat() if as_of else 'none'} "
        + (
            "(the deck's current_datetime)"
            if deck.get("current_datetime")
            else "(derived from the deck's expected ages)"
        ),
        "age = evaluation year - birth year (the GDL2 convention)",
        "actual body weight",
    ]
    conventions.append(
        "our value rounded half-up to the deck's 2 decimals"
        if umol
        else "rounding='ceil' to whole mL/min (the deck's rule)"
    )
    if umol:
        conventions.append("not compared: the deck's KDIGO-style stage output")
    return [
        CalculatorRun(
            deck=name, calculator="creatinine-clearance", conventions=tuple(conventions), vectors=tuple(vectors)
        )
    ]


_BMI_LABELS = {
    "severe thinness": "Underweight - severe thinness",
    "moderate thinness": "Underweight - moderate thinness",
    "mild thinness": "Underweight - mild thinness",
    "normal range": "Within normal range",
    "pre-obese": "Overweight / pre-obese",
    "obese class I": "Obese - class I",
    "obese class II": "Obese - class II",
    "obese class III": "Obese - class III",
}


def _run_bmi(name: str, deck: Mapping[str, Any]) -> list[CalculatorRun]:
    vectors = []
    for case in _cases(deck):
        result = _attempt(bmi, weight=_q(case.get("gt0002")), height=_q(case.get("gt0003")))
        exp_value, exp_class = case.get("gt0004", output=True), _gdl_label(case.get("gt0009", output=True))
        expected = f"{_q(exp_value)}, {exp_class}"
        if isinstance(result, str):
            vectors.append(_finish(name, "bmi", case.index, case.label, False, expected, result))
            continue
        same, _, got = _compare_quantity(exp_value, result.value)
        label = next(v for k, v in _BMI_LABELS.items() if f": {k} (" in result.interpretation)
        vectors.append(
            _finish(name, "bmi", case.index, case.label, same and label == exp_class, expected, f"{got}, {label}")
        )
    return [
        CalculatorRun(
            deck=name,
            calculator="bmi",
            conventions=("value at the deck's 2 decimals, half-up", "WHO class from the 2-dp value; labels mapped"),
            vectors=tuple(vectors),
        )
    ]


def _run_bsa(name: str, deck: Mapping[str, Any], calculator: str) -> list[CalculatorRun]:
    fn = bsa_mosteller if calculator == "bsa-mosteller" else bsa_dubois
    w_code, h_code, out_code = (
        ("gt0005", "gt0006", "gt0013") if calculator == "bsa-mosteller" else ("gt0006", "gt0005", "gt0007")
    )
    vectors = []
    for case in _cases(deck):
        result = _attempt(fn, height=_q(case.get(h_code)), weight=_q(case.get(w_code)))
        expected_out = case.get(out_code, output=True)
        if expected_out is None:  # the deck expects no output
            if isinstance(result, str):
                vectors.append(_finish(name, calculator, case.index, case.label, True, "no output", result))
            else:
                vectors.append(
                    _finish(
                        name,
                        calculator,
                        case.index,
                        case.label,
                        False,
                        "no output",
                        f"{float(result.value.magnitude):.2f} m2",
                    )
                )
            continue
        if isinstance(result, str):
            vectors.append(_finish(name, calculator, case.index, case.label, False, _q(expected_out), result))
            continue
        same, exp, got = _compare_quantity(expected_out, result.value)
        vectors.append(_finish(name, calculator, case.index, case.label, same, exp, got))
    return [
        CalculatorRun(
            deck=name,
            calculator=calculator,
            conventions=("value at the deck's 2 decimals, half-up", "'no output' agrees with a refusal"),
            vectors=tuple(vectors),
        )
    ]


def _run_ibw(name: str, deck: Mapping[str, Any]) -> list[CalculatorRun]:
    ibw_vectors, abw_vectors, pct_vectors = [], [], []
    pct_name = "actual/IBW (adjusted-body-weight step)"
    for case in _cases(deck):
        height, sex, weight = case.get("gt0005"), case.get("gt0011"), case.get("gt0003")
        kwargs: dict[str, Any] = {"height": _q(height) if height else "", "sex": _gdl_sex(sex) if sex else None}

        def ibw_call(kwargs: dict[str, Any] = kwargs) -> CalcResult:
            if not kwargs["height"]:
                raise InputError("height", None, "a height")
            return ibw_devine(**kwargs)

        result = _attempt(ibw_call)
        exp_ibw = case.get("gt0007", output=True)
        if exp_ibw is None:
            got_text = result if isinstance(result, str) else format_quantity(result.value)
            ibw_vectors.append(
                _finish(name, "ibw-devine", case.index, case.label, isinstance(result, str), "no output", got_text)
            )
        elif isinstance(result, str):
            ibw_vectors.append(_finish(name, "ibw-devine", case.index, case.label, False, _q(exp_ibw), result))
        else:
            same, exp, got = _compare_quantity(exp_ibw, result.value)
            ibw_vectors.append(_finish(name, "ibw-devine", case.index, case.label, same, exp, got))
        exp_abw, exp_pct = case.get("gt0014", output=True), case.get("gt0023", output=True)
        if weight is None or exp_abw is None:
            continue
        abw = _attempt(adjusted_body_weight, weight=_q(weight), **kwargs)
        if isinstance(abw, str):
            abw_vectors.append(_finish(name, "adjusted-body-weight", case.index, case.label, False, _q(exp_abw), abw))
            pct_vectors.append(_finish(name, pct_name, case.index, case.label, False, _q(exp_pct), abw))
            continue
        same, exp, got = _compare_quantity(exp_abw, abw.value)
        abw_vectors.append(_finish(name, "adjusted-body-weight", case.index, case.label, same, exp, got))
        ibw_kg = float(convert(ibw_devine(**kwargs).value, "kg").magnitude)
        actual = float(convert(parse_quantity(_q(weight)), "kg").magnitude)
        pct = quantity(100.0 * actual / ibw_kg, "percent")
        same, exp, got = _compare_quantity(exp_pct, pct)
        pct_vectors.append(_finish(name, pct_name, case.index, case.label, same, exp, got))
    conv = (
        "our value in the deck's unit (kg or lb), at its whole-number precision, half-up",
        "1 in = 2.54 cm, 1 lb = 0.45359237 kg",
    )
    return [
        CalculatorRun(
            deck=name,
            calculator="ibw-devine",
            conventions=(*conv, "'no output' agrees with a refusal"),
            vectors=tuple(ibw_vectors),
        ),
        CalculatorRun(
            deck=name, calculator="adjusted-body-weight", conventions=(*conv, "factor 0.4"), vectors=tuple(abw_vectors)
        ),
        CalculatorRun(
            deck=name,
            calculator=pct_name,
            conventions=("100 x actual / unrounded IBW, at the deck's whole-number precision",),
            vectors=tuple(pct_vectors),
        ),
    ]


def _run_a1c(name: str, deck: Mapping[str, Any]) -> list[CalculatorRun]:
    forward, reverse = [], []
    for case in _cases(deck):
        a1c, glucose = case.get("gt0003"), case.get("gt0005")
        if a1c is not None and glucose is not None:
            forward.append(
                VectorResult(
                    vector=case.label,
                    outcome="skipped",
                    expected="no output",
                    note="the deck refuses two inputs at once; our calculators take one input each, so there is "
                    "nothing to run",
                )
            )
            continue
        if a1c is not None:
            exp = case.get("gt0007", output=True)
            result = _attempt(eag, _q(a1c), unit="mg/dL", places=1)
            if isinstance(result, str):
                forward.append(_finish(name, "eag-adag", case.index, case.label, False, _q(exp), result))
            else:
                same, e, g = _compare_quantity(exp, result.value)
                forward.append(_finish(name, "eag-adag", case.index, case.label, same, e, g))
        elif glucose is not None:
            exp = case.get("gt0008", output=True)
            result = _attempt(a1c_from_eag, _q(glucose), places=1)
            if isinstance(result, str):
                reverse.append(_finish(name, "a1c-from-eag", case.index, case.label, False, _q(exp), result))
            else:
                same, e, g = _compare_quantity(exp, result.value)
                reverse.append(_finish(name, "a1c-from-eag", case.index, case.label, same, e, g))
    common = ("not compared: the echoed input and the lay 'Interpretation' texts (not guideline text)",)
    return [
        CalculatorRun(
            deck=name,
            calculator="eag-adag",
            conventions=("places=1 (the deck keeps 1 decimal)", *common),
            vectors=tuple(forward),
        ),
        CalculatorRun(deck=name, calculator="a1c-from-eag", conventions=("places=1", *common), vectors=tuple(reverse)),
    ]


def _run_eag_ifcc(name: str, deck: Mapping[str, Any]) -> list[CalculatorRun]:
    vectors = []
    for case in _cases(deck):
        exp = case.get("gt0005", output=True)
        result = _attempt(eag, _q(case.get("gt0004")), unit="mmol/L", places=1)
        if isinstance(result, str):
            vectors.append(_finish(name, "eag-adag", case.index, case.label, False, _q(exp), result))
        else:
            same, e, g = _compare_quantity(exp, result.value)
            vectors.append(_finish(name, "eag-adag", case.index, case.label, same, e, g))
    return [
        CalculatorRun(
            deck=name,
            calculator="eag-adag",
            conventions=(
                "IFCC -> NGSP by our master equation (0.0915, 2.15; the deck uses 0.09148, 2.152)",
                "unit='mmol/L', places=1 (mg/dL / 18)",
            ),
            vectors=tuple(vectors),
        )
    ]


def _run_dn4(name: str, deck: Mapping[str, Any]) -> list[CalculatorRun]:
    keys = {
        "gt0004": "burning",
        "gt0005": "painful_cold",
        "gt0006": "electric_shocks",
        "gt0007": "tingling",
        "gt0008": "pins_and_needles",
        "gt0009": "numbness",
        "gt0010": "itching",
        "gt0011": "touch_hypoaesthesia",
        "gt0012": "pricking_hypoaesthesia",
        "gt0013": "brushing",
    }
    vectors = []
    for case in _cases(deck):
        answers = {arg: _gdl_label(case.get(code)) == "Yes" for code, arg in keys.items()}
        exp_score, exp_label = case.get("gt0027", output=True), _gdl_label(case.get("gt0042", output=True))
        result = _attempt(dn4, **answers)
        expected = f"{exp_score}, {exp_label}"
        if isinstance(result, str):
            vectors.append(_finish(name, "dn4", case.index, case.label, False, expected, result))
            continue
        label = (
            "Likely neuropathic pain" if "likely (>= 4/10)" in result.interpretation else "Unlikely neuropathic pain"
        )
        ok = result.value == exp_score and label == exp_label
        vectors.append(_finish(name, "dn4", case.index, case.label, ok, expected, f"{result.value}, {label}"))
    return [
        CalculatorRun(
            deck=name,
            calculator="dn4",
            conventions=("'Likely neuropathic pain' = score >= 4; the deck does not test the 3/4 boundary",),
            vectors=tuple(vectors),
        )
    ]


_GDL_RUNNERS: dict[str, Callable[[str, Mapping[str, Any]], list[CalculatorRun]]] = {
    _CG_MG: lambda n, d: _run_cg(n, d, umol=False),
    _CG_UMOL: lambda n, d: _run_cg(n, d, umol=True),
    "BMI.v1.test.yml": _run_bmi,
    _MOSTELLER: lambda n, d: _run_bsa(n, d, "bsa-mosteller"),
    "BSA_Dubois.v1.test.yml": lambda n, d: _run_bsa(n, d, "bsa-dubois"),
    _IBW: _run_ibw,
    "A1C_calculator.v1.test.yml": _run_a1c,
    "Estimated_Average_Glucose.v1.test.yml": _run_eag_ifcc,
    "DN4.v1.test.yml": _run_dn4,
}

_NOT_APPLICABLE = {
    "AUDIT-C.v1.test.yml": "alcohol screening (AUDIT-C): outside neuroguide's scope",
    "CKD-EPI.v1.test.yml": "CKD-EPI eGFR: no calculator in neuroguide (our renal dosing uses Cockcroft-Gault CrCl)",
    "MDRD_GFR_equation.v1.test.yml": "MDRD eGFR: no calculator in neuroguide",
    "CKD_classification.v1.test.yml": "KDIGO CKD classification: no calculator in neuroguide",
    "GFR_assessment.v1.test.yml": "GFR assessment: no calculator in neuroguide",
    "Neuropathy_pain_scale.v1.test.yml": "echo-only deck: copies the 11 item values to the outputs, no scoring to test",
    "Replacement_Doses_of_Vitamin_D.v2.test.yml": "vitamin D replacement dosing: no calculator in neuroguide",
    "Vitamin_D_Doses_Range_Recommendation.v0.test.yml": "vitamin D dose range: no calculator in neuroguide",
}


# -- HbA1c anchor points --------------------------------------------------------


def _run_hba1c_csv(path: Path) -> list[CalculatorRun]:
    name = f"hba1c/{path.name}"
    ifcc: list[VectorResult] = []
    mg: list[VectorResult] = []
    mmol: list[VectorResult] = []
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for n, row in enumerate(rows, start=1):
        pct = row["ngsp_percent"].strip()
        label = f"row {n}: {pct} %"
        for column, calc, sink, fn in (
            ("ifcc_mmol_mol_published", "hba1c-to-ifcc", ifcc, lambda p: hba1c_to_ifcc(f"{p} %")),
            ("eag_mg_dl_published", "eag-adag (mg/dL)", mg, lambda p: eag(f"{p} %", unit="mg/dL")),
            ("eag_mmol_l_published", "eag-adag (mmol/L)", mmol, lambda p: eag(f"{p} %", unit="mmol/L")),
        ):
            published = (row.get(column) or "").strip()
            if not published:
                continue
            result = _attempt(fn, pct)
            unit = {"hba1c-to-ifcc": "mmol/mol", "eag-adag (mg/dL)": "mg/dL"}.get(calc, "mmol/L")
            if isinstance(result, str):
                sink.append(_finish(_A1C_CSV, calc, n, label, False, f"{published} {unit}", result))
                continue
            got = Decimal(f"{float(result.value.magnitude):.12g}").quantize(
                Decimal(1).scaleb(-_places(Decimal(published)))
            )
            sink.append(
                _finish(_A1C_CSV, calc, n, label, got == Decimal(published), f"{published} {unit}", f"{got} {unit}")
            )
    return [
        CalculatorRun(
            deck=name,
            calculator="hba1c-to-ifcc",
            conventions=(
                "IFCC = 10.93 x NGSP - 23.5, Decimal half-up to whole mmol/mol",
                "rows with a published IFCC value",
            ),
            vectors=tuple(ifcc),
        ),
        CalculatorRun(
            deck=name,
            calculator="eag-adag (mg/dL)",
            conventions=("28.7 x A1C - 46.7, Decimal half-up to whole mg/dL", "rows with a published value"),
            vectors=tuple(mg),
        ),
        CalculatorRun(
            deck=name,
            calculator="eag-adag (mmol/L)",
            conventions=("(28.7 x A1C - 46.7) / 18, Decimal half-up to 1 dp", "rows with a published value"),
            vectors=tuple(mmol),
        ),
    ]


# -- UCUM examples -------------------------------------------------------------------

#: UCUM spellings of the atoms we accept, rewritten to neuroguide's spelling.
UCUM_ATOMS: dict[str, str] = {
    "[IU]": "IU",
    "mm[Hg]": "mmHg",
    "[lb_av]": "lb",
    "[in_i]": "in",
    "[ft_i]": "ft",
}
#: Whole UCUM symbols that neuroguide spells differently.
UCUM_SYMBOLS: dict[str, str] = {"a": "year", "mo": "month", "wk": "week"}


class _RefusalError(Exception):
    def __init__(self, category: str, detail: str) -> None:
        super().__init__(detail)
        self.category = category


def ucum_spelling(code: str) -> str:
    """Rewrite a UCUM code into neuroguide's unit spelling, or refuse it.

    The mapping (documented and small on purpose): ``[IU]`` -> ``IU``,
    ``mm[Hg]`` -> ``mmHg``, ``[lb_av]`` -> ``lb``, ``[in_i]`` -> ``in``,
    ``[ft_i]`` -> ``ft``; the symbols ``a``, ``mo``, ``wk`` -> ``year``,
    ``month``, ``week``; the UCUM product ``.`` -> ``*``; a leading ``/`` -> ``1/``.
    Refused: annotations (``{cells}``: they carry meaning a unit cannot check),
    numeric factors and powers of ten (``24.h``, ``10*3/uL``), and any other
    bracketed special unit (``[arb'U]``, ``[pH]``).

    Args:
        code: a UCUM code, e.g. ``"mg/dL"``, ``"[IU]/L"``, ``"mm[Hg]"``.

    Returns:
        The code in neuroguide's spelling, ready for :func:`neuroguide.units.parse_unit`.

    Raises:
        ValueError: the code is refused (the message says why).

    """
    try:
        return _ucum_spelling(code)
    except _RefusalError as exc:
        raise ValueError(f"{code!r} refused ({exc.category}): {exc}") from None


def _ucum_spelling(code: str) -> str:
    if "{" in code:
        raise _RefusalError(
            "annotation", "UCUM annotations such as {cells} carry meaning (analyte, specimen) a unit cannot"
        )
    text = code
    for ucum, ours in UCUM_ATOMS.items():
        text = text.replace(ucum, ours)
    if "[" in text:
        raise _RefusalError("special unit", "bracketed UCUM special or arbitrary units are not accepted")
    tokens = re.split(r"([./()])", text)
    if any(t[:1].isdigit() for t in tokens if t not in "./()"):
        raise _RefusalError(
            "numeric factor", "numeric factors and powers of ten (24.h, 10*3/uL) are not accepted units"
        )
    tokens = [UCUM_SYMBOLS.get(t, t) for t in tokens]
    out = "".join("*" if t == "." else t for t in tokens)
    return "1" + out if out.startswith("/") else out


# Reference meaning of the UCUM atoms we accept, taken from the UCUM specification
# (not from pint): factor to kg, m, s, mol, IU and the dimension exponents (M, L, T, N, IU).
_Dim = tuple[int, int, int, int, int]
_UCUM_REF: dict[str, tuple[float, _Dim]] = {
    "g": (1e-3, (1, 0, 0, 0, 0)),
    "m": (1.0, (0, 1, 0, 0, 0)),
    "s": (1.0, (0, 0, 1, 0, 0)),
    "mol": (1.0, (0, 0, 0, 1, 0)),
    "L": (1e-3, (0, 3, 0, 0, 0)),
    "l": (1e-3, (0, 3, 0, 0, 0)),
    "min": (60.0, (0, 0, 1, 0, 0)),
    "h": (3600.0, (0, 0, 1, 0, 0)),
    "d": (86400.0, (0, 0, 1, 0, 0)),
    "wk": (7 * 86400.0, (0, 0, 1, 0, 0)),
    "a": (365.25 * 86400.0, (0, 0, 1, 0, 0)),
    "mo": (365.25 * 86400.0 / 12, (0, 0, 1, 0, 0)),
    "Pa": (1.0, (1, -1, -2, 0, 0)),
    "Hz": (1.0, (0, 0, -1, 0, 0)),
    "%": (0.01, (0, 0, 0, 0, 0)),
    "[IU]": (1.0, (0, 0, 0, 0, 1)),
    "m[Hg]": (133322.0, (1, -1, -2, 0, 0)),  # UCUM: m[Hg] = 133.3220 kPa
    "[in_i]": (0.0254, (0, 1, 0, 0, 0)),
    "[ft_i]": (0.3048, (0, 1, 0, 0, 0)),
    "[lb_av]": (0.45359237, (1, 0, 0, 0, 0)),
}
_UCUM_PREFIX = {"k": 1e3, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
_PINT_DIMS = ("[mass]", "[length]", "[time]", "[substance]", "[biologic_activity]")


def _ucum_atom(token: str) -> tuple[float, _Dim]:
    match = re.fullmatch(r"(.+?)(-?\d+)?", token)
    assert match is not None
    symbol, exp = match.group(1), int(match.group(2) or 1)
    if symbol in _UCUM_REF:
        factor, dims = _UCUM_REF[symbol]
    elif symbol[:1] in _UCUM_PREFIX and symbol[1:] in _UCUM_REF:
        base, dims = _UCUM_REF[symbol[1:]]
        factor = _UCUM_PREFIX[symbol[0]] * base
    else:
        raise KeyError(symbol)
    return factor**exp, (dims[0] * exp, dims[1] * exp, dims[2] * exp, dims[3] * exp, dims[4] * exp)


def _ucum_reference(code: str) -> tuple[float, _Dim]:
    """Evaluate a UCUM code (no annotations or numbers) from the UCUM definitions, left to right."""
    tokens = [t for t in re.split(r"([./()])", code) if t]
    pos = 0

    def term() -> tuple[float, _Dim]:
        nonlocal pos
        factor, dims = 1.0, (0, 0, 0, 0, 0)
        op = "."
        if pos < len(tokens) and tokens[pos] == "/":
            op, pos = "/", pos + 1
        while pos < len(tokens):
            if tokens[pos] == "(":
                pos += 1
                f, d = term()
                pos += 1  # ")"
            else:
                f, d = _ucum_atom(tokens[pos])
                pos += 1
            sign = 1 if op == "." else -1
            factor *= f**sign
            dims = (
                dims[0] + sign * d[0],
                dims[1] + sign * d[1],
                dims[2] + sign * d[2],
                dims[3] + sign * d[3],
                dims[4] + sign * d[4],
            )
            if pos < len(tokens) and tokens[pos] in "./":
                op, pos = tokens[pos], pos + 1
            else:
                break
        return factor, dims

    return term()


def _pint_reference(unit: Any) -> tuple[float, _Dim]:
    base = get_registry().Quantity(1.0, unit).to_base_units()
    dims = base.dimensionality
    m, length, t, n, iu = (int(cast(float, dims.get(d, 0))) for d in _PINT_DIMS)
    return float(base.magnitude), (m, length, t, n, iu)


# Safety checks on UCUM codes: (code, target, why it must be refused).
_UCUM_SAFETY: tuple[tuple[str, str, str], ...] = (
    ("[IU]", "mg", "international units never convert to mass"),
    ("[IU]/L", "mg/L", "international units never convert to mass"),
    ("[IU]/mL", "ug/mL", "international units never convert to mass"),
    ("k[IU]/L", "g/L", "international units never convert to mass"),
    ("m[IU]/L", "ng/mL", "international units never convert to mass"),
    ("mmol/mol", "umol/L", "mmol/mol (IFCC HbA1c) is a ratio, not a concentration"),
    ("mmol/mol", "%", "HbA1c mmol/mol and % are related only by the master equation"),
    ("%", "mmol/mol", "HbA1c % and mmol/mol are related only by the master equation"),
)


def _run_ucum(path: Path) -> list[CalculatorRun]:
    name = f"ucum/{path.name}"
    codes: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) >= 2 and row[0].strip().isdigit():
                codes.append((row[0].strip(), row[1].strip()))
    parse_vectors = []
    for number, code in codes:
        label = f"row {number}: {code}"
        try:
            spelled = _ucum_spelling(code)
            unit = parse_unit(spelled, "ucum")
        except _RefusalError as exc:
            parse_vectors.append(VectorResult(vector=label, outcome="skipped", note=f"refused ({exc.category}): {exc}"))
            continue
        except UnknownUnitError:
            parse_vectors.append(
                VectorResult(
                    vector=label,
                    outcome="skipped",
                    note="refused (not accepted): a symbol outside neuroguide's case-sensitive allow-list",
                )
            )
            continue
        try:
            ref = _ucum_reference(code)
        except KeyError as exc:
            parse_vectors.append(
                _finish(
                    name, "units.parse_unit", int(number), label, False, "UCUM meaning", f"no UCUM reference for {exc}"
                )
            )
            continue
        ours = _pint_reference(unit)
        ok = ref[1] == ours[1] and math.isclose(ref[0], ours[0], rel_tol=1e-5)
        parse_vectors.append(
            _finish(
                name,
                "units.parse_unit",
                int(number),
                label,
                ok,
                f"{ref[0]:.6g} x SI base {ref[1]}",
                f"{spelled} = {ours[0]:.6g} x SI base {ours[1]}",
            )
        )
    safety = []
    for n, (code, target, why) in enumerate(_UCUM_SAFETY, start=1):
        label = f"{code} -> {target}"
        q = quantity(1.0, _ucum_spelling(code))
        try:
            convert(q, target, field="ucum")
            got = "converted"
        except IncompatibleUnitsError:
            got = "refused"
        _ = n
        safety.append(
            VectorResult(
                vector=label,
                outcome="agree" if got == "refused" else "disagree",
                expected=f"refused: {why}",
                got=got,
                cause=None if got == "refused" else "our bug",
                note="" if got == "refused" else "a conversion that must be refused went through",
            )
        )
    return [
        CalculatorRun(
            deck=name,
            calculator="units.parse_unit",
            conventions=(
                "UCUM -> neuroguide spelling: [IU] -> IU, mm[Hg] -> mmHg, [lb_av] -> lb, [in_i] -> in, [ft_i] -> ft, "
                "a/mo/wk -> year/month/week, '.' -> '*'",
                "refused (skipped): annotations {..}, numeric factors and powers of ten, other [..] units, and "
                "symbols outside our allow-list",
                "agreement: the parsed unit has UCUM's dimension and factor to SI base units (relative 1e-5; "
                "pint's mmHg 133.322387 Pa vs UCUM's 133.3220 Pa)",
            ),
            vectors=tuple(parse_vectors),
        ),
        CalculatorRun(
            deck=name,
            calculator="units.convert (safety)",
            conventions=("conversions that must be refused: [IU] to mass; mmol/mol to a concentration or to %",),
            vectors=tuple(safety),
        ),
    ]


# -- entry point -------------------------------------------------------------------


def run(conformance_dir: Path) -> ConformanceReport:
    """Run every applicable deck in ``conformance_dir`` and return the report.

    Args:
        conformance_dir: the folder holding ``gdl2_test_fixtures/``, ``hba1c/`` and
            ``ucum/`` (missing parts are listed in ``report.missing``).

    Returns:
        A :class:`ConformanceReport`; ``report.to_markdown()`` renders it.

    Raises:
        FileNotFoundError: ``conformance_dir`` does not exist.

    """
    root = Path(conformance_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"conformance folder not found: {root}")
    runs: list[CalculatorRun] = []
    not_applicable: list[tuple[str, int, str]] = []
    missing: list[str] = []
    gdl = root / "gdl2_test_fixtures"
    if gdl.is_dir():
        for path in sorted(gdl.glob("*.test.yml")):
            deck = read_gdl_deck(path)
            runner = _GDL_RUNNERS.get(path.name)
            if runner is None:
                reason = _NOT_APPLICABLE.get(path.name, "no matching calculator")
                not_applicable.append((f"gdl2_test_fixtures/{path.name}", len(deck.get("test_cases") or []), reason))
                continue
            for r in runner(path.name, deck):
                runs.append(attrs.evolve(r, deck=f"gdl2_test_fixtures/{path.name}"))
    else:
        missing.append("gdl2_test_fixtures/")
    csv_path = root / "hba1c" / _A1C_CSV
    if csv_path.is_file():
        runs.extend(_run_hba1c_csv(csv_path))
    else:
        missing.append(f"hba1c/{_A1C_CSV}")
    ucum = root / "ucum" / "ucum_examples_v1.5_2020.tsv"
    if ucum.is_file():
        runs.extend(_run_ucum(ucum))
    else:
        missing.append("ucum/ucum_examples_v1.5_2020.tsv")
    return ConformanceReport(runs=tuple(runs), not_applicable=tuple(not_applicable), missing=tuple(missing))


# -- Markdown -------------------------------------------------------------------------


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return out


def _markdown(report: ConformanceReport) -> str:
    t = report.totals()
    lines = [
        "# Conformance against decks written by others",
        "",
        "neuroguide's calculators and unit layer, run against test vectors and published values that other people "
        "wrote (openEHR GDL2 test fixtures by Cambio CDS, published HbA1c anchor points, the UCUM table of example "
        "codes). Each deck runs under its own conventions; every disagreement has a cause: **convention** (the "
        "deck chose differently), **deck defect** (the deck is wrong), or **our bug** (unexplained; must be zero).",
        "",
        f"Totals: {t['vectors']} vectors, {t['run']} run, {t['agreed']} agreed, {t['disagreed']} disagreed "
        f"({t['convention']} convention, {t['deck defect']} deck defect, {t['our bug']} our bug), "
        f"{t['skipped']} skipped.",
        "",
        "## Summary",
        "",
    ]
    lines += _table(
        ("deck", "calculator", "vectors", "run", "agreed", "disagreed", "skipped", "causes"),
        (
            (
                f"`{r.deck}`",
                f"`{r.calculator}`",
                r.total,
                r.run,
                r.agreed,
                r.disagreed,
                r.skipped,
                ", ".join(f"{c}: {n}" for c, n in r.causes().items()) or "-",
            )
            for r in report.runs
        ),
    )
    lines += ["", "## Disagreements and their causes", ""]
    dis = report.disagreements()
    if dis:
        lines += _table(
            ("deck", "calculator", "vector", "expected (deck)", "ours", "cause", "explanation"),
            ((f"`{r.deck}`", f"`{r.calculator}`", v.vector, v.expected, v.got, v.cause, v.note) for r, v in dis),
        )
    else:
        lines.append("None.")
    lines += ["", "## Skipped vectors", ""]
    skipped_rows = []
    for r in report.runs:
        reasons = Counter(v.note for v in r.vectors if v.outcome == "skipped")
        for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            examples = [v.vector for v in r.vectors if v.outcome == "skipped" and v.note == reason][:3]
            skipped_rows.append((f"`{r.deck}`", f"`{r.calculator}`", count, reason, "; ".join(examples)))
    lines += _table(("deck", "calculator", "count", "reason", "examples"), skipped_rows) if skipped_rows else ["None."]
    lines += ["", "## Conventions applied per deck", ""]
    for r in report.runs:
        lines.append(f"- `{r.deck}` / `{r.calculator}`: " + "; ".join(r.conventions))
    if report.not_applicable:
        lines += ["", "## Decks not run (no matching calculator)", ""]
        lines += _table(("deck", "vectors", "reason"), ((f"`{d}`", n, why) for d, n, why in report.not_applicable))
    if report.missing:
        lines += ["", "## Missing from the conformance folder", ""]
        lines += [f"- `{m}`" for m in report.missing]
    ucum = [r for r in report.runs if r.calculator == "units.parse_unit"]
    if ucum:
        accepted = [v.vector.split(": ", 1)[1] for v in ucum[0].vectors if v.outcome != "skipped"]
        lines += ["", "## UCUM codes accepted", "", ", ".join(f"`{c}`" for c in accepted)]
    lines.append("")
    return "\n".join(lines)
