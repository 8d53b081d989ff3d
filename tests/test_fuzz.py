"""Fuzzing: random and mutated inputs on every surface; only NeuroguideError may escape.

Targets: the unit parser, the patient parser (and, for a sample, assess and
replay), check_dose, every calculator, and the guideline TOML loader. Inputs are
built by seeded generators from grammars and pools of known-bad values (pint
crashers, NaN, dates, duplicate keys, stray bytes), then mutated at random.

The default test session runs a short bounded fuzz of each target. The full run
is ``nox -s fuzz`` (``python tests/test_fuzz.py EXECUTIONS [SEED [TARGET ...]]``): at least 10^5
executions per target, failing on any exception that is not a NeuroguideError
and on any fresh record that does not replay identically.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide._facts import derive_flagged
from neuroguide._loading import load_file
from neuroguide.units import magnitude, parse_quantity

AS_OF = dt.date(2026, 11, 23)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# -- generators ------------------------------------------------------------------------------------

NUMBERS = [
    "300",
    "0",
    "-5",
    "1e-320",
    "1e309",
    ".5",
    "5.",
    "1e3",
    "nan",
    "inf",
    "",
    "1_0",
    "٣٠٠",
    "+2",
    "0x10",
    "9" * 400,
]
SYMBOLS = [
    "mg",
    "ug",
    "mcg",
    "µg",
    "μg",
    "g",
    "kg",
    "lb",
    "dL",
    "mL",
    "L",
    "min",
    "day",
    "week",
    "mmol",
    "umol",
    "pmol",
    "mol",
    "%",
    "percent",
    "mmHg",
    "IU",
    "m2",
    "cm",
    "in",
    "1",
    "MG",
    "Kg",
    "stone",
    "pt",
    "x",
    "a",
    "h",
]
OPS = ["/", "*", " ", "**2", "^-1", "**", "(", ")", "+", "-", ";", "{", ",", "!", "0", "/0", "**99", "^0.5", "//", "="]
JUNK = ["\x00", "\n", "\ud800", "'", '"', "\\", "}", "[", "{", "\u00a0", "Ω", "ｍ", "١"]


def unit_text(rng: random.Random) -> str:
    parts = [rng.choice(SYMBOLS)]
    for _ in range(rng.randint(0, 4)):
        parts += [rng.choice(OPS), rng.choice(SYMBOLS)]
    return mutate("".join(parts), rng, rng.randint(0, 2))


VALID_QUANTITIES = [
    "300 mg",
    "350 ug",
    "70 kg",
    "154.3 lb",
    "1.1 mg/dL",
    "97 umol/L",
    "45 mL/min",
    "7.4 %",
    "58 mmol/mol",
    "126 mg/dL",
    "7 mmol/L",
    "184.5 pmol/L",
    "250 ng/L",
    "20 mmHg",
    "1.5 mL/s",
]


def quantity_text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        good = rng.choice(VALID_QUANTITIES)
        return mutate(good, rng, 1) if rng.random() < 0.3 else good
    return mutate(f"{rng.choice(NUMBERS)}{rng.choice([' ', '', '  '])}{unit_text(rng)}", rng, rng.randint(0, 1))


def mutate(text: str, rng: random.Random, times: int) -> str:
    for _ in range(times):
        i = rng.randint(0, len(text))
        op = rng.random()
        if op < 0.4:
            text = text[:i] + rng.choice([*JUNK, *OPS, chr(rng.randint(32, 126))]) + text[i:]
        elif op < 0.7 and text:
            text = text[:i] + text[i + 1 :]
        elif text:
            j = rng.randint(0, len(text) - 1)
            text = text[:j] + chr(rng.randint(32, 0x2FF)) + text[j + 1 :]
    return text


VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.5,
    1e308,
    121,
    "",
    " ",
    "x",
    "2026-02-30",
    "1900-01-01",
    "1800-01-01",
    "2026-12-01",
    "1960-01-01",
    "20240101",
    "male",
    "type-2",
    [],
    {},
    [1],
    {"a": 1},
    "\ud800",
]


def value(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.35:
        return quantity_text(rng)
    if r < 0.4:
        return rng.uniform(-1e3, 1e3)
    return copy.deepcopy(rng.choice(VALUES))  # a fresh object: a shared one could be nested into itself


def _seed_patients() -> list[dict[str, Any]]:
    seeds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    return seeds or [{"age": 60, "sex": "male", "measurements": {"weight": "70 kg", "serum-creatinine": "1 mg/dL"}}]


SEED_PATIENTS = _seed_patients()


def patient_text(rng: random.Random) -> str:
    data = json.loads(json.dumps(rng.choice(SEED_PATIENTS)))
    for _ in range(rng.choice([0, 1, 1, 2, 4])):
        holder, key = _random_slot(data, rng)
        op = rng.random()
        if op < 0.7:
            holder[key] = value(rng)
        elif op < 0.85 and isinstance(holder, dict):
            holder.pop(key, None)
        elif isinstance(holder, dict):
            holder[rng.choice(["nickname", "wieght", "last", "crcl", "age", "iwgdf-category"])] = value(rng)
    text = json.dumps(data, ensure_ascii=False)
    r = rng.random()
    if r < 0.1 and '"medications"' in text:  # a duplicate key
        text = text.rstrip("}") + ', "medications": []}'
    elif r < 0.2:
        text = mutate(text, rng, rng.randint(1, 3))
    return text


def _random_slot(data: dict[str, Any], rng: random.Random) -> tuple[Any, Any]:
    holder: Any = data
    key: Any = rng.choice(list(data) or ["id"])
    while isinstance(holder.get(key) if isinstance(holder, dict) else None, dict | list) and rng.random() < 0.6:
        inner = holder[key]
        if isinstance(inner, dict) and inner:
            holder, key = inner, rng.choice(list(inner))
        elif isinstance(inner, list) and inner:
            holder, key = inner, rng.randrange(len(inner))
        else:
            break
    return holder, key


AGENTS = [
    "gabapentin",
    "Neurontin",
    "pregabalin",
    "duloxetine",
    "cyanocobalamin",
    "hydroxocobalamin",
    "thiamine",
    "midodrine",
    "droxidopa",
    "oxaliplatin",
    "gabapentn",
    "",
    "GABAPENTIN",
    "vitamin b12",
]

CALC_VALID: dict[str, dict[str, Any]] = {
    "a1c-from-eag": {"glucose": "154 mg/dL"},
    "abi": {"ankle_dp": "120 mmHg", "ankle_pt": "110 mmHg", "brachial_left": "130 mmHg", "brachial_right": "128 mmHg"},
    "adjusted-body-weight": {"weight": "100 kg", "height": "170 cm", "sex": "male"},
    "b12-conversion": {"value": "300 ng/L", "to": "pmol/L"},
    "bmi": {"weight": "70 kg", "height": "175 cm"},
    "bsa-dubois": {"weight": "70 kg", "height": "175 cm"},
    "bsa-mosteller": {"weight": "70 kg", "height": "175 cm"},
    "cockcroft-gault": {"age": 60, "weight": "70 kg", "serum_creatinine": "1.0 mg/dL", "sex": "male"},
    "creatinine-clearance": {
        "age": 60,
        "weight": "70 kg",
        "serum_creatinine": "1 mg/dL",
        "sex": "male",
        "height": "170 cm",
    },
    "creatinine-conversion": {"value": "1.0 mg/dL", "to": "umol/L"},
    "eag-adag": {"hba1c": "7 %"},
    "glucose-conversion": {"value": "7 mmol/L", "to": "mg/dL"},
    "glycemia-ada": {
        "hba1c": "6.0 %",
        "fasting_glucose": "100 mg/dL",
        "ogtt_2h": "150 mg/dL",
        "random_glucose": "120 mg/dL",
    },
    "hba1c-to-ifcc": {"hba1c": "6.5 %"},
    "hba1c-to-ngsp": {"hba1c": "48 mmol/mol"},
    "ibw-devine": {"height": "170 cm", "sex": "female"},
    "iwgdf-category": {"lops": True, "pad": False, "deformity": None},
}

TOML_SEED = """
id = "tiny"
title = "Tiny"
version = "2020.1"
effective = 2020-01-01
status = "approved"
summary = "For fuzzing."

