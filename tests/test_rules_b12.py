"""Vitamin B12 testing (NICE NG239, ADA metformin monitoring): quotes, bands, units, triggers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import model as m
from neuroguide.units import ANALYTES

AS_OF = dt.date(2026, 11, 23)
GID = "b12-testing"
VERSION = "2024.3"
NG_PER_PMOL = ANALYTES["vitamin-b12"].molar_mass / 1000  # ng/L per pmol/L (1355.37 g/mol)


def _rule(rule_id: str) -> m.Rule:
    return ng.load_guideline(GID, version=VERSION).rule(rule_id)


def _quotes(rule: m.Rule) -> str:
    return " ".join(c.quote for c in rule.citations)


def _assess(patient: dict[str, Any], statuses: tuple[str, ...] = ("approved",)) -> ng.Assessment:
    return ng.assess(patient, as_of=AS_OF, guidelines=[GID], statuses=statuses)


def _label(fact: str, value: str, rule_id: str) -> object:
    return _assess({"measurements": {fact: value}}).record.facts.get(rule_id)


# -- total B12 ----------------------------------------------------------------------


@pytest.mark.rule("b12-total-interpretation")
def test_total_b12_bands_come_from_the_quote() -> None:
    rule = _rule("b12-total-interpretation")
    assert isinstance(rule, m.ClassificationRule)
    quotes = _quotes(rule)
    assert "Less than 180 nanograms (133 pmol) per litre" in quotes
    assert "Between 180 and 350 nanograms (133 and 258 pmol) per litre" in quotes
    edges = [(b.label, b.lower, b.lower_inclusive, b.upper, b.upper_inclusive) for b in rule.bands]
    q = ng.Q_
    assert edges == [
        ("deficiency-confirmed", None, True, q(180, "ng/L"), False),
        ("indeterminate", q(180, "ng/L"), True, q(350, "ng/L"), True),
        ("above-indeterminate", q(350, "ng/L"), False, None, True),
    ]
    assert rule.places == 0
    # The printed pmol/L pairs follow from cobalamin's molar mass (1355.37 g/mol).
    assert round(180 / NG_PER_PMOL) == 133
    assert round(350 / NG_PER_PMOL) == 258


@pytest.mark.rule("b12-total-interpretation")
@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("179 ng/L", "deficiency-confirmed"),
        ("180 ng/L", "indeterminate"),
        ("181 ng/L", "indeterminate"),
        ("349 ng/L", "indeterminate"),
        ("350 ng/L", "indeterminate"),
        ("351 ng/L", "above-indeterminate"),
        ("179 pg/mL", "deficiency-confirmed"),
        ("180 pg/mL", "indeterminate"),
        ("350 pg/mL", "indeterminate"),
        ("351 pg/mL", "above-indeterminate"),
        ("132 pmol/L", "deficiency-confirmed"),
        ("133 pmol/L", "indeterminate"),
        ("258 pmol/L", "indeterminate"),
        ("259 pmol/L", "above-indeterminate"),
        ("179.4 ng/L", "deficiency-confirmed"),  # whole ng/L, half-up (the boundary text)
        ("179.5 ng/L", "indeterminate"),
        ("350.4 ng/L", "indeterminate"),
        ("350.5 ng/L", "above-indeterminate"),
    ],
)
def test_total_b12_boundaries(value: str, label: str) -> None:
    assert _label("b12-total", value, "b12-total-interpretation") == label


@pytest.mark.rule("b12-total-interpretation")
@given(st.floats(min_value=20, max_value=3000, allow_nan=False))
def test_total_b12_unit_invariance(ng_per_l: float) -> None:
    # Away from the half-up rounding edge, pg/mL, ng/L and pmol/L agree.
    assume(abs((ng_per_l % 1) - 0.5) > 1e-6)
    labels = {
        _label("b12-total", f"{ng_per_l!r} ng/L", "b12-total-interpretation"),
        _label("b12-total", f"{ng_per_l!r} pg/mL", "b12-total-interpretation"),
        _label("b12-total", f"{ng_per_l / NG_PER_PMOL!r} pmol/L", "b12-total-interpretation"),
    }
    assert len(labels) == 1


# -- active B12 ---------------------------------------------------------------------


@pytest.mark.rule("b12-active-interpretation")
def test_active_b12_bands_come_from_the_quote() -> None:
    rule = _rule("b12-active-interpretation")
    assert isinstance(rule, m.ClassificationRule)
    quotes = _quotes(rule)
    for text in ("<25 pmol/L confirms", "25-70 pmol/L possible", ">70 pmol/L vitamin B12 deficiency is unlikely"):
        assert text in quotes
    q = ng.Q_
    assert [(b.lower, b.upper) for b in rule.bands] == [
        (None, q(25, "pmol/L")),
        (q(25, "pmol/L"), q(70, "pmol/L")),
        (q(70, "pmol/L"), None),
    ]


@pytest.mark.rule("b12-active-interpretation")
@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("24 pmol/L", "deficiency-confirmed"),
        ("25 pmol/L", "indeterminate"),
        ("26 pmol/L", "indeterminate"),
        ("69 pmol/L", "indeterminate"),
        ("70 pmol/L", "indeterminate"),
        ("71 pmol/L", "deficiency-unlikely"),
    ],
)
def test_active_b12_boundaries(value: str, label: str) -> None:
    assert _label("b12-active", value, "b12-active-interpretation") == label


# -- second line -------------------------------------------------------------------------


@pytest.mark.rule("b12-mma-indeterminate")
@pytest.mark.parametrize(
    ("measurements", "findings", "fires"),
    [
        ({"b12-total": "179 ng/L"}, {"numbness": True}, False),
        ({"b12-total": "180 ng/L"}, {"numbness": True}, True),
        ({"b12-total": "350 ng/L"}, {"tingling": True}, True),
        ({"b12-total": "351 ng/L"}, {"numbness": True}, False),
        (
            {"b12-total": "250 ng/L"},
            {"numbness": False, "tingling": False, "b12-symptoms": False, "polyneuropathy": False},
            False,
        ),
        ({"b12-active": "25 pmol/L"}, {"b12-symptoms": True}, True),
        ({"b12-active": "71 pmol/L"}, {"b12-symptoms": True}, False),
    ],
)
def test_mma_for_indeterminate_with_symptoms(
    measurements: dict[str, str], findings: dict[str, bool], fires: bool
) -> None:
    rule = _rule("b12-mma-indeterminate")
    assert "methylmalonic acid" in _quotes(rule)
    assert "indeterminate total or active B12 test result" in _quotes(rule)
    rec = _assess({"measurements": measurements, "findings": findings}).by_rule("b12-mma-indeterminate")
    assert (rec is not None) is fires


@pytest.mark.rule("b12-nitrous-oxide-homocysteine")
@pytest.mark.parametrize(("use", "fires"), [(True, True), (False, False)])
def test_nitrous_oxide_homocysteine(use: bool, fires: bool) -> None:
    rule = _rule("b12-nitrous-oxide-homocysteine")
    assert "plasma homocysteine" in _quotes(rule)
    rec = _assess({"findings": {"nitrous-oxide-use": use}}).by_rule("b12-nitrous-oxide-homocysteine")
    assert (rec is not None) is fires


# -- who to test ---------------------------------------------------------------------------


@pytest.mark.rule("b12-test-symptom-and-risk")
@pytest.mark.parametrize(
    ("patient", "fires"),
    [
        ({"findings": {"tingling": True}, "medications": [{"agent": "metformin"}]}, True),
        ({"findings": {"polyneuropathy": True, "bariatric-surgery": True}}, True),
        ({"findings": {"numbness": True, "malabsorption": True}}, True),
        ({"findings": {"b12-symptoms": True, "vegan-diet": True}}, True),
        (
            {
                "findings": {
                    "tingling": True,
                    "bariatric-surgery": False,
                    "malabsorption": False,
                    "vegan-diet": False,
                    "other-b12-risk-factor": False,
                }
            },
            False,
        ),
        (
            {
                "findings": {
                    "bariatric-surgery": True,
                    "b12-symptoms": False,
                    "tingling": False,
                    "numbness": False,
                    "polyneuropathy": False,
                }
            },
            False,
        ),
    ],
)
def test_offer_b12_test_symptom_and_risk_factor(patient: dict[str, Any], fires: bool) -> None:
    rule = _rule("b12-test-symptom-and-risk")
    quotes = _quotes(rule)
    assert "at least one common symptom or sign and at least one common risk factor" in quotes
    for risk in ("metformin", "Bariatric surgery", "gastrectomy", "terminal ileal resection", "vegan"):
        assert risk in quotes
    assert "paraesthesia" in quotes
    assert rule.deviations
    rec = _assess(patient).by_rule("b12-test-symptom-and-risk")
    assert (rec is not None) is fires


@pytest.mark.rule("b12-metformin-annual")
def test_metformin_rule_numbers_come_from_the_quote() -> None:
    rule = _rule("b12-metformin-annual")
    assert isinstance(rule, m.ScreeningRule)
    assert ">4 years" in _quotes(rule)
    assert "monitored annually" in _quotes(rule)
    assert rule.interval == m.Period(12, "month")
    # "> 48 months" is ADA's ">4 years" x 12 (months avoid a year-symbol round-trip problem).
    assert rule.applies == m.AllOf((m.Fact("on-metformin"), m.Compare("metformin-duration", ">", ng.Q_(48, "month"))))
    assert ng.Q_(48, "month").to("year").magnitude == 4


@pytest.mark.rule("b12-metformin-annual")
@pytest.mark.parametrize(
    ("started", "applies"),
    [("2022-11-24", False), ("2022-11-23", False), ("2022-11-22", True)],
)
def test_metformin_more_than_four_years(started: str, applies: bool) -> None:
    patient = {"medications": [{"agent": "metformin", "started": started}]}
    assert (_assess(patient).by_rule("b12-metformin-annual") is not None) is applies


@pytest.mark.rule("b12-metformin-annual")
@pytest.mark.parametrize(
    ("last", "status"),
    [("2025-11-24", "scheduled"), ("2025-11-23", "due"), ("2025-11-22", "overdue")],
)
def test_metformin_annual_interval(last: str, status: str) -> None:
    patient = {"medications": [{"agent": "metformin", "started": "2015-01-01"}], "last": {"b12-test": last}}
    rec = _assess(patient).by_rule("b12-metformin-annual")
    assert rec is not None
    assert rec.status == status


# -- treatment when deficiency is confirmed (b12-testing 2024.2) ------------------------------------


def _rule_2024_2(rule_id: str) -> m.Rule:
    return ng.load_guideline(GID, version=VERSION).rule(rule_id)


@pytest.mark.rule("b12-treatment-neuro")
@pytest.mark.parametrize(
    ("measurement", "fires"),
    [("179 ng/L", True), ("180 ng/L", False), ("150 ng/L", True), ("351 ng/L", False)],
)
def test_b12_treatment_neuro_im_regimen(measurement: str, fires: bool) -> None:
    """BNF: 'hydroxocobalamin 1 mg intramuscularly on alternate days until there is no further improvement,
    then ... 1 mg intramuscularly every 2 months'; confirmed = total B12 < 180 ng/L (NICE NG239)."""
    assert "on alternate days until there is no further improvement" in _quotes(_rule_2024_2("b12-treatment-neuro"))
    patient = {"findings": {"tingling": True, "numbness": True}, "measurements": {"b12-total": measurement}}
    rec = _assess(patient).by_rule("b12-treatment-neuro")
    assert (rec is not None) is fires
    if rec is not None:
        assert "1 mg on alternate days" in rec.action and "every 2 months" in rec.action
        assert "folic acid" in rec.action


