"""AHA/ACC PAD guideline: ABI categories, TBI and exercise ABI (aha-acc-pad 2016.1 and 2024.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng

GID = "aha-acc-pad"
DAY = dt.date(2026, 6, 1)


def guideline(version: str) -> Any:
    return ng.load_guideline(GID, version=version)


def assess(measurements: dict[str, float], version: str, findings: dict[str, bool] | None = None) -> Any:
    patient = {"measurements": measurements, "findings": findings or {}}
    return ng.assess(patient, as_of=DAY, pins={GID: version}, guidelines=[GID], statuses=("approved", "in-review"))


def abi_label(value: float, version: str) -> str:
    return str(assess({"abi": value}, version).record.facts["abi-classification"])


@pytest.mark.rule("abi-classification")
@pytest.mark.parametrize(
    ("version", "grade"), [("2016.1", "COR I, LOE C-LD"), ("2024.1", "COR 1, LOE B-NR"), ("2024.2", "COR 1, LOE B-NR")]
)
def test_abi_bands_match_the_quote(version: str, grade: str) -> None:
    rule = guideline(version).rule("abi-classification")
    first = rule.citations[0]
    assert first.grade == grade
    for text in ("≤0.90", "0.91–0.99", "1.00–1.40", ">1.40"):
        assert text in first.quote
    edges = [(b.label, b.lower, b.upper, b.lower_inclusive, b.upper_inclusive) for b in rule.bands]
    assert edges == [
        ("abnormal", None, 0.90, True, True),
        ("borderline", 0.91, 0.99, True, True),
        ("normal", 1.00, 1.40, True, True),
        ("noncompressible", 1.40, None, False, True),
    ]
    assert rule.places == 2
    assert any("recorded to 2 decimal places" in c.quote for c in rule.citations)


@pytest.mark.rule("abi-classification")
@pytest.mark.parametrize("version", ["2016.1", "2024.1", "2024.2"])
@pytest.mark.parametrize(
    ("abi", "label"),
    [
        (0.89, "abnormal"),
        (0.90, "abnormal"),
        (0.904, "abnormal"),
        (0.905, "borderline"),
        (0.91, "borderline"),
        (0.99, "borderline"),
        (0.994, "borderline"),
        (0.995, "normal"),
        (1.00, "normal"),
        (1.40, "normal"),
        (1.404, "normal"),
        (1.405, "noncompressible"),
        (1.41, "noncompressible"),
    ],
)
def test_abi_edges_after_half_up_rounding(version: str, abi: float, label: str) -> None:
    assert abi_label(abi, version) == label


@pytest.mark.rule("tbi-if-noncompressible")
@pytest.mark.parametrize("version", ["2016.1", "2024.1", "2024.2"])
def test_tbi_only_when_noncompressible(version: str) -> None:
    q = guideline(version).rule("tbi-if-noncompressible").citations[0].quote
    assert "greater than 1.40" in q or ">1.40 (noncompressible)" in q
    fired = [
        assess({"abi": v}, version).by_rule("tbi-if-noncompressible") is not None for v in (1.40, 1.404, 1.405, 1.41)
    ]
    assert fired == [False, False, True, True]
    assert assess({}, version).by_rule("tbi-if-noncompressible") is None


@pytest.mark.rule("tbi-classification")
@pytest.mark.parametrize("version", ["2016.1", "2024.1", "2024.2"])
def test_tbi_classification_edges(version: str) -> None:
    """AHA/ACC 2016: 'A TBI ≤0.70 is abnormal and diagnostic of PAD' (0.70 inclusive, 2 decimals)."""
    labels = [assess({"tbi": v}, version).record.facts["tbi-classification"] for v in (0.69, 0.70, 0.704, 0.705, 0.71)]
    assert labels == ["abnormal", "abnormal", "abnormal", "above 0.70", "above 0.70"]
    assert guideline("2024.2").rule("tbi-classification").status.value == "approved"


@pytest.mark.rule("diagnostic-abi")
@pytest.mark.parametrize(
    "finding",
    ["claudication", "exertional-nonjoint-leg-symptoms", "rest-pain-relieved-by-dependency", "pedal-pulses-decreased"],
)
def test_diagnostic_abi_for_symptomatic_pad_at_any_age(finding: str) -> None:
    """AHA/ACC 2016: history or examination suggestive of PAD -> resting ABI to establish the diagnosis."""
    assert "is recommended to establish the diagnosis" in guideline("2024.2").rule("diagnostic-abi").citations[0].quote
    young = {"birth_date": "1981-01-01", "findings": {finding: True}}  # 45 years old: below every screening age
    rec = ng.assess(young, as_of=DAY).by_rule("diagnostic-abi")
    assert rec is not None and rec.status == "fires"
    none = {
        "birth_date": "1981-01-01",
        "findings": dict.fromkeys(
            [
                "claudication",
                "exertional-nonjoint-leg-symptoms",
                "rest-pain-relieved-by-dependency",
                "pedal-pulses-decreased",
            ],
            False,
        ),
    }
    assert ng.assess(none, as_of=DAY).by_rule("diagnostic-abi") is None


@pytest.mark.rule("tbi-classification")
def test_tbi_abnormal_at_or_below_0_70() -> None:
    rule = guideline("2016.1").rule("tbi-classification")
    assert "TBI ≤0.70 is abnormal" in rule.citations[0].quote
    assert (rule.bands[0].label, rule.bands[0].upper) == ("abnormal", 0.70)
    labels = [assess({"tbi": v}, "2016.1").record.facts["tbi-classification"] for v in (0.69, 0.70, 0.704, 0.705, 0.71)]
    assert labels == ["abnormal", "abnormal", "abnormal", "above 0.70", "above 0.70"]
    assert guideline("2024.1").rule("tbi-classification").status.value == "in-review"


@pytest.mark.rule("exercise-abi")
@pytest.mark.parametrize("version", ["2016.1", "2024.1", "2024.2"])
def test_exercise_abi_for_normal_or_borderline(version: str) -> None:
    assert "(>0.90 and ≤1.40" in guideline(version).rule("exercise-abi").citations[0].quote
    symptoms = {"exertional-nonjoint-leg-symptoms": True}
    fired = [
        assess({"abi": v}, version, symptoms).by_rule("exercise-abi") is not None for v in (0.90, 0.91, 1.40, 1.41)
    ]
    assert fired == [False, True, True, False]
    quiet = {"exertional-nonjoint-leg-symptoms": False}
    assert assess({"abi": 1.0}, version, quiet).by_rule("exercise-abi") is None


def test_2024_change_notes_record_the_evidence_change() -> None:
    notes = {n.rule: n.what for n in guideline("2024.1").changes}
    assert "C-LD" in notes["abi-classification"] and "B-NR" in notes["abi-classification"]
    assert guideline("2024.1").supersedes == "2016.1"


@pytest.mark.rule("abi-classification")
@pytest.mark.rule("tbi-classification")
@pytest.mark.parametrize(
    ("measurements", "pad"),
    [
        ({"abi": 0.70}, True),
        ({"abi": 0.90}, True),
        ({"abi": 0.904}, True),  # 0.90 at 2 decimals
        ({"abi": 0.905}, None),  # 0.91: borderline, not diagnostic
        ({"abi": 0.91}, None),
        ({"tbi": 0.62}, True),
        ({"tbi": 0.70}, True),
        ({"tbi": 0.71}, None),
        ({"abi": 1.45, "tbi": 0.62}, True),  # noncompressible ankle arteries, abnormal toe index
        ({"abi": 1.10}, None),  # a normal ABI does not exclude PAD
    ],
)
def test_pad_is_derived_from_abi_or_tbi(measurements: dict[str, float], pad: bool | None) -> None:
    """AHA/ACC 2016: 'Patients with ABI ≤0.90 are diagnosed with PAD'; 'A TBI ≤0.70 is ... diagnostic of PAD'."""
    facts = ng.assess({"measurements": measurements}, as_of=DAY).record.facts
    assert facts.get("pad") is pad


def test_pad_given_against_a_diagnostic_abi_is_a_conflict_and_iwgdf_category_follows() -> None:
    """The audit's case: ABI 0.70 left the IWGDF category undetermined; PAD is now derived from it.

    A recorded "no PAD" beside an ABI of 0.70 (diagnostic: ≤ 0.90) is reported as a conflict and neither is used;
    a recorded "PAD" agrees with it.
    """
    result = ng.assess({"measurements": {"abi": 0.70}, "findings": {"pad": False}}, as_of=DAY)
    assert "pad" not in result.record.facts
    assert any(f.field == "findings.pad" and f.kind.value == "conflict" for f in result.flags)
    agreed = ng.assess({"measurements": {"abi": 0.70}, "findings": {"pad": True}}, as_of=DAY)
    assert agreed.record.facts["pad"] is True and not any(f.field == "findings.pad" for f in agreed.flags)
    diabetic = {
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "findings": {
            "monofilament-abnormal": False,
            "vibration-abnormal": False,
            "foot-deformity": False,
            "prior-foot-ulcer": False,
            "prior-amputation": False,
            "end-stage-renal-disease": False,
        },
        "measurements": {"abi": 0.70},
    }
    assert ng.assess(diabetic, as_of=DAY).record.facts.get("iwgdf-category") == 1.0


@pytest.mark.rule("tbi-classification")
def test_tbi_classification_explains_the_source_edges() -> None:
    """'A TBI ≤0.70 is abnormal': the band above is '>0.70' exactly, also in the explanation a clinician reads.

    Bands are matched in order, so a shifted or inclusive lower edge of the upper band changes no label; it
    would change the explanation ('> 0.69', '≥ 0.7'), which is what this pins.
    """
    above = assess({"tbi": 0.71}, "2024.2").by_rule("tbi-classification")
    edge = assess({"tbi": 0.70}, "2024.2").by_rule("tbi-classification")
    assert above.reasons == ("tbi = 0.71: above 0.70 (> 0.7)",)
    assert edge.reasons == ("tbi = 0.70: abnormal (≤ 0.7)",)
