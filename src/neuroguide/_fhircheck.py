"""Check FHIR R4 resources against the ``fhir.resources`` models, quickly, with the library's own verdicts.

The library validates a resource by validating each element (a CodeableConcept, a Reference, a Quantity...) with
its element model, each primitive (an id, a code, a dateTime...) with its primitive type, and then the resource's
own rules: no unknown keys, no null inside a list of elements, one value of each choice ``x[x]``, required
primitives present. Those rules look only at which keys are present and what kind of JSON value each holds (its
*shape*), never at the values themselves. So:

- each element is validated once by its element model and remembered by its exact content;
- a resource whose shape has passed the whole model once needs only its elements and primitives validated (each
  primitive by its field's own type from the model);
- anything else, and every resource not accepted this way, goes through the library's whole check, which gives
  the reason: refusals read exactly as from the library.

``tests/test_fhir_conformance_paths.py`` compares the quick verdict with the library's whole check over the vendored
eCQM deck, the FHIR examples, mutations of every field and element and generated JSON values placed anywhere.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter, ValidationError

__all__ = ["conformance", "model_class", "whole_check"]

_KEPT = 16384  # validated elements, primitives and shapes remembered per process (the oldest is forgotten first)
_ELEMENTS: dict[tuple[type, bytes], Any] = {}
_PRIMITIVES: dict[tuple[int, type, Any], bool] = {}
_SHAPES: dict[tuple[Any, ...], None] = {}
_STANDARD_ELEMENT_CHECK = getattr(FhirBase.fhir_model_validator, "__func__", None)


def _function(obj: Any) -> Any:
    return getattr(obj, "__func__", obj)


# The resource rules the shape stands for, as fhir_core defines them for every model. A model with any other model or
# field validator, or its own version of one of these (or of the checks they call), is always checked whole. The
# models' own ``get_required_fields`` and ``get_one_of_many_fields`` return fixed lists of field names.
_STANDARD_RULES = {
    name: _function(d.func) for name, d in FHIRAbstractModel.__pydantic_decorators__.model_validators.items()
}
_STANDARD_CHECKS = {
    name: _function(getattr(FHIRAbstractModel, name))
    for name in ("__init__", "_validate_one_of_many", "_validate_required_primitive_elements")
}


def model_class(kind: str) -> Any:
    """The R4B model class of a resource type; ``ValueError`` if FHIR has no such resource."""
    return get_fhir_model_class(kind)


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _KEPT:
        del cache[next(iter(cache))]
    cache[key] = value


@functools.cache
def _element_fields(model: Any) -> dict[str, tuple[Any, bool]]:
    """The resource's fields holding FHIR elements: JSON key -> (element model, is a list).

    Only fields whose type validates a JSON object exactly by ``element model.model_validate`` (fhir_core's standard
    element validator) are listed; contained resources and anything else keep the library's whole path.
    """
    out: dict[str, tuple[Any, bool]] = {}
    for name, field in model.model_fields.items():
        kind, many = _unwrap(field.annotation)
        if (
            isinstance(kind, type)
            and issubclass(kind, FhirBase)
            and not issubclass(kind, FhirElementOrResourceBase)
            and _STANDARD_ELEMENT_CHECK is not None
            and getattr(kind.fhir_model_validator, "__func__", None) is _STANDARD_ELEMENT_CHECK
        ):
            out[field.alias or name] = (kind.get_model_klass(), many)
    return out


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``Optional[X]`` -> X and ``List[X]`` -> (X, True)."""
    kind, many = annotation, False
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(args) == 1:
        kind = args[0]
    if typing.get_origin(kind) is list:
        kind, many = typing.get_args(kind)[0], True
    return kind, many


@functools.cache
def _primitive_fields(model: Any) -> dict[str, TypeAdapter[Any]] | None:
    """The resource's primitive fields: JSON key -> a validator of the field's own type.

    ``None`` if the model has rules beyond the standard ones: then its shape stands for nothing and it is always
    checked whole.
    """
    decorators = model.__pydantic_decorators__
    rules = {name: _function(d.func) for name, d in decorators.model_validators.items()}
    if rules != _STANDARD_RULES or decorators.field_validators or decorators.root_validators:
        return None
    if any(_function(getattr(model, name)) is not f for name, f in _STANDARD_CHECKS.items()):
        return None
    if model.model_config.get("extra") != "forbid":
        return None
    out: dict[str, TypeAdapter[Any]] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        kind, _many = _unwrap(field.annotation)
        if key in _element_fields(model) or key.startswith("_") or field.metadata:
            continue
        if typing.get_origin(kind) is typing.Annotated:
            base = typing.get_args(kind)[0]
        else:
            base = kind
        if isinstance(base, type) and issubclass(base, FhirBase):
            continue  # contained resources and other models: not a primitive
        out[key] = TypeAdapter(field.annotation)
    return out