@pytest.mark.rule("b12-treatment-neuro")
def test_b12_treatment_neuro_on_active_b12() -> None:
    """Active B12 < 25 pmol/L also confirms deficiency (NICE NG239)."""
    for value, fires in (("24 pmol/L", True), ("25 pmol/L", False)):
        patient = {"findings": {"weakness": True}, "measurements": {"b12-active": value}}
        assert (_assess(patient).by_rule("b12-treatment-neuro") is not None) is fires, value


@pytest.mark.rule("b12-treatment-no-neuro")
def test_b12_treatment_no_neuro_regimens() -> None:
    """BNF: 1 mg IM three times a week for 2 weeks, then every 2-3 months; NICE: oral at least 1 mg a day."""
    q = _quotes(_rule_2024_2("b12-treatment-no-neuro"))
    assert "three times a week for 2 weeks" in q and "at least 1 mg a day" in q
    no_neuro = dict.fromkeys(
        ["numbness", "tingling", "weakness", "distal-symmetric-pattern", "monofilament-abnormal",
         "vibration-abnormal", "pinprick-reduced", "temperature-reduced"], False)  # fmt: skip
    patient = {"findings": no_neuro, "measurements": {"b12-total": "120 ng/L"}}
    result = _assess(patient)
    rec = result.by_rule("b12-treatment-no-neuro")
    assert rec is not None and "three times a week for 2 weeks" in rec.action
    assert result.by_rule("b12-treatment-neuro") is None


