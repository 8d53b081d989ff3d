"""The drug-neurotoxicity table: entries against quotes, look-up, exposure checks, assess."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import model as m
from neuroguide.neurotox import cumulative_dose, exposure_check, neurotoxicity_class
from neuroguide.units import parse_quantity

AS_OF = dt.date(2026, 11, 23)
GID = "drug-neurotoxicity"
VERSION = "2026.2"


def _table() -> tuple[m.NeurotoxicityRule, ...]:
    g = ng.load_guideline(GID, version=VERSION)
    return tuple(r for r in g.rules if isinstance(r, m.NeurotoxicityRule))


def _entry(agent: str) -> m.NeurotoxicityRule:
    return ng.neurotoxicity(agent)


def _quotes(rule: m.Rule) -> str:
    return " ".join(c.quote for c in rule.citations)


def _med(agent: str, **fields: Any) -> ng.Medication:
    return ng.Patient.from_dict({"medications": [{"agent": agent, **fields}]}).medications[0]


# -- whole-table invariants ---------------------------------------------------------------


def test_every_entry_is_cited_with_a_quote() -> None:
    table = _table()
    assert len(table) >= 30
    for rule in table:
        assert rule.citations, rule.id
        assert all(c.quote.strip() for c in rule.citations), rule.id


# Approved although the RxNorm code is unverified: recognised by name only (2026.2, content re-read on PMC).
NAME_ONLY = {"neurotox-vincristine"}


def test_every_approved_entry_has_a_numeric_rxnorm_code() -> None:
    """An approved entry has a verified numeric code, or is listed as recognised by name only (no code used)."""
    for rule in _table():
        if rule.status is m.Status.APPROVED:
            assert rule.rxnorm.isdigit() or (rule.id in NAME_ONLY and rule.rxnorm == "unverified"), rule.id
            assert all(c.verification.status is not m.VerificationStatus.UNVERIFIED for c in rule.citations)
        elif not rule.rxnorm.isdigit():
            assert rule.rxnorm == "unverified"
            assert rule.review_note is not None
            assert "RxNorm" in rule.review_note


def test_required_agents_are_in_the_table() -> None:
    agents = {r.agent for r in _table()}
    required = {
        "bortezomib", "thalidomide", "lenalidomide", "pomalidomide", "vincristine", "vinblastine", "vinorelbine",
        "paclitaxel", "docetaxel", "cisplatin", "oxaliplatin", "carboplatin", "brentuximab vedotin", "nivolumab",
        "pembrolizumab", "ipilimumab", "metronidazole", "ciprofloxacin", "levofloxacin", "moxifloxacin",
        "nitrofurantoin", "linezolid", "isoniazid", "infliximab", "adalimumab", "etanercept", "certolizumab pegol",
        "golimumab", "amiodarone", "colchicine", "phenytoin", "disulfiram", "stavudine", "didanosine", "pyridoxine",
        "nitrous oxide",
    }  # fmt: skip
    assert required <= agents


def test_rxnorm_codes_are_unique() -> None:
    codes = [r.rxnorm for r in _table() if r.rxnorm.isdigit()]
    assert len(codes) == len(set(codes))


# -- thresholds against their quotes ---------------------------------------------------------

CUMULATIVE = [
    pytest.param("oxaliplatin", "550 mg/m2", "> 550 mg/m2", marks=pytest.mark.rule("neurotox-oxaliplatin")),
    pytest.param("cisplatin", "300 mg/m2", "> 300–350 mg/m2", marks=pytest.mark.rule("neurotox-cisplatin")),
    pytest.param("paclitaxel", "250 mg/m2", "> 250–300 mg/m2", marks=pytest.mark.rule("neurotox-paclitaxel")),
    pytest.param("docetaxel", "100 mg/m2", "> 100 mg/m2", marks=pytest.mark.rule("neurotox-docetaxel")),
    pytest.param("bortezomib", "16 mg/m2", "> 16–26 mg/m2", marks=pytest.mark.rule("neurotox-bortezomib")),
    pytest.param("thalidomide", "20 g", "> 20 g", marks=pytest.mark.rule("neurotox-thalidomide")),
    pytest.param("vincristine", "2 mg/m2", "> 2–6 mg/m2"),
    pytest.param("metronidazole", "42 g", ">42 g total", marks=pytest.mark.rule("neurotox-metronidazole")),
]


@pytest.mark.parametrize(("agent", "threshold", "quoted"), CUMULATIVE)
def test_cumulative_threshold_is_the_lower_end_of_the_quoted_marker(agent: str, threshold: str, quoted: str) -> None:
    rule = _entry(agent)
    assert rule.cumulative_threshold == parse_quantity(threshold)
    assert quoted in _quotes(rule)
    assert rule.boundary is not None
    assert "strictly greater" in rule.boundary


DURATION = [
    pytest.param("thalidomide", m.Period(18, "month"), "longer than 18 months",
                 marks=pytest.mark.rule("neurotox-thalidomide")),
    pytest.param("phenytoin", m.Period(5, "year"), "usually more than 5 years",
                 marks=pytest.mark.rule("neurotox-phenytoin")),
    pytest.param("metronidazole", m.Period(4, "week"), "(>4 weeks)", marks=pytest.mark.rule("neurotox-metronidazole")),
    pytest.param("linezolid", m.Period(28, "day"), "longer than the maximum recommended duration of 28 days"),
]  # fmt: skip


@pytest.mark.parametrize(("agent", "period", "quoted"), DURATION)
def test_duration_threshold_comes_from_the_quote(agent: str, period: m.Period, quoted: str) -> None:
    rule = _entry(agent)
    assert rule.duration_threshold == period
    assert quoted in _quotes(rule)


@pytest.mark.rule("neurotox-oxaliplatin")
@pytest.mark.parametrize(
    ("dose", "past"),
    [
        ("549 mg/m2", False),
        ("550 mg/m2", False),
        ("551 mg/m2", True),
        ("0.55 g/m2", False),
        ("0.551 g/m2", True),
    ],
)
def test_oxaliplatin_boundary(dose: str, past: bool) -> None:
    check = exposure_check(_entry("oxaliplatin"), _med("oxaliplatin", cumulative=dose))
    assert check.past_threshold is past


BOUNDARIES = [
    pytest.param("cisplatin", "299 mg/m2", "300 mg/m2", "301 mg/m2", marks=pytest.mark.rule("neurotox-cisplatin")),
    pytest.param("paclitaxel", "249 mg/m2", "250 mg/m2", "251 mg/m2", marks=pytest.mark.rule("neurotox-paclitaxel")),
    pytest.param("docetaxel", "99 mg/m2", "100 mg/m2", "101 mg/m2", marks=pytest.mark.rule("neurotox-docetaxel")),
    pytest.param("bortezomib", "15 mg/m2", "16 mg/m2", "17 mg/m2", marks=pytest.mark.rule("neurotox-bortezomib")),
    pytest.param("thalidomide", "19 g", "20 g", "21 g", marks=pytest.mark.rule("neurotox-thalidomide")),
    pytest.param("thalidomide", "19999 mg", "20000 mg", "20001 mg", marks=pytest.mark.rule("neurotox-thalidomide")),
    pytest.param("vincristine", "1.9 mg/m2", "2 mg/m2", "2.1 mg/m2"),
    pytest.param("metronidazole", "41 g", "42 g", "43 g", marks=pytest.mark.rule("neurotox-metronidazole")),
    pytest.param("metronidazole", "41999 mg", "42000 mg", "42001 mg", marks=pytest.mark.rule("neurotox-metronidazole")),
]


@pytest.mark.parametrize(("agent", "below", "at", "above"), BOUNDARIES)
def test_cumulative_boundaries(agent: str, below: str, at: str, above: str) -> None:
    rule = _entry(agent)
    verdicts = [exposure_check(rule, _med(agent, cumulative=d)).past_threshold for d in (below, at, above)]
    # A rule with a duration threshold too needs a start date; without it the check says "missing".
    expected: list[bool | None] = [False, False, True]
    if rule.duration_threshold is not None:
        expected = [None, None, True]
    assert verdicts == expected


@pytest.mark.rule("neurotox-oxaliplatin")
@pytest.mark.parametrize(("mg", "past"), [(1098, False), (1100, False), (1102, True)])
def test_dose_in_mg_is_divided_by_body_surface_area(mg: int, past: bool) -> None:
    check = exposure_check(_entry("oxaliplatin"), _med("oxaliplatin", cumulative=f"{mg} mg"), bsa=ng.Q_(2, "m**2"))
    assert check.past_threshold is past


@pytest.mark.rule("neurotox-oxaliplatin")
def test_mosteller_bsa_from_height_and_weight() -> None:
    rule = _entry("oxaliplatin")
    med = _med("oxaliplatin", cumulative="1000 mg")
    missing = exposure_check(rule, med)
    assert missing.past_threshold is None
    assert missing.missing == ("height and weight (for body-surface area)",)
    # sqrt(180 x 81 / 3600) = 2.0125 m2 -> 496.9 mg/m2; sqrt(160 x 50 / 3600) = 1.4907 m2 -> 670.8 mg/m2
    assert exposure_check(rule, med, facts={"height": 180.0, "weight": 81.0}).past_threshold is False
    assert exposure_check(rule, med, facts={"height": 160.0, "weight": 50.0}).past_threshold is True


@pytest.mark.rule("neurotox-thalidomide")
@pytest.mark.parametrize(("started", "past"), [("2025-05-24", False), ("2025-05-23", False), ("2025-05-22", True)])
def test_thalidomide_18_months(started: str, past: bool) -> None:
    check = exposure_check(_entry("thalidomide"), _med("thalidomide", started=started, cumulative="5 g"), as_of=AS_OF)
    assert check.past_threshold is past


@pytest.mark.rule("neurotox-phenytoin")
@pytest.mark.parametrize(("started", "past"), [("2021-11-24", False), ("2021-11-23", False), ("2021-11-22", True)])
def test_phenytoin_five_years(started: str, past: bool) -> None:
    check = exposure_check(_entry("phenytoin"), _med("phenytoin", started=started), as_of=AS_OF)
    assert check.past_threshold is past


@pytest.mark.rule("neurotox-metronidazole")
@pytest.mark.parametrize(("started", "past"), [("2026-10-27", False), ("2026-10-26", False), ("2026-10-25", True)])
def test_linezolid_and_metronidazole_four_weeks(started: str, past: bool) -> None:
    # 28 days before 23 Nov 2026 is 26 Oct: day 28 of therapy is not past "longer than 28 days".
    for agent, cumulative in (("linezolid", None), ("metronidazole", "10 g")):
        fields: dict[str, Any] = {"started": started}
        if cumulative:
            fields["cumulative"] = cumulative
        assert exposure_check(_entry(agent), _med(agent, **fields), as_of=AS_OF).past_threshold is past


def test_stopped_course_counts_only_to_its_stop_date() -> None:
    med = _med("linezolid", started="2026-01-01", stopped="2026-01-20")
    assert exposure_check(_entry("linezolid"), med, as_of=AS_OF).past_threshold is False


# -- entries without numeric thresholds: quote and behaviour ------------------------------------

NO_THRESHOLD = [
    pytest.param("carboplatin", "platinum-based chemotherapy", marks=pytest.mark.rule("neurotox-carboplatin")),
    pytest.param(
        "brentuximab vedotin", "predominantly sensory", marks=pytest.mark.rule("neurotox-brentuximab-vedotin")
    ),
    pytest.param("nivolumab", "except for some neurologic", marks=pytest.mark.rule("neurotox-nivolumab")),
    pytest.param("pembrolizumab", "except for some neurologic", marks=pytest.mark.rule("neurotox-pembrolizumab")),
    pytest.param("ipilimumab", "except for some neurologic", marks=pytest.mark.rule("neurotox-ipilimumab")),
    pytest.param("ciprofloxacin", "may be permanent", marks=pytest.mark.rule("neurotox-ciprofloxacin")),
    pytest.param("levofloxacin", "may be permanent", marks=pytest.mark.rule("neurotox-levofloxacin")),
    pytest.param("moxifloxacin", "may be permanent", marks=pytest.mark.rule("neurotox-moxifloxacin")),
    pytest.param(
        "nitrofurantoin", "first signs of neural involvement", marks=pytest.mark.rule("neurotox-nitrofurantoin")
    ),
    pytest.param("isoniazid", "patients taking isoniazid", marks=pytest.mark.rule("neurotox-isoniazid")),
    pytest.param("infliximab", "<1% of cases", marks=pytest.mark.rule("neurotox-infliximab")),
    pytest.param("adalimumab", "<1% of cases", marks=pytest.mark.rule("neurotox-adalimumab")),
    pytest.param("etanercept", "<1% of cases", marks=pytest.mark.rule("neurotox-etanercept")),
    pytest.param("pyridoxine", "100 mg/day", marks=pytest.mark.rule("neurotox-pyridoxine-excess")),
]


@pytest.mark.parametrize(("agent", "quoted"), NO_THRESHOLD)
def test_entries_without_thresholds_flag_the_drug_when_taken(agent: str, quoted: str) -> None:
    rule = _entry(agent)
    assert quoted in _quotes(rule)
    assert rule.cumulative_threshold is None
    assert rule.duration_threshold is None
    taking = ng.assess({"medications": [{"agent": agent}]}, as_of=AS_OF, guidelines=[GID])
    rec = taking.by_rule(rule.id)
    assert rec is not None
    assert rec.status == "caution"
    assert rec.action == rule.action
    other = ng.assess({"medications": [{"agent": "paracetamol"}]}, as_of=AS_OF, guidelines=[GID])
    assert other.by_rule(rule.id) is None


@pytest.mark.rule("neurotox-pyridoxine-excess")
def test_pyridoxine_upper_limit_is_text_only() -> None:
    rule = _entry("pyridoxine")
    assert "100 mg/day" in rule.risk
    assert "100 mg/day" in _quotes(rule)
    assert "19 years and older" in _quotes(rule)
    assert _entry("42954") is rule


# -- assess ------------------------------------------------------------------------------------


@pytest.mark.rule("neurotox-oxaliplatin")
def test_assess_flags_a_neurotoxic_drug_the_patient_takes() -> None:
    patient = {"medications": [{"agent": "oxaliplatin", "cumulative": "600 mg/m2"}]}
    result = ng.assess(patient, as_of=AS_OF)
    rec = result.by_rule("neurotox-oxaliplatin")
    assert rec is not None
    assert rec.status == "flagged"
    assert rec.section is ng.Section.MEDICATIONS
    assert any("600.0 mg/m2 > threshold 550 mg/m2" in r for r in rec.reasons)
    below = ng.assess({"medications": [{"agent": "Eloxatin", "cumulative": "500 mg/m2"}]}, as_of=AS_OF)
    rec_below = below.by_rule("neurotox-oxaliplatin")
    assert rec_below is not None
    assert rec_below.status == "caution"


def test_in_review_entries_are_not_evaluated_by_default() -> None:
    # Linezolid stays in review (its 28-day wording was read only in a manufacturer's reproduction).
    patient = {"medications": [{"agent": "linezolid", "started": "2026-09-01"}]}
    assert ng.assess(patient, as_of=AS_OF).by_rule("neurotox-linezolid") is None
    rec = ng.assess(patient, as_of=AS_OF, statuses=("approved", "in-review")).by_rule("neurotox-linezolid")
    assert rec is not None
    assert rec.status == "flagged"


@pytest.mark.rule("neurotox-metronidazole")
def test_metronidazole_is_approved_from_2026_3_and_was_in_review_before() -> None:
    # Goolsby 2018: ">42 g total (>4 weeks)"; 50 g is past it. In review in 2026.2 (RxNorm code then unverified).
    patient = {"medications": [{"agent": "metronidazole", "cumulative": "50 g"}]}
    old = ng.assess(patient, as_of=AS_OF, pins={"drug-neurotoxicity": "2026.2"})
    assert old.by_rule("neurotox-metronidazole") is None
    rec = ng.assess(patient, as_of=AS_OF).by_rule("neurotox-metronidazole")
    assert rec is not None and rec.status == "flagged" and rec.rule_status == "approved"
    assert _entry("6922").agent == "metronidazole"  # the verified RxNorm ingredient code now finds the entry


# -- look-up -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "agent"),
    [
        ("oxaliplatin", "oxaliplatin"),
        ("OXALIPLATIN", "oxaliplatin"),
        ("  Eloxatin ", "oxaliplatin"),
        ("32592", "oxaliplatin"),
        ("neurotox-oxaliplatin", "oxaliplatin"),
        ("humira", "adalimumab"),
        ("Keytruda", "pembrolizumab"),
        ("1547545", "pembrolizumab"),
        ("N2O", "nitrous oxide"),
    ],
)
def test_lookup_by_name_synonym_or_rxnorm(name: str, agent: str) -> None:
    assert ng.neurotoxicity(name).agent == agent


def test_unknown_drug_raises_lookup_error_with_suggestions() -> None:
    with pytest.raises(LookupError, match=r"did you mean 'oxaliplatin'"):
        ng.neurotoxicity("oxaliplatine")
    with pytest.raises(ng.UnknownAgentError):
        ng.neurotoxicity("paracetamol")


def test_unverified_is_not_a_lookup_key() -> None:
    with pytest.raises(LookupError):
        ng.neurotoxicity("unverified")


def test_drug_class_names_point_to_members() -> None:
    with pytest.raises(LookupError, match="ciprofloxacin, levofloxacin, moxifloxacin"):
        ng.neurotoxicity("fluoroquinolones")
    assert {r.agent for r in neurotoxicity_class("taxane")} == {"paclitaxel", "docetaxel"}
    assert {r.agent for r in neurotoxicity_class("Platinum")} == {"cisplatin", "oxaliplatin", "carboplatin"}


# -- cumulative doses and unit invariance ---------------------------------------------------------


def test_cumulative_dose_sums_a_dated_list() -> None:
    doses = [
        (dt.date(2026, 1, 5), "85 mg/m2"),
        (dt.date(2026, 1, 19), "85 mg/m2"),
        (dt.date(2026, 2, 2), "0.085 g/m2"),
        (dt.date(2026, 12, 1), "85 mg/m2"),
    ]
    total = cumulative_dose(doses, until=AS_OF)
    assert total.to("mg/m**2").magnitude == pytest.approx(255.0)
    assert cumulative_dose(["1 g", "500 mg"]).to("mg").magnitude == pytest.approx(1500.0)
    with pytest.raises(ValueError, match="not mixed"):
        cumulative_dose(["1 g", "85 mg/m2"])
    with pytest.raises(ValueError, match="at least one dose"):
        cumulative_dose([])
    with pytest.raises(ValueError, match="mass"):
        cumulative_dose(["5 mL"])


@given(st.lists(st.floats(min_value=0.1, max_value=5000, allow_nan=False), min_size=1, max_size=12))
def test_cumulative_dose_mg_vs_g(mgs: list[float]) -> None:
    in_mg = cumulative_dose([f"{x!r} mg" for x in mgs]).to("mg").magnitude
    in_g = cumulative_dose([f"{x / 1000!r} g" for x in mgs]).to("mg").magnitude
    assert in_mg == pytest.approx(in_g, rel=1e-9)


@given(st.floats(min_value=1, max_value=100_000, allow_nan=False))
def test_exposure_verdict_is_unit_invariant(mg: float) -> None:
    # Metronidazole (42 g): the same dose in mg and in g gives the same verdict away from the edge.
    assume(abs(mg - 42_000) > 1e-3)
    rule = _entry("metronidazole")
    a = exposure_check(rule, _med("metronidazole", cumulative=f"{mg!r} mg"))
    b = exposure_check(rule, _med("metronidazole", cumulative=f"{mg / 1000!r} g"))
    assert a.past_threshold == b.past_threshold


@pytest.mark.rule("neurotox-vincristine")
@pytest.mark.parametrize(
    ("cumulative", "status"), [("2 mg/m2", "caution"), ("2.01 mg/m2", "flagged"), ("8.4 mg/m2", "flagged")]
)
def test_neurotox_vincristine_per_m2_exposure(cumulative: str, status: str) -> None:
    """PMC8236465 Table 1: vincristine '> 2–6 mg/m2' (lower end, strict); the audit's 8.4 mg/m2 showed nothing."""
    patient = {"medications": [{"agent": "Oncovin", "cumulative": cumulative}]}
    rec = ng.assess(patient, as_of=dt.date(2026, 11, 30)).by_rule("neurotox-vincristine")
    assert rec is not None and rec.status == status


@pytest.mark.rule("neurotox-vincristine")
@pytest.mark.parametrize(
    ("med", "words"),
    [
        ({"agent": "vincristine", "cumulative": "1.4 mg/m2"}, "exposure is not past the cited threshold"),
        ({"agent": "vincristine"}, "whether exposure is past the cited threshold is not known"),
    ],
)
def test_neurotox_vincristine_heading_below_the_threshold_does_not_say_above(med: dict[str, str], words: str) -> None:
    """The rule's action is worded for exposure above 2 mg/m2; below it (or unknown) the heading says so instead."""
    rec = ng.assess({"medications": [med]}, as_of=dt.date(2026, 11, 30)).by_rule("neurotox-vincristine")
    assert rec is not None and rec.status == "caution"
    assert "above 2 mg/m2" not in rec.action and words in rec.action
    assert rec.action.startswith("Vincristine, a neurotoxic vinca alkaloid")