def _element(model: Any, value: dict[str, Any]) -> Any:
    """``model.model_validate(value)``, remembered by the element's exact content (its JSON with sorted keys)."""
    key = (model, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    found = _ELEMENTS.get(key)
    if found is None:
        found = model.model_validate(value)  # raises ValidationError: nothing is remembered
        _remember(_ELEMENTS, key, found)
    return found


def _primitive_ok(adapter: TypeAdapter[Any], value: Any) -> bool:
    """Whether the field's own type accepts the value (and keeps it a value, not null), remembered per value."""
    hashable = isinstance(value, str | int | float | bool)
    key = (id(adapter), type(value), value) if hashable else None
    if key is not None:
        known = _PRIMITIVES.get(key)
        if known is not None:
            return known
    try:
        ok = adapter.validate_python(value) is not None
    except Exception:
        ok = False
    if key is not None:
        _remember(_PRIMITIVES, key, ok)
    return ok


def _shape_of(value: Any) -> Any:
    """The kind of JSON value a key holds: its type, and for a list the kind of each item (nulls keep their place)."""
    if isinstance(value, list):
        return tuple(type(v) for v in value)
    return type(value)


def _conforms(kind: str, res: dict[str, Any]) -> bool:
    """True if the resource passes the FHIR model; False if it may not (then the whole check gives the reason)."""
    model = model_class(kind)
    fields = _element_fields(model)
    primitives = _primitive_fields(model)
    data = dict(res)
    shape: list[Any] = [model]
    checks: list[tuple[TypeAdapter[Any], Any]] = []
    try:
        for key, value in res.items():
            if key.startswith("_"):
                primitives = None  # a primitive's extension: the required-primitive rule reads its content
            spec = fields.get(key)
            if spec is not None:
                element, many = spec
                if many and isinstance(value, list) and all(isinstance(v, dict) for v in value):
                    data[key] = [_element(element, v) for v in value]
                elif not many and isinstance(value, dict):
                    data[key] = _element(element, value)
                else:
                    primitives = None  # an element field holding something else: only the whole model decides
            elif primitives is not None and key != "resourceType":
                adapter = primitives.get(key)
                if adapter is None:
                    primitives = None  # an unknown key, a primitive's extension, a contained resource
                else:
                    checks.append((adapter, value))
            shape.append((key, value if key == "resourceType" else _shape_of(value)))
        known = tuple(shape)
        if primitives is not None and known in _SHAPES:
            return all(_primitive_ok(adapter, value) for adapter, value in checks)
        model.model_validate(data)
    except Exception:
        return False
    if primitives is not None and all(_primitive_ok(adapter, value) for adapter, value in checks):
        _remember(_SHAPES, known, None)
    return True


@functools.lru_cache(maxsize=8192)
def conformance(kind: str, text: bytes) -> tuple[str, str] | None:
    """Where and how a resource (as JSON text) breaks the FHIR model; ``None`` if it conforms.

    Cached by the resource's exact JSON text, never by its id: the same resource sent again (a chart re-opened) is
    not checked twice, and a resource changed in any way is checked again.
    """
    if _conforms(kind, orjson.loads(text)):
        return None
    return whole_check(kind, text)


def whole_check(kind: str, text: bytes) -> tuple[str, str] | None:
    """The library's whole check of a resource, element by element (the reference the quicker path must match)."""
    try:
        model_class(kind).model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"]) or kind
        return where, f"{where}: {_plain(first)}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    except Exception as exc:
        return kind, f"{kind}: the FHIR model could not check it ({type(exc).__name__}: {exc})"
    return None


# The model's words for "a plain value where an element with parts belongs" ("Invalid JSON: expected value at line 1
# column 1" for a bare code where a CodeableConcept belongs): said in the specification's terms instead.
_NOT_AN_OBJECT = frozenset({"json_invalid", "model_type", "dict_type", "model_attributes_type"})


def _plain(error: Mapping[str, Any]) -> str:
    """One validation error in plain words."""
    if error.get("type") in _NOT_AN_OBJECT:
        shown = repr(error.get("input"))
        return f"got {shown[:60]}; expected a JSON object here (an element with parts, such as a CodeableConcept)"
    return str(error.get("msg", ""))
