"""check_dose's kept selection of regimens and its once-decided regimens agree with a fresh computation.

A call without a patient keeps the regimens it selected (by catalog, date, agent, route and indication as written,
``dosing._SELECTED``); a later call with the same arguments decides and writes from them directly. Each regimen is
decided once (``_decision``) and the chosen one written from that decision (``_write``, given the renal view the
decision found). These properties hold the kept path equal to a fresh one, answers and errors alike, and the
written answer equal to the one ``_check`` writes finding everything again.
"""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given
from hypothesis import strategies as st

from neuroguide import dosing
from neuroguide import model as m
from neuroguide._loading import catalog
from neuroguide.dosing import DoseVerdict, Verdict, check_dose
from neuroguide.exceptions import NeuroguideError

AS_OF = dt.date(2026, 11, 30)
PAIRS = tuple(dict.fromkeys(dosing.dosing_rules(as_of=AS_OF) + dosing.dosing_rules()))
AGENTS = sorted({n for _, r in PAIRS for n in (r.agent, *r.synonyms)})
EDGES = (1.0, 7.5, 15.0, 29.0, 30.0, 59.0, 60.0)
CRCLS = sorted({c for e in EDGES for c in (e, math.nextafter(e, -math.inf), math.nextafter(e, math.inf), e + 1e-9)})


def _answer(call: object) -> tuple[str, object]:
    try:
        v = call()  # type: ignore[operator]
    except NeuroguideError as exc:
        return "error", (type(exc), str(exc))
    assert isinstance(v, DoseVerdict)
    return "verdict", (v, repr(v))


@given(
    agent=st.sampled_from([*AGENTS, "Gabapentin ", "not-a-drug"]),
    amount=st.one_of(st.sampled_from([0.1, 1.0, 100.0, 300.0, 1000.0, 1800.0, 3600.0, 1e5]), st.floats(1e-3, 1e6)),
    unit=st.sampled_from(["mg", "ug", "g", "IU", "mL"]),
    per=st.sampled_from(["day", "week", "month", None, "fortnight"]),
    crcl=st.one_of(st.none(), st.sampled_from(CRCLS), st.floats(0, 300), st.just(400.0)),
    route=st.sampled_from([None, "oral", "PO", "IM", "subcutaneous", "nasal"]),
    indication=st.sampled_from([None, "dpn", "postherpetic neuralgia", "wernicke", "gout"]),
    as_of=st.sampled_from([None, AS_OF]),
)
def test_a_kept_selection_answers_as_a_fresh_one(
    agent: str,
    amount: float,
    unit: str,
    per: str | None,
    crcl: float | None,
    route: str | None,
    indication: str | None,
    as_of: dt.date | None,
) -> None:
    def call() -> DoseVerdict:
        return check_dose(
            agent,
            f"{amount!r} {unit}",
            per=per,
            route=route,
            indication=indication,
            crcl=None if crcl is None else f"{crcl!r} mL/min",
            as_of=as_of,
        )

    dosing._SELECTED.clear()
    fresh = _answer(call)  # the full path, which keeps the selection when it selects regimens
    kept = _answer(call)  # the kept selection, if any
    again = _answer(call)
    assert kept == fresh and again == fresh
    if fresh[0] == "verdict":
        assert isinstance(fresh[1], tuple) and isinstance(kept[1], tuple)
        assert kept[1][0] is not fresh[1][0]  # written each call, not kept


@given(agent=st.sampled_from(AGENTS), route=st.sampled_from([None, "oral", "IM"]))
def test_the_kept_regimens_are_those_a_fresh_lookup_finds(agent: str, route: str | None) -> None:
    dosing._SELECTED.clear()
    try:
        check_dose(agent, "1 mg", per="day", route=route)
    except NeuroguideError:
        return
    cat = catalog()
    hit = dosing._SELECTED.get((id(cat), None, agent, route, None))
    pairs = dosing._pairs_for(agent, None, None)
    found = dosing._narrow(agent, pairs, "", route, None, True)
    if isinstance(found, DoseVerdict):
        assert hit is None
        return
    assert hit is not None and hit[0] is cat
    assert hit[1] == dosing._numbers(pairs[0][1]).base
    regimens = dosing._regimens(found)
    if len(regimens) > 1 and dosing._shared_table(regimens):  # one table for several indications: kept as one
        assert hit[2] == (dosing._open_regimen(regimens, None),)
        return
    assert [(g, r) for g, r, _, _ in hit[2]] == list(found)
    assert all(n == dosing._numbers(r) and t == dosing._template(dosing._rule_fields(g, r)) for g, r, n, t in hit[2])


@given(
    pair=st.sampled_from(PAIRS),
    per_day=st.floats(min_value=1e-4, max_value=1e6),
    crcl=st.one_of(st.none(), st.sampled_from(CRCLS), st.floats(0, 300)),
    dialysis=st.booleans(),
)
def test_writing_from_the_decision_is_writing_afresh(
    pair: tuple[m.Guideline, m.DosingRule], per_day: float, crcl: float | None, dialysis: bool
) -> None:
    g, rule = pair
    base = dosing._numbers(rule).base
    amount = dosing._Amount(per_day, base, "day", f"{per_day!r} {base} per day")
    n = dosing._numbers(rule)
    rank, distance, view = dosing._decision(rule, n, per_day, crcl, dialysis)
    once = dosing._write(g, rule, n, dosing._fields(g, rule), amount, crcl, dialysis, "given", view)
    afresh = dosing._check(g, rule, amount, crcl, dialysis, "given")
    assert once == afresh and repr(once[2]) == repr(afresh[2])
    assert (rank, distance) == (dosing._RANK[once[0]], once[1])
    if dialysis and n.dialysis_band is not None:  # avoid on dialysis: no band is looked up
        assert view == (None, None) and once[0] is Verdict.AVOID
    elif crcl is not None and rule.renal:
        band = dosing.renal_band(rule, crcl)
        assert view == (band, None if band is None else dosing._band_limits(rule, band, crcl))


def test_a_verdict_with_default_fields_is_doseverdicts_own() -> None:
    fields = ("vitamin B12", "b12-x", "drug-dosing", "2026.3", "a citation", None, "approved")
    fast = dosing._verdict(Verdict.WITHIN, "e", "m", (), dosing._template(fields), "1000 ug per day", None, None,
                           None, ())  # fmt: skip
    slow = DoseVerdict(
        verdict=Verdict.WITHIN,
        agent="vitamin B12",
        given="1000 ug per day",
        expected="e",
        message="m",
        rule="b12-x",
        guideline="drug-dosing",
        version="2026.3",
        citation="a citation",
        rule_status="approved",
    )
    assert fast == slow and repr(fast) == repr(slow) and list(vars(fast).items()) == list(vars(slow).items())
