"""The fact vocabulary: names a patient input may carry and criteria may use."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from . import _diskcache, _dist
from ._plausible import span
from .exceptions import GuidelineDataError, Problem
from .units import Quantity, magnitude, parse_quantity, quantity

__all__ = ["FactSpec", "source_hashes", "vocabulary"]


@attrs.frozen(kw_only=True)
class FactSpec:
    """One named fact: its type, canonical unit, possible range and provenance."""

    name: str
    type: Literal["boolean", "quantity", "category", "date", "number"]
    label: str
    unit: str | None = None
    analyte: str | None = None
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    obtain: str | None = None
    derived: str | None = None
    plausible: str | None = None
    """The key of the plausibility table this quantity is checked against (and its likely-unit windows)."""
    integer: bool = False
    """A number fact whose values are whole numbers (a category such as the IWGDF risk group)."""

    @property
    def is_input(self) -> bool:
        """True if a patient input may give this fact directly."""
        return self.derived is None or self.name in _ALSO_INPUT


# Derived facts a caller may also give directly (the input wins).
_ALSO_INPUT = frozenset(
    {
        "lops",
        "crcl",
        "age",
        "iwgdf-category",
        "on-midodrine",
        "on-droxidopa",
        "painful-diabetic-neuropathy",
        "thiamine-deficiency-risk",
        "exertional-nonjoint-leg-symptoms",
        "polyneuropathy",
        "progression-duration",
        "pad",
    }
)


def _sources() -> list[tuple[str, bytes]]:
    """The vocabulary files and the plausibility table they point at, as ``(name, bytes)``."""
    data = _dist.package_files() / "_data"
    facts = sorted((e for e in (data / "facts").iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
    return [
        *((f"facts/{e.name}", e.read_bytes()) for e in facts),
        ("plausible.toml", (data / "plausible.toml").read_bytes()),
    ]


@functools.cache
def source_hashes() -> tuple[tuple[str, str], ...]:
    """``(file, sha256)`` of every file the vocabulary is built from (part of the knowledge-base cache key)."""
    return tuple((name, hashlib.sha256(raw).hexdigest()) for name, raw in _sources())


_KIND = "vocabulary"


@functools.cache
def vocabulary() -> Mapping[str, FactSpec]:
    """Return every fact spec, read once from the packaged vocabulary files (or their validated cache)."""
    key = _diskcache.key_of(_KIND, source_hashes()) if _diskcache.enabled() else None
    if key is not None:
        found = _diskcache.load(_KIND, key, {(FactSpec.__module__, FactSpec.__qualname__): FactSpec})
        if isinstance(found, dict) and all(isinstance(v, FactSpec) and v.name == k for k, v in found.items()):
            return found
    specs = _build()
    if key is not None:
        _diskcache.store(_KIND, key, specs)
    return specs


def _build() -> dict[str, FactSpec]:
    import tomllib  # here: a start-up served from the knowledge-base cache parses no TOML

    specs: dict[str, FactSpec] = {}
    problems: list[Problem] = []
    for name_of_file, raw_bytes in _sources():
        if not name_of_file.startswith("facts/"):
            continue
        data = tomllib.loads(raw_bytes.decode("utf-8"))
        file_name = name_of_file.removeprefix("facts/")
        for name, raw in data.items():
            if name in specs:
                problems.append(Problem(file_name, name, "fact defined twice"))
                continue
            try:
                specs[name] = _spec(name, raw)
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(Problem(file_name, name, str(exc)))
    if problems:
        raise GuidelineDataError(problems)
    return specs


def _spec(name: str, raw: dict[str, Any]) -> FactSpec:
    allowed = {"type", "label", "unit", "analyte", "values", "range", "plausible", "obtain", "derived", "integer"}
    extra = set(raw) - allowed
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)}")
    kind = raw["type"]
    low = high = None
    if "plausible" in raw:
        if "range" in raw:
            raise ValueError("give either range or plausible (a key of _data/plausible.toml), not both")
        s = span(raw["plausible"])
        unit = raw["unit"]
        low = magnitude(quantity(s.low, s.unit), unit)
        high = magnitude(quantity(s.high, s.unit), unit)
    elif "range" in raw:
        lo_raw, hi_raw = raw["range"]
        if kind == "quantity":
            unit = raw["unit"]
            low = magnitude(parse_quantity(lo_raw, f"{name}.range", unit), unit)
            high = magnitude(parse_quantity(hi_raw, f"{name}.range", unit), unit)
        else:
            low, high = float(lo_raw), float(hi_raw)
    return FactSpec(
        name=name,
        type=kind,
        label=raw["label"],
        unit=raw.get("unit"),
        analyte=raw.get("analyte"),
        values=tuple(raw.get("values", ())),
        low=low,
        high=high,
        obtain=raw.get("obtain"),
        derived=raw.get("derived"),
        plausible=raw.get("plausible"),
        integer=bool(raw.get("integer", False)),
    )


def canonical(spec: FactSpec, value: Quantity, field: str) -> float:
    """Convert a quantity to the fact's canonical unit (float)."""
    assert spec.unit is not None
    return magnitude(value, spec.unit, analyte=spec.analyte, field=field)
