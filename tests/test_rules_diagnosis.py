"""ADA diagnostic and prediabetes criteria: quotes, band edges, units, the glycaemia calculator."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import model as m
from neuroguide.units import ANALYTES, hba1c_ngsp_to_ifcc

AS_OF = dt.date(2026, 11, 23)
GID = "ada-diabetes-diagnosis"
VERSION = "2026.2"
MG_PER_MMOL = ANALYTES["glucose"].molar_mass / 10  # mg/dL per mmol/L (180.156 g/mol)


def _rule(rule_id: str) -> m.Rule:
    return ng.load_guideline(GID, version=VERSION).rule(rule_id)


def _quotes(rule: m.Rule) -> str:
    return " ".join(c.quote for c in rule.citations)


def _bands(rule_id: str) -> list[tuple[str, float | None, bool, float | None, bool]]:
    rule = _rule(rule_id)
    assert isinstance(rule, m.ClassificationRule)
    out = []
    for b in rule.bands:
        lo = None if b.lower is None else float(b.lower.to(rule.unit).magnitude)  # type: ignore[union-attr]
        hi = None if b.upper is None else float(b.upper.to(rule.unit).magnitude)  # type: ignore[union-attr]
        out.append((b.label, lo, b.lower_inclusive, hi, b.upper_inclusive))
    return out


def _label(measurements: dict[str, str], rule_id: str, **extra: Any) -> object:
    patient: dict[str, Any] = {"measurements": measurements, **extra}
    result = ng.assess(patient, as_of=AS_OF, guidelines=[GID])
    return result.record.facts.get(rule_id)


# -- A1C ------------------------------------------------------------------------


@pytest.mark.rule("ada-dx-hba1c")
def test_hba1c_bands_come_from_the_quote() -> None:
    quotes = _quotes(_rule("ada-dx-hba1c"))
    for text in ("≥6.5%", "5.7–6.4%", "39–47 mmol/mol", "48 mmol/mol"):
        assert text in quotes
    # The prediabetes band is [5.7, 6.5): ADA's "5.7–6.4%" at one-decimal precision.
    assert _bands("ada-dx-hba1c") == [
        ("below-prediabetes", None, True, 5.7, False),
        ("prediabetes", 5.7, True, 6.5, False),
        ("diabetes", 6.5, True, None, True),
    ]
    # The printed mmol/mol pairs follow from the IFCC-NGSP master equation.
    assert hba1c_ngsp_to_ifcc(6.5).quantize(Decimal(1), ROUND_HALF_UP) == 48
    assert hba1c_ngsp_to_ifcc(5.7).quantize(Decimal(1), ROUND_HALF_UP) == 39


@pytest.mark.rule("ada-dx-hba1c")
@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("5.6 %", "below-prediabetes"),
        ("5.7 %", "prediabetes"),
        ("6.4 %", "prediabetes"),
        ("6.5 %", "diabetes"),
        ("6.6 %", "diabetes"),
        ("38 mmol/mol", "below-prediabetes"),
        ("39 mmol/mol", "prediabetes"),
        ("47 mmol/mol", "prediabetes"),
        ("48 mmol/mol", "diabetes"),
    ],
)
def test_hba1c_boundaries(value: str, label: str) -> None:
    assert _label({"hba1c": value}, "ada-dx-hba1c") == label


# -- glucose ----------------------------------------------------------------------

GLUCOSE_CASES = [
    ("ada-dx-fasting-glucose", "fasting-glucose", "99 mg/dL", "below-ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "100 mg/dL", "ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "125 mg/dL", "ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "126 mg/dL", "diabetes"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "5.5 mmol/L", "below-ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "5.6 mmol/L", "ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "6.9 mmol/L", "ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "7.0 mmol/L", "diabetes"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "139 mg/dL", "below-igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "140 mg/dL", "igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "199 mg/dL", "igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "200 mg/dL", "diabetes"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "7.7 mmol/L", "below-igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "7.8 mmol/L", "igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "11.0 mmol/L", "igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "11.1 mmol/L", "diabetes"),
    # Whole mg/dL (the ADA pairs 126 <-> 7.0, 200 <-> 11.1 hold at 0 places): x.5 rounds half-up.
    ("ada-dx-fasting-glucose", "fasting-glucose", "125.4 mg/dL", "ifg"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "125.5 mg/dL", "diabetes"),
    ("ada-dx-fasting-glucose", "fasting-glucose", "99.5 mg/dL", "ifg"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "199.4 mg/dL", "igt"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "199.5 mg/dL", "diabetes"),
    ("ada-dx-ogtt-2h", "ogtt-2h-glucose", "139.5 mg/dL", "igt"),
    ("ada-dx-random-glucose", "random-glucose", "199 mg/dL", "not-diagnostic"),
    ("ada-dx-random-glucose", "random-glucose", "200 mg/dL", "diabetes-if-symptomatic"),
    ("ada-dx-random-glucose", "random-glucose", "201 mg/dL", "diabetes-if-symptomatic"),
    ("ada-dx-random-glucose", "random-glucose", "11.1 mmol/L", "diabetes-if-symptomatic"),
    ("ada-dx-random-glucose", "random-glucose", "199.4 mg/dL", "not-diagnostic"),  # whole mg/dL, half-up
    ("ada-dx-random-glucose", "random-glucose", "199.5 mg/dL", "diabetes-if-symptomatic"),
]


@pytest.mark.rule("ada-dx-fasting-glucose")
def test_fasting_glucose_bands_come_from_the_quote() -> None:
    quotes = _quotes(_rule("ada-dx-fasting-glucose"))
    for text in ("≥126 mg/dL", "100–125 mg/dL", "5.6–6.9 mmol/L", "7.0 mmol/L", "8 h"):
        assert text in quotes
    assert _bands("ada-dx-fasting-glucose") == [
        ("below-ifg", None, True, 100.0, False),
        ("ifg", 100.0, True, 125.0, True),
        ("diabetes", 126.0, True, None, True),
    ]


@pytest.mark.rule("ada-dx-ogtt-2h")
def test_ogtt_bands_come_from_the_quote() -> None:
    quotes = _quotes(_rule("ada-dx-ogtt-2h"))
    for text in ("≥200 mg/dL", "140–199 mg/dL", "7.8–11.0 mmol/L", "11.1 mmol/L", "75-g OGTT"):
        assert text in quotes
    assert _bands("ada-dx-ogtt-2h") == [
        ("below-igt", None, True, 140.0, False),
        ("igt", 140.0, True, 199.0, True),
        ("diabetes", 200.0, True, None, True),
    ]


@pytest.mark.rule("ada-dx-random-glucose")
def test_random_glucose_band_comes_from_the_quote() -> None:
    quotes = _quotes(_rule("ada-dx-random-glucose"))
    assert "≥200 mg/dL" in quotes
    assert "11.1 mmol/L" in quotes
    assert "classic symptoms of hyperglycemia or hyperglycemic crisis" in quotes
    assert _bands("ada-dx-random-glucose") == [
        ("not-diagnostic", None, True, 200.0, False),
        ("diabetes-if-symptomatic", 200.0, True, None, True),
    ]


@pytest.mark.rule("ada-dx-fasting-glucose")
@pytest.mark.rule("ada-dx-ogtt-2h")
@pytest.mark.rule("ada-dx-random-glucose")
@pytest.mark.parametrize(("rule_id", "fact", "value", "label"), GLUCOSE_CASES)
def test_glucose_boundaries(rule_id: str, fact: str, value: str, label: str) -> None:
    assert _label({fact: value}, rule_id) == label


def _away_from_rounding_edge(mg_dl: float) -> bool:
    return abs((mg_dl % 1) - 0.5) > 1e-6


@pytest.mark.rule("ada-dx-fasting-glucose")
@given(st.floats(min_value=40, max_value=600, allow_nan=False))
def test_glucose_unit_invariance(mg_dl: float) -> None:
    assume(_away_from_rounding_edge(mg_dl))
    a = ng.calculators.classify_glycemia(fasting_glucose=f"{mg_dl!r} mg/dL")
    b = ng.calculators.classify_glycemia(fasting_glucose=f"{mg_dl / MG_PER_MMOL!r} mmol/L")
    assert a.value == b.value
    assert a.steps[0].value.split(":")[1] == b.steps[0].value.split(":")[1]


# -- considerations ------------------------------------------------------------------


@pytest.mark.rule("ada-dx-random-glucose-symptomatic")
@pytest.mark.parametrize(
    ("value", "symptoms", "fires"),
    [("199 mg/dL", True, False), ("200 mg/dL", True, True), ("200 mg/dL", False, False), ("250 mg/dL", True, True)],
)
def test_random_glucose_with_symptoms(value: str, symptoms: bool, fires: bool) -> None:
    rule = _rule("ada-dx-random-glucose-symptomatic")
    assert "Only diagnostic in a patient with classic symptoms" in _quotes(rule)
    patient = {"measurements": {"random-glucose": value}, "findings": {"hyperglycemia-symptoms": symptoms}}
    result = ng.assess(patient, as_of=AS_OF, guidelines=[GID])
    assert (result.by_rule("ada-dx-random-glucose-symptomatic") is not None) is fires


@pytest.mark.rule("ada-dx-confirm-two-results")
@pytest.mark.parametrize(
    ("measurements", "fires"),
    [
        ({"hba1c": "6.4 %"}, False),
        ({"hba1c": "6.5 %"}, True),
        ({"fasting-glucose": "125 mg/dL"}, False),
        ({"fasting-glucose": "126 mg/dL"}, True),
        ({"ogtt-2h-glucose": "200 mg/dL"}, True),
        ({"hba1c": "6.5 %", "fasting-glucose": "126 mg/dL"}, True),
    ],
)
def test_two_results_rule(measurements: dict[str, str], fires: bool) -> None:
    rule = _rule("ada-dx-confirm-two-results")
    assert "diagnosis requires two abnormal test results from the same sample or in two separate samples" in (
        _quotes(rule)
    )
    result = ng.assess({"measurements": measurements}, as_of=AS_OF, guidelines=[GID])
    assert (result.by_rule("ada-dx-confirm-two-results") is not None) is fires


@pytest.mark.rule("diabetes-screen-in-neuropathy")
@pytest.mark.parametrize(
    ("patient", "fires"),
    [
        ({"findings": {"polyneuropathy": True}}, True),
        ({"findings": {"polyneuropathy": False}}, False),
        ({"findings": {"polyneuropathy": True}, "diabetes": {"type": "type-2", "diagnosed": "2020-01-01"}}, False),
    ],
)
def test_screen_for_diabetes_in_neuropathy(patient: dict[str, Any], fires: bool) -> None:
    rule = _rule("diabetes-screen-in-neuropathy")
    quotes = _quotes(rule)
    assert "blood glucose" in quotes
    assert "testing for impaired glucose tolerance may be considered" in quotes
    assert rule.citations[0].grade == "C"
    assert rule.deviations, "the seed's IGT claim must be recorded as a deviation"
    rec = ng.assess(patient, as_of=AS_OF, guidelines=[GID]).by_rule("diabetes-screen-in-neuropathy")
    assert (rec is not None) is fires


# -- the calculator ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "value"),
    [
        ({"hba1c": "5.6 %"}, "below-prediabetes-ranges"),
        ({"hba1c": "5.7 %"}, "prediabetes"),
        ({"fasting_glucose": "100 mg/dL"}, "prediabetes"),
        ({"ogtt_2h": "140 mg/dL"}, "prediabetes"),
        ({"hba1c": "6.5 %"}, "diabetes-range-needs-confirmation"),
        ({"hba1c": "48 mmol/mol", "fasting_glucose": "7.0 mmol/L"}, "diabetes"),
        ({"hba1c": "6.4 %", "fasting_glucose": "126 mg/dL"}, "diabetes-range-needs-confirmation"),
        ({"random_glucose": "200 mg/dL"}, "random-glucose-not-diagnostic-alone"),
        ({"random_glucose": "200 mg/dL", "symptoms": True}, "diabetes"),
        ({"random_glucose": "199 mg/dL", "symptoms": True}, "below-prediabetes-ranges"),
    ],
)
def test_classify_glycemia(kwargs: dict[str, Any], value: str) -> None:
    assert ng.calculators.classify_glycemia(**kwargs).value == value


def test_classify_glycemia_says_which_test_confirms() -> None:
    res = ng.calculators.classify_glycemia(hba1c="6.8 %")
    assert "second abnormal result" in res.interpretation
    assert "fasting plasma glucose" in res.interpretation
    assert "repeat A1C on a separate sample" in res.interpretation
    assert "ada-dx-hba1c" in res.steps[0].label


def test_classify_glycemia_reads_the_guideline_not_a_copy() -> None:
    # Before the guideline took effect there is no version to read bands from.
    with pytest.raises(LookupError):
        ng.calculators.classify_glycemia(hba1c="6.5 %", as_of=dt.date(2020, 1, 1))
    assert "glycemia-ada" in ng.calculators.REGISTRY


@pytest.mark.parametrize(
    "kwargs", [{}, {"hba1c": "6.5 mg/dL"}, {"fasting_glucose": "7 %"}, {"fasting_glucose": "5000 mg/dL"}]
)
def test_classify_glycemia_rejects_bad_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"hba1c|glucose"):
        ng.calculators.classify_glycemia(**kwargs)
