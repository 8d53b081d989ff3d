"""Each dosing rule against its source: encoded numbers appear in the quote; behaviour at every edge."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import neuroguide as ng
from neuroguide import model as m
from neuroguide.dosing import Verdict, renal_band, truncate_crcl
from neuroguide.units import magnitude

GUIDELINE = "drug-dosing"
VERSION = "2026.4"


def rule(rule_id: str) -> m.DosingRule:
    """The dosing rule ``rule_id`` of drug-dosing 2026.4 (the version in force)."""
    r = ng.load_guideline(GUIDELINE, version=VERSION).rule(rule_id)
    assert isinstance(r, m.DosingRule)
    return r


def quote_numbers(r: m.DosingRule) -> set[float]:
    """Every number printed in the rule's quotes ("1,800" read as 1800)."""
    text = " ".join(c.quote for c in r.citations)
    return {float(n.replace(",", "")) for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}


def amount(q: object, unit: str) -> float:
    """A rule quantity in ``unit``."""
    assert q is not None
    return magnitude(q, unit)  # type: ignore[arg-type]


def check(agent: str, dose: object, **kw: object) -> ng.DoseVerdict:
    """check_dose with the date used throughout."""
    return ng.check_dose(agent, dose, **kw)  # type: ignore[arg-type]


def verdicts(agent: str, doses: list[object], **kw: object) -> list[Verdict]:
    """The verdicts of several doses with the same options."""
    return [check(agent, d, **kw).verdict for d in doses]


W, B, AR, AM, IMP, NC = (
    Verdict.WITHIN,
    Verdict.BELOW,
    Verdict.ABOVE_RANGE,
    Verdict.ABOVE,
    Verdict.IMPLAUSIBLE,
    Verdict.NOT_COVERED,
)


# -- vitamin B12 --------------------------------------------------------------------------------------


@pytest.mark.rule("b12-bariatric-oral")
def test_b12_bariatric_oral() -> None:
    r = rule("b12-bariatric-oral")
    # The source prints "350–500 mg daily", a ug->mg misprint: the numbers are the same, the unit is ug.
    assert {350.0, 500.0} <= quote_numbers(r)
    assert (amount(r.dose_min, "ug"), amount(r.dose_max, "ug")) == (350.0, 500.0)
    assert r.maximum is None and r.route == "oral" and str(r.per) == "1 day"
    assert amount(r.plausible_max, "ug") == 100 * 500.0  # 100 times the range top
    assert r.deviations and "mg -> ug" in r.deviations[0].governs
    kw = {"per": "day", "route": "oral", "indication": "bariatric"}
    assert verdicts("cyanocobalamin", ["349 ug", "350 ug", "500 ug", "501 ug"], **kw) == [B, W, W, AR]
    assert verdicts("cyanocobalamin", ["50 mg", "50.001 mg", "250 mg"], **kw) == [AR, IMP, IMP]
    assert check("cyanocobalamin", "350 ug", **kw).rule == "b12-bariatric-oral"


@pytest.mark.rule("b12-bariatric-parenteral")
def test_b12_bariatric_parenteral() -> None:
    r = rule("b12-bariatric-parenteral")
    assert 1000.0 in quote_numbers(r)
    assert amount(r.dose_min, "ug") == amount(r.dose_max, "ug") == 1000.0
    assert str(r.per) == "1 month" and r.route == "parenteral"
    kw = {"per": "month", "indication": "bariatric"}
    assert verdicts("cyanocobalamin", ["999 ug", "1000 ug", "1001 ug"], route="IM", **kw) == [B, W, AR]
    assert check("cyanocobalamin", "1000 ug", route="subcutaneous", **kw).verdict is W
    assert verdicts("cyanocobalamin", ["100 mg", "100.001 mg", "1000 mg"], route="IM", **kw) == [AR, IMP, IMP]


