"""The foundation's end-to-end rule: ADA diabetic peripheral neuropathy screening."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide.model import Fact, Period, ScreeningRule

AS_OF = dt.date(2026, 11, 23)


def _patient(kind: str, diagnosed: str, last: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"birth_date": "1970-01-01", "diabetes": {"type": kind, "diagnosed": diagnosed}}
    if last:
        data["last"] = {"neuropathy-exam": last}
    return data


def _screening(data: dict[str, Any], as_of: dt.date = AS_OF) -> ng.Recommendation:
    rec = ng.assess(data, as_of=as_of, guidelines=["ada-neuropathy"]).by_rule("dpn-screening")
    assert rec is not None
    return rec


@pytest.mark.rule("dpn-screening")
def test_quote_holds_the_parameters() -> None:
    rule = ng.load_guideline("ada-neuropathy", version="2026.1").rule("dpn-screening")
    assert isinstance(rule, ScreeningRule)
    quote = rule.citations[0].quote
    assert "5 years after the diagnosis of type 1 diabetes" in quote
    assert "diagnosis of type 2 diabetes" in quote
    assert "at least annually" in quote
    assert rule.citations[0].grade == "B"
    assert rule.interval == Period(12, "month")  # "annually"
    starts = {sp.when.name: sp.after for sp in rule.start if isinstance(sp.when, Fact)}
    assert starts == {"type-2-diabetes": Period(0, "year"), "type-1-diabetes": Period(5, "year")}


@pytest.mark.rule("dpn-screening")
@pytest.mark.parametrize(
    ("as_of", "status", "due"),
    [
        (dt.date(2026, 11, 23), "scheduled", dt.date(2026, 11, 24)),  # the day before the 5th anniversary
        (dt.date(2026, 11, 24), "due", dt.date(2026, 11, 24)),  # on the anniversary
        (dt.date(2026, 11, 25), "overdue", dt.date(2026, 11, 24)),  # the day after, never assessed
    ],
)
def test_type1_starts_on_the_fifth_anniversary(as_of: dt.date, status: str, due: dt.date) -> None:
    rec = _screening(_patient("type-1", "2021-11-24"), as_of)
    assert (rec.status, rec.due) == (status, due)


@pytest.mark.rule("dpn-screening")
def test_type1_leap_day_anniversary_falls_on_28_february() -> None:
    rec = _screening(_patient("type-1", "2024-02-29"), dt.date(2029, 2, 27))
    assert rec.due == dt.date(2029, 2, 28)
    assert rec.status == "scheduled"


@pytest.mark.rule("dpn-screening")
def test_type2_is_due_at_diagnosis() -> None:
    rec = _screening(_patient("type-2", "2026-11-23"), dt.date(2026, 11, 23))
    assert (rec.status, rec.due) == ("due", dt.date(2026, 11, 23))


@pytest.mark.rule("dpn-screening")
@pytest.mark.parametrize(
    ("as_of", "status", "overdue_days"),
    [
        (dt.date(2026, 9, 30), "scheduled", None),  # 12 months minus one day
        (dt.date(2026, 10, 1), "due", None),  # exactly 12 months after the last assessment
        (dt.date(2026, 10, 2), "overdue", 1),  # one day past
    ],
)
def test_annual_repeat(as_of: dt.date, status: str, overdue_days: int | None) -> None:
    rec = _screening(_patient("type-2", "2015-01-01", last="2025-10-01"), as_of)
    assert rec.status == status
    assert rec.due == dt.date(2026, 10, 1)
    assert rec.overdue_days == overdue_days


@pytest.mark.rule("dpn-screening")
def test_no_diabetes_no_screening() -> None:
    result = ng.assess({"birth_date": "1970-01-01"}, as_of=AS_OF, guidelines=["ada-neuropathy"])
    assert result.by_rule("dpn-screening") is None
    trace = {t.rule: t.outcome for t in result.record.trace}
    assert trace["dpn-screening"] == "not-fired"


@pytest.mark.rule("dpn-screening")
def test_missing_last_exam_is_reported_not_assumed() -> None:
    result = ng.assess(_patient("type-2", "2015-01-01"), as_of=AS_OF, guidelines=["ada-neuropathy"])
    rec = result.by_rule("dpn-screening")
    assert rec is not None and "last-neuropathy-exam" in rec.missing
    assert any(m.fact == "last-neuropathy-exam" for m in result.missing)


def test_record_round_trips_and_replays() -> None:
    result = ng.assess(_patient("type-1", "2021-11-24"), as_of=AS_OF)
    text = result.record.to_json()
    again = ng.EvaluationRecord.from_json(text)
    assert again == result.record
    report = ng.replay(again)
    assert report.identical, report.differences
    assert json.loads(text)["as_of"] == "2026-11-23"
    used = {g["id"]: g for g in json.loads(text)["guidelines"]}
    assert used["ada-neuropathy"]["sha256"] == ng.load_guideline("ada-neuropathy").sha256


def test_replay_reports_a_changed_recommendation() -> None:
    result = ng.assess(_patient("type-1", "2021-11-24"), as_of=AS_OF)
    data = result.record.to_dict()
    data["recommendations"][0]["due"] = "2030-01-01"
    report = ng.replay(data)
    assert not report.identical
    assert any("due was '2030-01-01'" in d for d in report.differences)


def test_record_carries_inputs_versions_and_trace() -> None:
    result = ng.assess(_patient("type-2", "2015-01-01", last="2025-10-01"), as_of=AS_OF)
    rec = result.record
    assert rec.as_of == AS_OF
    assert rec.package == ng.__version__
    assert rec.patient["diabetes"] == {"type": "type-2", "diagnosed": "2015-01-01"}
    assert rec.facts["type-2-diabetes"] is True
    outcomes = {t.rule: t.outcome for t in rec.trace}
    assert outcomes["dpn-screening"] == "fired"


def test_as_of_must_be_a_date() -> None:
    with pytest.raises(ng.InputError, match="as_of"):
        ng.assess({}, as_of="2026-01-01")  # type: ignore[arg-type]


def test_pin_selects_a_version_and_is_recorded() -> None:
    result = ng.assess({}, as_of=AS_OF, pins={"ada-neuropathy": "2026.1"})
    refs = {r.id: r for r in result.record.guidelines}
    assert refs["ada-neuropathy"].pinned is True
    with pytest.raises(ng.UnknownGuidelineError):
        ng.assess({}, as_of=AS_OF, pins={"ada-neuropathy": "1999.1"})


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2025, 12, 31)))
def test_determinism(diagnosed: dt.date) -> None:
    data = _patient("type-2", diagnosed.isoformat())
    a = ng.assess(data, as_of=AS_OF)
    b = ng.assess(data, as_of=AS_OF)
    assert a.record.to_json() == b.record.to_json()


@pytest.mark.rule("ada-dx-hba1c")
@pytest.mark.rule("ada-dx-confirm-two-results")
def test_diagnostic_criteria_apply_only_without_a_diabetes_diagnosis() -> None:
    """ADA's diagnostic thresholds classify people not yet diagnosed; a known diagnosis is not re-diagnosed."""
    known = ng.assess(
        {"diabetes": {"type": "type-2", "diagnosed": "2012-05-02"}, "measurements": {"hba1c": "7.4 %"}},
        as_of=AS_OF,
        guidelines=["ada-diabetes-diagnosis"],
    )
    assert known.by_rule("ada-dx-hba1c") is None
    assert known.by_rule("ada-dx-confirm-two-results") is None
    assert not any(m.fact == "hba1c" for m in known.missing)
    new = ng.assess({"measurements": {"hba1c": "7.4 %"}}, as_of=AS_OF, guidelines=["ada-diabetes-diagnosis"])
    hba1c = new.by_rule("ada-dx-hba1c")
    assert hba1c is not None
    assert "diabetes" in hba1c.reasons[0]
    assert new.by_rule("ada-dx-confirm-two-results") is not None


