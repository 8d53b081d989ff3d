"""Neuropathy scores: MNSI questionnaire and examination, TCSS, DN4."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import calculators as calc
from neuroguide.formulas import _scores

# -- MNSI questionnaire -----------------------------------------------------------------------

YES_ITEMS = (1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15)  # "items 1-3, 5-6, 8-9, 11-12, 14-15"
NO_ITEMS = (7, 13)  # "A 'no' response on items 7 and 13 counts as 1 point"


def normal_answers() -> dict[int, bool]:
    """Every item answered the non-scoring way (yes to 7 and 13, no elsewhere)."""
    return {i: i in NO_ITEMS for i in range(1, 16)}


def test_mnsi_item_sets_match_the_scoring_sheet_quote() -> None:
    assert _scores.MNSI_Q_YES_ITEMS == YES_ITEMS
    assert _scores.MNSI_Q_NO_ITEMS == NO_ITEMS


def test_mnsi_questionnaire_minimum_and_maximum() -> None:
    assert calc.mnsi_questionnaire(normal_answers()).value == 0
    worst = {i: i not in NO_ITEMS for i in range(1, 16)}
    result = calc.mnsi_questionnaire(worst)
    assert result.value == 13
    assert result.citation and result.steps and result.inputs


@pytest.mark.parametrize("item", YES_ITEMS)
def test_mnsi_each_yes_item_scores_one(item: int) -> None:
    answers = normal_answers()
    answers[item] = True
    assert calc.mnsi_questionnaire(answers).value == 1


@pytest.mark.parametrize("item", NO_ITEMS)
def test_mnsi_no_on_7_and_13_scores_one(item: int) -> None:
    answers = normal_answers()
    answers[item] = False
    assert calc.mnsi_questionnaire(answers).value == 1


@pytest.mark.parametrize("item", [4, 10])
def test_mnsi_items_4_and_10_are_not_scored(item: int) -> None:
    answers = normal_answers()
    answers[item] = True
    assert calc.mnsi_questionnaire(answers).value == 0
    del answers[item]
    assert calc.mnsi_questionnaire(answers).value == 0


def test_mnsi_keywords_equal_mapping() -> None:
    answers = normal_answers()
    answers.update({1: True, 7: False})
    keywords: dict[str, Any] = {f"q{i}": v for i, v in answers.items()}
    by_kw = calc.mnsi_questionnaire(**keywords)
    assert by_kw.value == calc.mnsi_questionnaire(answers).value == 2


def test_mnsi_questionnaire_claims_no_verified_cutoff() -> None:
    answers = {i: i not in NO_ITEMS for i in range(1, 16)}
    result = calc.mnsi_questionnaire(answers)
    assert "unverified" in result.interpretation
    assert "abnormal" not in result.interpretation.replace("abnormal responses", "")


@pytest.mark.parametrize(
    ("score", "flags"), [(3, "False / False"), (4, "True / False"), (6, "True / False"), (7, "True / True")]
)
def test_mnsi_herman_thresholds_reported_at_edges(score: int, flags: str) -> None:
    answers = normal_answers()
    for item in YES_ITEMS[:score]:
        answers[item] = True
    result = calc.mnsi_questionnaire(answers)
    assert result.value == score
    assert result.steps[-1].value == flags


def test_mnsi_missing_item_names_it() -> None:
    answers = normal_answers()
    del answers[7]
    with pytest.raises(ng.InputError) as exc:
        calc.mnsi_questionnaire(answers)
    assert exc.value.field == "answers[7]"
    with pytest.raises(ng.InputError) as exc2:
        calc.mnsi_questionnaire({**normal_answers(), 16: True})
    assert exc2.value.field == "answers"
    with pytest.raises(ng.InputError) as exc3:
        calc.mnsi_questionnaire({**normal_answers(), 1: "maybe"})  # type: ignore[dict-item]
    assert exc3.value.field == "answers[1]"


@given(st.dictionaries(st.integers(1, 15), st.booleans(), min_size=15, max_size=15))
def test_mnsi_score_formula(answers: dict[int, bool]) -> None:
    expected = sum(answers[i] for i in YES_ITEMS) + sum(not answers[i] for i in NO_ITEMS)
    assert calc.mnsi_questionnaire(answers).value == expected


# -- MNSI examination -----------------------------------------------------------------------------

NORMAL_FOOT = {"appearance": "normal", "ulceration": False, "ankle_reflex": "present", "vibration": "present"}


def exam(right: dict[str, Any] | None = None, left: dict[str, Any] | None = None) -> calc.CalcResult:
    kwargs = {f"right_{k}": v for k, v in {**NORMAL_FOOT, **(right or {})}.items()}
    kwargs.update({f"left_{k}": v for k, v in {**NORMAL_FOOT, **(left or {})}.items()})
    return calc.mnsi_examination(**kwargs)


def test_mnsi_exam_scores_and_max() -> None:
    assert exam().value == 0
    worst = {"appearance": "abnormal", "ulceration": True, "ankle_reflex": "absent", "vibration": "absent"}
    assert exam(worst, worst).value == 8


def test_mnsi_exam_half_points() -> None:
    assert exam({"ankle_reflex": "present-with-reinforcement"}).value == 0.5
    assert exam({"vibration": "decreased"}).value == 0.5


def test_mnsi_exam_cutoff_2_5_inclusive() -> None:
    assert _scores.MNSI_EXAM_CUTOFF == 2.5  # "The MNSI score of 2.5 as a cut-off" (Lunetta 1998)
    two = exam({"appearance": "abnormal", "vibration": "decreased"}, {"vibration": "decreased"})
    assert two.value == 2.0
    assert "below the 2.5 cut-off" in two.interpretation
    two_half = exam({"appearance": "abnormal", "vibration": "decreased"}, {"ankle_reflex": "absent"})
    assert two_half.value == 2.5
    assert two_half.interpretation.startswith("MNSI examination 2.5/8: abnormal")
    three = exam({"appearance": "abnormal", "vibration": "absent"}, {"ankle_reflex": "absent"})
    assert three.value == 3.0
    assert "abnormal" in three.interpretation
    assert "monofilament item not scored (unverified)" in three.conventions


def test_mnsi_exam_bad_choice_names_field() -> None:
    with pytest.raises(ng.InputError) as exc:
        exam({"vibration": "reduced"})
    assert exc.value.field == "right_vibration"
    with pytest.raises(ng.InputError) as exc2:
        exam(left={"ulceration": "perhaps"})
    assert exc2.value.field == "left_ulceration"


# -- TCSS ----------------------------------------------------------------------------------------

TCSS_NORMAL: dict[str, Any] = {
    **dict.fromkeys(("foot_pain", "numbness", "tingling", "weakness", "ataxia", "upper_limb_symptoms"), False),
    **dict.fromkeys(("pinprick", "temperature", "light_touch", "vibration", "position"), False),
    **dict.fromkeys(("knee_right", "knee_left", "ankle_right", "ankle_left"), "normal"),
}


def tcss_with(score: int) -> dict[str, Any]:
    """Inputs scoring exactly ``score`` (0-19): symptoms first, then sensory tests, then reflexes."""
    kwargs = dict(TCSS_NORMAL)
    bools = [k for k, v in TCSS_NORMAL.items() if v is False]
    for name in bools[: min(score, 11)]:
        kwargs[name] = True
    rest = max(score - 11, 0)
    for name in ("knee_right", "knee_left", "ankle_right", "ankle_left"):
        take = min(rest, 2)
        kwargs[name] = ("normal", "reduced", "absent")[take]
        rest -= take
    return kwargs


def test_tcss_range() -> None:
    assert calc.tcss(**TCSS_NORMAL).value == 0
    assert calc.tcss(**tcss_with(19)).value == 19


@pytest.mark.parametrize(
    ("score", "stage"),
    [(5, "no neuropathy"), (6, "mild"), (8, "mild"), (9, "moderate"), (11, "moderate"), (12, "severe")],
)
def test_tcss_staging_is_labelled_unverified(score: int, stage: str) -> None:
    result = calc.tcss(**tcss_with(score))
    assert result.value == score
    assert "Staging UNVERIFIED" in result.interpretation
    assert f"would call this '{stage}'" in result.interpretation
    assert result.steps[-1] == calc.Step(label="staging (UNVERIFIED)", value=stage)


def test_tcss_reflex_points() -> None:
    kwargs = dict(TCSS_NORMAL, knee_left="reduced", ankle_right="absent")
    assert calc.tcss(**kwargs).value == 3


def test_tcss_bad_reflex_value() -> None:
    with pytest.raises(ng.InputError) as exc:
        calc.tcss(**dict(TCSS_NORMAL, ankle_left="brisk"))
    assert exc.value.field == "ankle_left"


# -- DN4 -----------------------------------------------------------------------------------------

DN4_NAMES = [name for name, _ in _scores.DN4_ITEMS]


def dn4_with(score: int) -> calc.CalcResult:
    return calc.dn4(**{name: i < score for i, name in enumerate(DN4_NAMES)})


def test_dn4_has_ten_items() -> None:
    assert len(DN4_NAMES) == 10


@pytest.mark.parametrize(("score", "positive"), [(0, False), (3, False), (4, True), (5, True), (10, True)])
def test_dn4_cutoff_4_inclusive(score: int, positive: bool) -> None:
    # "a score of 4p or more indicates neuropathic pain" (GDL transcription)
    result = dn4_with(score)
    assert result.value == score
    assert ("neuropathic pain likely (>= 4/10)" in result.interpretation) is positive
    assert ("neuropathic pain unlikely (< 4/10)" in result.interpretation) is not positive


def test_dn4_missing_item() -> None:
    kwargs: dict[str, Any] = dict.fromkeys(DN4_NAMES, False)
    kwargs["brushing"] = None
    with pytest.raises(ng.InputError) as exc:
        calc.dn4(**kwargs)
    assert exc.value.field == "brushing"


def test_scores_registered() -> None:
    for name in ("mnsi-questionnaire", "mnsi-examination", "tcss", "dn4"):
        assert name in calc.REGISTRY