@pytest.mark.rule("b12-malabsorption-oral")
def test_b12_malabsorption_oral() -> None:
    r = rule("b12-malabsorption-oral")
    assert 1.0 in quote_numbers(r) and "at least 1 mg a day" in r.citations[0].quote
    assert amount(r.dose_min, "mg") == 1.0 and r.dose_max is None and r.maximum is None
    kw = {"per": "day", "route": "oral", "indication": "malabsorption"}
    assert verdicts("cyanocobalamin", ["999 ug", "1 mg", "1000 ug", "1001 ug", "50 mg"], **kw) == [B, W, W, W, W]
    assert verdicts("cyanocobalamin", ["50.001 mg", "250 mg"], **kw) == [IMP, IMP]


@pytest.mark.rule("b12-im-no-neuro-loading")
def test_b12_im_no_neuro_loading() -> None:
    r = rule("b12-im-no-neuro-loading")
    assert {1.0, 2.0} <= quote_numbers(r) and "three times a week" in r.citations[0].quote
    assert amount(r.dose_min, "mg") == amount(r.dose_max, "mg") == 1.0 * 3  # 1 mg three times a week
    assert r.duration == "2 weeks"
    kw = {"per": "week", "route": "intramuscular", "indication": "without neurological involvement: initial"}
    assert verdicts("hydroxocobalamin", ["2 mg", "3 mg", "4 mg", "300 mg", "301 mg"], **kw) == [B, W, AR, AR, IMP]


@pytest.mark.rule("b12-im-no-neuro-maintenance")
def test_b12_im_no_neuro_maintenance() -> None:
    r = rule("b12-im-no-neuro-maintenance")
    assert {1.0, 2.0, 3.0} <= quote_numbers(r)  # "1 mg every 2-3 months"
    # Per 6 months: every 3 months = 6/3 = 2 doses, every 2 months = 6/2 = 3 doses of 1 mg.
    assert str(r.per) == "6 months"
    assert (amount(r.dose_min, "mg"), amount(r.dose_max, "mg")) == (6 / 3 * 1.0, 6 / 2 * 1.0)
    kw = {"per": "month", "route": "IM", "indication": "without neurological involvement: maintenance"}
    every = [ng.Q_(1 / 4, "mg"), ng.Q_(1 / 3, "mg"), ng.Q_(1 / 2, "mg"), ng.Q_(1 / 1.9, "mg")]
    assert verdicts("hydroxocobalamin", every, **kw) == [B, W, W, AR]
    # Plausibility: above 300 mg per 6 months (100 times the 3 mg top) is a likely unit error.
    six = {**kw, "per": "month"}
    assert verdicts("hydroxocobalamin", [ng.Q_(300 / 6, "mg"), ng.Q_(300.01 / 6, "mg")], **six) == [AR, IMP]


@pytest.mark.rule("b12-im-neuro-loading")
def test_b12_im_neuro_loading() -> None:
    r = rule("b12-im-neuro-loading")
    assert 1.0 in quote_numbers(r) and "alternate days" in r.citations[0].quote
    # Alternate days: 3 or 4 doses of 1 mg in any 7-day week.
    assert (amount(r.dose_min, "mg"), amount(r.dose_max, "mg")) == (3.0, 4.0)
    assert "no fixed number" in (r.duration or "")
    kw = {"per": "week", "route": "IM", "indication": "with neurological involvement: initial"}
    assert verdicts("hydroxocobalamin", ["2 mg", "3 mg", "3.5 mg", "4 mg", "5 mg"], **kw) == [B, W, W, W, AR]
    assert check("hydroxocobalamin", "0.5 mg/day", route="IM", indication="with neurological involvement: initial").ok
    # Plausibility: above 400 mg per week (100 times the 4 mg top) is a likely unit error.
    assert verdicts("hydroxocobalamin", ["400 mg", "400.01 mg"], **kw) == [AR, IMP]


@pytest.mark.rule("b12-im-neuro-maintenance")
def test_b12_im_neuro_maintenance() -> None:
    r = rule("b12-im-neuro-maintenance")
    assert {1.0, 2.0} <= quote_numbers(r)  # "1 mg intramuscularly every 2 months"
    assert amount(r.dose_max, "mg") == 1.0 and str(r.per) == "2 months"
    kw = {"per": "month", "route": "IM", "indication": "with neurological involvement: maintenance"}
    assert verdicts("hydroxocobalamin", ["0.49 mg", "0.5 mg", "0.51 mg", "50 mg", "50.1 mg"], **kw) == [
        B,
        W,
        AR,
        AR,
        IMP,
    ]


