"""A seeded synthetic cohort in the wide-table form, for benchmarks, docs and tests.

The distributions are plausible for an adult primary-care registry, not estimates of any real
population (the numbers below are this generator's assumptions, documented in ``docs/cohort.md``):

* age 18-95, normal around 62 years (SD 14); birth dates spread over every calendar day,
  29 February included; sex 1:1;
* diabetes in 40 %: type 2 90 %, type 1 8 %, other 2 %; diagnosed an exponential 9 years
  (mean) before the evaluation date, never before birth;
* the listed yes/no findings recorded for 60 % of people, true with a finding-specific prevalence
  (:data:`PREVALENCE`; 5 % for the other listed findings, 0.5 % for red flags); findings not listed stay unknown;
* measurements recorded for a share of people, at the precision laboratories report:
  HbA1c (0.1 %), creatinine (0.01 mg/dL), weight (0.1 kg), ABI (0.01), B12 (1 ng/L),
  fasting glucose (1 mg/dL);
* last examinations within the past 0-30 months for most people with diabetes;
* medications: metformin for 70 % of type 2; gabapentin 3 %, pregabalin 2 %, duloxetine 2 %,
  vitamin B12 4 %, thiamine 1 %, oxaliplatin 0.3 % (with a cumulative dose), amiodarone 0.5 %, colchicine 0.5 %,
  linezolid 0.1 %, lenalidomide 0.1 %, at usual daily doses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from .._vocabulary import vocabulary
from ._schema import BIRTH, DDIAG, DTYPE, ID, MED_TYPE, MEDS, columns

__all__ = ["PREVALENCE", "synth"]

PREVALENCE: dict[str, float] = {
    "numbness": 0.25,
    "tingling": 0.20,
    "burning-pain": 0.15,
    "distal-symmetric-pattern": 0.20,
    "monofilament-abnormal": 0.15,
    "vibration-abnormal": 0.18,
    "pinprick-reduced": 0.12,
    "temperature-reduced": 0.10,
    "pad": 0.08,
    "foot-deformity": 0.10,
    "prior-foot-ulcer": 0.04,
    "prior-amputation": 0.01,
    "end-stage-renal-disease": 0.02,
    "kidney-disease": 0.15,
    "retinopathy": 0.10,
    "smoker": 0.15,
    "alcohol-excess": 0.06,
    "pedal-pulses-decreased": 0.08,
    "claudication": 0.05,
    "leg-fatigue": 0.08,
    "weakness": 0.06,
}
_RED_FLAGS = frozenset(
    {
        "acute-onset",
        "rapid-progression",
        "breathing-or-swallowing-difficulty",
        "bladder-bowel-dysfunction",
        "ascending-pattern",
        "suspected-wernicke",
        "foot-ulcer",
        "charcot-foot",
    }
)
# Findings recorded at the default 5 %.
_OTHERS = frozenset(
    {
        "retinopathy",
        "dialysis",
        "malabsorption",
        "bariatric-surgery",
        "inflammatory-bowel-disease",
        "chemotherapy",
        "family-history-neuropathy",
        "vegan-diet",
        "hyperglycemia-symptoms",
        "orthostatic-symptoms",
    }
)
RECORDED = 0.60

# (agent, share, doses per day, cumulative) among all patients; metformin is handled with diabetes.
_MEDS: tuple[tuple[str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("gabapentin", 0.03, ("900 mg", "1800 mg", "2400 mg", "3600 mg"), ()),
    ("pregabalin", 0.02, ("150 mg", "300 mg", "600 mg"), ()),
    ("duloxetine", 0.02, ("60 mg", "120 mg"), ()),
    ("vitamin B12", 0.04, ("1000 ug", "250 ug", "2000 ug"), ()),
    ("thiamine", 0.01, ("100 mg", "300 mg"), ()),
    ("oxaliplatin", 0.003, (), ("510 mg/m2", "850 mg/m2", "1020 mg/m2")),
    # Last, so the entries above stay as they were for a seed. Their neurotoxicity entries are in review:
    # a run without --include-in-review reports them as not checked.
    ("amiodarone", 0.005, ("200 mg",), ()),
    ("colchicine", 0.005, ("0.5 mg", "1 mg"), ()),
    ("linezolid", 0.001, ("1200 mg",), ()),
    ("lenalidomide", 0.001, ("10 mg", "25 mg"), ()),
)


def synth(n: int, *, seed: int = 0, as_of: dt.date | None = None, start: int = 0) -> pl.DataFrame:
    """Return ``n`` synthetic patients as a wide table, the same for the same ``seed`` and ``as_of``.

    ``as_of`` (default 2026-01-01) is the date every generated date lies on or before;
    ``start`` numbers the patient ids (``P00000000`` onwards) and enters the random stream,
    so a large cohort can be made chunk by chunk.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    day = as_of or dt.date(2026, 1, 1)
    rng = np.random.default_rng([seed, start])
    epoch = np.datetime64(day.isoformat(), "D")
    age = np.clip(rng.normal(62, 14, n), 18, 95)
    born = epoch - (age * 365.2425).astype("timedelta64[D]") - rng.integers(0, 365, n).astype("timedelta64[D]")
    data: dict[str, Any] = {
        ID: [f"P{i:08d}" for i in range(start, start + n)],
        BIRTH: born,
        "sex": np.where(rng.random(n) < 0.5, "female", "male"),
    }
    diabetic = rng.random(n) < 0.40
    kind = rng.choice(np.array(["type-2", "type-1", "other"]), size=n, p=[0.90, 0.08, 0.02])
    years = np.minimum(rng.exponential(9, n), age - 1)
    diagnosed = epoch - (years * 365.2425).astype("timedelta64[D]")
    data[DTYPE] = pl.Series(DTYPE, kind, dtype=pl.String).scatter(np.flatnonzero(~diabetic), None)
    data[DDIAG] = np.where(diabetic, diagnosed, np.datetime64("NaT"))
    vocab = vocabulary()
    for name, spec in columns().items():
        if spec.kind != "boolean" or vocab[name].derived is not None:
            continue
        if name not in PREVALENCE and name not in _RED_FLAGS and name not in _OTHERS:
            continue  # findings not listed stay unknown (so no generated patient has contradicting findings)
        p = PREVALENCE.get(name, 0.005 if name in _RED_FLAGS else 0.05)
        value = rng.random(n) < p
        data[name] = pl.Series(name, value, dtype=pl.Boolean).scatter(np.flatnonzero(rng.random(n) >= RECORDED), None)

    def measured(share: float, values: np.ndarray, places: int) -> np.ndarray:
        return np.where(rng.random(n) < share, np.round(values, places), np.nan)

    data["hba1c"] = measured(0.7, np.where(diabetic, rng.normal(7.5, 1.3, n), rng.normal(5.5, 0.5, n)).clip(4, 15), 1)
    data["serum-creatinine"] = measured(0.6, rng.lognormal(np.log(0.95), 0.3, n).clip(0.3, 10), 2)
    data["weight"] = measured(0.6, rng.normal(82, 17, n).clip(40, 200), 1)
    data["abi"] = measured(0.15, rng.normal(1.05, 0.15, n).clip(0.3, 1.6), 2)
    data["b12-total"] = measured(0.2, rng.lognormal(np.log(400), 0.4, n).clip(80, 2000), 0)
    data["fasting-glucose"] = measured(
        0.3, np.where(diabetic, rng.normal(150, 35, n), rng.normal(95, 12, n)).clip(50, 400), 0
    )
    for name, share in (("last-foot-exam", 0.75), ("last-neuropathy-exam", 0.7), ("last-autonomic-assessment", 0.3)):
        when = epoch - rng.integers(0, 30 * 30, n).astype("timedelta64[D]")
        data[name] = np.where(diabetic & (rng.random(n) < share) & (when >= diagnosed), when, np.datetime64("NaT"))
    when = epoch - rng.integers(0, 5 * 365, n).astype("timedelta64[D]")
    data["last-b12-test"] = np.where(rng.random(n) < 0.3, when, np.datetime64("NaT"))
    data[MEDS] = _medications(rng, n, epoch, diabetic & (kind == "type-2"), born)
    frame = pl.DataFrame({k: v for k, v in data.items() if k != MEDS})
    frame = frame.with_columns(
        [pl.col(c).cast(pl.Date) for c in (BIRTH, DDIAG, *(c for c in data if c.startswith("last-")))]
        + [
            pl.col(c).fill_nan(None)
            for c in ("hba1c", "serum-creatinine", "weight", "abi", "b12-total", "fasting-glucose")
        ]
    )
    return frame.with_columns(pl.Series(MEDS, data[MEDS], dtype=MED_TYPE))


