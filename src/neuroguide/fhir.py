"""Read HL7 FHIR R4 data (a Bundle, or the resources of a CDS Hooks prefetch) into a :class:`~neuroguide.Patient`.

Needs the optional extra ``neuroguide[fhir]`` (the ``fhir.resources`` models, used to check each resource against the
FHIR specification). Codes are matched through :mod:`neuroguide.terminology` (verified bindings only); units go
through the UCUM table there and then through the same unit allow-list as the JSON input. Nothing is dropped
silently: every resource, code, unit or value the reader cannot use is listed in :attr:`Reading.notes`, and
:func:`assess` returns them in ``Assessment.notes``: the text report shows them in a section of their own, apart
from the inputs that would let more rules decide.

Resources read: Patient (birthDate, gender); Condition (diabetes type and onset; other conditions); Observation
(latest valid value per fact; ``entered-in-error``, ``cancelled`` and results not yet final are excluded);
MedicationStatement and MedicationRequest (name, dose, frequency, period); Procedure (dates of examinations).
References are followed by ``Type/id``, a Bundle entry's ``fullUrl`` or an absolute URL; a resource sent twice is read
once, and of two versions of one resource the later is read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import terminology as t
from ._agents import DROXIDOPA, METFORMIN, MIDODRINE, ingredient_keys, key
from ._fhirdose import DoseReader, strength
from ._fhirnotes import UCUM as _UCUM
from ._fhirnotes import Note, NoteKind
from ._fhirnotes import as_list as _items
from ._fhirnotes import as_map as _map
from ._fhirnotes import codings as _codings
from ._fhirnotes import num_text as _num_text
from ._fhirnotes import number as _number
from ._fhirnotes import shown as _shown
from ._jsonin import loads
from ._limits import LIMITED, SIDES, straddled
from ._loading import catalog
from ._numeric import Bound
from ._vocabulary import vocabulary
from .evaluation import assess as _assess
from .exceptions import InputError, InputProblemsError, NeuroguideError, install_hint, raise_all
from .model import Guideline, Status
from .patient import Medication, Patient
from .results import Assessment, EvaluationRecord, MissingInput
from .units import dimension, scale

try:  # the models are optional: ``pip install neuroguide[fhir]``
    import orjson

    from ._fhircheck import conformance, model_class
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    _MISSING_EXTRA: ImportError | None = _exc
else:
    _MISSING_EXTRA = None

__all__ = [
    "CUMULATIVE_DOSE_URL",
    "PATIENT_PREFETCH",
    "FhirExtraMissingError",
    "Note",
    "NoteKind",
    "Reading",
    "assess",
    "draft_medication",
    "read",
    "reread",
]

CUMULATIVE_DOSE_URL = "urn:neuroguide:extension:cumulative-dose"
"""Extension (valueQuantity) on a MedicationStatement giving the total exposure so far, as in the JSON input."""

_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_UNCHECKED = "conformance not checked"  # the note saying a reading skipped the check (a re-reading does so too)
_READ = ("Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure")
_OBS_USED = frozenset({"final", "amended", "corrected"})
_PROC_USED = frozenset({"completed"})
_MS_USED = frozenset({"active", "completed", "intended", "on-hold", "stopped"})
_MR_USED = frozenset({"active", "completed", "on-hold", "stopped"})
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
# the "Type/id" at the end of a relative or absolute RESTful reference (a version suffix allowed)
_RESTFUL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_PAST = frozenset({"stopped", "completed"})
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Resource types of other FHIR versions a sender may still use, named in the error (R4 has no such type).
_OTHER_VERSIONS = {
    "MedicationUsage": "the name MedicationStatement had in the FHIR R5 ballot (5.0.0-ballot); R4 and R5 call it "
    "MedicationStatement",
    "MedicationOrder": "a FHIR DSTU2 resource; R4 calls it MedicationRequest",
    "ProcedureRequest": "a FHIR STU3 resource; R4 calls it ServiceRequest",
    "ReferralRequest": "a FHIR STU3 resource; R4 calls it ServiceRequest",
    "DiagnosticOrder": "a FHIR DSTU2 resource; its R4 successor is ServiceRequest",
    "DeviceUsage": "the FHIR R5 name of DeviceUseStatement",
}
# Findings named by a Condition's code ([[implies]]) that outlast it: peripheral artery disease does not resolve when
# the ischaemic ulcer or the claudication episode coded with it does (clinical review).
_LASTING = frozenset({"pad"})
_FOOT_PARTS = {"401191002": "visual inspection", "134388005": "monofilament test", "91161007": "pedal pulses"}


class FhirExtraMissingError(NeuroguideError, ImportError):
    """The FHIR models are not installed (``pip install neuroguide[fhir]``)."""


@attrs.frozen(kw_only=True)
class Reading:
    """The patient read from FHIR data, and every note about what could not be used."""

    patient: Patient
    notes: tuple[Note, ...] = ()
    used: tuple[str, ...] = ()

    @property
    def unrecognised(self) -> tuple[Note, ...]:
        """Resources and codes the reader could not map to a fact."""
        return tuple(n for n in self.notes if n.kind is NoteKind.UNRECOGNISED)

    @property
    def not_used(self) -> tuple[Note, ...]:
        """Notes about data not used, or in conflict with other data."""
        return tuple(n for n in self.notes if not n.assumed)

    @property
    def assumed(self) -> tuple[Note, ...]:
        """Notes about data used, but read with a stated assumption."""
        return tuple(n for n in self.notes if n.assumed)

    def missing_inputs(self) -> tuple[MissingInput, ...]:
        """The notes as "what is missing" items (fact ``fhir:<resource>``, label ``<kind>: <what>: <reason>``).

        Kept for callers that list them so; :func:`assess` returns the notes in ``Assessment.notes`` instead, since
        they are not inputs that would let more rules decide.
        """
        return tuple(
            MissingInput(fact=f"fhir:{n.resource}", label=f"{n.kind.value}: {n.what}: {n.reason}", needed_by=())
            for n in self.notes
        )


# The CDS Hooks service's prefetch templates (key -> FHIR query). Here, not in the service, so that an auditor
# re-reading a stored request (``reread``) reads exactly the keys the service read, without the service extra.
PATIENT_PREFETCH: Mapping[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
}


def read(
    data: Mapping[str, Any] | Sequence[Any] | str | Path,
    *,
    as_of: dt.date | None = None,
    strict: bool = False,
    conformance: bool = True,
) -> Reading:
    """Read a FHIR R4 Bundle, a CDS Hooks prefetch object, one resource or a list of resources.

    Args:
        data: the FHIR data as parsed JSON, a JSON text, or a path to a JSON file.
        as_of: when given, results and procedures dated after it are excluded (and listed).
        strict: refuse a resource that does not conform to the FHIR specification instead of reading it leniently.
        conformance: check each resource against the FHIR models (the costliest step for data not seen before).
            When false, the resources are read leniently without that check and the reading says so in a note;
            everything the reader cannot use is still listed.

    Raises:
        InputError: the data is not FHIR JSON, holds more than one patient, or a used value is impossible
            (names the resource and field).
        FhirExtraMissingError: ``neuroguide[fhir]`` is not installed.

    """
    if _MISSING_EXTRA is not None:  # pragma: no cover
        raise FhirExtraMissingError(f"neuroguide.fhir needs the optional extra: {install_hint('fhir')}")
    if strict and not conformance:
        raise InputError("conformance", conformance, "true when strict=True (strict reading needs the check)")
    reader = _Reader(as_of=as_of, strict=strict, conformance=conformance)
    if not conformance:
        reader.note(
            NoteKind.ASSUMPTION,
            "FHIR data",
            _UNCHECKED,
            "the resources were not checked against the FHIR specification (configured so); read leniently",
        )
    urls: dict[str, str] = {}
    partial: list[tuple[str, str]] = []
    resources = _load(data, urls, partial)
    for where, why in partial:  # only the first page of a search: what the others hold is unknown, never "none"
        reader.note(NoteKind.EXCLUDED, where, "Bundle incomplete", f"{why}; further pages are not fetched")
    return reader.run(resources, urls)


def reread(record: EvaluationRecord, data: Mapping[str, Any] | Sequence[Any] | str | Path) -> Reading:
    """Read the FHIR input of a record again, as it was read (for ``neuroguide.audit.replay_record``).

    On the record's date, with the conformance check unless the record's notes say it was skipped.

    A whole CDS Hooks request body (``hook``, ``context``, ``prefetch``), as the service received it, is read as the
    service read it: its ``prefetch`` keys the service requests, without a failed fetch (an OperationOutcome); its
    ``context.patientId`` must be the record's patient id.

    Raises:
        InputError: the data is not FHIR JSON nor a CDS Hooks request with a prefetch object, or the request's
            ``context.patientId`` is not the record's patient.

    """
    skipped = any(n.kind is NoteKind.ASSUMPTION and n.what == _UNCHECKED for n in record.notes)
    parsed = _parsed(data)
    if isinstance(parsed, Mapping) and "resourceType" not in parsed and isinstance(parsed.get("hook"), str):
        parsed = _hook_prefetch(parsed, record.patient.get("id"))
    return read(parsed, as_of=record.as_of, conformance=not skipped)


def _hook_prefetch(request: Mapping[str, Any], patient_id: Any) -> dict[str, Any]:
    """The prefetch data of a CDS Hooks request, as the service reads it (see :func:`reread`)."""
    prefetch = request.get("prefetch")
    if not isinstance(prefetch, Mapping):
        raise InputError(
            "fhir.prefetch",
            prefetch,
            f"the prefetch object of the CDS Hooks {request['hook']!r} request (key -> FHIR resource, Bundle or null); "
            "the request holds no FHIR data otherwise",
        )
    context = request.get("context")
    given = context.get("patientId") if isinstance(context, Mapping) else None
    if isinstance(patient_id, str) and given is not None and given != patient_id:
        raise InputError(
            "fhir.context.patientId", given, f"the record's patient id {patient_id!r} (a request for another patient)"
        )
    return {
        key: value
        for key, value in prefetch.items()
        if key in PATIENT_PREFETCH
        and not (isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome")
    }


def assess(data: Mapping[str, Any] | Sequence[Any] | str | Path, *, as_of: dt.date, **options: Any) -> Assessment:
    """Read FHIR data and assess the patient; the reader's notes are returned in ``Assessment.notes``.

    ``options`` are passed to :func:`neuroguide.assess`. The evaluation record holds the patient as read (so it
    replays) and the notes (so an auditor sees why a value was not used); they are never in ``missing`` (the inputs
    that would let more rules decide, as for a patient given as JSON).
    """
    reading = read(data, as_of=as_of)
    return _assess(reading.patient, as_of=as_of, **options).with_notes(reading.notes)


# -- input -------------------------------------------------------------------------------------------------------


def _parsed(data: Mapping[str, Any] | Sequence[Any] | str | Path) -> Any:
    """The data as parsed JSON: a path (or a text not starting as JSON does) is read as a file."""
    if isinstance(data, Path) or (isinstance(data, str) and not data.lstrip().startswith(("{", "["))):
        try:
            data = Path(data).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError("file", str(data), f"a readable UTF-8 JSON file ({exc})") from None
    if isinstance(data, str):
        # strict: a duplicate key (one value silently dropped), deep nesting or a huge number is a named error
        return loads(data, "fhir")
    return data


def _load(
    data: Mapping[str, Any] | Sequence[Any] | str | Path,
    urls: dict[str, str],
    partial: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    data = _parsed(data)
    if isinstance(data, Mapping) and "resourceType" not in data and isinstance(data.get("hook"), str):
        raise InputError(  # else its context and hookInstance are taken for prefetch keys
            "fhir.hook",
            data["hook"],
            "a FHIR resource, a Bundle, or a prefetch object; this is a whole CDS Hooks request: pass its `prefetch` "
            "object (`neuroguide audit replay --fhir` accepts the whole request)",
        )
    if data is None:  # inside a prefetch object, null is a key the EHR could not fill; the whole data cannot be
        raise InputError("fhir", None, "a FHIR resource, a Bundle, or a prefetch object")
    out: list[dict[str, Any]] = []
    _flatten(data, "fhir", out, urls, partial)
    return out


def _flatten(
    item: Any,
    where: str,
    out: list[dict[str, Any]],
    urls: dict[str, str] | None = None,
    partial: list[tuple[str, str]] | None = None,
) -> None:
    """Collect the resources; ``urls`` maps each Bundle entry's ``fullUrl`` to its resource ("Type/id").

    ``partial`` collects each Bundle holding only part of its search's matches (where, and why).
    """
    if item is None:
        return  # a prefetch key the EHR could not fill
    if isinstance(item, list | tuple):
        for i, x in enumerate(item):
            _flatten(x, f"{where}[{i}]", out, urls, partial)
        return
    if not isinstance(item, Mapping):
        raise InputError(where, item, "a FHIR resource, a Bundle, or a prefetch object")
    kind = item.get("resourceType")
    if kind is None:  # a CDS Hooks prefetch: key -> resource, Bundle or null
        for key, value in item.items():
            _flatten(value, f"{where}.{key}", out, urls, partial)
        return
    if not isinstance(kind, str):
        raise InputError(f"{where}.resourceType", kind, "a FHIR resource type name")
    if kind == "Bundle":
        entries = item.get("entry", [])
        if not isinstance(entries, list):
            raise InputError(f"{where}.entry", entries, "a list of Bundle entries")
        if partial is not None and (more := more_pages(item)) is not None:
            partial.append((where, more))
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise InputError(f"{where}.entry[{i}]", entry, "a Bundle entry object")
            resource = entry.get("resource")
            full = entry.get("fullUrl")
            if urls is not None and isinstance(full, str) and isinstance(resource, Mapping):
                # references inside a Bundle may name an entry by its fullUrl (urn:uuid:... in a transaction)
                resource = _named(resource, full)
                urls[full] = _ref(resource)
            _flatten(resource, f"{where}.entry[{i}].resource", out, urls, partial)
        return
    out.append(dict(item))


def more_pages(bundle: Mapping[str, Any]) -> str | None:
    """Why a searchset Bundle holds only part of its matches (a next page, or a total above its entries), or None."""
    links = bundle.get("link")
    if isinstance(links, list) and any(isinstance(k, Mapping) and k.get("relation") == "next" for k in links):
        return "the searchset Bundle has a next page (link relation 'next')"
    total, entries = bundle.get("total"), bundle.get("entry")
    matches = [
        e
        for e in (entries if isinstance(entries, list) else [])
        if not (
            isinstance(e, Mapping) and isinstance(e.get("search"), Mapping) and e["search"].get("mode") == "include"
        )
    ]
    if isinstance(total, int) and not isinstance(total, bool) and total > len(matches):
        return f"the searchset Bundle's total is {total} matches, but it holds {len(matches)}"
    return None


def _named(resource: Mapping[str, Any], full: str) -> Mapping[str, Any]:
    """A resource without an id (one a transaction creates) named by its entry's fullUrl, so references find it.

    The Patient keeps no id it was not given (its id goes into the evaluation record).
    """
    if "id" in resource or resource.get("resourceType") == "Patient":
        return resource
    tail = full.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return {**resource, "id": tail} if _ID.match(tail) else resource


# -- reading -----------------------------------------------------------------------------------------------------


def _ref(res: Mapping[str, Any]) -> str:
    return f"{res.get('resourceType')}/{res.get('id', '(no id)')}"


def _date_of(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    match = _DATE.match(value)
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _shown_age(age: Any) -> str:
    if not isinstance(age, Mapping):
        return repr(age)
    return f"{age.get('value')} {age.get('code') or age.get('unit') or '(no unit)'}"


class _Shown:
    """A code as a note shows it, worked out only when a note needs it (most resources are read without one)."""

    __slots__ = ("concept",)

    def __init__(self, concept: Any) -> None:
        self.concept = concept

    def __str__(self) -> str:
        return _shown(self.concept)


# An untimed plasma glucose code sent beside a timed one (fasting, 2 hours after a load) is the generic code of the
# same sample, as laboratories often send both: the timed code says which measurement it is.
_GENERIC = {"random-glucose": frozenset({"fasting-glucose", "ogtt-2h-glucose"})}


def _specific(facts: Sequence[str]) -> list[str]:
    """``facts`` without a generic fact named beside a narrower one (see ``_GENERIC``)."""
    return [f for f in facts if not _GENERIC.get(f, frozenset()).intersection(facts)]


def _fact_of(concept: Any) -> tuple[str, Any] | None:
    """The fact a CodeableConcept stands for: a verified standard code first, then neuroguide's local code.

    Of a generic and a timed glucose code on one concept, the timed one (see ``_GENERIC``).
    """
    codings = _codings(concept)
    standard = [f for c in codings if (f := t.lookup(str(c.get("system")), str(c.get("code")))) is not None]
    if standard:
        kept = _specific([f[0] for f in standard])
        return next(f for f in standard if f[0] in kept)
    for c in codings:
        if c.get("system") == t.LOCAL_SYSTEM and isinstance(c.get("code"), str) and c["code"] in vocabulary():
            return str(c["code"]), None
    return None


def _facts_named(concept: Any) -> list[str]:
    """Every fact the codings of a concept name (verified standard codes and neuroguide's local code), in order."""
    out: list[str] = []
    for c in _codings(concept):
        found = t.lookup(str(c.get("system")), str(c.get("code")))
        fact = found[0] if found is not None else None
        if fact is None and c.get("system") == t.LOCAL_SYSTEM and isinstance(c.get("code"), str):
            fact = c["code"] if c["code"] in vocabulary() else None
        if fact is not None and fact not in out:
            out.append(fact)
    return out


def _unit_differs(code: t.Code, value: str) -> bool:
    """True when a measurement's unit is not of the kind its code names (a molar unit under a mass code, or back)."""
    if code.concentration is None:
        return False
    unit = value.split(" ", 1)[1] if " " in value else ""
    return ("mol/" in unit) != (code.concentration == "molar")


def _same_drug(ingredient: str, name: str) -> bool:
    """True if a medication name names the ingredient (itself, a salt, release form or brand neuroguide knows)."""
    keys = ingredient_keys(name)
    if key(ingredient) in keys:
        return True
    return any(key(ingredient) in group and not keys.isdisjoint(group) for group in _NAMED_GROUPS)


_NAMED_GROUPS = (METFORMIN, MIDODRINE, DROXIDOPA)


_DECIMAL = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$")
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def _first_day(value: Any) -> dt.date | None:
    """The first day of a partial FHIR date ("2015" or "2015-06"), or ``None``."""
    match = _PARTIAL.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2) or 1), 1)
    except ValueError:
        return None