@pytest.mark.rule("b12-seed-sublingual-daily")
@pytest.mark.rule("b12-seed-sublingual-weekly")
def test_seed_b12_regimens_stay_in_review_and_unused() -> None:
    for rid in ("b12-seed-sublingual-daily", "b12-seed-sublingual-weekly"):
        r = rule(rid)
        assert r.status is m.Status.IN_REVIEW and r.review_note
        assert r.citations[0].verification.status is m.VerificationStatus.UNVERIFIED
        assert any("mg -> ug" in d.governs for d in r.deviations)
    # 250 ug/day is not an approved regimen: it is below the ASMBS range, not "within".
    assert check("cyanocobalamin", "250 ug", per="day", route="oral").verdict is B
    assert amount(rule("b12-seed-sublingual-weekly").dose_max, "ug") == 1000.0


# -- thiamine -----------------------------------------------------------------------------------------


@pytest.mark.rule("thiamine-bariatric-maintenance")
def test_thiamine_bariatric_maintenance() -> None:
    r = rule("thiamine-bariatric-maintenance")
    assert {12.0, 50.0} <= quote_numbers(r)
    assert amount(r.dose_min, "mg") == 12.0 and r.dose_max is None
    assert amount(r.plausible_max, "mg") == 100 * (2 * 50.0)  # 100 times 50 mg twice daily
    kw = {"per": "day", "route": "oral", "indication": "bariatric"}
    assert verdicts("thiamine", ["11 mg", "12 mg", "50 mg", "100 mg", "10 g", "10.001 g"], **kw) == [
        B,
        W,
        W,
        W,
        W,
        IMP,
    ]
    assert verdicts("thiamine", ["12000 ug", "0.012 g"], **kw) == [W, W]


@pytest.mark.rule("thiamine-wernicke-treatment")
def test_thiamine_wernicke_treatment() -> None:
    r = rule("thiamine-wernicke-treatment")
    assert 200.0 in quote_numbers(r) and "thrice daily" in r.citations[0].quote
    assert "before any carbohydrate" in r.citations[0].quote and r.timing and "before any carbohydrate" in r.timing
    assert amount(r.dose_min, "mg") == amount(r.dose_max, "mg") == 3 * 200.0
    assert r.citations[0].grade == "Level C"
    kw = {"per": "day", "route": "IV", "indication": "wernicke"}
    assert verdicts("thiamine", ["599 mg", "600 mg", "601 mg", "60 g", "60.001 g"], **kw) == [B, W, AR, AR, IMP]
    assert any("before any carbohydrate" in n for n in check("thiamine", "600 mg", **kw).notes)


@pytest.mark.rule("thiamine-bariatric-deficiency-iv")
def test_thiamine_bariatric_deficiency_iv() -> None:
    r = rule("thiamine-bariatric-deficiency-iv")
    assert {500.0, 5.0, 250.0} <= quote_numbers(r) and "twice a day" in r.citations[0].quote
    assert amount(r.dose_max, "mg") == 2 * 500.0
    kw = {"per": "day", "route": "intravenous", "indication": "bariatric"}
    assert verdicts("thiamine", ["999 mg", "1000 mg", "1001 mg", "100 g", "100.001 g"], **kw) == [
        B,
        W,
        AR,
        AR,
        IMP,
    ]


@pytest.mark.rule("thiamine-er-at-risk")
def test_thiamine_er_at_risk() -> None:
    r = rule("thiamine-er-at-risk")
    assert "Parenteral thiamine" in r.citations[0].quote and r.citations[0].grade == "GPP"
    assert r.dose_min is None and r.dose_max is None and r.route == "parenteral"
    kw = {"per": "day", "route": "IM", "indication": "emergency room"}
    assert verdicts("thiamine", ["1 mg", "600 mg", "60 g", "60.001 g"], **kw) == [NC, NC, NC, IMP]


# -- gabapentin ---------------------------------------------------------------------------------------