def _medications(
    rng: np.random.Generator, n: int, epoch: np.datetime64, type2: np.ndarray, born: np.ndarray
) -> list[list[dict[str, Any]]]:
    meds: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    started = (epoch - rng.integers(0, 15 * 365, n).astype("timedelta64[D]")).astype(dt.date)
    for i in np.flatnonzero(type2 & (rng.random(n) < 0.7)):
        dose = "1000 mg" if rng.random() < 0.5 else "2000 mg"
        meds[i].append(_med("metformin", dose, max(started[i], born[i].astype(dt.date)), None))
    for agent, share, doses, cumulative in _MEDS:
        for i in np.flatnonzero(rng.random(n) < share):
            start = (epoch - np.timedelta64(int(rng.integers(0, 3 * 365)), "D")).astype(dt.date)
            start = max(start, born[i].astype(dt.date))
            amount: str | None = str(rng.choice(doses)) if doses else None
            cum = str(rng.choice(cumulative)) if cumulative else None
            meds[i].append(_med(agent, amount, start, cum))
    return meds


def _med(agent: str, dose: str | None, started: dt.date, cumulative: str | None) -> dict[str, Any]:
    return {
        "agent": agent,
        "dose": dose,
        "per": "day" if dose else None,
        "route": "oral" if dose else "intravenous",
        "started": started,
        "stopped": None,
        "cumulative": cumulative,
        "indication": None,
    }