def _add_years(born: dt.date, years: int) -> dt.date:
    """The birthday at ``years`` (1 March for someone born on 29 February, in a year without it)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return dt.date(born.year + years, 3, 1)


def _newer(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """The later of two versions of one resource by ``meta.lastUpdated``, else ``meta.versionId``; None if unknown."""
    ma, mb = a.get("meta"), b.get("meta")
    if not isinstance(ma, Mapping) or not isinstance(mb, Mapping):
        return None
    ta, tb = _instant(ma.get("lastUpdated")), _instant(mb.get("lastUpdated"))
    if ta is not None and tb is not None and ta != tb:
        return a if ta > tb else b
    va, vb = ma.get("versionId"), mb.get("versionId")
    if isinstance(va, str) and isinstance(vb, str) and va.isdigit() and vb.isdigit() and int(va) != int(vb):
        return a if int(va) > int(vb) else b
    return None


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _when(res: Mapping[str, Any]) -> str:
    """The effective date and time as a sortable text: UTC when a time zone is given, else as written."""
    value = res.get("effectiveDateTime") or res.get("effectiveInstant")
    if not isinstance(value, str):
        return ""
    instant = _instant(value)
    return instant.astimezone(dt.UTC).isoformat() if instant is not None else value


def _version(res: Mapping[str, Any]) -> str:
    meta = res.get("meta") if isinstance(res.get("meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    parts = [f"{k} {meta[k]}" for k in ("versionId", "lastUpdated") if k in meta]
    return ", ".join(parts) or "(no meta)"


_B12_RESULTS = ("b12-total", "b12-active")  # results whose date is also the date of the last B12 test


@attrs.define
class _Candidate:
    value: Any
    date: dt.date
    ref: str
    issued: str = ""
    at: str = ""  # the effective time within the day, in UTC when the time zone is given
    refuted: bool = False  # a refuted Condition: says one code is absent, not that no code of the fact is present


@attrs.define
class _Reader(DoseReader):
    as_of: dt.date | None
    strict: bool
    conformance: bool = True
    notes: list[Note] = attrs.Factory(list)
    used: list[str] = attrs.Factory(list)
    patient_id: str | None = None
    urls: dict[str, str] = attrs.Factory(dict)
    sources: dict[str, str] = attrs.Factory(dict)
    medications_index: dict[str, dict[str, Any] | None] = attrs.Factory(dict)
    referenced: set[str] = attrs.Factory(set)
    birth_date: dt.date | None = None
    b12_tests: list[_Candidate] = attrs.Factory(list)  # dated B12 results and last-b12-test Procedures

    def note(self, kind: NoteKind, ref: str, what: str | _Shown, reason: str) -> None:
        self.notes.append(Note(kind=kind, resource=ref, what=str(what), reason=reason))

    def run(self, resources: list[dict[str, Any]], urls: Mapping[str, str] | None = None) -> Reading:
        self.urls = dict(urls or {})
        by_kind: dict[str, list[dict[str, Any]]] = {}
        skipped: dict[str, list[str]] = {}
        for res in resources:
            self.check(res)
        resources = self.one_per_id(resources)
        for res in resources:
            kind = str(res["resourceType"])
            if kind in _READ:
                by_kind.setdefault(kind, []).append(res)
            elif kind != "Medication":
                skipped.setdefault(kind, []).append(_ref(res))
        for kind, refs in sorted(skipped.items()):
            shown = ", ".join(refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
            self.note(
                NoteKind.UNRECOGNISED,
                kind,
                f"{len(refs)} resource(s): {shown}",
                "neuroguide does not read this resource type",
            )
        self.medications_index = {}
        for r in resources:
            if r["resourceType"] == "Medication":
                # two different Medications under one name (no id, or the same id): a reference to it is ambiguous
                known = self.medications_index.get(_ref(r), r)
                self.medications_index[_ref(r)] = r if known == r else None
        data: dict[str, Any] = {}
        self.patient(by_kind.get("Patient", []), data)
        findings: dict[str, list[_Candidate]] = {}
        measurements: dict[str, list[_Candidate]] = {}
        last: dict[str, list[_Candidate]] = {}
        diabetes: list[tuple[str, dt.date, str, str]] = []
        for res in by_kind.get("Condition", []):
            if self.mine(res):
                self.condition(res, findings, diabetes)
        for res in by_kind.get("Observation", []):
            if self.mine(res):
                self.observation(res, findings, measurements)
        foot: dict[dt.date, dict[str, str]] = {}
        for res in by_kind.get("Procedure", []):
            if self.mine(res):
                self.procedure(res, findings, last, foot)
        self.foot_exams(foot, last)
        for fact in _B12_RESULTS:  # a dated B12 result is a B12 measurement on that date
            for c in measurements.get(fact, []):
                self.b12_tests.append(_Candidate(value=c.date, date=c.date, ref=c.ref))
        self.b12_tests += last.get("b12-test", [])  # and last-b12-test Procedures
        if self.b12_tests:
            last["b12-test"] = list(self.b12_tests)
        meds: list[dict[str, Any]] = []
        for kind in ("MedicationStatement", "MedicationRequest"):
            for res in by_kind.get(kind, []):
                if self.mine(res):
                    med = self.medication(res)
                    if med is not None:
                        self.sources[f"medications[{len(meds)}]"] = _ref(res)
                        meds.append(med)
        for ref in sorted(set(self.medications_index) - self.referenced):
            self.note(NoteKind.UNRECOGNISED, ref, "Medication", "not referenced by any MedicationStatement or request")
        if diabetes:
            data["diabetes"] = self.diabetes(diabetes)
        if findings:
            data["findings"] = {k: self.latest("findings", k, v) for k, v in sorted(findings.items())}
        if measurements:
            data["measurements"] = {k: self.latest("measurements", k, v) for k, v in sorted(measurements.items())}
        if last:
            data["last"] = {k: max(c.date for c in v).isoformat() for k, v in sorted(last.items())}
        if meds:
            data["medications"] = meds
        patient = self.build(data)
        return Reading(patient=patient, notes=tuple(self.notes), used=tuple(dict.fromkeys(self.used)))

    def one_per_id(self, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each resource once: a copy read once, an older version left out with a note, other clashes noted.

        The same resource often comes twice (a prefetch key and a search that includes it); a history Bundle
        holds several versions, of which ``meta.versionId`` or ``meta.lastUpdated`` tells the current one.
        """
        out: list[dict[str, Any]] = []
        where: dict[str, int] = {}
        for res in resources:
            ref = _ref(res)
            if not isinstance(res.get("id"), str) or ref not in where:
                if isinstance(res.get("id"), str):
                    where[ref] = len(out)
                out.append(res)
                continue
            first = out[where[ref]]
            if first == res:
                continue
            newer = _newer(first, res)
            if newer is None:
                self.note(
                    NoteKind.CONFLICT,
                    ref,
                    "two resources with the same type and id",
                    "different content, and no meta.versionId or meta.lastUpdated tells which is current; both read",
                )
                out.append(res)
                continue
            older = res if newer is first else first
            out[where[ref]] = newer
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"version {_version(older)}",
                f"an older version of the same resource; version {_version(newer)} is read",
            )
        return out

    def target(self, reference: Any) -> str | None:
        """The resource ("Type/id") a reference names: a Bundle entry's fullUrl, or a relative or absolute URL."""
        if not isinstance(reference, str):
            return None
        if reference in self.urls:
            return self.urls[reference]
        match = _RESTFUL.search(reference)
        return f"{match.group(1)}/{match.group(2)}" if match else None

    def build(self, data: dict[str, Any]) -> Patient:
        """The patient; a result or finding the patient model refuses is left out with a note, unless strict.

        One implausible laboratory value (a unit slip, a mistyped result) must not stop every other decision, the
        red flags among them: the value is not used, the note says why, and the fact is listed as missing. Anything
        else the model refuses (the patient's own details, a medication) refuses the reading, naming the resource.
        """
        while True:
            try:
                return Patient.from_dict(data)
            except InputError as exc:
                failure = exc
            problems = failure.problems if isinstance(failure, InputProblemsError) else (failure,)
            left_out = [p for p in problems if not self.strict and self.one_result(data, p.field)]
            if len(left_out) < len(problems):
                raise_all([self.located(p) for p in problems])
            for p in left_out:
                group, fact = p.field.split(".", 1)
                del data[group][fact]
                ref = self.sources.get(p.field, p.field)
                self.note(NoteKind.EXCLUDED, ref, f"{fact} {p.value}", f"not used: expected {p.expected}")
                if fact in _B12_RESULTS:  # a result left out does not date a B12 test either
                    self.b12_tests = [c for c in self.b12_tests if c.ref != ref]
                    self.date_b12_test(data)

    def date_b12_test(self, data: dict[str, Any]) -> None:
        last = data.setdefault("last", {})
        if self.b12_tests:
            last["b12-test"] = max(c.date for c in self.b12_tests).isoformat()
        else:
            last.pop("b12-test", None)
        if not last:
            del data["last"]

    @staticmethod
    def one_result(data: Mapping[str, Any], field: str) -> bool:
        group, _, fact = field.partition(".")
        return group in ("measurements", "findings") and fact in data.get(group, {})

    def located(self, exc: InputError) -> InputError:
        """The same problem, naming the resource it came from."""
        key = exc.field.split("]")[0] + "]" if exc.field.startswith("medications[") else exc.field
        where = self.sources.get(key)
        field = f"{where} ({exc.field})" if where else exc.field
        return type(exc)(field, exc.value, exc.expected)

    # -- checks shared by every resource

    def check(self, res: dict[str, Any]) -> None:
        """Check the resource against the FHIR models; lenient reading notes a deviation, strict refuses it."""
        kind = str(res["resourceType"])
        try:
            model_class(kind)
        except ValueError:
            other = _OTHER_VERSIONS.get(kind)
            expected = "a FHIR R4 resource type" + (f" ({kind} is {other}; neuroguide reads FHIR R4)" if other else "")
            raise InputError(f"{_ref(res)}.resourceType", kind, expected) from None
        if not self.conformance:
            return
        try:
            text = orjson.dumps(res, default=str)
        except orjson.JSONEncodeError as exc:  # an integer over 64 bits, a non-string key, a lone surrogate
            problem: tuple[str, str] | None = ("(resource)", f"not representable as FHIR JSON ({exc})")
        else:
            problem = conformance(kind, text)
        if problem is None:
            return
        where, detail = problem
        if self.strict:
            raise InputError(_ref(res), where, f"a resource conforming to FHIR R4 ({detail})")
        self.note(
            NoteKind.NONCONFORMANT,
            _ref(res),
            "does not conform to the FHIR specification",
            f"{detail}; read leniently",
        )

    def mine(self, res: Mapping[str, Any]) -> bool:
        """True when the resource is about the patient read (resources about someone else are excluded)."""
        subject = res.get("subject") or res.get("patient")
        ref = subject.get("reference") if isinstance(subject, Mapping) else None
        target = self.target(ref)
        if self.patient_id is not None and target is None and isinstance(ref, str) and ref.startswith("urn:"):
            # a urn:uuid or urn:oid reference names an entry of the same Bundle; none has it, so it is someone else
            self.note(
                NoteKind.EXCLUDED,
                _ref(res),
                f"subject {ref}",
                f"names no resource in the data, so not the patient read (Patient/{self.patient_id})",
            )
            return False
        if self.patient_id is not None and isinstance(ref, str) and (ref.startswith("#") or target is not None):
            # a contained resource ("#id") is not the patient read, nor is a Group, Device or Location
            about = target if target is not None else f"{ref} (a resource contained in {_ref(res)})"
            if not about.startswith("Patient/"):
                self.note(
                    NoteKind.EXCLUDED,
                    _ref(res),
                    f"subject {ref}",
                    f"names {about}, not the patient read (Patient/{self.patient_id})",
                )
                return False
        if self.patient_id is None or target is None or not target.startswith("Patient/"):
            return True
        if target == f"Patient/{self.patient_id}":
            return True
        self.note(NoteKind.EXCLUDED, _ref(res), f"subject {ref}", f"not the patient read (Patient/{self.patient_id})")
        return False

    def dated(self, res: Mapping[str, Any], date: dt.date | None, what: str | _Shown) -> bool:
        if date is None:
            self.note(
                NoteKind.EXCLUDED, _ref(res), what, "no date (or only a partial date), so it cannot be placed in time"
            )
            return False
        if self.as_of is not None and date > self.as_of:
            self.note(NoteKind.EXCLUDED, _ref(res), what, f"dated {date}, after the evaluation date {self.as_of}")
            return False
        return True

    # -- Patient

    def patient(self, found: list[dict[str, Any]], data: dict[str, Any]) -> None:
        if len(found) > 1:
            ids = ", ".join(_ref(p) for p in found)
            raise InputError("Patient", ids, "one Patient resource (the data holds several)")
        if not found:
            self.note(NoteKind.UNRECOGNISED, "Patient", "no Patient resource", "birth date and sex are unknown")
            return
        res = found[0]
        ref = _ref(res)
        self.used.append(ref)
        if isinstance(res.get("id"), str):
            self.patient_id = res["id"]
            data["id"] = res["id"]
        birth = res.get("birthDate")
        if birth is not None:
            date = _date_of(birth)
            if date is None:
                self.note(
                    NoteKind.EXCLUDED, ref, f"birthDate {birth!r}", "not a full date (YYYY-MM-DD); age is unknown"
                )
            else:
                data["birth_date"] = date.isoformat()
                self.sources["birth_date"] = ref
                self.birth_date = date
        died = _date_of(res.get("deceasedDateTime"))
        if res.get("deceasedBoolean") is True or (died is not None and (self.as_of is None or died <= self.as_of)):
            self.note(
                NoteKind.CONFLICT,
                ref,
                f"deceased ({res['deceasedDateTime']})" if died is not None else "deceased",
                "the record says the patient has died; the recommendations are worked out as for a living "
                "patient: check that this is the right record",
            )
        gender = res.get("gender")
        if gender in ("female", "male"):
            data["sex"] = gender
        elif gender is not None:
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                f"gender {gender!r}",
                "only female or male can be used (Cockcroft–Gault); sex is unknown",
            )

    # -- Condition

    def condition(
        self, res: dict[str, Any], findings: dict[str, list[_Candidate]], diabetes: list[tuple[str, dt.date, str, str]]
    ) -> None:
        ref = _ref(res)
        shown = _Shown(res.get("code"))
        verification = self.status_codes(res, "verificationStatus", shown)
        clinical = self.status_codes(res, "clinicalStatus", shown)
        if "entered-in-error" in verification:
            self.note(NoteKind.EXCLUDED, ref, shown, "verificationStatus entered-in-error")
            return
        found = _fact_of(res.get("code"))
        if found is None:
            self.note(NoteKind.UNRECOGNISED, ref, shown, "no verified code binding and no neuroguide code")
            return
        fact, entry = found
        refuted = "refuted" in verification
        onset = self.onset(res, shown)
        # for a diabetes code, past-ness matters only to the second finding it names (a healed E11.621 ulcer)
        abated = self.abated(res, shown, clinical)
        past = abated if abated is not None else any(c in ("inactive", "remission", "resolved") for c in clinical)
        current = not refuted and not past
        when = onset or _date_of(res.get("recordedDate")) or dt.date.min
        unconfirmed = [str(c) for c in verification if c in ("unconfirmed", "provisional", "differential")]
        others = t.implied(entry.system.uri, entry.code) if entry is not None and not refuted else ()
        for other in others:
            # the code's own wording names a second finding (codes.toml [[implies]]): true while current, never false;
            # a lasting disease named by a past Condition still holds (a healed ischaemic ulcer's artery disease)
            if current or (other in _LASTING and not refuted):
                findings.setdefault(other, []).append(_Candidate(value=True, date=when, ref=ref))
        history = [h for f in (fact, *others) for h in t.history_of(f)] if past and not refuted else []
        for h in dict.fromkeys(history):
            # a resolved foot ulcer is a history of foot ulcer (codes.toml [[history]]): true, never false
            findings.setdefault(h, []).append(_Candidate(value=True, date=when, ref=ref))
            self.used.append(ref)
        binding = t.bindings().get(fact)
        is_history = binding is not None and binding.history
        if unconfirmed and not refuted and (current or history or is_history or fact == "diabetes"):
            # an urgent finding is better shown than hidden; the clinician sees that it rests on an unconfirmed entry
            read_as = ", ".join(dict.fromkeys([*history] if past and not is_history else [fact, *history]))
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                shown,
                f"verificationStatus {', '.join(unconfirmed)}: read as {read_as} present, though not confirmed",
            )
        if not clinical and not refuted and abated is None and (fact != "diabetes" or others):
            # a missing status must not hide a red flag: read as active, and say so (with the onset, to judge by)
            since = f" (onset {onset})" if onset is not None else ""
            self.note(NoteKind.ASSUMPTION, ref, shown, f"no clinical status: read as active{since}")
        if fact == "diabetes":
            if refuted:
                self.note(NoteKind.EXCLUDED, ref, shown, "verificationStatus refuted: not read as diabetes")
                return
            display = getattr(entry, "display", "")
            kind = t.diabetes_type(display)
            if kind == "other":
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    "the code names neither type 1 nor type 2; read as diabetes type 'other' "
                    "(type-specific rules do not apply)",
                )
            if onset is None:
                onset = _date_of(res.get("recordedDate"))
                if onset is None:
                    raise InputError(
                        f"{ref}.onsetDateTime",
                        None,
                        "an onset date for the diabetes diagnosis (onsetDateTime, onsetPeriod.start, onsetAge or "
                        "recordedDate)",
                    )
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"no onset recorded; the diagnosis date is taken from recordedDate ({onset})",
                )
            diabetes.append((kind, onset, ref, str(shown)))
            self.used.append(ref)
            return
        spec = vocabulary()[fact]
        if spec.type != "boolean":
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                shown,
                f"{fact} is a {spec.type} fact; a Condition can only give a true/false finding",
            )
            return
        if refuted and is_history:
            self.note(
                NoteKind.EXCLUDED,
                ref,
                shown,
                f"verificationStatus refuted: {fact} is a history fact, and ruling a condition out now says nothing "
                "about the past; not read",
            )
            return
        if refuted and entry is not None and not t.refutes(fact, entry.code):
            self.note(
                NoteKind.EXCLUDED,
                ref,
                shown,
                f"verificationStatus refuted: the code names one kind of {fact}, so refuting it does not say "
                f"{fact} is absent; not read",
            )
            return
        if past and not is_history:
            read_as = f"; read as {', '.join(dict.fromkeys(history))}" if history else ""
            why = (
                f"clinicalStatus {', '.join(str(c) for c in clinical)}"
                if abated is None
                else "abated on or before the evaluation date"
            )
            self.note(NoteKind.EXCLUDED, ref, shown, f"{why}: not read as a current finding{read_as}")
            return
        findings.setdefault(fact, []).append(_Candidate(value=not refuted, date=when, ref=ref, refuted=refuted))
        self.used.append(ref)

    def status_codes(self, res: Mapping[str, Any], name: str, shown: _Shown) -> list[Any]:
        """The codes of a Condition's clinical or verification status; a bare code (the STU3 form) read, and noted."""
        value = res.get(name)
        if isinstance(value, str):
            self.note(
                NoteKind.ASSUMPTION,
                _ref(res),
                shown,
                f"{name} given as the bare code {value!r} (FHIR STU3 and earlier); FHIR R4 wants a CodeableConcept: "
                "read as that code",
            )
            return [value]
        return [c.get("code") for c in _codings(value)]

    def onset(self, res: Mapping[str, Any], shown: _Shown) -> dt.date | None:
        """The onset date of a Condition: onsetDateTime, onsetPeriod.start or onsetAge, a partial date as its first day.

        The earliest day the record allows is taken (a diagnosis "in 2015" as 1 January 2015, "at 52" as the 52nd
        birthday): a longer duration of diabetes brings its screening forward, never later.
        """
        ref = _ref(res)
        for name, value in (
            ("onsetDateTime", res.get("onsetDateTime")),
            ("onsetPeriod.start", _map(res.get("onsetPeriod")).get("start")),
        ):
            if value is None:
                continue
            date = _date_of(value)
            if date is not None:
                return date
            first = _first_day(value)
            if first is not None:
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"{name} {value!r} is a partial date: read as its first day, {first} (the earliest it allows)",
                )
                return first
            self.note(NoteKind.ASSUMPTION, ref, shown, f"{name} {value!r} is not a date; the onset is not used")
        age = res.get("onsetAge")
        if age is not None:
            years = _number(_map(age).get("value"))
            if (
                _map(age).get("code") == "a"
                and _map(age).get("system") == _UCUM
                and self.birth_date is not None
                and years is not None
                and years >= 0
                and years == int(years)
            ):
                first = _add_years(self.birth_date, int(years))
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"onsetAge {_shown_age(age)}: read as the birthday at that age, {first} (the earliest it allows)",
                )
                return first
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                shown,
                f"onsetAge {_shown_age(age)} cannot be placed in time (needs a birth date and a whole age in UCUM "
                "years, 'a'); the onset is not used",
            )
        if isinstance(res.get("onsetString"), str):
            self.note(
                NoteKind.ASSUMPTION, ref, shown, f"onsetString {res['onsetString']!r} is text; the onset is not used"
            )
        if isinstance(res.get("onsetRange"), Mapping):
            self.note(NoteKind.ASSUMPTION, ref, shown, "onsetRange (an age range) is not read; the onset is not used")
        return None

    def abated(self, res: Mapping[str, Any], shown: _Shown, clinical: list[Any]) -> bool | None:
        """Whether ``abatement[x]`` says the Condition had ended by the evaluation date (``None``: not stated).

        An abatement on or before the evaluation date makes the Condition past (a healed ulcer), whatever its
        clinicalStatus says; one after it leaves the Condition current at that date.
        """
        ref = _ref(res)
        status = ", ".join(str(c) for c in clinical)
        when: dt.date | None = None
        if "abatementDateTime" in res:
            when = _date_of(res["abatementDateTime"])
        elif isinstance(res.get("abatementPeriod"), Mapping) and "end" in res["abatementPeriod"]:
            when = _date_of(res["abatementPeriod"]["end"])
        elif "abatementAge" in res:
            when = self.abatement_age(res["abatementAge"])
            if when is None:
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"abatementAge {_shown_age(res['abatementAge'])} cannot be placed in time (needs a birth date and "
                    "an age in years); the abatement is not used",
                )
                return None
        elif isinstance(res.get("abatementString"), str) and res["abatementString"].strip():
            return self.past_abatement(ref, shown, clinical, f"abatementString {res['abatementString']!r}")
        elif res.get("abatementBoolean") is True:
            return self.past_abatement(ref, shown, clinical, "abatementBoolean true")
        else:
            return None
        if when is None:
            self.note(
                NoteKind.ASSUMPTION, ref, shown, "abatement without a full date (YYYY-MM-DD); the abatement is not used"
            )
            return None
        if self.as_of is not None and when > self.as_of:
            if any(c in ("inactive", "remission", "resolved") for c in clinical):
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"clinicalStatus {status}, but abated on {when}, after the evaluation date {self.as_of}: "
                    "read as current at the evaluation date",
                )
            return False
        return self.past_abatement(ref, shown, clinical, f"abated on {when}")

    def past_abatement(self, ref: str, shown: _Shown, clinical: list[Any], what: str) -> bool:
        if clinical and not any(c in ("inactive", "remission", "resolved") for c in clinical):
            status = ", ".join(str(c) for c in clinical)
            self.note(
                NoteKind.CONFLICT,
                ref,
                shown,
                f"clinicalStatus {status}, but {what} (on or before the evaluation date): read as past",
            )
        return True

    def abatement_age(self, age: Any) -> dt.date | None:
        """The latest date an abatementAge (in whole years) can stand for, or ``None`` when it cannot be placed."""
        if not isinstance(age, Mapping) or self.birth_date is None or age.get("code") != "a":
            return None
        years = _number(age.get("value"))
        if years is None or years < 0 or years != int(years):
            return None
        try:  # the last day of that year of life: an abatement "at 40" may be any day before the 41st birthday
            return self.birth_date.replace(year=self.birth_date.year + int(years) + 1) - dt.timedelta(days=1)
        except ValueError:  # born on 29 February
            return dt.date(self.birth_date.year + int(years) + 1, 3, 1) - dt.timedelta(days=1)

    def diabetes(self, found: list[tuple[str, dt.date, str, str]]) -> dict[str, str]:
        kinds = {k for k, *_ in found if k != "other"}
        refs = ", ".join(r for _, _, r, _ in found)
        if len(kinds) > 1:
            raise InputError("Condition", refs, "one diabetes type; the record codes both type 1 and type 2 diabetes")
        kind = kinds.pop() if kinds else "other"
        diagnosed = min(d for _, d, _, _ in found)
        self.sources["diabetes"] = self.sources["diabetes.diagnosed"] = refs
        return {"type": kind, "diagnosed": diagnosed.isoformat()}

    # -- Observation

    def observation(
        self, res: dict[str, Any], findings: dict[str, list[_Candidate]], measurements: dict[str, list[_Candidate]]
    ) -> None:
        ref = _ref(res)
        shown = _Shown(res.get("code"))
        status = res.get("status")
        if not isinstance(status, str) or status not in _OBS_USED:
            self.note(
                NoteKind.EXCLUDED, ref, shown, f"status {status!r}: only final, amended or corrected results are used"
            )
            return
        found = _fact_of(res.get("code"))
        if found is None:
            parts = [_map(c) for c in _items(res.get("component"))]
            used = [c for c in parts if _fact_of(c.get("code")) is not None]
            codes = ", ".join(_shown(c.get("code")) for c in parts if c not in used)
            left = f"; its components ({codes}) are not read either" if codes else ""
            if not used or left:
                self.note(NoteKind.UNRECOGNISED, ref, shown, f"no verified code binding and no neuroguide code{left}")
            for part in used:  # a component with a code of its own is that result, taken with the panel
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    _Shown(part.get("code")),
                    f"read from a component of {shown}, with the panel's status and date",
                )
                values = {k: v for k, v in part.items() if k.startswith("value") or k == "dataAbsentReason"}
                whole = {
                    k: v
                    for k, v in res.items()
                    if not k.startswith("value") and k not in ("component", "dataAbsentReason")
                }
                self.observation({**whole, "code": part.get("code"), **values}, findings, measurements)
            return
        named = _facts_named(res.get("code"))
        kept = _specific(named)
        if len(kept) > 1:  # one value cannot be two measurements: which one the sender meant is unknown
            self.note(NoteKind.CONFLICT, ref, shown, f"the codes name different facts ({', '.join(named)}); not used")
            return
        if len(kept) < len(named):
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                shown,
                f"coded both as {' and '.join(named)}: read as {kept[0]}, the narrower code of the same sample",
            )
        fact = found[0]
        spec = vocabulary()[fact]
        effective = _map(res.get("effectivePeriod"))
        start, end = _date_of(effective.get("start")), _date_of(effective.get("end"))
        if start is not None and end is not None and end < start:
            self.note(NoteKind.EXCLUDED, ref, shown, f"effectivePeriod ends ({end}) before it starts ({start})")
            return
        date = _date_of(res.get("effectiveDateTime")) or _date_of(res.get("effectiveInstant")) or end or start
        partial = res.get("effectiveDateTime")
        if date is None and isinstance(partial, str) and _first_day(partial) is not None:
            self.note(
                NoteKind.EXCLUDED,
                ref,
                shown,
                f"effectiveDateTime {partial!r} gives only a year or a month: which result is the latest, and whether "
                "it is recent enough, cannot be told; not used",
            )
            return
        if date is None and isinstance(res.get("issued"), str):
            self.note(
                NoteKind.EXCLUDED,
                ref,
                shown,
                f"no effective date; issued ({res['issued']}) is when the result was reported, not when it was "
                "measured, so it cannot be placed in time",
            )
            return
        if not self.dated(res, date, shown):
            return
        assert date is not None
        if self.birth_date is not None and date < self.birth_date:
            self.note(NoteKind.EXCLUDED, ref, shown, f"dated {date}, before the birth date {self.birth_date}")
            return
        given = [k for k in res if isinstance(k, str) and k.startswith("value") and res[k] is not None]
        if given and res.get("dataAbsentReason") is not None:
            # FHIR R4 invariant obs-6: dataAbsentReason only when there is no value. Which one is true is unknown.
            self.note(
                NoteKind.CONFLICT,
                ref,
                f"{fact} ({shown})",
                f"both {', '.join(given)} and dataAbsentReason {_shown(res['dataAbsentReason'])} (FHIR R4 invariant "
                "obs-6 allows a dataAbsentReason only without a value); not used",
            )
            return
        value: Any = None
        if spec.type == "boolean":
            value = res.get("valueBoolean") if isinstance(res.get("valueBoolean"), bool) else None
        elif spec.type == "number" and isinstance(res.get("valueString"), str) and _DECIMAL.match(res["valueString"]):
            value = float(res["valueString"])  # a plain number (an index has no unit) sent as text, as some systems do
            self.note(
                NoteKind.ASSUMPTION, ref, f"{fact} valueString {res['valueString']!r}", f"read as the number {value:g}"
            )
        elif spec.type in ("quantity", "number"):
            value = self.quantity(res, fact, spec.type, shown)
            if value is False:
                q = res.get("valueQuantity")
                if fact in _B12_RESULTS and isinstance(q, Mapping) and q.get("comparator"):
                    # "<150 ng/L" is not an exact value, but it is a B12 measurement on that date
                    self.b12_tests.append(_Candidate(value=date, date=date, ref=ref))
                return
        if value is None:
            present = [k for k in res if k.startswith("value")] or ["no value"]
            reason = res.get("dataAbsentReason")
            why = (
                f"dataAbsentReason {_shown(reason)}"
                if reason
                else f"{', '.join(present)} cannot give a {spec.type} fact"
            )
            self.note(NoteKind.EXCLUDED, ref, f"{fact} ({shown})", why)
            return
        code = found[1]
        if isinstance(value, str) and isinstance(code, t.Code) and _unit_differs(code, value):
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"{fact} {value} under {code.system.name} {code.code}",
                f"the code is for a {code.concentration} concentration ({code.display}) and the unit is not: "
                "the value was converted by its unit; check that the laboratory's unit is right",
            )
        target = findings if spec.type == "boolean" else measurements
        target.setdefault(fact, []).append(
            _Candidate(value=value, date=date, ref=ref, issued=str(res.get("issued", "")), at=_when(res))
        )
        self.used.append(ref)

    def quantity(self, res: Mapping[str, Any], fact: str, kind: str, shown: str | _Shown) -> Any:
        ref = _ref(res)
        if kind == "number" and isinstance(res.get("valueInteger"), int):
            return float(res["valueInteger"])
        q = res.get("valueQuantity")
        if not isinstance(q, Mapping):
            return None
        number = _number(q.get("value"))
        if number is None:
            return None
        if isinstance(q.get("value"), str):
            self.note(
                NoteKind.NONCONFORMANT,
                ref,
                f"{fact} valueQuantity.value {q['value']!r}",
                f"a JSON string where FHIR requires a JSON number; read as {_num_text(number)}",
            )
        comparator = q.get("comparator")
        if comparator and (kind == "number" or fact not in LIMITED):
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"{fact} {comparator}{q.get('value')}",
                "a value with a comparator (<, >) is not an exact result, and this fact is not read from a limit",
            )
            return False
        code = q.get("code")
        if kind == "number":
            if code in (None, "1") and q.get("system") in (None, _UCUM):
                return number
            self.note(NoteKind.UNRECOGNISED, ref, f"{fact} unit {code!r}", "a plain number (UCUM '1') was expected")
            return False
        if q.get("system") != _UCUM or not isinstance(code, str):
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                f"{fact} {q.get('value')} {q.get('unit', '')}".strip(),
                "the unit is not given as a UCUM code (system http://unitsofmeasure.org)",
            )
            return False
        unit = t.ucum_unit(code)
        if unit is None:
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                f"{fact} unit {code!r}",
                "not a UCUM unit neuroguide accepts (see the codes page)",
            )
            return False
        if not self.unit_agrees(ref, fact, q, unit):
            return False
        text = f"{_num_text(number)} {unit}"
        if comparator and not self.limit(ref, fact, str(comparator), text):
            return False
        self.sources[f"measurements.{fact}"] = ref
        # a limit read stays a limit in the patient ("<150 pg/mL"): shown as one wherever the value is shown
        return f"{comparator}{text}" if comparator else text

    def limit(self, ref: str, fact: str, comparator: str, text: str) -> bool:
        """Whether a result given only as below or above a limit is read (see ``_limits``), with a note.

        A usable limit is always read: it decides each threshold lying wholly on one side of it. When a threshold
        of a guideline version in effect lies inside it, the note says which (kind ``undecided``); the assessment
        flags it too, as for a patient document.
        """
        shown = f"{fact} {comparator}{text}"
        if comparator not in SIDES:
            # the value apart from the comparator: "5" before "150 ng/L" would read as a value of 5150 ng/L
            self.note(
                NoteKind.EXCLUDED, ref, f"{fact} {text}", f"comparator {comparator!r} is not a limit (<, <=, >, >=)"
            )
            return False
        try:
            value = Patient.from_dict({"measurements": {fact: f"{comparator}{text}"}}).normalized[fact]
        except InputError as exc:
            self.note(NoteKind.EXCLUDED, ref, shown, f"the limit itself is not a usable value: expected {exc.expected}")
            return False
        assert isinstance(value, Bound)
        side = SIDES[comparator][0]
        found = straddled(fact, value, _in_effect(self.as_of), frozenset({Status.APPROVED}), True)
        if found:
            self.note(
                NoteKind.UNDECIDED,
                ref,
                shown,
                f"known only to be {side} {text}: read as {comparator}{text} (not a measured value); it leaves "
                f"undecided {'; '.join(found)}, so each such comparison is unknown; every threshold lying wholly "
                "on one side of it is decided by it",
            )
            return True
        self.note(
            NoteKind.ASSUMPTION,
            ref,
            shown,
            f"known only to be {side} {text}; every threshold the guidelines apply to {fact} lies wholly on one "
            f"side of it, so each is decided as the true value would decide it: read as {comparator}{text} "
            "(not a measured value)",
        )
        return True

    def unit_agrees(self, ref: str, fact: str, q: Mapping[str, Any], unit: str) -> bool:
        """False (and a conflict noted) when the shown ``unit`` is of another dimension than the UCUM ``code``.

        The code is the computable unit and is what is read; a shown unit of the same dimension but another
        scale (``g/L`` under ``mg/dL``) is noted. A shown unit that is not a unit neuroguide reads (free text
        such as "milligram per decilitre") is display text and is not compared.
        """
        text = q.get("unit")
        if not isinstance(text, str) or not text.strip():
            return True
        shown = t.ucum_unit(text) or text.strip()
        try:
            kind = dimension(shown)
        except InputError:
            return True  # display text, not a unit neuroguide reads
        if shown == unit or (kind == dimension(unit) and scale(shown, unit) == 1.0):
            return True  # the same unit spelled another way (mg/dl)
        what = f"{fact} {q.get('value')} unit {text!r}, code {q.get('code')!r}"
        same = kind == dimension(unit)
        if not same:
            self.note(
                NoteKind.CONFLICT,
                ref,
                what,
                "the unit shown and the UCUM code are of different kinds (e.g. a mass and a molar concentration): "
                "which one the value is in is unknown; not used",
            )
            return False
        self.note(
            NoteKind.ASSUMPTION,
            ref,
            what,
            f"the unit shown disagrees with the UCUM code; the value was read in the code's unit ({unit})",
        )
        return True

    def latest(self, group: str, fact: str, found: list[_Candidate]) -> Any:
        present = [c for c in found if c.value is True and not c.refuted]
        refuted = [c for c in found if c.refuted]
        if present and refuted:
            # refuting one code (one cancer, one ulcer) does not refute another one that is present: never hide it
            for c in refuted:
                self.note(
                    NoteKind.CONFLICT,
                    c.ref,
                    f"{fact} refuted",
                    f"another record gives {fact} as present ({present[0].ref}); the refuted code does not outweigh it",
                )
            found = [c for c in found if not c.refuted]
        newest = max(c.date for c in found)
        same = [c for c in found if c.date == newest]
        chosen = max(same, key=lambda c: (c.at, c.issued))
        if len(same) > 1 and len({orjson.dumps(c.value, default=str) for c in same}) > 1:
            values = "; ".join(f"{c.ref}: {c.value}" for c in same)
            self.note(
                NoteKind.CONFLICT,
                chosen.ref,
                f"{fact} on {newest}",
                f"different values on the same day ({values}); the one taken last (or, at the same time, issued "
                "last) was used",
            )
        self.sources[f"{group}.{fact}"] = chosen.ref
        return chosen.value

    # -- Procedure

    def procedure(
        self,
        res: dict[str, Any],
        findings: dict[str, list[_Candidate]],
        last: dict[str, list[_Candidate]],
        foot: dict[dt.date, dict[str, str]],
    ) -> None:
        ref = _ref(res)
        shown = _Shown(res.get("code"))
        status = res.get("status")
        if not isinstance(status, str) or status not in _PROC_USED:
            self.note(NoteKind.EXCLUDED, ref, shown, f"status {status!r}: only completed procedures are used")
            return
        found = _fact_of(res.get("code"))
        if found is None:
            self.note(NoteKind.UNRECOGNISED, ref, shown, "no verified code binding and no neuroguide code")
            return
        fact, entry = found
        performed = _map(res.get("performedPeriod"))
        date = (
            _date_of(res.get("performedDateTime")) or _date_of(performed.get("end")) or _date_of(performed.get("start"))
        )
        spec = vocabulary()[fact]
        if spec.type == "boolean":  # e.g. an amputation: true whatever its date
            findings.setdefault(fact, []).append(_Candidate(value=True, date=date or dt.date.min, ref=ref))
            self.used.append(ref)
            return
        if not self.dated(res, date, shown):
            return
        assert date is not None
        if fact == "last-foot-exam" and isinstance(entry, t.Code):
            foot.setdefault(date, {})[entry.code] = ref
        elif spec.type == "date" and fact.startswith("last-"):
            last.setdefault(fact.removeprefix("last-"), []).append(_Candidate(value=date, date=date, ref=ref))
        else:
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                shown,
                f"{fact} is a {spec.type} fact; a Procedure gives a date or a true finding",
            )
            return
        self.used.append(ref)

    def foot_exams(self, foot: dict[dt.date, dict[str, str]], last: dict[str, list[_Candidate]]) -> None:
        complete = [d for d, parts in foot.items() if set(parts) >= set(_FOOT_PARTS)]
        newest = max(complete) if complete else None
        if newest is not None:
            refs = ", ".join(foot[newest].values())
            last.setdefault("foot-exam", []).append(_Candidate(value=newest, date=newest, ref=refs))
        for date, parts in sorted(foot.items()):
            if set(parts) >= set(_FOOT_PARTS) or (newest is not None and date < newest):
                continue
            lacking = ", ".join(v for k, v in _FOOT_PARTS.items() if k not in parts)
            self.note(
                NoteKind.EXCLUDED,
                ", ".join(parts.values()),
                f"foot examination parts on {date}",
                f"incomplete (no {lacking} recorded that day): a foot examination needs all three",
            )

    # -- medications

    def medication(self, res: dict[str, Any], *, draft: bool = False) -> dict[str, Any] | None:
        ref = _ref(res)
        kind = res["resourceType"]
        status = res.get("status")
        allowed = _MS_USED if kind == "MedicationStatement" else _MR_USED
        if draft:
            allowed = frozenset({"draft", "active"})
        concept = res.get("medicationCodeableConcept")
        reference: Any = None
        target: Mapping[str, Any] | None = None
        if concept is None and isinstance(res.get("medicationReference"), Mapping):
            reference = res["medicationReference"].get("reference")
            target = self.medication_target(res, reference)
            concept = target.get("code") if target else None
        if concept is None and reference is None and isinstance(res.get("medication"), Mapping):
            # FHIR R5 gives the drug as ``medication`` (a CodeableReference); R4 has medication[x]
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                f"medication {_shown(_map(res['medication']).get('concept'))}",
                "given as 'medication' (a CodeableReference, the FHIR R5 form) with status "
                f"{status!r}; neuroguide reads FHIR R4 (medicationCodeableConcept or medicationReference): not read",
            )
            return None
        shown = _Shown(concept)
        if not isinstance(status, str) or status not in allowed:
            self.note(NoteKind.EXCLUDED, ref, shown, f"status {status!r}: not a medication taken")
            return None
        if res.get("doNotPerform") is True:
            self.note(NoteKind.EXCLUDED, ref, shown, "doNotPerform: an order NOT to give it; not a medication taken")
            return None
        intent = res.get("intent")
        if kind == "MedicationRequest" and not draft and intent in ("proposal", "option"):
            self.note(NoteKind.EXCLUDED, ref, shown, f"intent {intent}: not an order; not read as a medication taken")
            return None
        ambiguous = self.medications_index.get(self.target(reference) or "", {}) is None
        if reference is not None and concept is None:
            if not ambiguous:
                self.note(
                    NoteKind.UNRECOGNISED,
                    ref,
                    f"medicationReference {reference!r}",
                    "names no Medication with a code in the data (in the Bundle or contained in the resource); "
                    "the drug is unknown",
                )
            return None
        parts = [_map(i).get("itemCodeableConcept") for i in _items(target.get("ingredient"))] if target else []
        name = self.medication_name(ref, concept, [p for p in parts if isinstance(p, Mapping)])
        if name is None:
            return None
        med: dict[str, Any] = {"agent": name}
        dosages = res.get("dosage") if kind == "MedicationStatement" else res.get("dosageInstruction")
        dosage = dosages[0] if isinstance(dosages, list) and dosages and isinstance(dosages[0], Mapping) else None
        lines = len(dosages) if isinstance(dosages, list) else 0
        several = lines > 1
        if several:
            # A split or stepped dose (300 mg in the morning, 600 mg at night): one line alone would under-count
            # the day's total, and adding lines is wrong for steps in sequence, so the dose is not checked.
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"{lines} dosage lines",
                "a split or stepped dose is not added up; the dose is not checked (route and dates from the first)",
            )
        bounds: Mapping[str, Any] = {}
        if dosage is not None:
            if not several:
                self.dose(ref, dosage, med, strength(target))
            route = dosage.get("route")
            route_name = route.get("text") if isinstance(route, Mapping) else None
            route_name = route_name or next((c.get("display") for c in _codings(route) if c.get("display")), None)
            if isinstance(route_name, str):
                med["route"] = route_name.strip().lower()
            bounds = _map(_map(_map(dosage.get("timing")).get("repeat")).get("boundsPeriod"))
        period = res.get("effectivePeriod") if kind == "MedicationStatement" else bounds
        period = period if isinstance(period, Mapping) else {}
        started = _date_of(period.get("start")) or _date_of(res.get("effectiveDateTime"))
        if started is None and kind == "MedicationRequest":
            started = _date_of(res.get("authoredOn"))
        stopped = _date_of(period.get("end"))
        if status in _PAST and stopped is None and not draft:
            stopped = self.stop_date(res, shown, started)
        elif status == "intended" and not draft:
            self.note(NoteKind.ASSUMPTION, ref, shown, "status intended: read as taken, though it may not be started")
        elif status == "on-hold" and not draft:
            self.note(NoteKind.ASSUMPTION, ref, shown, "status on-hold: read as taken (held for now, to resume)")
        if kind == "MedicationRequest" and not draft and intent == "plan":
            # Some record systems send documented home medications as plans: dropping them would hide a drug taken.
            self.note(NoteKind.ASSUMPTION, ref, shown, "intent plan: read as taken, though it is not an order")
        if started is not None:
            med["started"] = started.isoformat()
        if stopped is not None:
            med["stopped"] = stopped.isoformat()
        for ext in _items(res.get("extension")):
            if isinstance(ext, Mapping) and ext.get("url") == CUMULATIVE_DOSE_URL:
                total = self.ucum_text(ref, ext.get("valueQuantity"), "cumulative dose")
                if total is not None:
                    med["cumulative"] = total
        reasons = _items(res.get("reasonCode"))
        if reasons and isinstance(reasons[0], Mapping) and reasons[0].get("text"):
            med["indication"] = str(reasons[0]["text"])
        self.used.append(ref)
        return med

    def medication_target(self, res: Mapping[str, Any], reference: Any) -> Mapping[str, Any] | None:
        """The Medication a reference names: one contained in the resource ("#id") or one in the data."""
        if isinstance(reference, str) and reference.startswith("#"):
            contained = res.get("contained") or []
            return next(
                (
                    c
                    for c in contained
                    if isinstance(c, Mapping)
                    and c.get("resourceType") == "Medication"
                    and f"#{c.get('id')}" == reference
                ),
                None,
            )
        target = self.target(reference)
        if target is None:
            return None
        self.referenced.add(target)
        if target in self.medications_index and self.medications_index[target] is None:
            self.note(
                NoteKind.CONFLICT,
                _ref(res),
                f"medicationReference {reference!r}",
                f"more than one different Medication is named {target}; which one is meant is not known",
            )
        return self.medications_index.get(target)

    def stop_date(self, res: Mapping[str, Any], shown: _Shown, started: dt.date | None) -> dt.date | None:
        """The stop date of a medication whose status says it ended but that gives no end date."""
        status = res.get("status")
        asserted = _date_of(res.get("dateAsserted")) if res["resourceType"] == "MedicationStatement" else None
        if asserted is not None and (started is None or asserted >= started):
            self.note(
                NoteKind.ASSUMPTION,
                _ref(res),
                shown,
                f"status {status} without an end date: read as stopped by {asserted} (dateAsserted, the date the "
                "statement was made)",
            )
            return asserted
        self.note(
            NoteKind.ASSUMPTION,
            _ref(res),
            shown,
            f"status {status} without an end date: when it stopped is not recorded, so it is read as still taken "
            "(its dose is checked and it counts as current); give the end date (effectivePeriod.end or "
            "boundsPeriod.end) to read it as stopped",
        )
        return None

    def medication_name(self, ref: str, concept: Any, parts: Sequence[Mapping[str, Any]] = ()) -> str | None:
        """The drug a medication concept names: a verified RxNorm ingredient code first, else its text or display.

        ``parts`` are the ingredient codes of a Medication resource (``Medication.ingredient.itemCodeableConcept``):
        a product coded only as a clinical or branded drug (RxNorm SCD, SBD) is known by its verified ingredient.
        """
        text = concept.get("text") if isinstance(concept, Mapping) else None
        codings = _codings(concept)
        name = text or next((c.get("display") for c in codings if c.get("display")), None)
        name = name.strip() if isinstance(name, str) and name.strip() else None
        rx = [str(c.get("code")) for c in codings if c.get("system") == _RXNORM]
        rx_parts = [str(c.get("code")) for part in parts for c in _codings(part) if c.get("system") == _RXNORM]
        verified = [found for found in map(t.ingredient, [*rx, *rx_parts]) if found is not None]
        others = [c for c in rx if t.ingredient(c) is None]
        if others and verified and not any(t.ingredient(c) for c in rx):
            # the product code (SCD, SBD) is not an ingredient code; its ingredient is named by the Medication
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"RxNorm {', '.join(others)}",
                "a product code, not a verified ingredient code; read by the Medication's ingredient "
                f"{verified[0].code} ({verified[0].ingredient})",
            )
            others = []
        if len({i.ingredient for i in verified}) > 1:
            drugs = ", ".join(f"RxNorm {i.code} {i.ingredient}" for i in verified)
            self.note(NoteKind.CONFLICT, ref, drugs, "codes for different drugs in one medication; not read")
            return None
        if verified:
            drug = verified[0]
            if name is not None and key(name) == key(drug.display):
                name = None  # the code's own display says no more than the code: use the ingredient name
            if name is not None and not _same_drug(drug.ingredient, name):
                self.note(
                    NoteKind.CONFLICT,
                    ref,
                    f"RxNorm {drug.code} ({drug.display}) and the name {name!r}",
                    f"the verified code names {drug.ingredient}; the code was used",
                )
                name = None
            if others:
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    f"RxNorm {', '.join(others)}",
                    f"not a verified ingredient code; the verified code {drug.code} ({drug.ingredient}) was used",
                )
            # the name keeps what the code does not say (a release form, a brand); else the ingredient itself
            return name or drug.ingredient
        if name is None:
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                _Shown(concept),
                "no medication name, and no verified RxNorm ingredient code (see the codes page)",
            )
            return None
        if rx:
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"RxNorm {', '.join(rx)}",
                f"not a verified RxNorm ingredient code; matched by the name {name!r}",
            )
        return name


