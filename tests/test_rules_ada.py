"""ADA neuropathy and foot-care rules (ada-neuropathy 2017.1, 2024.1, 2026.1) against their quotes and boundaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng

GID = "ada-neuropathy"
APPROVED = ("approved",)
ALL = ("approved", "in-review")
NO_PAD_SYMPTOMS = {"claudication": False, "leg-fatigue": False, "rest-pain-relieved-by-dependency": False, "pad": False}


def guideline(version: str) -> Any:
    return ng.load_guideline(GID, version=version)


def quote(version: str, rule_id: str) -> str:
    return " ".join(c.quote for c in guideline(version).rule(rule_id).citations)


def run(patient: dict[str, Any], as_of: dt.date, version: str, statuses: tuple[str, ...] = APPROVED) -> ng.Assessment:
    return ng.assess(patient, as_of=as_of, pins={GID: version}, guidelines=[GID], statuses=statuses)


def rec(
    patient: dict[str, Any], as_of: dt.date, version: str, rule_id: str, statuses: tuple[str, ...] = APPROVED
) -> ng.Recommendation | None:
    return run(patient, as_of, version, statuses).by_rule(rule_id)


def outcome(
    patient: dict[str, Any], as_of: dt.date, version: str, rule_id: str, statuses: tuple[str, ...] = ALL
) -> str:
    for t in run(patient, as_of, version, statuses).record.trace:
        if t.rule == rule_id:
            return t.outcome
    return "absent"


def compares(criterion: Any) -> list[tuple[str, str, Any]]:
    """Every (fact, op, value) comparison inside a criterion."""
    if hasattr(criterion, "fact"):
        return [(criterion.fact, criterion.op, criterion.value)]
    parts = getattr(criterion, "all", None) or getattr(criterion, "any", None) or ()
    if hasattr(criterion, "not_"):
        parts = (criterion.not_,)
    return [c for p in parts for c in compares(p)]


def years(rule: Any, fact: str) -> tuple[str, float]:
    crit = rule.when if hasattr(rule, "when") else rule.applies
    ((op, value),) = [(o, v) for f, o, v in compares(crit) if f == fact]
    return op, float(value.to("year").magnitude)


def diabetic(kind: str = "type-2", diagnosed: str = "2010-01-01", **extra: Any) -> dict[str, Any]:
    return {"diabetes": {"type": kind, "diagnosed": diagnosed}, **extra}


# -- version selection and history ------------------------------------------------------------


def test_version_in_effect_by_date() -> None:
    assert ng.load_guideline(GID, as_of=dt.date(2017, 6, 1)).version == "2017.1"
    assert ng.load_guideline(GID, as_of=dt.date(2023, 12, 31)).version == "2017.1"
    assert ng.load_guideline(GID, as_of=dt.date(2024, 1, 1)).version == "2024.1"
    assert ng.load_guideline(GID, as_of=dt.date(2026, 1, 1)).version == "2026.2"  # 2026.2 corrects 2026.1
    assert guideline("2024.1").supersedes == "2017.1"
    assert guideline("2026.1").supersedes == "2024.1"
    assert guideline("2026.2").supersedes == "2026.1"


def test_added_and_changed_rules_have_change_notes() -> None:
    for old, new in (("2017.1", "2024.1"), ("2024.1", "2026.1"), ("2026.1", "2026.2")):
        noted = {c.rule for c in guideline(new).changes}
        before = {r.id: r for r in guideline(old).rules}
        for rule in guideline(new).rules:
            if rule.id not in before or rule.status != before[rule.id].status:
                assert rule.id in noted, (new, rule.id)


def test_in_review_rules_are_not_evaluated_by_default() -> None:
    p = diabetic(findings={"smoker": True, "foot-deformity": True})
    assert rec(p, dt.date(2026, 6, 1), "2026.1", "foot-specialist-referral") is None
    assert rec(p, dt.date(2026, 6, 1), "2026.1", "foot-specialist-referral", ALL) is not None
    for rule in guideline("2026.1").rules:
        if rule.status.value == "in-review":
            assert rule.review_note


@pytest.mark.rule("foot-exam-annual")
def test_2024_foot_care_rules_stay_in_force_in_2026() -> None:
    """Rules whose 2026 wording was not read stay approved on the verified 2024 wording they cite."""
    p = diabetic(last={"foot-exam": "2020-01-01"})
    annual = rec(p, dt.date(2026, 6, 1), "2026.1", "foot-exam-annual")
    assert annual is not None
    assert annual.status == "overdue"
    g = guideline("2026.1")
    for rid in ("foot-exam-annual", "foot-inspection-every-visit", "foot-history", "foot-exam-content"):
        rule = g.rule(rid)
        assert rule.status.value == "approved"
        assert all(c.source == "ada-2024-s12" for c in rule.citations)
        assert any(n.rule == rid and "Carried forward" in n.what for n in g.changes)


# -- dpn-screening ------------------------------------------------------------------


@pytest.mark.rule("dpn-screening")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.1"])
def test_dpn_screening_numbers_in_quote(version: str) -> None:
    rule = guideline(version).rule("dpn-screening")
    q = quote(version, "dpn-screening")
    starts = {ng.Period(0, "year"): "diagnosis of type 2 diabetes", ng.Period(5, "year"): "5 years after the diagnosis"}
    for sp in rule.start:
        assert starts[sp.after] in q
    assert rule.interval == ng.Period(12, "month")  # "at least annually" = 12 months
    assert "at least annually thereafter" in q


@pytest.mark.rule("dpn-screening")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.1"])
def test_dpn_screening_type1_fifth_anniversary(version: str) -> None:
    p = diabetic("type-1", "2015-06-15")
    before = rec(p, dt.date(2020, 6, 14), version, "dpn-screening")
    on = rec(p, dt.date(2020, 6, 15), version, "dpn-screening")
    after = rec(p, dt.date(2020, 6, 16), version, "dpn-screening")
    assert before is not None and before.status == "scheduled" and before.due == dt.date(2020, 6, 15)
    assert on is not None and on.status == "due"
    assert after is not None and after.status == "overdue" and after.overdue_days == 1


@pytest.mark.rule("dpn-screening")
def test_dpn_screening_leap_day_diagnosis() -> None:
    r = rec(diabetic("type-1", "2016-02-29"), dt.date(2021, 2, 27), "2026.1", "dpn-screening")
    assert r is not None and r.due == dt.date(2021, 2, 28) and r.status == "scheduled"


@pytest.mark.rule("dpn-screening")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.1"])
def test_dpn_screening_type2_from_diagnosis_then_12_months(version: str) -> None:
    new = rec(diabetic("type-2", "2026-03-02"), dt.date(2026, 3, 2), version, "dpn-screening")
    assert new is not None and new.status == "due" and new.due == dt.date(2026, 3, 2)
    p = diabetic("type-2", "2010-01-01", last={"neuropathy-exam": "2025-03-31"})
    states = [
        rec(p, d, version, "dpn-screening") for d in (dt.date(2026, 3, 30), dt.date(2026, 3, 31), dt.date(2026, 4, 1))
    ]
    assert [s.status for s in states if s] == ["scheduled", "due", "overdue"]
    assert all(s is not None and s.due == dt.date(2026, 3, 31) for s in states)


@settings(max_examples=40, deadline=None)
@given(
    findings=st.dictionaries(
        st.sampled_from(["numbness", "tingling", "burning-pain", "lops", "smoker", "pad", "retinopathy"]),
        st.booleans(),
    ),
    age=st.integers(min_value=18, max_value=95),
)
@pytest.mark.rule("dpn-screening")
def test_no_diabetes_no_dpn_screening(findings: dict[str, bool], age: int) -> None:
    for version in ("2017.1", "2024.1", "2026.1"):
        result = run({"age": age, "findings": findings}, dt.date(2026, 11, 23), version, ALL)
        assert result.by_rule("dpn-screening") is None
        assert result.by_rule("foot-exam-annual") is None
        assert result.by_rule("dpn-assessment") is None


# -- dpn-assessment -------------------------------------------------------------------


@pytest.mark.rule("dpn-assessment")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.1"])
def test_dpn_assessment_components(version: str) -> None:
    rule = guideline(version).rule("dpn-assessment")
    q = quote(version, "dpn-assessment")
    assert "annual 10-g mono" in q  # 2026 prints the "ﬁ" ligature
    assert rule.repeat == ng.Period(12, "month")  # "annual" = 12 months
    if version != "2026.1" or len(rule.citations) > 1:
        assert "128-Hz tuning fork" in q and "temperature or pinprick" in q
    assert rec(diabetic("other"), dt.date(2026, 1, 5), version, "dpn-assessment") is not None
    assert rec({"age": 60}, dt.date(2026, 1, 5), version, "dpn-assessment") is None


# -- autonomic-screening --------------------------------------------------------------


@pytest.mark.rule("autonomic-screening")
def test_autonomic_2017_complication_trigger() -> None:
    assert "microvascular and neuropathic complications" in quote("2017.1", "autonomic-screening")
    base = diabetic(findings={"retinopathy": False, "kidney-disease": False, "diabetic-peripheral-neuropathy": False})
    assert outcome(base, dt.date(2018, 1, 1), "2017.1", "autonomic-screening", APPROVED) == "not-fired"
    for flag in ("retinopathy", "kidney-disease", "diabetic-peripheral-neuropathy"):
        p = diabetic(findings={**base["findings"], flag: True})
        assert rec(p, dt.date(2018, 1, 1), "2017.1", "autonomic-screening") is not None
    assert outcome(diabetic(), dt.date(2018, 1, 1), "2017.1", "autonomic-screening", APPROVED) == "undetermined"


@pytest.mark.rule("autonomic-screening")
@pytest.mark.parametrize("version", ["2024.1", "2026.2"])
def test_autonomic_2024_schedule(version: str) -> None:
    """ADA 2024 abridged: from T2D diagnosis, 5 years after T1D diagnosis, at least annually, earlier with CKD."""
    rule = guideline(version).rule("autonomic-screening")
    assert rule.status.value == "approved"
    q = quote(version, "autonomic-screening")
    assert "5 years after the diagnosis of type 1 diabetes" in q and "At least annually" in q
    assert rule.interval == ng.Period(12, "month")
    assert "particularly kidney disease and DPN" in q
    no_comp = {"retinopathy": False, "kidney-disease": False, "diabetic-peripheral-neuropathy": False}
    p = diabetic("type-1", "2020-04-10", findings=no_comp)
    t1 = "2020-04-10" if version == "2024.1" else "2021-04-10"
    fifth = dt.date(int(t1[:4]) + 5, 4, 10)
    p = diabetic("type-1", t1, findings=no_comp)
    got = [rec(p, d, version, "autonomic-screening") for d in (fifth - dt.timedelta(days=1), fifth)]
    assert [g.status for g in got if g] == ["scheduled", "due"]
    last = {**p, "last": {"autonomic-assessment": fifth.isoformat()}}
    after = [
        rec(last, fifth.replace(year=fifth.year + 1) + dt.timedelta(days=k), version, "autonomic-screening")
        for k in (0, 1)
    ]
    assert [a.status for a in after if a] == ["due", "overdue"]  # 12 months, not 24
    with_ckd = diabetic("type-1", t1, findings={**no_comp, "kidney-disease": True})
    r = rec(with_ckd, fifth - dt.timedelta(days=30), version, "autonomic-screening")
    assert r is not None and r.due == dt.date.fromisoformat(t1) and r.status == "overdue"


@pytest.mark.rule("autonomic-screening")
def test_autonomic_screening_with_none_on_record_says_so_instead_of_years_overdue() -> None:
    """Scope checked against ADA 2024 (abridged, verified): every person with type 2 diabetes from diagnosis.

    The finding 'overdue since diagnosis on most diabetic charts' is right in scope (the quote starts at the
    diagnosis of type 2 diabetes, for everyone); what was wrong is the wording: with no assessment on record the
    report said 'OVERDUE by 5318 days', a claim about care the record cannot support.
    """
    from neuroguide.report import render_text, summary

    q = quote("2026.2", "autonomic-screening")
    assert "Starting at the diagnosis of type 2 diabetes" in q
    p = diabetic("type-2", "2012-05-02", findings={"kidney-disease": False, "diabetic-peripheral-neuropathy": False})
    result = ng.assess(p, as_of=dt.date(2026, 11, 23), guidelines=[GID])
    r = result.by_rule("autonomic-screening")
    assert r is not None and r.status == "overdue" and r.due == dt.date(2012, 5, 2)  # the record keeps the status
    text = " ".join(render_text(result).split())
    assert "NONE ON RECORD (due since 2012-05-02; record the last one, or do it now): Assess symptoms and signs" in text
    assert "OVERDUE by 5318 days" not in text
    assert any("with none on record" in line for line in summary(result))
    recorded = {**p, "last": {"autonomic-assessment": "2025-01-10"}}
    again = ng.assess(recorded, as_of=dt.date(2026, 11, 23), guidelines=[GID])
    assert "OVERDUE by 317 days (due 2026-01-10)" in " ".join(render_text(again).split())


@pytest.mark.rule("autonomic-screening")
def test_autonomic_screening_does_not_vanish_in_2026() -> None:
    """The audit's regression: overdue in December 2025 (2024.1), absent in 2026 (2026.1 held it in review)."""
    p = diabetic("type-2", "2010-01-01", findings={"kidney-disease": False, "diabetic-peripheral-neuropathy": False})
    for day in (dt.date(2025, 12, 1), dt.date(2026, 11, 30)):
        r = ng.assess(p, as_of=day, guidelines=[GID]).by_rule("autonomic-screening")
        assert r is not None and r.status == "overdue", day