GABA_TABLE = [
    # (CrCl, band label, daily min, daily max) -- NEURONTIN Table 1 (section 2.3), numbers typed from the
    # label: >= 60: 900-3600; >30 to 59: 400-1400; >15 to 29: 200-700; 15: 100-300; < 15: the 15 row x
    # CrCl/15 ("7.5 mL/min should receive one-half"). CrCl compared unrounded; gaps join the lower row.
    (61.0, ">= 60", 900.0, 3600.0),
    (60.0, ">= 60", 900.0, 3600.0),
    (59.99, ">30 to 59", 400.0, 1400.0),  # gap 59-60: the lower-dose row, never rounded up
    (59.9, ">30 to 59", 400.0, 1400.0),
    (59.0, ">30 to 59", 400.0, 1400.0),
    (31.0, ">30 to 59", 400.0, 1400.0),
    (30.9, ">30 to 59", 400.0, 1400.0),  # above 30: ">30" holds (no truncation to 30)
    (30.01, ">30 to 59", 400.0, 1400.0),
    (30.0, ">15 to 29", 200.0, 700.0),  # exactly 30: in no printed row -> the lower-dose row
    (29.5, ">15 to 29", 200.0, 700.0),
    (29.0, ">15 to 29", 200.0, 700.0),
    (16.0, ">15 to 29", 200.0, 700.0),
    (15.9, ">15 to 29", 200.0, 700.0),  # above 15: ">15" holds
    (15.01, ">15 to 29", 200.0, 700.0),
    (15.0, "15", 100.0, 300.0),
    (14.9, "< 15", 100.0 * 14.9 / 15, 300.0 * 14.9 / 15),
    (14.0, "< 15", 100.0 * 14 / 15, 300.0 * 14 / 15),
    (7.5, "< 15", 50.0, 150.0),  # the label's own example: one half of the 15 mL/min row
]


def _gaba_table_numbers(r: m.DosingRule) -> None:
    nums = quote_numbers(r)
    for band in r.renal:
        for q in (band.crcl_lower, band.crcl_upper):
            if q is not None:
                assert amount(q, "mL/min") in nums
        for q in (band.daily_min, band.daily_max):
            if q is not None:
                assert amount(q, "mg") in nums
    assert {125.0, 150.0, 200.0, 250.0, 350.0} <= nums  # post-hemodialysis supplements
    assert "in proportion to creatinine clearance" in r.renal[-1].regimen
    assert "7.5 mL/min should receive one-half" in r.citations[0].quote


@pytest.mark.parametrize("rule_id", ["gabapentin-phn", "gabapentin-dpn"])
def test_gabapentin_band_selection(rule_id: str) -> None:
    r = rule(rule_id)
    for crcl, label, _, _ in GABA_TABLE:
        band = renal_band(r, crcl)
        assert band is not None and band.label == label, crcl


_GABA_RULES = [
    pytest.param("gabapentin-phn", "postherpetic neuralgia", marks=pytest.mark.rule("gabapentin-phn")),
    pytest.param("gabapentin-dpn", "dpn", marks=pytest.mark.rule("gabapentin-dpn")),
]


@pytest.mark.parametrize(("rule_id", "indication"), _GABA_RULES)
@pytest.mark.parametrize(("crcl", "label", "low", "high"), GABA_TABLE)
def test_gabapentin_renal_edges(
    rule_id: str, indication: str, crcl: float, label: str, low: float, high: float
) -> None:
    """Both gabapentin rules at every edge of Table 1 and one step either side (numbers from the label)."""
    kw = {"per": "day", "crcl": f"{crcl} mL/min", "indication": indication}
    v = check("gabapentin", ng.Q_(low, "mg"), **kw)
    assert (v.verdict, v.renal_band, v.rule) == (W, label, rule_id)
    assert check("gabapentin", ng.Q_(high, "mg"), **kw).verdict is W
    assert check("gabapentin", ng.Q_(high + 1, "mg"), **kw).verdict is AM
    assert check("gabapentin", ng.Q_(low - 1, "mg"), **kw).verdict is B


