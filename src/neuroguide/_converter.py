"""The one cattrs converter: guideline data and records to and from plain data."""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import typing
from collections.abc import Callable
from typing import Any

import attrs

from . import model as m
from ._dates import as_date
from .units import Quantity, format_quantity, is_quantity, parse_quantity

__all__ = ["converter", "format_errors", "parse_period", "structure_criterion", "unstructure_criterion"]

# cattrs is imported and the converter built on first use (``converter`` below): a start-up that reads its
# guidelines from the knowledge-base cache and writes no record needs neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import cattrs

    converter: cattrs.Converter


def __getattr__(name: str) -> Any:
    if name == "converter":
        return shared()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shared() -> cattrs.Converter:
    """The converter (``converter``), built with its hooks on first use (once, whichever thread asks first)."""
    found = _SHARED
    if found:
        return found[0]
    with _SHARED_LOCK:
        if not _SHARED:
            import cattrs

            c = cattrs.Converter(forbid_extra_keys=True)
            _configure(c)
            _SHARED.append(c)
    return _SHARED[0]


# One converter per process: hooks registered on it later (the site overlay's) must reach every caller.
_SHARED: list[cattrs.Converter] = []
_SHARED_LOCK = threading.Lock()


# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _period() -> re.Pattern[str]:
    return re.compile(r"^\s*(-?\d+)\s*(year|month|week|day)s?\s*$")


@functools.cache
def _quantity_like() -> re.Pattern[str]:
    return re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\S")


def parse_period(value: object, field: str = "period") -> m.Period:
    """Parse ``"5 years"`` / ``"12 month"`` into a :class:`~neuroguide.model.Period`."""
    if isinstance(value, m.Period):
        return value
    match = _period().match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{field}: got {value!r}; expected a period such as '5 years', '12 months', '4 weeks'")
    unit = typing.cast('typing.Literal["year", "month", "week", "day"]', match.group(2))
    return m.Period(int(match.group(1)), unit)


def _structure_date(value: object, _: object) -> dt.date:
    date = as_date(value)
    if date is None:
        raise ValueError(f"got {value!r}; expected a date (YYYY-MM-DD)")
    return date


def _structure_quantity(value: object, _: object) -> Quantity:
    return parse_quantity(value, "quantity")


def _structure_number_or_quantity(value: object, _: object) -> Quantity | float:
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}; expected a number or a quantity")
    if isinstance(value, int | float):
        return float(value)
    return parse_quantity(value, "value")


# -- criteria ---------------------------------------------------------------


def structure_criterion(value: object, _: object = None) -> m.Criterion:
    """Build a criterion from its data form.

    ``"name"`` is a fact; ``{all = [...]}``, ``{any = [...]}``, ``{not = ...}``
    combine; ``{fact = "abi", op = "<=", value = 0.9}`` compares.
    """
    if isinstance(value, str):
        if not value:
            raise ValueError("empty fact name")
        return m.Fact(value)
    if not isinstance(value, dict):
        raise ValueError(f"got {value!r}; expected a fact name or a table with all/any/not/fact")
    keys = set(value)
    if keys == {"all"} or keys == {"any"}:
        (key,) = keys
        parts = value[key]
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"'{key}' needs a non-empty list of criteria")
        items = tuple(structure_criterion(p) for p in parts)
        return m.AllOf(items) if key == "all" else m.AnyOf(items)
    if keys == {"not"}:
        return m.Not(structure_criterion(value["not"]))
    if keys == {"fact", "op", "value"}:
        op = value["op"]
        if op not in ("<", "<=", ">", ">=", "==", "!=", "in"):
            raise ValueError(f"op: got {op!r}; expected one of < <= > >= == != in")
        raw = value["value"]
        cmp_value: Quantity | float | str | tuple[str, ...]
        if op == "in":
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                raise ValueError("'in' needs a list of strings")
            cmp_value = tuple(raw)
        elif isinstance(raw, bool):
            raise ValueError("value: got a boolean; name a boolean fact (or use 'not') instead of comparing it")
        elif isinstance(raw, int | float):
            cmp_value = float(raw)
        elif isinstance(raw, str) and _quantity_like().match(raw):
            cmp_value = parse_quantity(raw, "value")
        elif isinstance(raw, str):
            cmp_value = raw
        else:
            raise ValueError(f"value: got {raw!r}; expected a number, quantity string or category")
        return m.Compare(str(value["fact"]), op, cmp_value)
    raise ValueError(f"got keys {sorted(keys)}; expected exactly one of all / any / not, or fact + op + value")