@pytest.mark.rule("folic-acid-not-before-b12")
def test_folic_acid_not_before_b12_when_deficiency_confirmed() -> None:
    assert "only folic acid" in _quotes(_rule_2024_2("folic-acid-not-before-b12"))
    for value, fires in (("179 ng/L", True), ("180 ng/L", False)):
        rec = _assess({"measurements": {"b12-total": value}}).by_rule("folic-acid-not-before-b12")
        assert (rec is not None) is fires, value


@pytest.mark.rule("b12-treatment-neuro")
def test_b12_deficiency_with_neurological_signs_gets_treatment_not_only_a_test() -> None:
    """The audit's patient E: total B12 150 ng/L with tingling and weakness."""
    patient = {
        "diabetes": {"type": "type-2", "diagnosed": "2008-01-01"},
        "findings": {"numbness": True, "tingling": True, "vibration-abnormal": True, "weakness": True},
        "measurements": {"b12-total": "150 ng/L"},
        "medications": [{"agent": "metformin", "started": "2010-01-01"}],
    }
    result = _assess(patient)
    assert result.by_rule("b12-treatment-neuro") is not None
    assert result.by_rule("folic-acid-not-before-b12") is not None


@pytest.mark.rule("b12-test-symptom-and-risk")
def test_initial_b12_test_is_not_offered_once_a_result_is_recorded() -> None:
    """NICE NG239 (BMJ summary, bullet 1): an 'initial diagnostic test' for 'suspected deficiency'.

    With deficiency already confirmed the assessment offered a first B12 test beside the treatment.
    """
    assert "Offer an initial diagnostic test (total or active B12) for suspected deficiency" in _quotes(
        _rule("b12-test-symptom-and-risk")
    )
    base = {"findings": {"tingling": True, "weakness": True}, "medications": [{"agent": "metformin"}]}
    assert _assess(base).by_rule("b12-test-symptom-and-risk") is not None  # no result yet: offered
    for measured in ({"b12-total": "150 ng/L"}, {"b12-total": "400 ng/L"}, {"b12-active": "20 pmol/L"}):
        result = _assess({**base, "measurements": measured})
        assert result.by_rule("b12-test-symptom-and-risk") is None, measured
    confirmed = _assess({**base, "measurements": {"b12-total": "150 ng/L"}})
    assert confirmed.by_rule("b12-treatment-neuro") is not None
    assert confirmed.record.facts["b12-result-recorded"] is True
    assert _assess(base).record.facts["b12-result-recorded"] is False