[sources.src]
authors = ["A. Author"]
title = "A source"
year = 2020

[[rules]]
id = "tiny-screen"
kind = "screening"
title = "Screen"
statement = "Screen."
applies = "diabetes"
interval = "12 months"
intervals = [
  { when = { fact = "iwgdf-category", op = "==", value = 3 }, label = "3", shortest = "1 month", longest = "3 months" },
]
last_done = "last-foot-exam"
action = "Screen."

[[rules.citations]]
source = "src"
locator = "p. 1"
quote = "screen"
verification = { status = "secondary", via = "test", checked = 2020-01-02 }

[[rules]]
id = "tiny-refer"
kind = "referral"
title = "Refer"
statement = "Refer."
when = { all = ["diabetes", { fact = "systolic-drop", op = ">", value = "20 mmHg" }] }
to = "vascular"
action = "Refer."

[[rules.citations]]
source = "src"
locator = "p. 1"
quote = "screen"
verification = { status = "secondary", via = "test", checked = 2020-01-02 }

[[rules]]
id = "tiny-dose"
kind = "dosing"
title = "Dose"
statement = "Dose."
agent = "gabapentin"
indication = "pain"
population = "adults"
route = "oral"
dose_min = "900 mg"
dose_max = "1800 mg"
maximum = "3600 mg"
per = "1 day"
frequency = "tid"
plausible_max = "36 g"