# -- glycemic control, pain -------------------------------------------------------------


@pytest.mark.rule("glycemic-control")
def test_glycemic_control_2017() -> None:
    cite = guideline("2017.1").rule("glycemic-control").citations[0]
    assert "type 1 diabetes A" in cite.quote and "type 2 diabetes. B" in cite.quote
    assert rec(diabetic("type-1"), dt.date(2017, 5, 1), "2017.1", "glycemic-control") is not None
    assert rec(diabetic("other"), dt.date(2017, 5, 1), "2017.1", "glycemic-control") is None


@pytest.mark.rule("pain-pharmacotherapy")
@pytest.mark.parametrize(
    ("version", "options"),
    [
        ("2017.1", ("pregabalin", "duloxetine")),
        (
            "2024.1",
            (
                "gabapentinoids",
                "serotonin-norepinephrine reuptake inhibitors",
                "tricyclic antidepressants",
                "sodium channel blockers",
            ),
        ),
        (
            "2026.2",
            (
                "gabapentinoids",
                "serotonin-norepinephrine reuptake inhibitors",
                "tricyclic antidepressants",
                "sodium channel blockers",
            ),
        ),
    ],
)
def test_pain_pharmacotherapy_options(version: str, options: tuple[str, ...]) -> None:
    rule = guideline(version).rule("pain-pharmacotherapy")
    assert rule.options == options
    q = quote(version, "pain-pharmacotherapy").replace("serotonin- norepinephrine", "serotonin-norepinephrine")
    for option in options:
        assert option in q
    assert rule.deviations and "Alternative options" in rule.deviations[0].seed
    painful = diabetic(findings={"burning-pain": True})
    r = rec(
        painful, dt.date(2017, 3, 1) if version == "2017.1" else dt.date(2026, 1, 1), version, "pain-pharmacotherapy"
    )
    assert r is not None and tuple(d.removeprefix("option: ") for d in r.details) == options
    assert rec(diabetic(findings={"burning-pain": False}), dt.date(2025, 1, 1), version, "pain-pharmacotherapy") is None


