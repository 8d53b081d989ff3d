"""Standard codes for the fact vocabulary, read from ``_data/codes.toml`` and the packaged value sets.

Every code here was checked against the code system's publication or a vendored, published code list; each
:class:`Code` carries that verification record. A fact without a verified code has no entry in :func:`bindings`
(:func:`unbound` says why: the data file gives a reason for every such fact), and the FHIR reader then recognises it
only under neuroguide's own code system, :data:`LOCAL_SYSTEM`. One code stands for one fact: the data is refused if
a code is listed for two facts. A few codes also name a second finding in their wording (:func:`implied`).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from typing import Any, Literal

import attrs

from ._vocabulary import vocabulary
from .exceptions import GuidelineDataError, Problem
from .units import parse_unit

__all__ = [
    "LOCAL_SYSTEM",
    "Binding",
    "Code",
    "CodeSystem",
    "History",
    "Implication",
    "Ingredient",
    "Resource",
    "Source",
    "ValueSetMember",
    "bindings",
    "code_systems",
    "diabetes_type",
    "histories",
    "history_of",
    "implications",
    "implied",
    "ingredient",
    "ingredients",
    "lookup",
    "preferred",
    "refutes",
    "sources",
    "ucum_row",
    "ucum_unit",
    "ucum_units",
    "unbound",
    "unbound_reason",
    "value_set",
]

LOCAL_SYSTEM = "urn:neuroguide:fact"
"""The URI of neuroguide's own code system, whose codes are fact names (for facts with no verified standard code)."""


@attrs.frozen(kw_only=True)
class CodeSystem:
    """A code system: its key in the data file, its FHIR URI and its name."""

    key: str
    uri: str
    name: str


@attrs.frozen(kw_only=True)
class Source:
    """A publication or code list codes were checked against."""

    key: str
    title: str
    publisher: str
    where: str
    licence: str


@attrs.frozen(kw_only=True)
class Code:
    """One verified code: system, code, display, version, and how it was verified."""

    system: CodeSystem
    code: str
    display: str
    version: str
    source: str
    verification: str

    @property
    def concentration(self) -> str | None:
        """Which concentration a LOINC display names ("mass" or "molar"), or ``None`` if it names neither.

        This is as far as a unit can check the code's property.
        """
        if "[Mass/" in self.display:
            return "mass"
        if "[Moles/" in self.display:
            return "molar"
        return None


@attrs.frozen(kw_only=True)
class ValueSetMember:
    """One code of a packaged value set (a verified published code list)."""

    value_set: str
    oid: str
    system: CodeSystem
    version: str
    code: str
    display: str


def diabetes_type(display: str) -> Literal["type-1", "type-2", "other"]:
    """The diabetes type a verified code's display names (``other`` when it names neither type 1 nor type 2)."""
    text = display.lower()
    if _TYPE1.search(text):
        return "type-1"
    if _TYPE2.search(text):
        return "type-2"
    return "other"


_TYPE1 = re.compile(r"\btype (1|i)\b")
_TYPE2 = re.compile(r"\btype (2|ii)\b")


@attrs.frozen(kw_only=True)
class Implication:
    """Verified codes that, besides their own fact, name a second finding in their wording (set true when current)."""

    fact: str
    system: CodeSystem
    codes: tuple[str, ...]
    verification: str


@attrs.frozen(kw_only=True)
class History:
    """A history fact set true by a past (resolved, inactive or in remission) Condition of one of ``of``."""

    fact: str
    of: tuple[str, ...]
    verification: str


@attrs.frozen(kw_only=True)
class Ingredient:
    """A verified RxNorm drug-substance (ingredient) code and the drug name neuroguide's matcher knows it by."""

    code: str
    ingredient: str
    display: str
    version: str
    source: str
    verification: str


class Resource(StrEnum):
    """The FHIR resource an EHR records a fact in."""

    OBSERVATION = "Observation"
    CONDITION = "Condition"
    PROCEDURE = "Procedure"


