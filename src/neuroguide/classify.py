"""Guideline-backed classifiers: glycaemic status (ADA), IWGDF foot-risk category, ankle-brachial index.

Each reads its bands or intervals from a guideline in a catalog (the packaged
one unless ``source`` is given), so a number lives in one place only. The
pure formulas they use are in :mod:`neuroguide.formulas`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from decimal import Decimal

import attrs

from . import model as m
from ._bands import band_of
from ._loading import Catalog, catalog
from ._numeric import round_half_up, within
from ._plausible import unit_slip
from ._vocabulary import vocabulary
from .exceptions import InputError, UnitError
from .formulas import CalcResult, Step
from .formulas._iwgdf import and3, needed_inputs, or3, possible_categories
from .units import Quantity, format_quantity, hba1c_ifcc_to_ngsp, in_kind, magnitude, parse_quantity

__all__ = ["GLYCEMIA_GUIDELINE", "abi", "classify_abi", "classify_glycemia", "iwgdf_category"]

_IWGDF_GUIDELINE = "iwgdf-foot"
_IWGDF_RULE = "foot-screening-by-risk"
_ABI_GUIDELINE = "aha-acc-pad"
_ABI_RULE = "abi-classification"

# Plausible cuff pressures (mmHg). Ankle pressures may be 0 (no signal) and may
# exceed arm pressure in calcified, noncompressible arteries.
_ANKLE_RANGE = (0.0, 400.0)
_BRACHIAL_RANGE = (40.0, 300.0)


def _guideline(gid: str, version: str | None, as_of: dt.date | None, source: Catalog | None) -> m.Guideline:
    if source is not None and not isinstance(source, Catalog):
        raise InputError("source", type(source).__name__, "a neuroguide Catalog, or None for the installed guidelines")
    cat = source if source is not None else catalog()
    return cat.get(gid, version=version, as_of=as_of)


def _cite(g: m.Guideline, rule: m.Rule) -> str:
    return f"{m.short_citation(rule, g)} [{g.id} {g.version}]"


def _interval_labels(version: str | None, source: Catalog | None) -> tuple[dict[int, str], str]:
    """Read each category's interval label and the table citation from the guideline."""
    g = _guideline(_IWGDF_GUIDELINE, version, None, source)
    rule = g.rule(_IWGDF_RULE)
    assert isinstance(rule, m.ScreeningRule)
    labels: dict[int, str] = {}
    for th in rule.intervals:
        if isinstance(th.when, m.Compare) and isinstance(th.when.value, float):
            labels[int(th.when.value)] = th.label
    return labels, _cite(g, rule)