def test_pain_2026_in_review_keeps_the_classes() -> None:
    rule = guideline("2026.1").rule("pain-pharmacotherapy")
    assert rule.status.value == "in-review"
    assert rule.options == guideline("2024.1").rule("pain-pharmacotherapy").options


@pytest.mark.rule("diagnosis-of-exclusion")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.1"])
def test_diagnosis_of_exclusion(version: str) -> None:
    cite = guideline(version).rule("diagnosis-of-exclusion").citations[0]
    assert cite.quote.startswith("Diabetic neuropathy is a diagnosis of exclusion.")
    assert cite.verification.status.value == "primary"
    assert rec(diabetic(findings={"numbness": True}), dt.date(2026, 2, 1), version, "diagnosis-of-exclusion")
    assert rec({"findings": {"numbness": True}}, dt.date(2026, 2, 1), version, "diagnosis-of-exclusion") is None


# -- foot care ----------------------------------------------------------------------------


@pytest.mark.rule("foot-exam-annual")
@pytest.mark.parametrize("version", ["2017.1", "2024.1", "2026.2"])
def test_foot_exam_annual_12_months_for_everyone_with_diabetes(version: str) -> None:
    rule = guideline(version).rule("foot-exam-annual")
    assert "at least annually" in quote(version, "foot-exam-annual")
    assert rule.interval == ng.Period(12, "month")
    assert rule.deviations  # seed restricts it to LOPS
    p = diabetic(findings={"lops": False}, last={"foot-exam": "2024-08-31"})
    states = [
        rec(p, d, version, "foot-exam-annual")
        for d in (dt.date(2025, 8, 30), dt.date(2025, 8, 31), dt.date(2025, 9, 1))
    ]
    assert [s.status for s in states if s] == ["scheduled", "due", "overdue"]
    never = rec(diabetic(), dt.date(2025, 1, 1), version, "foot-exam-annual")
    assert never is not None and never.status == "due" and "last-foot-exam" in never.missing