@pytest.mark.rule("gabapentin-phn")
@pytest.mark.rule("gabapentin-dpn")
def test_gabapentin_label_example_at_7_5_ml_min() -> None:
    """NEURONTIN: '7.5 mL/min should receive one-half the daily dose' of the 15 mL/min row (100-300)."""
    for indication in ("phn", "dpn"):
        kw = {"per": "day", "crcl": "7.5 mL/min", "indication": indication}
        assert verdicts("gabapentin", ["49 mg", "50 mg", "150 mg", "151 mg"], **kw) == [B, W, W, AM]


@pytest.mark.rule("gabapentin-dpn")
def test_gabapentin_dpn_dose_range_without_renal_function() -> None:
    """DPN (off-label) uses the label's whole envelope: 900-3600 mg/day at CrCl >= 60."""
    r = rule("gabapentin-dpn")
    assert (amount(r.dose_min, "mg"), amount(r.dose_max, "mg"), amount(r.maximum, "mg")) == (900.0, 3600.0, 3600.0)
    assert r.crcl_comparison == "exact"


@pytest.mark.rule("gabapentin-phn")
def test_gabapentin_phn_source_numbers() -> None:
    r = rule("gabapentin-phn")
    _gaba_table_numbers(r)
    nums = quote_numbers(r)
    assert {300.0, 600.0, 900.0, 1800.0, 3600.0} <= nums
    assert (amount(r.dose_min, "mg"), amount(r.dose_max, "mg"), amount(r.maximum, "mg")) == (900.0, 1800.0, 3600.0)
    assert amount(r.plausible_max, "mg") == 10 * 3600.0
    assert r.labelled is True
    assert "postherpetic neuralgia" in r.citations[-1].quote
    assert truncate_crcl(59.99) == 59 and truncate_crcl(60.0) == 60 and truncate_crcl(0.1 + 0.2 + 59.7) == 60
    assert r.crcl_comparison == "exact"  # 2026.2: compared unrounded; truncation is kept for 0.1.0 files
    kw = {"per": "day", "crcl": "80 mL/min", "indication": "phn"}
    assert verdicts("gabapentin", ["36 g", "36.001 g"], **kw) == [AM, IMP]


@pytest.mark.rule("gabapentin-dpn")
def test_gabapentin_dpn_is_off_label_with_the_same_table() -> None:
    r = rule("gabapentin-dpn")
    _gaba_table_numbers(r)
    assert r.labelled is False and r.label_note and "not among them" in r.label_note
    assert "diabetic" not in r.citations[-1].quote.lower()  # the label's indications omit DPN
    assert r.renal == rule("gabapentin-phn").renal  # the same table, band by band (not only the labels)
    kw = {"per": "day", "indication": "dpn"}
    assert check("gabapentin", "3600 mg", crcl="60 mL/min", **kw).verdict is W
    assert check("gabapentin", "3600 mg", crcl="59 mL/min", **kw).verdict is AM
    assert check("gabapentin", "700 mg", crcl="30 mL/min", **kw).verdict is W
    assert check("gabapentin", "701 mg", crcl="30 mL/min", **kw).verdict is AM
    assert check("gabapentin", "1400 mg", crcl="30.5 mL/min", **kw).verdict is W
    assert check("gabapentin", "1400 mg", crcl="31 mL/min", **kw).verdict is W
    v = check("gabapentin", "1400 mg", crcl="31 mL/min", **kw)
    assert v.rule == "gabapentin-dpn" and v.labelled is False
    # Plausibility: above 36 g/day (10 times the 3600 mg/day maximum) is a likely unit error.
    assert verdicts("gabapentin", ["36 g", "36.001 g"], crcl="80 mL/min", **kw) == [AM, IMP]


# -- pregabalin ---------------------------------------------------------------------------------------


