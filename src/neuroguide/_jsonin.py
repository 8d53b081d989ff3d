"""Strict JSON input: duplicate keys, over-deep nesting and oversized numbers are named errors.

``json.loads`` keeps the last of two equal keys silently, and raises builtin
errors for deep nesting and huge integers; every JSON text neuroguide reads
(patients, records, the lock file) goes through :func:`loads` instead.
"""

from __future__ import annotations

import json
from typing import Any

from .exceptions import InputError, raise_all

__all__ = ["loads"]

# Integers longer than this are not clinical values; they read as infinity, which every field refuses by name.
_MAX_INT_DIGITS = 100


class _Object(dict[str, Any]):
    """A JSON object that remembers keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in out:
            seen.append(key)
        out[key] = value
    if seen:
        out.duplicates = tuple(dict.fromkeys(seen))
    return out


class _ConstantError(Exception):
    """A NaN or Infinity literal where only standard JSON is accepted."""


def _refuse(token: str) -> Any:
    raise _ConstantError(token)


def _int(text: str) -> int | float:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else float("inf") if text[0] != "-" else -float("inf")


def loads(text: str, field: str, *, constants: bool = True) -> Any:
    """Parse JSON text strictly.

    ``constants=False`` also refuses the non-standard literals ``NaN``, ``Infinity`` and ``-Infinity`` (else they
    read as floats, which every numeric field refuses by name).

    Raises:
        InputError: not JSON, nested too deeply, or a key given twice (each
            duplicate is named by its path, e.g. ``measurements.weight``).

    """
    if not isinstance(text, str):
        raise InputError(field, type(text).__name__, "JSON text (a str)")
    repeated: list[bool] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # A plain dict unless a key repeats (one C call per object); _object records the duplicates.
        out = dict(pairs)
        if len(out) != len(pairs):
            repeated.append(True)
            return _object(pairs)
        return out

    try:
        data = json.loads(text, object_pairs_hook=hook, parse_int=_int, parse_constant=None if constants else _refuse)
    except _ConstantError as exc:
        raise InputError(field, exc.args[0], "standard JSON (NaN and Infinity are not JSON numbers)") from None
    except json.JSONDecodeError as exc:
        raise InputError(field, text[:80], f"valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise InputError(field, text[:80], "JSON nested to a reasonable depth (nested too deeply)") from None
    if repeated:
        raise_all(_duplicates(data))
    return data


def _duplicates(data: Any) -> list[InputError]:
    problems: list[InputError] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                where = f"{path}.{key}" if path else key
                problems.append(
                    InputError(where, value[key], "each key once (a duplicate JSON key; one value would be dropped)")
                )
            stack.extend((f"{path}.{k}" if path else k, v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return sorted(problems, key=lambda p: p.field)