@pytest.mark.rule("foot-inspection-every-visit")
def test_foot_inspection_population_by_edition() -> None:
    assert quote("2017.1", "foot-inspection-every-visit").startswith("All patients with diabetes")
    low = diabetic(findings={"lops": False, "prior-foot-ulcer": False, "prior-amputation": False})
    assert rec(low, dt.date(2017, 2, 1), "2017.1", "foot-inspection-every-visit") is not None
    assert "sensory loss or prior ulceration or amputation" in quote("2024.1", "foot-inspection-every-visit")
    assert rec(low, dt.date(2024, 2, 1), "2024.1", "foot-inspection-every-visit") is None
    for flag in ("lops", "prior-foot-ulcer", "prior-amputation"):
        p = diabetic(findings={**low["findings"], flag: True})
        assert rec(p, dt.date(2024, 2, 1), "2024.1", "foot-inspection-every-visit") is not None


@pytest.mark.rule("foot-history")
@pytest.mark.rule("foot-exam-content")
@pytest.mark.rule("foot-self-care-education")
@pytest.mark.parametrize("version", ["2017.1", "2024.1"])
def test_foot_history_content_education_for_people_with_diabetes(version: str) -> None:
    assert "10-g monofilament" in quote(version, "foot-exam-content")
    has_reflexes = "ankle reflexes" in quote(version, "foot-exam-content")
    assert has_reflexes is (version == "2017.1")
    assert any("ankle reflexes" in t for t in guideline(version).rule("foot-exam-content").tests) is has_reflexes
    assert "claudication" in quote(version, "foot-history")
    for rule_id in ("foot-history", "foot-exam-content", "foot-self-care-education"):
        assert rec(diabetic(), dt.date(2025, 1, 1), version, rule_id) is not None
        assert rec({"age": 40}, dt.date(2025, 1, 1), version, rule_id) is None