@pytest.mark.rule("pregabalin-dpn")
def test_pregabalin_dpn() -> None:
    r = rule("pregabalin-dpn")
    nums = quote_numbers(r)
    assert {100.0, 300.0, 60.0, 50.0, 150.0} <= nums and "at least 60 mL/min" in r.citations[0].quote
    assert (amount(r.dose_min, "mg"), amount(r.dose_max, "mg"), amount(r.maximum, "mg")) == (150.0, 300.0, 300.0)
    assert amount(r.renal[0].crcl_lower, "mL/min") == 60.0 and r.renal[0].lower_inclusive
    assert amount(r.renal[1].crcl_upper, "mL/min") == 60.0 and not r.renal[1].upper_inclusive  # "< 60"
    assert "diabetic peripheral neuropathy" in r.citations[1].quote and r.labelled is True
    kw = {"per": "day", "indication": "dpn"}
    for crcl in ("61 mL/min", "60 mL/min"):
        assert verdicts("pregabalin", ["149 mg", "150 mg", "300 mg", "301 mg"], crcl=crcl, **kw) == [B, W, W, AM]
    for crcl in ("59.9 mL/min", "59 mL/min", "30 mL/min", "10 mL/min"):
        v = check("pregabalin", "75 mg", crcl=crcl, **kw)
        assert (v.verdict, v.renal_band) == (NC, "< 60")
        assert "Table 2" in v.message
    assert verdicts("pregabalin", ["3 g", "3.001 g"], crcl="80 mL/min", **kw) == [AM, IMP]


@pytest.mark.rule("pregabalin-dpn-renal")
def test_pregabalin_renal_table_in_review_edges() -> None:
    r = rule("pregabalin-dpn-renal")
    assert r.status is m.Status.IN_REVIEW and r.review_note
    nums = quote_numbers(r)
    for band in r.renal:
        for q in (band.crcl_lower, band.crcl_upper):
            if q is not None:
                assert amount(q, "mL/min") in nums
    # Shared printed edges go to the lower-dose row (safety-first); 15 belongs to 15-30.
    expected = {
        61.0: ">= 60",
        60.0: "30-60",
        59.0: "30-60",
        31.0: "30-60",
        30.0: "15-30",
        29.0: "15-30",
        16.0: "15-30",
        15.0: "15-30",
        14.9: "< 15",
        14.0: "< 15",
    }
    for crcl, label in expected.items():
        found = renal_band(r, crcl)
        assert found is not None and found.label == label, crcl
    limits = {b.label: (amount(b.daily_min, "mg"), amount(b.daily_max, "mg")) for b in r.renal}
    assert limits == {">= 60": (150.0, 300.0), "30-60": (75.0, 150.0), "15-30": (25.0, 75.0), "< 15": (25.0, 50.0)}
    assert {150.0, 300.0, 75.0, 25.0, 50.0} <= nums


# -- duloxetine, droxidopa ------------------------------------------------------------------------------


@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_dpnp() -> None:
    r = rule("duloxetine-dpnp")
    assert 60.0 in quote_numbers(r) and "60 mg once daily" in r.citations[1].quote
    assert amount(r.dose_min, "mg") == amount(r.maximum, "mg") == 60.0 and r.frequency == "once daily"
    kw = {"per": "day", "route": "oral"}
    assert verdicts("duloxetine", ["59 mg", "60 mg", "61 mg", "600 mg", "601 mg"], **kw) == [B, W, AM, AM, IMP]
    assert check("duloxetine", "120 mg", **kw).verdict is AM
    assert check("duloxetine", "60 mg", **kw).missing == ("crcl",)  # renal function decides whether to use it


@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_dpnp_avoid_below_crcl_30() -> None:
    """Cymbalta prescribing information: no adjustment at CrCl 30 to 80 mL/min; severe impairment: avoid."""
    r = rule("duloxetine-dpnp")
    assert "creatinine clearance 30 to 80 mL/min" in r.citations[-1].quote
    kw = {"per": "day", "route": "oral"}
    for crcl in ("20 mL/min", "29.99 mL/min", "29 mL/min", "0 mL/min"):
        v = check("duloxetine", "60 mg", crcl=crcl, **kw)
        assert (v.verdict, v.renal_band) == (Verdict.AVOID, "< 30"), crcl
        assert check("duloxetine", "30 mg", crcl=crcl, **kw).verdict is Verdict.AVOID
    for crcl in ("30 mL/min", "30.01 mL/min", "31 mL/min", "80 mL/min"):
        assert verdicts("duloxetine", ["59 mg", "60 mg", "61 mg"], crcl=crcl, **kw) == [B, W, AM], crcl


