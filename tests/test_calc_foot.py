"""Foot calculators: IWGDF risk category and the ankle-brachial index."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng

calc = ng.calculators
KEYS = ("lops", "pad", "deformity", "prior_ulcer", "prior_amputation", "esrd")


def mmhg(value: float) -> ng.Quantity:
    q: ng.Quantity = ng.Q_(value, "mmHg")
    return q


def test_both_calculators_are_registered() -> None:
    assert calc.REGISTRY["abi"] is calc.abi
    assert calc.REGISTRY["iwgdf-category"] is calc.iwgdf_category


# -- IWGDF ----------------------------------------------------------------------------------


@pytest.mark.rule("foot-screening-by-risk")
@pytest.mark.parametrize(
    ("inputs", "category", "interval"),
    [
        ({"lops": False, "pad": False}, 0, "once a year"),
        (
            {
                "lops": True,
                "pad": False,
                "deformity": False,
                "prior_ulcer": False,
                "prior_amputation": False,
                "esrd": False,
            },
            1,
            "6–12 months",
        ),
        (
            {
                "lops": False,
                "pad": True,
                "deformity": False,
                "prior_ulcer": False,
                "prior_amputation": False,
                "esrd": False,
            },
            1,
            "6–12 months",
        ),
        ({"lops": True, "pad": True, "prior_ulcer": False, "prior_amputation": False, "esrd": False}, 2, "3–6 months"),
        (
            {
                "lops": True,
                "pad": False,
                "deformity": True,
                "prior_ulcer": False,
                "prior_amputation": False,
                "esrd": False,
            },
            2,
            "3–6 months",
        ),
        (
            {
                "lops": False,
                "pad": True,
                "deformity": True,
                "prior_ulcer": False,
                "prior_amputation": False,
                "esrd": False,
            },
            2,
            "3–6 months",
        ),
        ({"lops": True, "pad": None, "prior_ulcer": True}, 3, "1–3 months"),
        ({"lops": None, "pad": True, "prior_amputation": True}, 3, "1–3 months"),
        ({"lops": True, "pad": False, "esrd": True}, 3, "1–3 months"),
    ],
)
def test_iwgdf_category_edges(inputs: dict[str, bool | None], category: int, interval: str) -> None:
    result = calc.iwgdf_category(**inputs)  # type: ignore[arg-type]
    assert result.value == category
    assert f"IWGDF risk {category}" in result.interpretation and interval in result.interpretation


def test_history_or_deformity_without_lops_or_pad_is_category_0() -> None:
    result = calc.iwgdf_category(
        lops=False, pad=False, deformity=True, prior_ulcer=True, prior_amputation=True, esrd=True
    )
    assert result.value == 0


@pytest.mark.parametrize(
    ("inputs", "missing"),
    [
        ({"lops": None, "pad": False}, ["lops", "deformity", "prior_ulcer", "prior_amputation", "esrd"]),
        ({"lops": True, "pad": False, "deformity": False}, ["prior_ulcer", "prior_amputation", "esrd"]),
        ({"lops": True, "pad": False, "prior_ulcer": False, "prior_amputation": False, "esrd": False}, ["deformity"]),
    ],
)
def test_unknown_inputs_are_named_never_assumed_normal(inputs: dict[str, bool | None], missing: list[str]) -> None:
    result = calc.iwgdf_category(**inputs)  # type: ignore[arg-type]
    assert result.value is None
    assert "undeterminable" in result.interpretation
    named = result.interpretation.split("assess ")[1].split(" (")[0].split(", ")
    assert named == missing


def test_iwgdf_rejects_non_boolean_input() -> None:
    with pytest.raises(ng.InputError, match="lops"):
        calc.iwgdf_category(lops="yes", pad=False)  # type: ignore[arg-type]


def test_iwgdf_interval_text_comes_from_the_guideline() -> None:
    rule: Any = ng.load_guideline("iwgdf-foot", version="2019.1").rule("foot-screening-by-risk")
    labels = {int(th.when.value): th.label for th in rule.intervals}
    cases: list[dict[str, Any]] = [
        {"lops": False, "pad": False},
        {
            "lops": True,
            "pad": False,
            "deformity": False,
            "prior_ulcer": False,
            "prior_amputation": False,
            "esrd": False,
        },
        {"lops": True, "pad": True, "prior_ulcer": False, "prior_amputation": False, "esrd": False},
        {"lops": True, "pad": True, "esrd": True},
    ]
    for category, inputs in enumerate(cases):
        assert calc.iwgdf_category(**inputs, version="2019.1").interpretation == labels[category]


@given(st.tuples(*[st.sampled_from([True, False, None])] * 6))
def test_partial_answer_is_consistent_with_every_completion(values: tuple[bool | None, ...]) -> None:
    result = calc.iwgdf_category(**dict(zip(KEYS, values, strict=True)))  # type: ignore[arg-type]
    unknown = [i for i, v in enumerate(values) if v is None]
    outcomes = set()
    for fill in itertools.product([True, False], repeat=len(unknown)):
        full = list(values)
        for i, v in zip(unknown, fill, strict=True):
            full[i] = v
        outcomes.add(calc.iwgdf_category(**dict(zip(KEYS, full, strict=True))).value)  # type: ignore[arg-type]
    assert result.value == (outcomes.pop() if len(outcomes) == 1 else None)


@given(st.tuples(*[st.booleans()] * 6), st.integers(min_value=0, max_value=5))
def test_adding_a_risk_factor_never_lowers_the_category(values: tuple[bool, ...], index: int) -> None:
    base = calc.iwgdf_category(**dict(zip(KEYS, values, strict=True))).value  # type: ignore[arg-type]
    more = list(values)
    more[index] = True
    raised = calc.iwgdf_category(**dict(zip(KEYS, more, strict=True))).value  # type: ignore[arg-type]
    assert raised >= base


# -- ABI -----------------------------------------------------------------------------------


@pytest.mark.rule("abi-classification")
def test_abi_half_up_rounding_and_higher_pressures() -> None:
    result = calc.abi(ankle_dp=mmhg(66), ankle_pt=mmhg(60), brachial_left=mmhg(80), brachial_right=mmhg(74))
    assert result.value == Decimal("0.83")  # 66/80 = 0.825 -> 0.83 half-up (binary round() gives 0.82)
    assert result.interpretation.startswith("ABI 0.83: abnormal")
    swapped = calc.abi(ankle_dp="60 mmHg", ankle_pt="66 mmHg", brachial_left="74 mmHg", brachial_right="80 mmHg")
    assert swapped.value == result.value


@pytest.mark.rule("abi-classification")
@pytest.mark.parametrize(
    ("ankle", "arm", "value", "label"),
    [
        (90, 100, "0.90", "abnormal"),
        (91, 100, "0.91", "borderline"),
        (99, 100, "0.99", "borderline"),
        (100, 100, "1.00", "normal"),
        (140, 100, "1.40", "normal"),
        (141, 100, "1.41", "noncompressible"),
        (181, 200, "0.91", "borderline"),  # 0.905 -> 0.91
        (199, 200, "1.00", "normal"),  # 0.995 -> 1.00
        (281, 200, "1.41", "noncompressible"),  # 1.405 -> 1.41
    ],
)
def test_abi_band_edges(ankle: int, arm: int, value: str, label: str) -> None:
    result = calc.abi(ankle_dp=mmhg(ankle), ankle_pt=mmhg(0), brachial_left=mmhg(arm), brachial_right=mmhg(arm))
    assert result.value == Decimal(value)
    assert result.steps[-1].value == label
    assert calc.classify_abi(Decimal(value))[0] == label


def test_abi_bands_follow_the_pinned_guideline_version() -> None:
    result = calc.abi(
        ankle_dp="90 mmHg", ankle_pt="80 mmHg", brachial_left="100 mmHg", brachial_right="95 mmHg", version="2016.1"
    )
    assert "aha-acc-pad 2016.1" in result.citation and "C-LD" in result.citation


@given(
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=40, max_value=300),
    st.integers(min_value=40, max_value=300),
)
@pytest.mark.rule("abi-classification")
def test_abi_unit_invariance_mmhg_kpa(dp: int, pt: int, left: int, right: int) -> None:
    a = calc.abi(ankle_dp=mmhg(dp), ankle_pt=mmhg(pt), brachial_left=mmhg(left), brachial_right=mmhg(right))
    kpa = [ng.Q_(v, "mmHg").to("kPa") for v in (dp, pt, left, right)]
    b = calc.abi(ankle_dp=kpa[0], ankle_pt=kpa[1], brachial_left=kpa[2], brachial_right=kpa[3])
    assert (a.value, a.steps[-1].value) == (b.value, b.steps[-1].value)


def test_abi_input_errors() -> None:
    with pytest.raises(ng.InputError, match="brachial_left"):
        calc.abi(ankle_dp="100 mmHg", ankle_pt="90 mmHg", brachial_left="20 mmHg", brachial_right="120 mmHg")
    with pytest.raises(ng.UnitError):
        calc.abi(ankle_dp="100 mg", ankle_pt="90 mmHg", brachial_left="120 mmHg", brachial_right="120 mmHg")
    with pytest.raises(ng.InputError):
        calc.classify_abi(-0.5)