@attrs.frozen(kw_only=True)
class Binding:
    """The codes of one fact: listed codes, an optional packaged value set, the resource, and a note for reviewers."""

    fact: str
    codes: tuple[Code, ...] = ()
    value_set: str | None = None
    resource: Resource | None = None
    note: str | None = None
    history: bool = False
    """True for a past fact, which a resolved, inactive or in-remission Condition still sets (a past cancer)."""
    absent_when_refuted: frozenset[str] | None = None
    """The codes whose refutation says the fact is absent; ``None``: every code's (one code per meaning)."""


_VALUE_SET_FILES = {"cms123v7.csv": "cms123v7", "cancer.csv": "vsac-ecqm-2024"}
# Value-set names used in codes.toml -> the value sets of the packaged file they stand for.
_GROUPS = {
    "Diabetes": ("Diabetes",),
    "Amputation": (
        "Bilateral amputation of leg below or above knee",
        "Left Unilateral Amputation Above or Below Knee",
        "Right Unilateral Amputation Above or Below Knee",
        "Left Unilateral Amputation Procedure Above or Below Knee",
        "Right Unilateral Amputation Procedure Above or Below Knee",
        "Unilateral Amputation Below or Above Knee, Unspecified Laterality",
        "Unilateral Amputation Procedure Below or Above Knee, Unspecified Laterality",
    ),
    "Cancer": ("All Primary and Secondary Cancer",),
}
_CSV_SYSTEMS = {"SNOMED-CT": "snomed", "ICD-10-CM": "icd10cm", "LOINC": "loinc"}
# Facts bound to the same value set as diabetes, whose type they read from the code (not a second meaning).
_DERIVED_FROM_SET = frozenset({"type-1-diabetes", "type-2-diabetes"})