@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_dpnp_on_dialysis_is_the_severe_row() -> None:
    """Label 8.10 'Severe Renal Impairment' covers end-stage renal disease on hemodialysis (drug-dosing 2026.4)."""
    r = rule("duloxetine-dpnp")
    (quote,) = [c.quote for c in r.citations if c.locator.startswith("8.10")]
    assert "Severe Renal Impairment" in quote and "chronic intermittent hemodialysis" in quote
    (row,) = [b for b in r.renal if b.dialysis is not None]
    assert row.avoid and row.label == "< 30"
    on_dialysis = ng.Patient.from_dict(
        {
            "id": "hd",
            "findings": {"dialysis": True},
            "medications": [{"agent": "duloxetine", "dose": "60 mg", "per": "day"}],
        }
    )
    v = check("duloxetine", "60 mg", per="day", patient=on_dialysis, as_of=dt.date(2026, 11, 30))
    assert (v.verdict, v.renal_band, v.missing) == (Verdict.AVOID, "< 30", ())
    for crcl in ("29.9 mL/min", "30 mL/min", "30.1 mL/min"):  # the edge and a step either side: dialysis decides
        given = ng.Patient.from_dict(
            {
                "id": "hd",
                "findings": {"dialysis": True},
                "measurements": {"crcl": crcl},
                "medications": [{"agent": "duloxetine", "dose": "60 mg", "per": "day"}],
            }
        )
        assert check("duloxetine", "60 mg", per="day", patient=given, as_of=dt.date(2026, 11, 30)).verdict is (
            Verdict.AVOID
        ), crcl


@pytest.mark.rule("droxidopa-noh")
def test_droxidopa_noh() -> None:
    r = rule("droxidopa-noh")
    assert {100.0, 600.0, 1800.0, 24.0, 48.0} <= quote_numbers(r)
    assert amount(r.maximum, "mg") == amount(r.dose_max, "mg") == 3 * 600.0 == 1800.0
    assert r.dose_min is None  # the starting dose was not verified verbatim
    assert "non-diabetic autonomic neuropathy" in r.citations[1].quote and r.labelled is True
    assert r.label_note and "off-label" in r.label_note
    kw = {"per": "day", "route": "oral"}
    assert verdicts("droxidopa", ["1 mg", "300 mg", "1800 mg", "1801 mg", "18 g", "18.001 g"], **kw) == [
        W,
        W,
        W,
        AM,
        AM,
        IMP,
    ]


@pytest.mark.rule("midodrine-oh")
def test_unverified_label_text_stays_in_review() -> None:
    for rid in ("midodrine-oh",):
        r = ng.load_guideline(GUIDELINE, version=VERSION).rule(rid)
        assert r.status is m.Status.IN_REVIEW and r.review_note and "droracle" in r.review_note
    with pytest.raises(ng.UnknownRuleError):
        ng.load_guideline(GUIDELINE, version=VERSION).rule("duloxetine-severe-renal")  # now a renal row
    with pytest.raises(ng.UnknownAgentError):
        ng.check_dose("midodrine", "30 mg", per="day")  # not checked until the label text is verified


def test_every_approved_dosing_rule_has_a_sane_plausibility_limit() -> None:
    g = ng.load_guideline(GUIDELINE, version=VERSION)
    for r in g.rules:
        if not isinstance(r, m.DosingRule) or r.status is not m.Status.APPROVED:
            continue
        top = r.maximum or r.dose_max or r.dose_min
        if top is not None:
            assert amount(r.plausible_max, "mg") >= 10 * amount(top, "mg"), r.id
        assert r.boundary and "unit error" in r.boundary, r.id


# -- two gabapentinoids (drug-dosing 2026.3) ---------------------------------------------------------


