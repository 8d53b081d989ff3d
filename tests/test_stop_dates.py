"""One convention for "taken on the evaluation date", at the stop-date edge, for every medication-based rule.

Convention (``Medication.active_on``): a drug is taken on its stop date (the last day taken). So a dose stopped on
the evaluation date is still checked, and one stopped the day before is not. Neurotoxicity counts past exposure too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import model as m
from neuroguide._loading import catalog

AS_OF = dt.date(2026, 11, 23)
DAY = dt.timedelta(days=1)


def _rules(kind: type[m.DosingRule] | type[m.NeurotoxicityRule]) -> list[tuple[m.Guideline, Any]]:
    out = []
    for g in catalog().in_effect(AS_OF):
        out += [(g, r) for r in g.rules if isinstance(r, kind) and r.status is m.Status.APPROVED]
    return out


def _med(agent: str, stopped: dt.date | None, **extra: Any) -> dict[str, Any]:
    return {"agent": agent, "started": "2020-01-01", **({"stopped": stopped.isoformat()} if stopped else {}), **extra}


def test_active_on_counts_both_ends() -> None:
    med = ng.Medication(agent="x", started=AS_OF - DAY, stopped=AS_OF)
    assert [med.active_on(AS_OF - 2 * DAY), med.active_on(AS_OF - DAY), med.active_on(AS_OF)] == [False, True, True]
    assert med.active_on(AS_OF + DAY) is False
    assert ng.Medication(agent="x").active_on(AS_OF) is True
    assert med.taken_by(AS_OF + DAY) is True and med.taken_by(AS_OF - 2 * DAY) is False


DOSING = _rules(m.DosingRule)


@pytest.mark.parametrize(("g", "rule"), DOSING, ids=[r.id for _, r in DOSING])
def test_every_dosing_rule_checks_a_dose_stopped_on_the_evaluation_date(g: m.Guideline, rule: m.DosingRule) -> None:
    assert rule.plausible_max is not None
    # Twice the plausible maximum: no regimen of this drug can call it fine.
    dose = f"{rule.plausible_max.magnitude * 2:g} {rule.plausible_max.units:~}"
    per = {"day": "day", "week": "week", "month": "month"}.get(rule.per.unit, "day")
    meds = [_med(rule.agent, stop, dose=dose, per=per, route=rule.route) for stop in (AS_OF,)]
    on_the_day = ng.assess({"medications": meds}, as_of=AS_OF)
    day_before = ng.assess(
        {"medications": [_med(rule.agent, AS_OF - DAY, dose=dose, per=per, route=rule.route)]}, as_of=AS_OF
    )
    flagged = [r for r in on_the_day.recommendations if r.section is ng.Section.MEDICATIONS and r.kind == "dosing"]
    assert flagged, f"{rule.id}: a dose stopped on the evaluation date was not checked"
    assert not [r for r in day_before.recommendations if r.kind == "dosing"], f"{rule.id}: a stopped dose was checked"


NEUROTOX = _rules(m.NeurotoxicityRule)


@pytest.mark.parametrize(("g", "rule"), NEUROTOX, ids=[r.id for _, r in NEUROTOX])
def test_every_neurotoxicity_entry_counts_current_and_past_exposure(g: m.Guideline, rule: m.NeurotoxicityRule) -> None:
    for stop in (AS_OF, AS_OF - DAY, None):
        result = ng.assess({"medications": [_med(rule.agent, stop)]}, as_of=AS_OF)
        assert result.by_rule(rule.id) is not None, f"{rule.id} stopped {stop}: exposure not reported"


@pytest.mark.parametrize(
    ("agent", "fact"),
    [("metformin", "on-metformin"), ("midodrine", "on-midodrine"), ("droxidopa", "on-droxidopa")],
)
def test_derived_on_drug_facts_use_the_same_convention(agent: str, fact: str) -> None:
    def on(stop: dt.date | None) -> Any:
        return ng.assess({"medications": [_med(agent, stop)]}, as_of=AS_OF).record.facts[fact]

    assert [on(AS_OF), on(AS_OF - DAY), on(None)] == [True, False, True]


@pytest.mark.rule("b12-metformin-annual")
def test_metformin_b12_monitoring_at_the_stop_date_edge() -> None:
    def fires(stop: dt.date | None) -> bool:
        patient = {
            "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
            "medications": [_med("metformin", stop)],
        }
        result = ng.assess(patient, as_of=AS_OF)
        return result.by_rule("b12-metformin-annual") is not None

    assert [fires(AS_OF), fires(AS_OF - DAY)] == [True, False]