@pytest.mark.rule("abi-referral")
def test_abi_referral_2017_age_50_inclusive() -> None:
    rule = guideline("2017.1").rule("abi-referral")
    assert "50 years or older" in quote("2017.1", "abi-referral")
    assert years(rule, "age") == (">=", 50.0)  # written as 600 months = 50 years
    p = diabetic(birth_date="1976-06-15", findings={"claudication": False, "pedal-pulses-decreased": False})
    fired = [
        rec(p, d, "2017.1", "abi-referral") is not None
        for d in (dt.date(2026, 6, 14), dt.date(2026, 6, 15), dt.date(2026, 6, 16))
    ]
    assert fired == [False, True, True]
    young = diabetic(birth_date="1990-01-01", findings={"claudication": True, "pedal-pulses-decreased": False})
    assert rec(young, dt.date(2017, 1, 2), "2017.1", "abi-referral") is not None


@pytest.mark.rule("interprofessional-care")
def test_interprofessional_care_2017() -> None:
    assert "multidisciplinary approach" in quote("2017.1", "interprofessional-care")
    none = {
        "foot-ulcer": False,
        "dialysis": False,
        "charcot-foot": False,
        "prior-foot-ulcer": False,
        "prior-amputation": False,
    }
    assert rec(diabetic(findings=none), dt.date(2017, 2, 1), "2017.1", "interprofessional-care") is None
    r = rec(diabetic(findings={**none, "dialysis": True}), dt.date(2017, 2, 1), "2017.1", "interprofessional-care")
    assert r is not None and "refer to: multidisciplinary foot care team" in r.details