_FINDINGS = ("monofilament-abnormal", "vibration-abnormal", "pad", "foot-deformity", "prior-foot-ulcer", "claudication")


@st.composite
def _patients(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"birth_date": draw(st.dates(dt.date(1930, 1, 1), dt.date(2005, 1, 1))).isoformat()}
    if draw(st.booleans()):
        diagnosed = draw(st.dates(dt.date(2005, 1, 2), AS_OF))
        data["diabetes"] = {"type": draw(st.sampled_from(["type-1", "type-2"])), "diagnosed": diagnosed.isoformat()}
        if draw(st.booleans()):
            data["last"] = {"neuropathy-exam": draw(st.dates(diagnosed, AS_OF)).isoformat()}
    data["findings"] = {f: v for f in _FINDINGS if (v := draw(st.sampled_from([True, False, None]))) is not None}
    if draw(st.booleans()):
        data["measurements"] = {"b12-total": f"{draw(st.integers(50, 900))} ng/L"}
    return data


@given(_patients())
def test_cohort_mode_gives_the_same_recommendations(data: dict[str, Any]) -> None:
    """explain=False only skips explaining undecided rules; what is recommended is unchanged."""
    full = ng.assess(data, as_of=AS_OF)
    fast = ng.assess(data, as_of=AS_OF, explain=False)
    assert fast.recommendations == full.recommendations
    assert {m.fact for m in fast.missing} <= {m.fact for m in full.missing}
    assert fast.record.explained is False
    assert [t.rule for t in fast.record.trace] == [t.rule for t in full.record.trace]
    assert [t.outcome for t in fast.record.trace] == [t.outcome for t in full.record.trace]
    assert ng.replay(fast.record).identical


