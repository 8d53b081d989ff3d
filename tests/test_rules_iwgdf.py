"""IWGDF risk stratification and screening frequency (iwgdf-foot 2019.1 and 2023.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng

GID = "iwgdf-foot"
RULE = "foot-screening-by-risk"
NONE = {
    "lops": False,
    "pad": False,
    "foot-deformity": False,
    "prior-foot-ulcer": False,
    "prior-amputation": False,
    "end-stage-renal-disease": False,
}
# One patient per category edge: the fewest findings that reach it.
EDGES = {
    0: {},
    1: {"lops": True},
    2: {"pad": True, "foot-deformity": True},
    3: {"pad": True, "end-stage-renal-disease": True},
}
WINDOWS = {0: (12, 12), 1: (6, 12), 2: (3, 6), 3: (1, 3)}


def rule(version: str) -> Any:
    return ng.load_guideline(GID, version=version).rule(RULE)


def screening(findings: dict[str, bool], as_of: dt.date, version: str, last: str | None = "2026-01-31") -> Any:
    patient: dict[str, Any] = {"diabetes": {"type": "type-2", "diagnosed": "2015-01-01"}, "findings": findings}
    if last:
        patient["last"] = {"foot-exam": last}
    return ng.assess(patient, as_of=as_of, pins={GID: version}, guidelines=[GID])


@pytest.mark.rule(RULE)
@pytest.mark.parametrize("version", ["2019.1", "2023.1", "2023.2"])  # 2023.2 is in force: pinned too
def test_intervals_come_from_the_table(version: str) -> None:
    r = rule(version)
    table = " ".join(c.quote for c in r.citations)
    assert "Once a year" in table or "annual" in table  # category 0: 12 months
    for text in ("6-12 months", "3-6 months", "1–3 months"):
        assert text in table or text.replace("–", "-") in table
    got = {int(th.when.value): (th.shortest, th.longest) for th in r.intervals}
    assert got == {c: (ng.Period(lo, "month"), ng.Period(hi, "month")) for c, (lo, hi) in WINDOWS.items()}
    assert r.interval == ng.Period(12, "month")


def test_table_unchanged_between_2019_and_2023() -> None:
    assert rule("2019.1").intervals == rule("2023.1").intervals
    notes = ng.load_guideline(GID, version="2023.1").changes
    assert any(n.rule == RULE and "unchanged" in n.what for n in notes)


@pytest.mark.rule(RULE)
@pytest.mark.parametrize("version", ["2019.1", "2023.1", "2023.2"])
@pytest.mark.parametrize("category", [0, 1, 2, 3])
def test_each_category_window_edges(version: str, category: int) -> None:
    shortest, longest = (ng.Period(n, "month") for n in WINDOWS[category])
    last = dt.date(2026, 1, 31)
    due, latest = shortest.add_to(last), longest.add_to(last)
    findings = {**NONE, **EDGES[category]}
    one = dt.timedelta(days=1)
    states = [screening(findings, d, version).by_rule(RULE) for d in (due - one, due, latest, latest + one)]
    assert [s.status for s in states if s] == ["scheduled", "due", "due", "overdue"]
    assert states[0] is not None and states[0].due == due
    assert states[3] is not None and states[3].overdue_days == 1
    assert any(f"IWGDF risk {category}" in reason for reason in states[0].reasons)


@pytest.mark.rule(RULE)
def test_category_3_window_start_clamps_to_month_end() -> None:
    # 31 January + 1 month = 28 February (2026 is not a leap year).
    r = screening(
        {**NONE, "pad": True, "foot-deformity": True, "end-stage-renal-disease": True}, dt.date(2026, 2, 27), "2023.1"
    )
    assert r.by_rule(RULE) is not None and r.by_rule(RULE).due == dt.date(2026, 2, 28)


@pytest.mark.rule(RULE)
def test_unknown_inputs_leave_the_schedule_undetermined() -> None:
    result = screening({"pad": False}, dt.date(2026, 6, 1), "2023.1")
    assert result.by_rule(RULE) is None
    (trace,) = [t for t in result.record.trace if t.rule == RULE]
    assert trace.outcome == "undetermined" and "iwgdf-category" in trace.missing
    # LOPS and PAD both absent: category 0 whatever the rest (nothing else is assumed).
    known = screening({"lops": False, "pad": False}, dt.date(2026, 6, 1), "2023.1").by_rule(RULE)
    assert known is not None and known.status == "scheduled" and known.due == dt.date(2027, 1, 31)


@pytest.mark.rule(RULE)
def test_category_given_directly_and_no_diabetes_no_schedule() -> None:
    patient = {"diabetes": {"type": "type-1", "diagnosed": "2001-01-01"}, "measurements": {"iwgdf-category": 2}}
    r = ng.assess(patient, as_of=dt.date(2026, 6, 1), guidelines=[GID]).by_rule(RULE)
    assert r is not None and r.status == "due"
    no_dm = ng.assess({"findings": {**NONE, "lops": True}}, as_of=dt.date(2026, 6, 1), guidelines=[GID])
    assert no_dm.by_rule(RULE) is None and "iwgdf-category" not in no_dm.record.facts


def test_deformity_alone_or_history_alone_is_category_0() -> None:
    for extra in ({"foot-deformity": True}, {"prior-foot-ulcer": True}, {"end-stage-renal-disease": True}):
        r = screening({**NONE, **extra}, dt.date(2026, 6, 1), "2023.1").by_rule(RULE)
        assert r is not None and r.due == dt.date(2027, 1, 31)


ARG = {
    "lops": "lops",
    "pad": "pad",
    "foot-deformity": "deformity",
    "prior-foot-ulcer": "prior_ulcer",
    "prior-amputation": "prior_amputation",
    "end-stage-renal-disease": "esrd",
}
RISK = st.fixed_dictionaries({k: st.booleans() for k in NONE})


@given(base=RISK, add=st.sampled_from(sorted(NONE)))
@pytest.mark.rule(RULE)
def test_adding_a_risk_factor_never_lengthens_the_interval(base: dict[str, bool], add: str) -> None:
    calc = ng.calculators.iwgdf_category
    longest = {int(th.when.value): th.longest for th in rule("2023.1").intervals}
    start = dt.date(2026, 1, 1)

    def window_end(findings: dict[str, bool]) -> dt.date:
        kwargs: dict[str, Any] = {ARG[fact]: value for fact, value in findings.items()}
        end: dt.date = longest[calc(**kwargs).value].add_to(start)
        return end

    assert window_end({**base, add: True}) <= window_end(base)