@pytest.mark.rule("foot-specialist-referral")
def test_foot_specialist_referral_or_in_2017_and_in_2026() -> None:
    assert "who smoke or who have" in quote("2017.1", "foot-specialist-referral")
    assert "smoke and have" in quote("2026.1", "foot-specialist-referral")
    risks = {
        "prior-lower-extremity-complication": False,
        "prior-foot-ulcer": False,
        "prior-amputation": False,
        "lops": False,
        "foot-deformity": False,
        "pad": False,
    }
    smoker_only = diabetic(findings={**risks, "smoker": True})
    lops_only = diabetic(findings={**risks, "smoker": False, "lops": True})
    both = diabetic(findings={**risks, "smoker": True, "lops": True})
    day = dt.date(2026, 6, 1)
    assert [rec(p, day, "2017.1", "foot-specialist-referral") is not None for p in (smoker_only, lops_only, both)] == [
        True,
        True,
        True,
    ]
    assert [
        rec(p, day, "2026.1", "foot-specialist-referral", ALL) is not None for p in (smoker_only, lops_only, both)
    ] == [False, False, True]
    assert guideline("2026.1").rule("foot-specialist-referral").status.value == "in-review"


_PAD_VERSIONS = [("2024.1", 2024), ("2026.1", 2026), ("2026.2", 2026)]  # 2026.x keep the 2024 wording


@pytest.mark.rule("pad-screening")
@pytest.mark.parametrize(("version", "year"), _PAD_VERSIONS)
def test_pad_screening_2024_age_50_and_asymptomatic(version: str, year: int) -> None:
    """ADA 2024: 'asymptomatic individuals with diabetes and age ≥50 years' -> ABI screening (50th birthday on)."""
    q = quote(version, "pad-screening")
    assert "age ≥50 years" in q and "asymptomatic" in q
    assert years(guideline(version).rule("pad-screening"), "age") == (">=", 50.0)
    p = diabetic(
        birth_date=f"{year - 50}-09-30",
        findings={
            **NO_PAD_SYMPTOMS,
            "retinopathy": False,
            "kidney-disease": False,
            "diabetic-peripheral-neuropathy": False,
            "foot-ulcer": False,
            "prior-foot-ulcer": False,
            "prior-amputation": False,
            "charcot-foot": False,
        },
    )
    fired = [
        rec(p, d, version, "pad-screening") is not None
        for d in (dt.date(year, 9, 29), dt.date(year, 9, 30), dt.date(year, 10, 1))
    ]
    assert fired == [False, True, True]
    symptomatic = {**p, "findings": {**p["findings"], "claudication": True}}
    assert rec(symptomatic, dt.date(year, 12, 1), version, "pad-screening") is None
    unknown = diabetic(birth_date="1950-01-01")
    assert outcome(unknown, dt.date(year, 12, 1), version, "pad-screening", APPROVED) == "undetermined"


@pytest.mark.rule("pad-screening-duration")
@pytest.mark.parametrize(("version", "year"), _PAD_VERSIONS)
def test_pad_screening_duration_10th_anniversary(version: str, year: int) -> None:
    """ADA 2024: 'diabetes duration ≥10 years' -> consider PAD screening from the 10th anniversary."""
    assert "duration ≥10 years" in quote(version, "pad-screening-duration")
    assert years(guideline(version).rule("pad-screening-duration"), "diabetes-duration") == (">=", 10.0)
    p = diabetic("type-2", f"{year - 10}-05-20", findings=NO_PAD_SYMPTOMS)
    fired = [
        rec(p, d, version, "pad-screening-duration") is not None
        for d in (dt.date(year, 5, 19), dt.date(year, 5, 20), dt.date(year, 5, 21))
    ]
    assert fired == [False, True, True]


@pytest.mark.rule("pad-screening")
@pytest.mark.rule("pad-screening-duration")
def test_pad_screening_is_not_for_known_pad() -> None:
    """Screening looks for undiagnosed PAD: a recorded diagnosis excludes it; an unknown status is missing."""
    known = diabetic("type-2", "2010-01-01", birth_date="1960-01-01", findings={**NO_PAD_SYMPTOMS, "pad": True})
    for rid in ("pad-screening", "pad-screening-duration"):
        assert rec(known, dt.date(2026, 6, 1), "2026.1", rid) is None
    unknown = diabetic(
        "type-2",
        "2010-01-01",
        birth_date="1960-01-01",
        findings={k: v for k, v in NO_PAD_SYMPTOMS.items() if k != "pad"},
    )
    result = ng.assess(unknown, as_of=dt.date(2026, 6, 1), pins={GID: "2026.1"}, guidelines=[GID])
    assert result.by_rule("pad-screening") is None
    assert any(m.fact == "pad" and "pad-screening" in m.needed_by for m in result.missing)