def unstructure_criterion(c: m.Criterion) -> Any:
    """Return the data form of a criterion (inverse of :func:`structure_criterion`)."""
    if isinstance(c, m.Fact):
        return c.name
    if isinstance(c, m.AllOf):
        return {"all": [unstructure_criterion(p) for p in c.all]}
    if isinstance(c, m.AnyOf):
        return {"any": [unstructure_criterion(p) for p in c.any]}
    if isinstance(c, m.Not):
        return {"not": unstructure_criterion(c.not_)}
    value: Any = c.value
    if is_quantity(value):
        value = format_quantity(value)
    elif isinstance(value, tuple):
        value = list(value)
    return {"fact": c.fact, "op": c.op, "value": value}


# -- rules ------------------------------------------------------------------

RULE_KINDS: dict[str, type[Any]] = {
    "screening": m.ScreeningRule,
    "referral": m.ReferralRule,
    "workup": m.WorkupRule,
    "consideration": m.ConsiderationRule,
    "treatment": m.TreatmentRule,
    "caution": m.CautionRule,
    "classification": m.ClassificationRule,
    "dosing": m.DosingRule,
    "neurotoxicity": m.NeurotoxicityRule,
}


def _structure_rule(value: object, _: object) -> m.Rule:
    if not isinstance(value, dict):
        raise ValueError(f"got {value!r}; expected a rule table")
    kind = value.get("kind")
    cls = RULE_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"kind: got {kind!r}; expected one of {', '.join(RULE_KINDS)}")
    return typing.cast("m.Rule", shared().structure(value, cls))


def _structure_guideline(value: Any, _: object) -> m.Guideline:
    if not isinstance(value, dict):
        raise ValueError("a guideline file must be a TOML table")
    data = dict(value)
    sources = data.get("sources", {})
    if isinstance(sources, dict):
        data["sources"] = [{"id": key, **val} if isinstance(val, dict) else val for key, val in sources.items()]
    return _structure_guideline_fields(data, m.Guideline)


def _structure_bool(value: object, _: object) -> bool:
    # cattrs would read bool("false") as True: only true and false are booleans.
    if not isinstance(value, bool):
        raise ValueError(f"got {value!r}; expected true or false")
    return value


def _structure_texts(value: object, _: object) -> tuple[str, ...]:
    # cattrs would read the text "abc" as ("a", "b", "c"), an object as its keys and 5 as "5": only a list of texts.
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"got {value!r}; expected a list of texts")
    return tuple(value)


def _configure(c: cattrs.Converter) -> None:
    c.register_structure_hook(bool, _structure_bool)
    c.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_texts)
    c.register_structure_hook(dt.date, _structure_date)
    c.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    c.register_structure_hook(m.Period, lambda v, _: parse_period(v))
    c.register_unstructure_hook(m.Period, lambda p: f"{p.count} {p.unit}")
    c.register_structure_hook_func(is_quantity_type, _structure_quantity)
    c.register_unstructure_hook_func(is_quantity_type, format_quantity)
    c.register_structure_hook_func(lambda t: t == (Quantity | float | None), _optional(_structure_number_or_quantity))
    c.register_structure_hook_func(lambda t: t == (Quantity | None), _optional(_structure_quantity))
    c.register_structure_hook_func(lambda t: t == (m.Period | None), _optional(lambda v, _: parse_period(v)))
    c.register_unstructure_hook_func(lambda t: t in (Quantity | float | None, Quantity | None), _unstructure_loose)
    c.register_structure_hook_func(lambda t: t == (m.Criterion | None), _optional(structure_criterion))
    c.register_unstructure_hook_func(
        lambda t: t == (m.Criterion | None), lambda v: None if v is None else unstructure_criterion(v)
    )
    c.register_structure_hook_func(lambda t: t == m.Criterion, structure_criterion)
    c.register_unstructure_hook_func(lambda t: t == m.Criterion, unstructure_criterion)
    c.register_structure_hook_func(lambda t: t == m.Rule, _structure_rule)
    c.register_unstructure_hook_func(lambda t: t == m.Rule, lambda r: c.unstructure(r, type(r)))
    c.register_structure_hook(m.Guideline, _structure_guideline)
    c.register_unstructure_hook(m.Guideline, _unstructure_guideline)
    c.register_unstructure_hook_factory(_omits_defaults, _omitting_defaults)