@pytest.mark.rule("folic-acid-not-before-b12")
def test_folic_acid_on_the_medication_list_is_recognised() -> None:
    """Folic acid is a medication the caution is about: it must not be listed as unrecognised."""
    patient = {
        "findings": {"tingling": True},
        "measurements": {"b12-total": "150 ng/L"},
        "medications": [{"agent": "Folic acid 5 mg", "dose": "5 mg", "per": "day"}],
    }
    result = ng.assess(patient, as_of=AS_OF)
    assert not [m for m in result.missing if m.fact.startswith("medications[")]
    assert result.by_rule("folic-acid-not-before-b12") is not None


@pytest.mark.rule("b12-total-interpretation")
def test_the_result_line_leads_with_the_patients_own_value() -> None:
    from neuroguide.report import render_text

    text = " ".join(render_text(_assess({"measurements": {"b12-total": "150 ng/L"}})).split())
    assert "Result: Serum total vitamin B12 150 ng/L. Total B12 < 180 ng/L" in text


@pytest.mark.rule("b12-active-interpretation")
def test_active_b12_rounding_and_explained_edges() -> None:
    """NICE NG239: '<25 pmol/L confirms', '25-70 ... indeterminate', '>70 ... unlikely' (whole pmol/L, half-up)."""

    def reasons(value: str) -> tuple[str, ...]:
        rec = _assess({"measurements": {"b12-active": value}}).by_rule("b12-active-interpretation")
        assert rec is not None
        return rec.reasons

    assert reasons("24.5 pmol/L") == ("b12-active = 25 pmol/L: indeterminate (≥ 25 pmol/L and ≤ 70 pmol/L)",)
    assert reasons("24.4 pmol/L") == ("b12-active = 24 pmol/L: deficiency-confirmed (< 25 pmol/L)",)
    assert reasons("71 pmol/L") == ("b12-active = 71 pmol/L: deficiency-unlikely (> 70 pmol/L)",)
    assert reasons("70.4 pmol/L") == ("b12-active = 70 pmol/L: indeterminate (≥ 25 pmol/L and ≤ 70 pmol/L)",)