# -- 2026: autonomic signs, arterial screening --------------------------------------------------


@pytest.mark.rule("orthostatic-hypotension")
@pytest.mark.parametrize("version", ["2026.1", "2026.2"])
def test_orthostatic_hypotension_is_strict(version: str) -> None:
    """Both versions that carry the rule (2026.2 is in force), so a changed number in either fails."""
    rule = guideline(version).rule("orthostatic-hypotension")
    q = quote(version, "orthostatic-hypotension")
    assert ">20 mmHg or >10 mmHg" in q
    ops = {(f, o, float(v.to("mmHg").magnitude)) for f, o, v in compares(rule.when)}
    assert ops == {("systolic-drop", ">", 20.0), ("diastolic-drop", ">", 10.0)}  # strict, as ADA prints it
    day = dt.date(2026, 6, 1)

    def fires(systolic: int, diastolic: int) -> bool:
        m = {"systolic-drop": f"{systolic} mmHg", "diastolic-drop": f"{diastolic} mmHg"}
        return rec(diabetic(measurements=m), day, version, "orthostatic-hypotension") is not None

    assert [fires(s, 0) for s in (19, 20, 21)] == [False, False, True]
    assert [fires(0, d) for d in (9, 10, 11)] == [False, False, True]
    assert (
        outcome(diabetic(measurements={"systolic-drop": "20 mmHg"}), day, version, "orthostatic-hypotension")
        == "undetermined"
    )
    kpa = [
        rec(diabetic(measurements={"systolic-drop": v}), day, version, "orthostatic-hypotension")
        for v in ("2.6 kPa", "2.8 kPa")
    ]
    assert [k is not None for k in kpa] == [False, True]  # 19.5 and 21.0 mmHg


@pytest.mark.rule("resting-tachycardia")
@pytest.mark.parametrize("version", ["2026.1", "2026.2"])
def test_resting_tachycardia_above_100(version: str) -> None:
    """Both versions that carry the rule (2026.2 is in force), so a changed number in either fails."""
    assert "(>100 bpm)" in quote(version, "resting-tachycardia")
    ((fact, op, value),) = compares(guideline(version).rule("resting-tachycardia").when)[-1:]
    assert (fact, op, float(value.to("1/min").magnitude)) == ("resting-heart-rate", ">", 100.0)
    day = dt.date(2026, 6, 1)
    fired = [
        rec(diabetic(measurements={"resting-heart-rate": f"{hr} 1/min"}), day, version, "resting-tachycardia")
        is not None
        for hr in (99, 100, 101)
    ]
    assert fired == [False, False, True]


@pytest.mark.rule("arterial-screening-interval")
@pytest.mark.parametrize("version", ["2026.1", "2026.2"])
def test_arterial_screening_over_50_every_5_years(version: str) -> None:
    """Both versions that carry the rule (2026.2 is in force), so a changed number in either fails."""
    rule = guideline(version).rule("arterial-screening-interval")
    q = quote(version, "arterial-screening-interval")
    assert ">50 years of age" in q and "every 5 years" in q
    assert rule.interval == ng.Period(5, "year")
    assert years(rule, "age") == (">", 50.0)
    p = diabetic(birth_date="1975-03-01", findings={"pad": False})
    ages = [
        rec(p, d, version, "arterial-screening-interval")
        for d in (dt.date(2026, 2, 28), dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    ]
    assert [a is not None for a in ages] == [False, True, True]  # completed years 50, 51, 51
    seen = diabetic(birth_date="1960-01-01", findings={"pad": False}, last={"arterial-screening": "2021-07-01"})
    states = [
        rec(seen, d, version, "arterial-screening-interval")
        for d in (dt.date(2026, 6, 30), dt.date(2026, 7, 1), dt.date(2026, 7, 2))
    ]
    assert [s.status for s in states if s] == ["scheduled", "due", "overdue"]
    known_pad = diabetic(birth_date="1960-01-01", findings={"pad": True})
    assert rec(known_pad, dt.date(2026, 6, 1), version, "arterial-screening-interval") is None