OMIT_IF_DEFAULT = "omit_if_default"
"""Class attribute of an attrs class: names of fields left out of its plain data when they hold their default."""


def _omits_defaults(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and bool(getattr(cls, OMIT_IF_DEFAULT, ()))


def _omitting_defaults(cls: Any) -> Callable[[Any], dict[str, Any]]:
    # Generated once per class, when an instance is first unstructured (a record, added fields), not at start-up.
    names: tuple[str, ...] = getattr(cls, OMIT_IF_DEFAULT)
    import cattrs.gen

    overrides = {name: cattrs.gen.override(omit_if_default=True) for name in names}
    return cattrs.gen.make_dict_unstructure_fn(cls, shared(), **overrides)  # type: ignore[arg-type]


def is_quantity_type(t: object) -> bool:
    """Return True for the pint Quantity class (our annotation for quantities)."""
    return t is Quantity


def _optional(fn: Any) -> Any:
    def hook(value: object, t: object) -> Any:
        return None if value is None else fn(value, t)

    return hook


def _unstructure_loose(value: object) -> Any:
    if value is None or isinstance(value, float):
        return value
    return format_quantity(typing.cast("Quantity", value))


def _unstructure_guideline(g: m.Guideline) -> dict[str, Any]:
    data = _unstructure_guideline_fields(g)
    data.pop("sha256", None)
    data.pop("path", None)
    data["sources"] = {s.pop("id"): {k: v for k, v in s.items() if v is not None} for s in data["sources"]}
    return data


# The guideline hooks are generated (cattrs compiles them) on first use, after the field hooks above exist: a start
# that finds the knowledge base in the cache reads no guideline file and needs neither.
@functools.cache
def _guideline_hooks() -> tuple[Callable[[Any, Any], m.Guideline], Callable[[m.Guideline], dict[str, Any]]]:
    import cattrs.gen

    return (
        cattrs.gen.make_dict_structure_fn(m.Guideline, shared(), _cattrs_forbid_extra_keys=True),
        cattrs.gen.make_dict_unstructure_fn(m.Guideline, shared()),
    )


def _structure_guideline_fields(data: Any, cls: Any) -> m.Guideline:
    return _guideline_hooks()[0](data, cls)


def _unstructure_guideline_fields(g: m.Guideline) -> dict[str, Any]:
    return _guideline_hooks()[1](g)


def format_errors(exc: BaseException, root: str = "$") -> list[tuple[str, str]]:
    """Flatten a cattrs validation error into ``(path, message)`` pairs."""
    out: list[tuple[str, str]] = []
    _walk(exc, root, out)
    return out


def _walk(exc: BaseException, path: str, out: list[tuple[str, str]]) -> None:
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

    if isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            out.append((f"{path}.{key}", "unknown key"))
        return
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                sub_path = f"{path}.{name}"
            elif index is not None:
                sub_path = f"{path}[{index}]"
            else:
                sub_path = path
            _walk(sub, sub_path, out)
        for sub in without:
            _walk(sub, path, out)
        return
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            _walk(member, path, out)
        return
    if isinstance(exc, KeyError):
        out.append((path, "required key is missing"))
        return
    message = str(exc) or type(exc).__name__
    if isinstance(exc, TypeError) and "missing" in message and "required" in message:
        message = "required key is missing: " + message.split(":")[-1].strip()
    out.append((path, message))


def unstructure(value: Any) -> Any:
    """Unstructure with the shared converter."""
    return shared().unstructure(value)


def fields_of(cls: type[Any]) -> tuple[str, ...]:
    """Return the attrs field names of a model class."""
    return tuple(f.name for f in attrs.fields(cls))
