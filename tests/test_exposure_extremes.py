"""Extreme cumulative chemotherapy and daily pyridoxine doses: shown as given, never judged against an invented bound.

No source in clinical-sources.md gives a plausible upper bound for a cumulative dose of cisplatin, oxaliplatin or
bortezomib (§8b gives risk markers: cisplatin > 300–350, oxaliplatin > 550, bortezomib > 16–26 mg/m², its risk
plateauing at 40–45), or a plausibility bound for a daily pyridoxine dose (§8f: the US upper intake level of
100 mg/day is a harm marker, encoded as the entry's text). So an extreme value is flagged past the marker, shown
with its number, and not called implausible.
"""

from __future__ import annotations

import datetime as dt

import pytest

import neuroguide as ng
from neuroguide.exceptions import UnitError

AS_OF = dt.date(2026, 11, 30)


def _rec(med: dict[str, str], rule: str | None = None) -> ng.Recommendation:
    patient = ng.Patient.from_dict({"id": "x", "medications": [{**med, "started": "2026-01-01"}]})
    wanted = rule or f"neurotox-{med['agent']}"
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule == wanted]
    return rec


# The lower end of each source marker (encoded lower end, safety first), the edge itself not flagged ("> 300").
@pytest.mark.parametrize(("agent", "marker"), [("cisplatin", 300.0), ("oxaliplatin", 550.0), ("bortezomib", 16.0)])
def test_the_marker_edge_and_a_step_either_side(agent: str, marker: float) -> None:
    for value, flagged in ((marker - 1, False), (marker, False), (marker + 1, True)):
        rec = _rec({"agent": agent, "cumulative": f"{value:g} mg/m2"})
        assert (rec.status.value == "flagged") is flagged, (agent, value)


@pytest.mark.parametrize("agent", ["cisplatin", "oxaliplatin", "bortezomib"])
@pytest.mark.parametrize("value", ["1e6", "1e99"])
def test_an_extreme_cumulative_dose_is_flagged_with_its_number_and_no_invented_bound(agent: str, value: str) -> None:
    rec = _rec({"agent": agent, "cumulative": f"{value} mg/m2"})
    assert rec.status.value == "flagged"
    said = " ".join(rec.reasons)
    assert f"{float(value):.1f} mg/m2 > threshold" in said  # the number as given, visible
    assert "implausible" not in said and "outside the range" not in said  # no source gives such a range


def test_beyond_the_numeric_guard_the_cumulative_dose_is_refused_by_name() -> None:
    with pytest.raises(UnitError, match=r"medications\[0\]\.cumulative"):
        _rec({"agent": "cisplatin", "cumulative": "1e101 mg/m2"})


@pytest.mark.parametrize(
    ("dose", "shown"), [("99 mg", "99 mg"), ("100 mg", "100 mg"), ("101 mg", "101 mg"), ("1e6 mg", "1000000 mg")]
)
def test_a_pyridoxine_daily_dose_is_shown_not_compared(dose: str, shown: str) -> None:
    # The entry states the 100 mg/day upper intake level as text (no threshold field, and it does not apply under
    # close medical supervision): every dose gives the same caution, and the dose given is named in it.
    rec = _rec({"agent": "pyridoxine", "dose": dose, "per": "day"}, "neurotox-pyridoxine-excess")
    assert rec.status.value == "caution"
    assert any(f"dose {shown} per day" in r and "not compared automatically" in r for r in rec.reasons), rec.reasons