def test_unrecognised_medication_is_reported_not_ignored() -> None:
    data = {
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "medications": [{"agent": "metfromin", "dose": "2000 mg", "per": "day", "started": "2010-01-01"}],
    }
    result = ng.assess(data, as_of=AS_OF)
    flagged = [m for m in result.missing if m.fact == "medications[0].agent"]
    assert len(flagged) == 1
    assert "did you mean 'metformin'" in flagged[0].label
    brand = ng.assess({**data, "medications": [{"agent": "Glucophage", "started": "2010-01-01"}]}, as_of=AS_OF)
    assert brand.record.facts["on-metformin"] is True
    assert not any(m.fact.startswith("medications[") for m in brand.missing)


def test_in_review_recommendations_are_marked() -> None:
    data = {
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "findings": {"smoker": True, "foot-deformity": True},
    }
    result = ng.assess(data, as_of=AS_OF, statuses=("approved", "in-review"))
    rec = result.by_rule("foot-specialist-referral")
    assert rec is not None
    assert rec.rule_status == "in-review"
    from neuroguide.report import render_text

    assert "NOT YET VERIFIED (rule in review)" in render_text(result)
    approved = result.by_rule("dpn-screening")
    assert approved is not None
    assert approved.rule_status == "approved"


def test_replay_checks_facts_trace_and_missing() -> None:
    result = ng.assess(_patient("type-2", "2015-01-01"), as_of=AS_OF)
    data = result.record.to_dict()
    data["facts"]["age"] = 30.0
    report = ng.replay(data)
    assert not report.identical
    assert any(d.startswith("fact age:") for d in report.differences)
    data = result.record.to_dict()
    data["trace"] = data["trace"][1:]
    assert not ng.replay(data).identical
    data = result.record.to_dict()
    data["missing"] = []
    assert any(d.startswith("missing inputs") for d in ng.replay(data).differences)


def test_a_screening_window_reports_both_ends() -> None:
    data = {
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "findings": {
            "monofilament-abnormal": True,
            "pad": False,
            "foot-deformity": False,
            "prior-foot-ulcer": False,
            "prior-amputation": False,
            "end-stage-renal-disease": False,
        },
        "last": {"foot-exam": "2025-06-10"},
    }
    rec = ng.assess(data, as_of=AS_OF).by_rule("foot-screening-by-risk")
    assert rec is not None
    assert (rec.due, rec.due_by, rec.status) == (dt.date(2025, 12, 10), dt.date(2026, 6, 10), "overdue")
    assert rec.overdue_days == (AS_OF - dt.date(2026, 6, 10)).days
