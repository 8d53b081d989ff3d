"""Neuropathy scores: MNSI questionnaire and examination, Toronto Clinical Scoring System, DN4.

Only scoring rules the research notes verified are encoded; each result says
how well its cut-off is sourced. What is unverified (the TCSS severity
staging, a diagnostic cut-off for the MNSI questionnaire) is labelled
unverified in the interpretation and never presented as validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import InputError
from ._result import CalcResult, Step

__all__ = [
    "DN4_ITEMS",
    "MNSI_EXAM_CUTOFF",
    "MNSI_Q_NO_ITEMS",
    "MNSI_Q_YES_ITEMS",
    "TCSS_STAGING_UNVERIFIED",
    "dn4",
    "mnsi_examination",
    "mnsi_questionnaire",
    "tcss",
]

MNSI_SHEET = (
    "University of Michigan. How to Use the Michigan Neuropathy Screening Instrument (scoring sheet; secondary, "
    "docsbay.net/doc/162278). Feldman EL, Stevens MJ, Thomas PK, et al. Diabetes Care 1994;17(11):1281-1289."
)
HERMAN_2012 = (
    "Herman WH, Pop-Busui R, Braffett BH, et al.; DCCT/EDIC Research Group. Use of the Michigan Neuropathy "
    "Screening Instrument as a measure of distal symmetrical peripheral neuropathy in type 1 diabetes. "
    "Diabet Med 2012;29(7):937-944. doi:10.1111/j.1464-5491.2012.03644.x (abstract primary; corrigendum "
    "Diabet Med 2022;39(4):e14765 not seen)."
)
LUNETTA_1998 = (
    "Lunetta M, et al. A simplified diagnostic test for ambulatory screening of peripheral diabetic neuropathy. "
    "Diabetes Res Clin Pract 1998;39(3):165-172. doi:10.1016/s0168-8227(98)00005-9: 'The MNSI score of 2.5 as a "
    "cut-off appeared to be reliable for ambulatory screening' (primary)."
)
TCSS_CITATION = (
    "Bril V, Perkins BA. Validation of the Toronto Clinical Scoring System for diabetic polyneuropathy. Diabetes "
    "Care 2002;25(11):2048-2052. doi:10.2337/diacare.25.11.2048 (validation primary; the item and point table "
    "was seen only in secondary code, not in the paper)."
)
DN4_CITATION = (
    "Bouhassira D, Attal N, Alchaar H, et al. Comparison of pain syndromes associated with nervous or somatic "
    "lesions and development of a new neuropathic pain diagnostic questionnaire (DN4). Pain 2005;114(1-2):29-36. "
    "Items and cut-off secondary (Cambio GDL DN4.v1: 'a score of 4p or more indicates neuropathic pain'); the "
    "original sensitivity and specificity are unverified."
)

# -- MNSI questionnaire ------------------------------------------------------

#: Items scored 1 for "yes" (U-Michigan sheet: "items 1-3, 5-6, 8-9, 11-12, 14-15").
MNSI_Q_YES_ITEMS = (1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15)
#: Items scored 1 for "no" ("A 'no' response on items 7 and 13 counts as 1 point").
MNSI_Q_NO_ITEMS = (7, 13)
#: Items not scored (4: impaired circulation; 10: general asthenia).
MNSI_Q_UNSCORED = (4, 10)


def _bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false"):
        return value.lower() in ("yes", "true")
    raise InputError(field, value, "yes/no (True or False)")


def mnsi_questionnaire(answers: Mapping[int, bool] | None = None, **items: Any) -> CalcResult:
    """MNSI history questionnaire score (0-13), by the University of Michigan scoring rule.

    One point for "yes" to items 1-3, 5-6, 8-9, 11-12, 14-15 and for "no" to
    items 7 and 13; items 4 and 10 are not scored (they may be given and are
    recorded). No diagnostic cut-off is asserted: Herman 2012 reports how many
    participants had >= 4 and >= 7 abnormal responses, and the steps say
    whether the score reaches those, but the often-quoted ">= 7 abnormal"
    (Feldman 1994) is unverified.

    Args:
        answers: item number (1-15) -> answer (True = yes), or give ``q1=True, q2=False, ...``.
        **items: ``q1`` ... ``q15`` as keywords (for the CLI).

    Returns:
        The score (int).

    Raises:
        InputError: a scored item missing, an unknown item, or a non yes/no answer.

    """
    given: dict[int, bool] = {}
    if answers is not None and not isinstance(answers, Mapping):
        raise InputError("answers", answers, "a mapping of item number (1 to 15) to a yes/no answer")
    for key, value in (answers or {}).items():
        if isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= 15:
            raise InputError("answers", key, "item numbers 1 to 15")
        given[key] = _bool(f"answers[{key}]", value)
    for name, value in items.items():
        if not (name.startswith("q") and name[1:].isdigit() and 1 <= int(name[1:]) <= 15):
            raise InputError(name, value, "keywords q1 to q15")
        given[int(name[1:])] = _bool(name, value)
    missing = [i for i in (*MNSI_Q_YES_ITEMS, *MNSI_Q_NO_ITEMS) if i not in given]
    if missing:
        raise InputError(f"answers[{missing[0]}]", None, f"an answer to every scored item; missing {missing}")
    yes_points = [i for i in MNSI_Q_YES_ITEMS if given[i]]
    no_points = [i for i in MNSI_Q_NO_ITEMS if not given[i]]
    score = len(yes_points) + len(no_points)
    return CalcResult(
        name="mnsi-questionnaire",
        value=score,
        interpretation=(
            f"MNSI questionnaire {score}/13. No diagnostic cut-off is verified in our sources (the often-quoted "
            ">= 7 is unverified); Herman 2012 reported the share of people with >= 4 and >= 7 abnormal responses."
        ),
        inputs={f"q{i}": "yes" if given[i] else "no" for i in sorted(given)},
        steps=(
            Step(label="'yes' on items 1-3, 5-6, 8-9, 11-12, 14-15", value=f"{len(yes_points)} ({yes_points})"),
            Step(label="'no' on items 7, 13", value=f"{len(no_points)} ({no_points})"),
            Step(label="items 4 and 10", value="not scored"),
            Step(label=">= 4 / >= 7 (Herman 2012 reporting thresholds)", value=f"{score >= 4} / {score >= 7}"),
        ),
        citation=f"{MNSI_SHEET} {HERMAN_2012}",
        conventions=("scoring rule secondary (U-Michigan sheet copy)", "no cut-off applied (unverified)"),
    )


# -- MNSI examination --------------------------------------------------------

#: Abnormal if the total is >= 2.5 (Lunetta 1998; Herman 2012), inclusive.
MNSI_EXAM_CUTOFF = 2.5

_REFLEX_POINTS = {"present": 0.0, "present-with-reinforcement": 0.5, "absent": 1.0}
_VIBRATION_POINTS = {"present": 0.0, "decreased": 0.5, "absent": 1.0}
_APPEARANCE_POINTS = {"normal": 0.0, "abnormal": 1.0}


def _choice(field: str, value: object, table: Mapping[str, float]) -> float:
    if not isinstance(value, str) or value not in table:
        raise InputError(field, value, f"one of {list(table)}")
    return table[value]


def mnsi_examination(
    *,
    right_appearance: str,
    right_ulceration: bool,
    right_ankle_reflex: str,
    right_vibration: str,
    left_appearance: str,
    left_ulceration: bool,
    left_ankle_reflex: str,
    left_vibration: str,
) -> CalcResult:
    """MNSI physical examination score (0-8), abnormal if >= 2.5.

    Per foot: appearance normal 0 / abnormal 1; ulceration absent 0 / present 1;
    ankle reflex present 0 / present with reinforcement (Jendrassik) 0.5 /
    absent 1; vibration at the great toe present 0 / decreased 0.5 / absent 1.
    The 10-g monofilament item of later sheet versions is not scored (its
    scoring was not verified); the maximum is 8, as in Lunetta 1998 and Herman 2012.

    Args:
        right_appearance: ``"normal"`` or ``"abnormal"`` (deformity, dry skin, callus, infection, fissure).
        right_ulceration: True if an ulcer is present.
        right_ankle_reflex: ``"present"``, ``"present-with-reinforcement"`` or ``"absent"``.
        right_vibration: ``"present"``, ``"decreased"`` or ``"absent"``.
        left_appearance: as right.
        left_ulceration: as right.
        left_ankle_reflex: as right.
        left_vibration: as right.

    Returns:
        The score (float, steps of 0.5).

    Raises:
        InputError: an item missing or not one of its allowed values.

    """
    per_foot: dict[str, float] = {}
    steps: list[Step] = []
    for side, appearance, ulcer, reflex, vibration in (
        ("right", right_appearance, right_ulceration, right_ankle_reflex, right_vibration),
        ("left", left_appearance, left_ulceration, left_ankle_reflex, left_vibration),
    ):
        points = (
            _choice(f"{side}_appearance", appearance, _APPEARANCE_POINTS),
            1.0 if _bool(f"{side}_ulceration", ulcer) else 0.0,
            _choice(f"{side}_ankle_reflex", reflex, _REFLEX_POINTS),
            _choice(f"{side}_vibration", vibration, _VIBRATION_POINTS),
        )
        per_foot[side] = sum(points)
        steps.append(
            Step(
                label=f"{side} foot: appearance + ulceration + ankle reflex + vibration",
                value=" + ".join(f"{p:g}" for p in points) + f" = {sum(points):g}",
            )
        )
    score = per_foot["right"] + per_foot["left"]
    abnormal = score >= MNSI_EXAM_CUTOFF
    steps.append(
        Step(label="total (max 8); abnormal if >= 2.5", value=f"{score:g} -> {'abnormal' if abnormal else 'normal'}")
    )
    return CalcResult(
        name="mnsi-examination",
        value=score,
        interpretation=(
            f"MNSI examination {score:g}/8: "
            + ("abnormal (>= 2.5; Lunetta 1998, Herman 2012)" if abnormal else "below the 2.5 cut-off (Lunetta 1998)")
        ),
        inputs={
            "right_appearance": right_appearance,
            "right_ulceration": "yes" if right_ulceration else "no",
            "right_ankle_reflex": right_ankle_reflex,
            "right_vibration": right_vibration,
            "left_appearance": left_appearance,
            "left_ulceration": "yes" if left_ulceration else "no",
            "left_ankle_reflex": left_ankle_reflex,
            "left_vibration": left_vibration,
        },
        steps=tuple(steps),
        citation=f"{LUNETTA_1998} {HERMAN_2012} {MNSI_SHEET}",
        conventions=(
            "cut-off >= 2.5 inclusive (primary)",
            "0.5 scores for reinforcement and decreased vibration: secondary (Herman 2012 methods reproduction)",
            "monofilament item not scored (unverified)",
        ),
    )


# -- Toronto Clinical Scoring System -----------------------------------------

_TCSS_SYMPTOMS = ("foot_pain", "numbness", "tingling", "weakness", "ataxia", "upper_limb_symptoms")
_TCSS_SENSORY = ("pinprick", "temperature", "light_touch", "vibration", "position")
_TCSS_REFLEXES = ("knee_right", "knee_left", "ankle_right", "ankle_left")
_TCSS_REFLEX_POINTS = {"normal": 0.0, "reduced": 1.0, "absent": 2.0}

#: Severity staging seen only in code and a calculator site (attributed to Perkins 2001): UNVERIFIED.
TCSS_STAGING_UNVERIFIED: tuple[tuple[str, int, int | None], ...] = (
    ("no neuropathy", 0, 5),
    ("mild", 6, 8),
    ("moderate", 9, 11),
    ("severe", 12, None),
)


def tcss(
    *,
    foot_pain: bool,
    numbness: bool,
    tingling: bool,
    weakness: bool,
    ataxia: bool,
    upper_limb_symptoms: bool,
    pinprick: bool,
    temperature: bool,
    light_touch: bool,
    vibration: bool,
    position: bool,
    knee_right: str,
    knee_left: str,
    ankle_right: str,
    ankle_left: str,
) -> CalcResult:
    """Toronto Clinical Scoring System (0-19): symptoms 0-6 + sensory tests 0-5 + reflexes 0-8.

    Symptoms (1 point each if present): foot pain, numbness, tingling, weakness,
    ataxia, upper-limb symptoms. Sensory tests at the first toe (1 point each if
    abnormal): pinprick, temperature, light touch, vibration, position. Knee and
    ankle reflexes, each side: normal 0, reduced 1, absent 2.

    The severity staging (0-5 / 6-8 / 9-11 / >= 12) is UNVERIFIED: it was not
    found in any primary source, so the interpretation names it as unverified.

    Args:
        foot_pain: symptom present.
        numbness: symptom present.
        tingling: symptom present.
        weakness: symptom present.
        ataxia: symptom present.
        upper_limb_symptoms: symptom present.
        pinprick: abnormal at the first toe.
        temperature: abnormal at the first toe.
        light_touch: abnormal at the first toe.
        vibration: abnormal at the first toe.
        position: abnormal at the first toe.
        knee_right: ``"normal"``, ``"reduced"`` or ``"absent"``.
        knee_left: as knee_right.
        ankle_right: as knee_right.
        ankle_left: as knee_right.

    Returns:
        The total score (int).

    Raises:
        InputError: an item missing or not one of its allowed values.

    """
    given = locals()
    symptoms = [name for name in _TCSS_SYMPTOMS if _bool(name, given[name])]
    sensory = [name for name in _TCSS_SENSORY if _bool(name, given[name])]
    reflex_points = {name: _choice(name, given[name], _TCSS_REFLEX_POINTS) for name in _TCSS_REFLEXES}
    reflex_total = int(sum(reflex_points.values()))
    score = len(symptoms) + len(sensory) + reflex_total
    stage = next(label for label, lo, hi in TCSS_STAGING_UNVERIFIED if score >= lo and (hi is None or score <= hi))
    return CalcResult(
        name="tcss",
        value=score,
        interpretation=(
            f"TCSS {score}/19 (higher = more severe; Bril 2002 validated the total against sural nerve "
            f"morphology). Staging UNVERIFIED: the 0-5/6-8/9-11/>=12 bands (attributed to Perkins 2001, not seen "
            f"in any primary source) would call this '{stage}'; do not use it as a validated category."
        ),
        inputs={
            **{name: "yes" if name in symptoms else "no" for name in _TCSS_SYMPTOMS},
            **{name: "abnormal" if name in sensory else "normal" for name in _TCSS_SENSORY},
            **{name: str(given[name]) for name in _TCSS_REFLEXES},
        },
        steps=(
            Step(label="symptoms (0-6)", value=f"{len(symptoms)} ({', '.join(symptoms) or 'none'})"),
            Step(
                label="sensory tests at the first toe (0-5)", value=f"{len(sensory)} ({', '.join(sensory) or 'none'})"
            ),
            Step(
                label="knee and ankle reflexes (0-8)",
                value=" + ".join(f"{name} {p:g}" for name, p in reflex_points.items()) + f" = {reflex_total}",
            ),
            Step(label="total (0-19)", value=str(score)),
            Step(label="staging (UNVERIFIED)", value=stage),
        ),
        citation=TCSS_CITATION,
        conventions=("items and points secondary (code only)", "staging unverified; shown labelled as such"),
    )


# -- DN4 ---------------------------------------------------------------------

#: The 10 DN4 items: 7 interview (pain character and associated sensations) and 3 examination items.
DN4_ITEMS: tuple[tuple[str, str], ...] = (
    ("burning", "Can the pain be characterized as burning?"),
    ("painful_cold", "Can the pain be characterized as painfully cold?"),
    ("electric_shocks", "Can the pain be characterized as electric shocks?"),
    ("tingling", "Is the pain associated with tingling in the same area?"),
    ("pins_and_needles", "Is the pain associated with feeling of pins and needles in the same area?"),
    ("numbness", "Is the pain associated with numbness in the same area?"),
    ("itching", "Is the pain associated with itching in the same area?"),
    (
        "touch_hypoaesthesia",
        "Is the pain located in an area where physical examination may reveal touch hypoaesthesia?",
    ),
    (
        "pricking_hypoaesthesia",
        "Is the pain located in an area where physical examination may reveal pricking hypoaesthesia?",
    ),
    ("brushing", "In the painful area, can the pain be caused or increased by brushing?"),
)
DN4_CUTOFF = 4


def dn4(
    *,
    burning: bool,
    painful_cold: bool,
    electric_shocks: bool,
    tingling: bool,
    pins_and_needles: bool,
    numbness: bool,
    itching: bool,
    touch_hypoaesthesia: bool,
    pricking_hypoaesthesia: bool,
    brushing: bool,
) -> CalcResult:
    """DN4 neuropathic-pain questionnaire (0-10): positive (neuropathic pain likely) if >= 4.

    Args:
        burning: pain is burning.
        painful_cold: pain is painfully cold.
        electric_shocks: pain is like electric shocks.
        tingling: tingling in the painful area.
        pins_and_needles: pins and needles in the painful area.
        numbness: numbness in the painful area.
        itching: itching in the painful area.
        touch_hypoaesthesia: examination shows touch hypoaesthesia in the painful area.
        pricking_hypoaesthesia: examination shows pricking (pinprick) hypoaesthesia there.
        brushing: brushing causes or increases the pain.

    Returns:
        The score (int).

    Raises:
        InputError: an item missing or not yes/no.

    """
    given = locals()
    yes = [name for name, _ in DN4_ITEMS if _bool(name, given[name])]
    score = len(yes)
    positive = score >= DN4_CUTOFF
    return CalcResult(
        name="dn4",
        value=score,
        interpretation=(
            f"DN4 {score}/10: "
            + ("neuropathic pain likely (>= 4/10)" if positive else "neuropathic pain unlikely (< 4/10)")
            + "; cut-off as stated in the GDL transcription (secondary); other language versions validated "
            "other cut-offs (Dutch 5/10)."
        ),
        inputs={name: "yes" if name in yes else "no" for name, _ in DN4_ITEMS},
        steps=(
            Step(label="items answered yes", value=f"{score} ({', '.join(yes) or 'none'})"),
            Step(label="positive if >= 4", value=str(positive)),
        ),
        citation=DN4_CITATION,
        conventions=("cut-off >= 4 inclusive ('4p or more')", "full 10-item version only"),
    )
