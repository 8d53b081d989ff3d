"""Glycaemic status by the ADA diagnostic criteria (bands read from the guideline)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from .. import model as m
from .._vocabulary import vocabulary
from ..exceptions import InputError, UnitError
from ..units import Quantity, format_quantity, hba1c_ifcc_to_ngsp, magnitude, parse_quantity
from ._result import CalcResult, Step

__all__ = ["GUIDELINE_ID", "classify_glycemia"]

GUIDELINE_ID = "ada-diabetes-diagnosis"

# Input name -> (fact the guideline classifies, label used in messages).
_TESTS: dict[str, tuple[str, str]] = {
    "hba1c": ("hba1c", "A1C"),
    "fasting_glucose": ("fasting-glucose", "fasting plasma glucose"),
    "ogtt_2h": ("ogtt-2h-glucose", "2-h plasma glucose (75-g OGTT)"),
    "random_glucose": ("random-glucose", "random plasma glucose"),
}
# Band labels of the guideline's classification rules that carry a meaning here.
_DIABETES = "diabetes"
_RANDOM_DIABETES = "diabetes-if-symptomatic"
_PREDIABETES = frozenset({"prediabetes", "ifg", "igt"})


@attrs.frozen(kw_only=True)
class _Reading:
    name: str
    label: str
    value: float
    unit: str
    band: m.Band
    shown: str
    rule: m.ClassificationRule


def classify_glycemia(
    *,
    hba1c: Quantity | str | None = None,
    fasting_glucose: Quantity | str | None = None,
    ogtt_2h: Quantity | str | None = None,
    random_glucose: Quantity | str | None = None,
    symptoms: bool = False,
    as_of: dt.date | None = None,
) -> CalcResult:
    """Classify glycaemia by the ADA criteria and say what confirms a diabetes-range result.

    The band edges are those of the classification rules in the
    ``ada-diabetes-diagnosis`` guideline (version in effect on ``as_of``, else
    the latest): this function holds no copy of the thresholds.

    Args:
        hba1c: A1C in % (NGSP) or mmol/mol (IFCC; converted by the master equation).
        fasting_glucose: fasting plasma glucose in mg/dL or mmol/L.
        ogtt_2h: 2-h plasma glucose of a 75-g OGTT, in mg/dL or mmol/L.
        random_glucose: random plasma glucose, in mg/dL or mmol/L.
        symptoms: classic symptoms of hyperglycaemia or hyperglycaemic crisis.
        as_of: pick the guideline version in effect on this date.

    Returns:
        A :class:`CalcResult` whose ``value`` is one of ``"diabetes"``,
        ``"diabetes-range-needs-confirmation"``, ``"prediabetes"``,
        ``"below-prediabetes-ranges"`` or ``"random-glucose-not-diagnostic-alone"``.

    Raises:
        InputError: no test given, a wrong unit, or a value outside the plausible range.

    """
    from ..api import load_guideline

    given = {"hba1c": hba1c, "fasting_glucose": fasting_glucose, "ogtt_2h": ogtt_2h, "random_glucose": random_glucose}
    if all(v is None for v in given.values()):
        raise InputError("hba1c/fasting_glucose/ogtt_2h/random_glucose", None, "at least one test result")
    if not isinstance(symptoms, bool):
        raise InputError("symptoms", symptoms, "True or False")
    g = load_guideline(GUIDELINE_ID, as_of=as_of)
    rules = {r.fact: r for r in g.rules if isinstance(r, m.ClassificationRule)}
    readings: list[_Reading] = []
    inputs: dict[str, str] = {}
    for name, raw in given.items():
        if raw is None:
            continue
        fact, label = _TESTS[name]
        rule = rules[fact]
        value = _canonical(name, fact, raw, rule.unit)
        from .._kinds import classify

        band, shown = classify(rule, value)
        if band is None:  # pragma: no cover - the bands cover the whole line
            raise InputError(name, raw, "a value inside the guideline's bands")
        unit = "%" if rule.unit == "percent" else rule.unit
        inputs[name] = f"{value:.4g} {unit}"
        readings.append(
            _Reading(name=name, label=label, value=value, unit=unit, band=band, shown=str(shown), rule=rule)
        )
    inputs["symptoms"] = str(symptoms)
    verdict, interpretation = _verdict(readings, symptoms)
    steps = tuple(
        Step(label=f"{r.label} ({r.rule.id})", value=f"{r.shown} {r.unit}: {r.band.label} ({_edges(r.band, r.unit)})")
        for r in readings
    )
    citation = "; ".join(
        dict.fromkeys(f"{g.source(c.source).short()}, {c.locator}" for r in readings for c in r.rule.citations)
    )
    return CalcResult(
        name="glycemia-ada",
        value=verdict,
        interpretation=interpretation,
        inputs=inputs,
        steps=steps,
        citation=citation,
        conventions=(
            f"bands from guideline {g.id} {g.version}",
            "glucose rounded half-up to whole mg/dL before comparison; A1C compared unrounded in %",
            "mmol/L -> mg/dL through glucose's molar mass (180.156 g/mol)",
            "mmol/mol -> % by the master equation NGSP = 0.0915 x IFCC + 2.15",
        ),
    )


def _canonical(name: str, fact: str, raw: Quantity | str, unit: str) -> float:
    spec = vocabulary()[fact]
    q = parse_quantity(raw, name)
    if fact == "hba1c":
        units = str(q.units)
        if units == "millimole / mole":
            value = float(hba1c_ifcc_to_ngsp(q.magnitude))
        elif units == "percent":
            value = float(q.magnitude)
        else:
            raise UnitError(name, raw, "A1C in % (NGSP) or mmol/mol (IFCC)")
    else:
        try:
            value = magnitude(q, unit, analyte=spec.analyte, field=name)
        except UnitError as exc:
            raise UnitError(name, raw, "a glucose concentration in mg/dL or mmol/L") from exc
    if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
        shown = format_quantity(q) if not isinstance(raw, str) else raw
        raise InputError(name, shown, f"a plausible value ({spec.low:g} to {spec.high:g} {spec.unit})")
    return value


def _verdict(readings: list[_Reading], symptoms: bool) -> tuple[str, str]:
    by_label: Mapping[str, list[_Reading]] = {
        "diabetes": [r for r in readings if r.band.label == _DIABETES],
        "random": [r for r in readings if r.band.label == _RANDOM_DIABETES],
        "pre": [r for r in readings if r.band.label in _PREDIABETES],
    }
    diabetes, random_high, pre = by_label["diabetes"], by_label["random"], by_label["pre"]
    if random_high and symptoms:
        return "diabetes", (
            "diabetes: random plasma glucose in the diagnostic range with classic symptoms of hyperglycaemia "
            "(no confirmation needed)"
        )
    if len(diabetes) >= 2:
        names = " and ".join(r.label for r in diabetes)
        return "diabetes", f"diabetes: two abnormal results ({names})"
    if diabetes:
        only = diabetes[0]
        others = " or ".join(label for key, (_, label) in _TESTS.items() if key not in (only.name, "random_glucose"))
        return "diabetes-range-needs-confirmation", (
            f"{only.label} is in the diabetes range; unless hyperglycaemia is unequivocal, diagnosis requires a "
            f"second abnormal result: another test from the same sample ({others}) or a repeat {only.label} "
            "on a separate sample"
        )
    if random_high:
        return "random-glucose-not-diagnostic-alone", (
            "random plasma glucose in the diagnostic range, but it is diagnostic only with classic symptoms of "
            "hyperglycaemia or hyperglycaemic crisis: do A1C, fasting plasma glucose or a 2-h OGTT"
        )
    if pre:
        names = ", ".join(f"{r.label} ({r.band.label})" for r in pre)
        return "prediabetes", f"prediabetes: {names}"
    return "below-prediabetes-ranges", "no result in the ADA diabetes or prediabetes ranges"


def _edges(band: m.Band, unit: str) -> str:
    parts = []
    for bound, inclusive, lo in ((band.lower, band.lower_inclusive, True), (band.upper, band.upper_inclusive, False)):
        if bound is None:
            continue
        number = magnitude(bound, "percent" if unit == "%" else unit) if not isinstance(bound, float) else bound
        sign = ("≥" if inclusive else ">") if lo else ("≤" if inclusive else "<")
        parts.append(f"{sign} {number:g} {unit}")
    return " and ".join(parts)