@functools.cache
def _raw() -> dict[str, Any]:
    text = (resources.files("neuroguide") / "_data" / "codes.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@functools.cache
def code_systems() -> Mapping[str, CodeSystem]:
    """Every code system named in the data file, by key."""
    return {k: CodeSystem(key=k, uri=v["uri"], name=v["name"]) for k, v in _raw()["systems"].items()}


@functools.cache
def sources() -> Mapping[str, Source]:
    """Every publication or code list a code was checked against, by key."""
    return {k: Source(key=k, **v) for k, v in _raw()["sources"].items()}


@functools.cache
def bindings() -> Mapping[str, Binding]:
    """The verified codes of each fact that has any, by fact name (checked once, on first use).

    Raises:
        GuidelineDataError: the data file names an unknown fact, system, source, value set or unit.

    """
    raw = _raw()
    systems, known_sources, vocab = code_systems(), sources(), vocabulary()
    problems: list[Problem] = []
    out: dict[str, Binding] = {}
    for fact, entry in raw.get("facts", {}).items():
        if fact not in vocab:
            problems.append(Problem("codes.toml", f"facts.{fact}", "not a fact of the vocabulary"))
            continue
        codes = []
        for i, c in enumerate(entry.get("codes", [])):
            where = f"facts.{fact}.codes[{i}]"
            if c.get("system") not in systems or c.get("source") not in known_sources:
                problems.append(Problem("codes.toml", where, "unknown system or source"))
                continue
            missing = [k for k in ("code", "display", "version", "verification") if not c.get(k)]
            if missing:
                problems.append(Problem("codes.toml", where, f"missing {', '.join(missing)}"))
                continue
            codes.append(Code(**{**c, "system": systems[c["system"]]}))
        vs = entry.get("value_set")
        if vs is not None and vs not in _GROUPS:
            problems.append(Problem("codes.toml", f"facts.{fact}.value_set", f"unknown value set {vs!r}"))
        absent = entry.get("absent_when_refuted")
        if absent is not None and not set(absent) <= {c.code for c in codes} | {k[1] for k in _set_keys(vs)}:
            problems.append(Problem("codes.toml", f"facts.{fact}.absent_when_refuted", "codes of this fact only"))
        if absent and entry.get("history") is True:
            # ruling out a cancer now says nothing about one treated years ago: a history fact is never refuted
            problems.append(
                Problem("codes.toml", f"facts.{fact}.absent_when_refuted", "none on a history fact (history = true)")
            )
        resource = entry.get("resource")
        if resource is not None and resource not in set(Resource):
            problems.append(Problem("codes.toml", f"facts.{fact}.resource", f"not one of {', '.join(Resource)}"))
            resource = None
        out[fact] = Binding(
            fact=fact,
            codes=tuple(codes),
            value_set=vs,
            resource=None if resource is None else Resource(resource),
            note=entry.get("note"),
            history=entry.get("history") is True,
            absent_when_refuted=None if absent is None else frozenset(absent),
        )
    for fact, entry in raw.get("unbound", {}).items():
        if fact != "medications" and fact not in vocab:
            problems.append(Problem("codes.toml", f"unbound.{fact}", "not a fact of the vocabulary"))
        elif fact in out:
            problems.append(Problem("codes.toml", f"unbound.{fact}", "also bound under [facts]"))
        elif not entry.get("reason"):
            problems.append(Problem("codes.toml", f"unbound.{fact}", "no reason given"))
    problems += _clashes(out)
    for code, entry in raw.get("ucum", {}).items():
        try:
            parse_unit(entry["unit"], f"ucum.{code}")
        except ValueError as exc:
            problems.append(Problem("codes.toml", f"ucum.{code}", str(exc)))
    if problems:
        raise GuidelineDataError(problems)
    return out


def _clashes(found: Mapping[str, Binding]) -> list[Problem]:
    """A code listed for two facts would be read as one of them silently: refuse the data instead."""
    problems: list[Problem] = []
    owner: dict[tuple[str, str], str] = {}
    for fact, binding in found.items():
        for c in binding.codes:
            key = (c.system.uri, c.code)
            if owner.setdefault(key, fact) != fact:
                problems.append(Problem("codes.toml", f"facts.{fact}", f"{c.code} is also listed for {owner[key]}"))
    for fact, binding in found.items():
        if binding.value_set is None or fact in _DERIVED_FROM_SET:
            continue
        for key in value_set(binding.value_set):
            other = owner.get(key)
            if other is not None and other != fact:
                problems.append(Problem("codes.toml", f"facts.{other}", f"{key[1]} is in the value set of {fact}"))
    return problems


def _set_keys(name: str | None) -> set[tuple[str, str]]:
    if name is None or name not in _GROUPS:
        return set()
    return set(value_set(name))


def refutes(fact: str, code: str) -> bool:
    """True when a refuted Condition with this code of ``fact`` says the fact is absent.

    A code naming only one kind of the finding (an ischaemic foot ulcer, one cancer) does not: refuting it leaves
    the fact unknown. A history fact (a past cancer, a past optic neuritis, an amputation) is never refuted by a
    Condition: ruling a condition out now says nothing about the past. Other facts whose data gives no
    ``absent_when_refuted`` list have one meaning per code.
    """
    binding = bindings().get(fact)
    if binding is not None and binding.history:
        return False
    if binding is None or binding.absent_when_refuted is None:
        return True
    return code in binding.absent_when_refuted


def unbound_reason(fact: str) -> str | None:
    """Why a fact has no standard code yet, when the project recorded a reason."""
    entry = _raw().get("unbound", {}).get(fact)
    return None if entry is None else str(entry["reason"])


def unbound() -> Mapping[str, str]:
    """Every fact (and ``medications``) recorded as having no standard code yet, with the reason."""
    return {fact: str(entry["reason"]) for fact, entry in _raw().get("unbound", {}).items()}


def preferred(fact: str) -> Code | None:
    """The code to send for a fact (the first one listed), or ``None`` when it has no verified code."""
    binding = bindings().get(fact)
    return binding.codes[0] if binding is not None and binding.codes else None


@functools.cache
def _members() -> tuple[ValueSetMember, ...]:
    systems = code_systems()
    out: list[ValueSetMember] = []
    folder = resources.files("neuroguide") / "_data" / "valuesets"
    for name in _VALUE_SET_FILES:
        for row in csv.DictReader(io.StringIO((folder / name).read_text(encoding="utf-8"))):
            system = _CSV_SYSTEMS.get(row["code_system_name"])
            if system is None:
                continue
            out.append(
                ValueSetMember(
                    value_set=row["valueset_name"],
                    oid=row["valueset_oid_or_direct_ref"],
                    system=systems[system],
                    version=row["code_system_version"],
                    code=row["code"],
                    display=row["display"],
                )
            )
    return tuple(out)


@functools.cache
def value_set(name: str) -> Mapping[tuple[str, str], ValueSetMember]:
    """The members of a value set named in ``codes.toml``, keyed by ``(system URI, code)``."""
    wanted = _GROUPS[name]
    return {(m.system.uri, m.code): m for m in _members() if m.value_set in wanted}


@functools.cache
def _index() -> Mapping[tuple[str, str], tuple[str, Code | ValueSetMember]]:
    found: dict[tuple[str, str], tuple[str, Code | ValueSetMember]] = {}
    for fact, binding in bindings().items():
        if binding.value_set is not None and fact not in _DERIVED_FROM_SET:
            for key, member in value_set(binding.value_set).items():
                found.setdefault(key, (fact, member))
        for c in binding.codes:
            found[(c.system.uri, c.code)] = (fact, c)
    return found


def lookup(system: str, code: str) -> tuple[str, Code | ValueSetMember] | None:
    """The fact a standard code stands for, with its verified entry; ``None`` if the code is not bound."""
    return _index().get((system, code))


@functools.cache
def implications() -> tuple[Implication, ...]:
    """The rules of ``[[implies]]``, each expanded to the verified codes it covers (checked once, on first use).

    Raises:
        GuidelineDataError: a rule names an unknown or non-boolean fact or system, or a code that is not verified.

    """
    systems, vocab, index = code_systems(), vocabulary(), _index()
    problems: list[Problem] = []
    out: list[Implication] = []
    for i, rule in enumerate(_raw().get("implies", [])):
        where = f"implies[{i}]"
        fact, system = rule.get("fact"), systems.get(rule.get("system", ""))
        if fact not in vocab or vocab[fact].type != "boolean" or system is None or not rule.get("verification"):
            problems.append(Problem("codes.toml", where, "a boolean fact, a known system and a verification"))
            continue
        listed = list(rule.get("codes", []))
        prefixes = tuple(rule.get("prefixes", []))
        matched = [
            code
            for (uri, code), (owner, _) in index.items()
            if prefixes and uri == system.uri and code.startswith(prefixes) and owner != fact
        ]
        if prefixes and not matched:
            problems.append(Problem("codes.toml", where, "no verified code has these prefixes"))
        for code in listed:
            found = index.get((system.uri, code))
            if found is None or found[0] == fact:
                problems.append(Problem("codes.toml", where, f"{code} is not a verified code of another fact"))
        codes = tuple(sorted({*listed, *matched}))
        out.append(Implication(fact=fact, system=system, codes=codes, verification=rule["verification"]))
    if problems:
        raise GuidelineDataError(problems)
    return tuple(out)


@functools.cache
def _implied_index() -> Mapping[tuple[str, str], tuple[str, ...]]:
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for rule in implications():
        for code in rule.codes:
            key = (rule.system.uri, code)
            found[key] = (*found.get(key, ()), rule.fact)
    return found


def implied(system: str, code: str) -> tuple[str, ...]:
    """The findings a verified code also names besides its own fact (empty for most codes)."""
    return _implied_index().get((system, code), ())


@functools.cache
def histories() -> tuple[History, ...]:
    """The rules of ``[[history]]`` (checked once, on first use).

    Raises:
        GuidelineDataError: a rule names an unknown or non-boolean fact, or gives no verification.

    """
    vocab = vocabulary()
    problems: list[Problem] = []
    out: list[History] = []
    for i, rule in enumerate(_raw().get("history", [])):
        names = [rule.get("fact"), *rule.get("of", [])]
        if (
            not rule.get("of")
            or not rule.get("verification")
            or any(n not in vocab or vocab[n].type != "boolean" for n in names)
        ):
            problems.append(Problem("codes.toml", f"history[{i}]", "boolean facts (fact, of) and a verification"))
            continue
        out.append(History(fact=rule["fact"], of=tuple(rule["of"]), verification=rule["verification"]))
    if problems:
        raise GuidelineDataError(problems)
    return tuple(out)


def history_of(fact: str) -> tuple[str, ...]:
    """The history facts a past (resolved, inactive or in remission) Condition of ``fact`` sets to true."""
    return tuple(h.fact for h in histories() if fact in h.of)


@functools.cache
def ucum_units() -> Mapping[str, str]:
    """UCUM code -> neuroguide's unit spelling, for every UCUM unit accepted (each checked against the UCUM table)."""
    return {code: str(entry["unit"]) for code, entry in _raw().get("ucum", {}).items()}


# UCUM (case-sensitive) defines the litre twice, as ``l`` and as ``L`` (ucum-essence.xml, both metric), so ``pg/ml`` is
# the same unit as ``pg/mL``. A unit atom that is exactly a decimal prefix (or none) and ``l`` is a litre: no other
# UCUM atom has that form, and ``mol``, ``cal``, ``Cel`` and ``Gal`` are whole atoms, not matched here. UCUM is
# case-sensitive otherwise (``mg`` is milligram, ``Mg`` megagram): no other letter changes case.
_LITRE_ATOM = re.compile(r"(?<![^./(])(da|[YZEPTGMkhdcmunpfazy]|)l(?![^./()0-9{+-])")


def ucum_unit(code: str) -> str | None:
    """Neuroguide's spelling of a UCUM code, or ``None`` if the code is not accepted.

    A code that spells the litre ``l`` is read as the accepted code spelling it ``L`` (``umol/l`` as ``umol/L``).
    """
    units = ucum_units()
    found = units.get(code)
    if found is None and "l" in code:
        found = units.get(_LITRE_ATOM.sub(r"\1L", code))
    return found


@functools.cache
def ingredients() -> Mapping[str, Ingredient]:
    """Every verified RxNorm ingredient code, by code (checked once, on first use).

    Raises:
        GuidelineDataError: an entry lacks a field, names an unknown source, or two codes name the same drug.

    """
    known_sources = sources()
    problems: list[Problem] = []
    out: dict[str, Ingredient] = {}
    names: dict[str, str] = {}
    for code, entry in _raw().get("rxnorm", {}).items():
        where = f"rxnorm.{code}"
        missing = [k for k in ("ingredient", "display", "version", "verification") if not entry.get(k)]
        if missing or entry.get("source") not in known_sources or not code.isdigit():
            problems.append(
                Problem("codes.toml", where, "a numeric code, ingredient, display, version, source, verification")
            )
            continue
        name = str(entry["ingredient"])
        other = names.setdefault(name.casefold(), code)
        if other != code:
            problems.append(Problem("codes.toml", where, f"{name!r} is also the drug of RxNorm {other}"))
            continue
        out[code] = Ingredient(code=code, **entry)
    if problems:
        raise GuidelineDataError(problems)
    return out


def ingredient(code: str) -> Ingredient | None:
    """The verified ingredient an RxNorm code stands for, or ``None`` if the code is not a verified ingredient code."""
    return ingredients().get(code)


def ucum_row(code: str) -> int | None:
    """The row of the UCUM example table a unit was checked against."""
    entry = _raw().get("ucum", {}).get(code)
    return None if entry is None else int(entry["row"])