def _flag(name: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputError(name, value, "true, false, or None (unknown)")


def _word(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


def iwgdf_category(
    *,
    lops: bool | None,
    pad: bool | None,
    deformity: bool | None = None,
    prior_ulcer: bool | None = None,
    prior_amputation: bool | None = None,
    esrd: bool | None = None,
    version: str | None = None,
    source: Catalog | None = None,
) -> CalcResult:
    """IWGDF foot-ulcer risk category (0-3) and its screening frequency.

    0 very low: no LOPS and no PAD; 1 low: LOPS or PAD; 2 moderate: LOPS + PAD,
    LOPS + deformity, or PAD + deformity; 3 high: LOPS or PAD, and a history of
    foot ulcer, a lower-extremity amputation, or end-stage renal disease.

    Args:
        lops: loss of protective sensation (None = not assessed).
        pad: peripheral artery disease (None = not assessed).
        deformity: foot deformity (None = unknown).
        prior_ulcer: history of a foot ulcer (None = unknown).
        prior_amputation: previous lower-extremity amputation, minor or major (None = unknown).
        esrd: end-stage renal disease (None = unknown).
        version: the ``iwgdf-foot`` guideline version whose intervals to quote (default: latest).
        source: a catalog other than the packaged one.

    Returns:
        A result whose ``value`` is the category (int), or None when an unknown
        input could change it; the interpretation then names what is missing.

    Raises:
        InputError: an input is neither a boolean nor None.

    """
    given = {
        "lops": _flag("lops", lops),
        "pad": _flag("pad", pad),
        "deformity": _flag("deformity", deformity),
        "prior_ulcer": _flag("prior_ulcer", prior_ulcer),
        "prior_amputation": _flag("prior_amputation", prior_amputation),
        "esrd": _flag("esrd", esrd),
    }
    values = tuple(given.values())
    names = tuple(given)
    possible = sorted(possible_categories(values))
    labels, citation = _interval_labels(version, source)
    lp, hist = or3(values[0], values[1]), or3(*values[3:])
    steps = (
        Step(label="LOPS or PAD", value=_word(lp)),
        Step(label="history of foot ulcer, amputation or ESRD", value=_word(hist)),
        Step(
            label="two of LOPS, PAD, foot deformity",
            value=_word(or3(and3(values[0], values[1]), and3(values[0], values[2]), and3(values[1], values[2]))),
        ),
        Step(label="possible categories", value=", ".join(str(c) for c in possible)),
    )
    conventions = (
        "unknown inputs are never assumed normal: the category is given only when no unknown input could change it",
        "a history of ulcer, amputation or ESRD without LOPS or PAD does not raise the category (literal IWGDF table)",
    )
    if len(possible) == 1:
        category = possible[0]
        interpretation = labels.get(category, f"IWGDF risk {category}")
        value: int | None = category
    else:
        value = None
        missing = ", ".join(names[i] for i in needed_inputs(values))
        interpretation = (
            f"IWGDF risk category undeterminable: {possible[0]} to {possible[-1]} possible; "
            f"assess {missing} (unknown inputs are not assumed normal)"
        )
    return CalcResult(
        name="iwgdf-category",
        value=value,
        interpretation=interpretation,
        inputs={k: _word(v) for k, v in given.items()},
        steps=steps,
        citation=citation,
        conventions=conventions,
    )


# -- ABI -----------------------------------------------------------------------


def _abi_rule(version: str | None, source: Catalog | None) -> tuple[m.ClassificationRule, m.Guideline]:
    g = _guideline(_ABI_GUIDELINE, version, None, source)
    rule = g.rule(_ABI_RULE)
    assert isinstance(rule, m.ClassificationRule)
    return rule, g


def classify_abi(
    value: float | Decimal, *, version: str | None = None, source: Catalog | None = None
) -> tuple[str, Decimal]:
    """Classify an ABI with the bands of the ``aha-acc-pad`` guideline.

    Args:
        value: the ankle-brachial index (unrounded or rounded).
        version: the guideline version (default: latest released).
        source: a catalog other than the packaged one.

    Returns:
        The band label (abnormal, borderline, normal, noncompressible) and the
        value as rounded by the rule (Decimal, half-up, to the rule's places).

    Raises:
        InputError: the value is negative or fits no band.

    """
    rule, _ = _abi_rule(version, source)
    band, shown = band_of(rule, float(value))
    if band is None or value < 0:
        raise InputError("abi", value, "an ankle-brachial index of 0 or more")
    return band.label, shown


def _pressure(name: str, value: Quantity | str, bounds: tuple[float, float]) -> float:
    q = parse_quantity(value, name, "mmHg")
    mmhg = magnitude(q, "mmHg", field=name)
    # Compare at 9 decimals so a kPa value converted from an edge (300 mmHg) is not refused for float noise.
    if not within(mmhg, *bounds):
        raise InputError(name, format_quantity(q), f"a systolic pressure from {bounds[0]:g} to {bounds[1]:g} mmHg")
    return mmhg


def abi(
    *,
    ankle_dp: Quantity | str,
    ankle_pt: Quantity | str,
    brachial_left: Quantity | str,
    brachial_right: Quantity | str,
    version: str | None = None,
    source: Catalog | None = None,
) -> CalcResult:
    """Ankle-brachial index of one leg, rounded half-up to 2 decimals, with its AHA/ACC category.

    ABI = higher of the dorsalis pedis and posterior tibial systolic pressures
    of that leg / higher of the left and right brachial systolic pressures.

    Args:
        ankle_dp: dorsalis pedis systolic pressure (mmHg or kPa).
        ankle_pt: posterior tibial systolic pressure (mmHg or kPa).
        brachial_left: left arm systolic pressure (mmHg or kPa).
        brachial_right: right arm systolic pressure (mmHg or kPa).
        version: the ``aha-acc-pad`` guideline version whose bands to use (default: latest).
        source: a catalog other than the packaged one.

    Returns:
        A result whose ``value`` is the ABI as a Decimal at the rule's precision.

    Raises:
        InputError: a pressure is not a pressure, or is outside 0-400 mmHg (ankle)
            or 40-300 mmHg (arm).

    """
    dp = _pressure("ankle_dp", ankle_dp, _ANKLE_RANGE)
    pt = _pressure("ankle_pt", ankle_pt, _ANKLE_RANGE)
    left = _pressure("brachial_left", brachial_left, _BRACHIAL_RANGE)
    right = _pressure("brachial_right", brachial_right, _BRACHIAL_RANGE)
    rule, g = _abi_rule(version, source)
    ankle, arm = max(dp, pt), max(left, right)
    ratio = ankle / arm
    places = rule.places if rule.places is not None else 2
    value = round_half_up(ratio, places)
    label, _ = classify_abi(ratio, version=g.version, source=source)
    band = next(b for b in rule.bands if b.label == label)
    return CalcResult(
        name="abi",
        value=value,
        interpretation=f"ABI {value}: {label}" + (f" ({band.action})" if band.action else ""),
        inputs={
            "ankle_dp": f"{dp:.4g} mmHg",
            "ankle_pt": f"{pt:.4g} mmHg",
            "brachial_left": f"{left:.4g} mmHg",
            "brachial_right": f"{right:.4g} mmHg",
        },
        steps=(
            Step(label="higher ankle pressure (DP, PT)", value=f"max({dp:.4g}, {pt:.4g}) = {ankle:.4g} mmHg"),
            Step(label="higher arm pressure (left, right)", value=f"max({left:.4g}, {right:.4g}) = {arm:.4g} mmHg"),
            Step(label="ratio", value=f"{ankle:.4g} / {arm:.4g} = {ratio:.6g}"),
            Step(label=f"rounded half-up to {places} decimals", value=str(value)),
            Step(label="category", value=label),
        ),
        citation=_cite(g, rule),
        conventions=(
            f"rounded half-up (Decimal) to {places} decimals before binning, as the guideline records ABI values",
            "pressures in kPa are converted to mmHg first; the ratio is unit-free",
            "plausible inputs: ankle 0-400 mmHg, arm 40-300 mmHg",
        ),
    )


# -- glycaemia ------------------------------------------------------------


GLYCEMIA_GUIDELINE = "ada-diabetes-diagnosis"

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
    source: Catalog | None = None,
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
        source: a catalog other than the packaged one.

    Returns:
        A :class:`CalcResult` whose ``value`` is one of ``"diabetes"``,
        ``"diabetes-range-needs-confirmation"``, ``"prediabetes"``,
        ``"below-prediabetes-ranges"`` or ``"random-glucose-not-diagnostic-alone"``.

    Raises:
        InputError: no test given, a wrong unit, or a value outside the plausible range.

    """
    given = {"hba1c": hba1c, "fasting_glucose": fasting_glucose, "ogtt_2h": ogtt_2h, "random_glucose": random_glucose}
    if all(v is None for v in given.values()):
        raise InputError("hba1c/fasting_glucose/ogtt_2h/random_glucose", None, "at least one test result")
    if not isinstance(symptoms, bool):
        raise InputError("symptoms", symptoms, "True or False")
    g = _guideline(GLYCEMIA_GUIDELINE, None, as_of, source)
    rules = {r.fact: r for r in g.rules if isinstance(r, m.ClassificationRule)}
    readings: list[_Reading] = []
    inputs: dict[str, str] = {}
    flags: list[str] = []
    for name, raw in given.items():
        if raw is None:
            continue
        fact, label = _TESTS[name]
        rule = rules[fact]
        value = _canonical(name, fact, raw, rule.unit)
        why = _slip(name, fact, raw)
        if why is not None:
            # Never classified: a probable unit error must not read as "no diabetes".
            flags.append(f"PROBABLE UNIT ERROR: {name} {raw}: {why}; not classified (check the unit)")
            continue
        band, shown = band_of(rule, value)
        if band is None:  # pragma: no cover - the bands cover the whole line
            raise InputError(name, raw, "a value inside the guideline's bands")
        unit = "%" if rule.unit == "percent" else rule.unit
        inputs[name] = f"{value:.4g} {unit}"
        readings.append(
            _Reading(name=name, label=label, value=value, unit=unit, band=band, shown=str(shown), rule=rule)
        )
    inputs["symptoms"] = str(symptoms)
    verdict, interpretation = _verdict(readings, symptoms)
    if flags:
        verdict = "unit-error" if not readings else verdict
        interpretation = "; ".join(flags) + ("; " + interpretation if readings else "")
    steps = tuple(
        Step(label=f"{r.label} ({r.rule.id})", value=f"{r.shown} {r.unit}: {r.band.label} ({_edges(r.band, r.unit)})")
        for r in readings
    )
    citation = "; ".join(dict.fromkeys(m.cite(c, g) for r in readings for c in r.rule.citations))
    return CalcResult(
        name="glycemia-ada",
        value=verdict,
        interpretation=interpretation,
        flags=tuple(flags),
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


def _slip(name: str, fact: str, raw: Quantity | str) -> str | None:
    spec = vocabulary()[fact]
    if spec.plausible is None:
        return None
    return unit_slip(spec.plausible, functools.partial(in_kind, parse_quantity(raw, name)))


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