[[rules.renal]]
label = ">30 to 59"
crcl_lower = "30 mL/min"
lower_inclusive = false
crcl_upper = "59 mL/min"
daily_min = "400 mg"
daily_max = "1400 mg"
regimen = "bid"

[[rules.citations]]
source = "src"
locator = "p. 2"
quote = "dose"
verification = { status = "secondary", via = "test", checked = 2020-01-02 }
"""
TOML_VALUES = [
    '"abc"',
    '"nan mmHg"',
    '"-5 mg"',
    '"5 MG"',
    '"0 day"',
    '"-1 day"',
    '"1800 mg("',
    '"1800 ;"',
    "nan",
    "1e309",
    "true",
    '"yes"',
    "2026-13-01",
    "[]",
    "{}",
    '"20 mg"',
    "20",
    '"12 mg"',
    '"1e-320 mg"',
    '"2.5"',
    "2.5",
]


def toml_bytes(rng: random.Random) -> bytes:
    lines = TOML_SEED.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.6 and " = " in lines[i]:
            key = lines[i].split(" = ", 1)[0]
            lines[i] = f"{key} = {rng.choice(TOML_VALUES)}"
        elif op < 0.75:
            del lines[i]
        elif op < 0.9:
            lines.insert(i, lines[i])
        else:
            lines[i] = mutate(lines[i], rng, 2)
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data))] + bytes([rng.randrange(256)]) + data[rng.randrange(len(data)) :]
    return data


# -- targets: one execution each -------------------------------------------------------------------


class ReplayMismatchError(AssertionError):
    """Property violation: a fresh record did not replay identically."""


def run_unit(rng: random.Random) -> None:
    text = quantity_text(rng) if rng.random() < 0.8 else unit_text(rng)
    q = parse_quantity(text, "x", rng.choice([None, "mg", "mL/min", "kg"]))
    target, analyte = rng.choice(
        [
            ("mg", None),
            ("mg/dL", "creatinine"),
            ("kg", None),
            ("mL/min", None),
            ("pmol/L", "vitamin-b12"),
            ("mmol/L", "glucose"),
        ]
    )
    magnitude(q, target, analyte=analyte)


def run_patient(rng: random.Random, replay_every: int = 25) -> None:
    text = patient_text(rng)
    patient = ng.Patient.from_json(text)
    derive_flagged(patient, AS_OF)
    if rng.randrange(replay_every) == 0:
        record = ng.assess(patient, as_of=AS_OF).record
        report = ng.replay(json.loads(record.to_json()))
        if not report.identical:
            raise ReplayMismatchError(f"{text}: {report.differences}")


def run_dose(rng: random.Random) -> None:
    kwargs: dict[str, Any] = {
        "per": rng.choice([None, "day", "week", "month", "hour", 5]),
        "route": rng.choice([None, "oral", "IM", "intravenous", "rectal", 5]),
        "indication": rng.choice([None, "dpn", "postherpetic neuralgia", "x"]),
        "crcl": rng.choice([None, quantity_text(rng), "45 mL/min", "90 mL/min"]),
    }
    agent = rng.choice(AGENTS) if rng.random() < 0.9 else mutate(rng.choice(AGENTS), rng, 2)
    dose = quantity_text(rng) if rng.random() < 0.7 else rng.choice(["300 mg", "350 ug", "900 mg/day", "1e-320 mcg"])
    ng.check_dose(agent, dose, **kwargs)


def run_calculator(rng: random.Random) -> None:
    name = rng.choice(sorted(CALC_VALID))
    kwargs = dict(CALC_VALID[name])
    for _ in range(rng.randint(1, 2)):
        key = rng.choice(list(kwargs))
        kwargs[key] = value(rng) if rng.random() < 0.5 else quantity_text(rng)
    ng.calculators.REGISTRY[name](**kwargs)


def run_toml(rng: random.Random) -> None:
    load_file(toml_bytes(rng), "tiny/2020.1.toml")


TARGETS: dict[str, Callable[[random.Random], None]] = {
    "unit parser": run_unit,
    "patient parser": run_patient,
    "check_dose": run_dose,
    "calculators": run_calculator,
    "TOML loader": run_toml,
}


def fuzz(
    target: Callable[[random.Random], None], executions: int, seed: int = 0
) -> tuple[int, Counter[str], list[str]]:
    """Run ``executions`` inputs; return (NeuroguideErrors, uncaught signatures, first examples)."""
    rng = random.Random(seed)
    refused = 0
    uncaught: Counter[str] = Counter()
    examples: list[str] = []
    for _ in range(executions):
        try:
            target(rng)
        except ng.NeuroguideError:
            refused += 1
        except Exception as exc:  # the finding: anything else escaped
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            signature = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            uncaught[signature] += 1
            if len(examples) < 5:
                examples.append(f"{signature}: {exc!s:.300}")
    return refused, uncaught, examples


@pytest.mark.parametrize("name", list(TARGETS))
def test_bounded_fuzz(name: str) -> None:
    _, uncaught, examples = fuzz(TARGETS[name], 300, seed=20261130)
    assert not uncaught, examples


def main(argv: list[str]) -> int:
    executions = int(argv[1]) if len(argv) > 1 else 100_000
    seed = int(argv[2]) if len(argv) > 2 else 1
    chosen = argv[3:] or list(TARGETS)  # optionally, only the named targets
    total_uncaught = 0
    print(f"neuroguide fuzz: {executions} executions per target, seed {seed}")
    for name in chosen:
        target = TARGETS[name]
        start = time.perf_counter()
        refused, uncaught, examples = fuzz(target, executions, seed)
        took = time.perf_counter() - start
        count = sum(uncaught.values())
        total_uncaught += count
        print(
            f"{name:15s} {executions:>9,} executions in {took:7.1f} s ({executions / took:,.0f}/s): "
            f"{executions - refused - count:,} accepted, {refused:,} NeuroguideError, {count} uncaught"
        )
        for line in examples:
            print(f"    {line}")
    print(f"total: {executions * len(chosen):,} executions, {total_uncaught} uncaught")
    return 1 if total_uncaught else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