def draft_medication(resource: Mapping[str, Any]) -> tuple[Medication | None, tuple[Note, ...]]:
    """Read a draft MedicationRequest (a CDS Hooks ``draftOrders`` entry) as a :class:`~neuroguide.Medication`.

    Returns the medication (``None`` when it cannot be read) and the notes about what was not used.

    Raises:
        InputError: the resource is not a MedicationRequest, or a value in it is impossible.

    """
    if _MISSING_EXTRA is not None:  # pragma: no cover
        raise FhirExtraMissingError(f"neuroguide.fhir needs the optional extra: {install_hint('fhir')}")
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "MedicationRequest":
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else type(resource).__name__
        raise InputError("draftOrders.entry.resource", kind, "a MedicationRequest")
    reader = _Reader(as_of=None, strict=False)
    res = dict(resource)
    reader.check(res)
    med = reader.medication(res, draft=True)
    if med is None:
        return None, tuple(reader.notes)
    try:
        (medication,) = Patient.from_dict({"medications": [med]}).medications
    except InputError as exc:
        raise type(exc)(f"{_ref(res)} ({exc.field})", exc.value, exc.expected) from None
    return medication, tuple(reader.notes)


def resources_of(data: Mapping[str, Any] | Sequence[Any]) -> Iterable[dict[str, Any]]:
    """Every resource in a Bundle, prefetch object or list (nested Bundles opened)."""
    out: list[dict[str, Any]] = []
    _flatten(data, "fhir", out, None)
    return out


def _in_effect(as_of: dt.date | None) -> tuple[Guideline, ...]:
    """The guideline versions in effect on ``as_of`` (default today): those an assessment then evaluates."""
    return tuple(catalog().in_effect(as_of or dt.date.today()))