@pytest.mark.rule("gabapentinoid-combination")
@pytest.mark.parametrize(
    ("meds", "fires"),
    [
        ([{"agent": "gabapentin", "dose": "900 mg", "per": "day"}, {"agent": "pregabalin"}], True),
        ([{"agent": "Neurontin 300 mg"}, {"agent": "Lyrica CR"}], True),
        ([{"agent": "gabapentin"}], False),
        ([{"agent": "gabapentin"}, {"agent": "Neurontin"}], False),  # one drug twice: duplicate therapy, not this
        ([{"agent": "gabapentin"}, {"agent": "pregabalin", "started": "2024-01-01", "stopped": "2025-01-01"}], False),
        ([{"agent": "pregabalin"}, {"agent": "duloxetine"}], False),
    ],
)
def test_gabapentinoid_combination(meds: list[dict[str, str]], fires: bool) -> None:
    """Ghayur 2021 (case report, abstract): 'Gabapentinoids comprise the medications gabapentin and pregabalin.'"""
    r = ng.load_guideline(GUIDELINE, version=VERSION).rule("gabapentinoid-combination")
    text = " ".join(c.quote for c in r.citations)
    assert "Gabapentinoids comprise the medications gabapentin and pregabalin." in text
    assert "identify the therapeutic duplications (gabapentin and pregabalin)" in text
    rec = ng.assess({"medications": meds}, as_of=dt.date(2026, 11, 30)).by_rule("gabapentinoid-combination")
    assert (rec is not None) is fires
    if rec is not None:
        assert "Review whether both are intended" in rec.action


@pytest.mark.rule("gabapentin-phn")
def test_gabapentin_patient_text_leads_with_what_applies_to_every_use() -> None:
    """A gabapentin entry without an indication is reported by the PHN regimen: its text must not read as PHN-only."""
    from neuroguide import _patient_text as pt

    t = pt.patient_text("gabapentin-phn", GUIDELINE, VERSION)
    assert t is not None
    assert t.text.startswith("How much gabapentin you can take each day depends on how well your kidneys work.")
    assert "For pain after shingles, it starts with 300 mg on day 1" in t.text


# NEURONTIN Table 1 rows as encoded (typed from the label: ">= 60", ">30 to 59", ">15 to 29", "15", "<15"):
# (label, lower, lower inclusive, upper, upper inclusive, daily min, daily max). The label's gaps join the
# lower-dose row, so the rows tile the CrCl line with no overlap: an overlap would be hidden by the rule
# "the row with the lower daily maximum wins" and change no verdict, which is why the edges are pinned here.
GABA_ROWS = [
    (">= 60", 60.0, True, None, True, 900.0, 3600.0),
    (">30 to 59", 30.0, False, 60.0, False, 400.0, 1400.0),
    (">15 to 29", 15.0, False, 30.0, True, 200.0, 700.0),
    ("15", 15.0, True, 15.0, True, 100.0, 300.0),
    ("< 15", None, True, 15.0, False, None, None),
]


@pytest.mark.parametrize(("rule_id", "indication"), _GABA_RULES)
def test_gabapentin_renal_rows_tile_the_crcl_line_as_the_label_prints_them(rule_id: str, indication: str) -> None:
    r = rule(rule_id)

    def mg(q: object) -> float | None:
        return None if q is None else amount(q, "mg")

    def ml(q: object) -> float | None:
        return None if q is None else amount(q, "mL/min")

    got = [
        (b.label, ml(b.crcl_lower), b.lower_inclusive, ml(b.crcl_upper), b.upper_inclusive, mg(b.daily_min),
         mg(b.daily_max))
        for b in r.renal
    ]  # fmt: skip
    assert got == GABA_ROWS


@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_renal_rows_tile_the_crcl_line() -> None:
    """Cymbalta prescribing information (MIMS): no adjustment at 'creatinine clearance 30 to 80 mL/min' (30 is in),
    severe renal impairment (below 30) contraindicated. Pinned as encoded: an overlap at 30 would be hidden by the
    tie-break between rows and change no verdict."""
    r = rule("duloxetine-dpnp")
    got = [
        (b.label, None if b.crcl_lower is None else amount(b.crcl_lower, "mL/min"), b.lower_inclusive,
         None if b.crcl_upper is None else amount(b.crcl_upper, "mL/min"), b.upper_inclusive, b.avoid)
        for b in r.renal
    ]  # fmt: skip
    assert got == [(">= 30", 30.0, True, None, True, False), ("< 30", None, True, 30.0, False, True)]
