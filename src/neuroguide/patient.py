"""The patient input: typed, from Python, from a dict, or from a JSON file."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from ._dates import as_date
from ._jsonin import loads
from ._limits import LIMITED, SIDES, split
from ._numeric import Bound
from ._plausible import check
from ._vocabulary import FactSpec, vocabulary
from .exceptions import InputError, InputProblemsError, UnitError, raise_all
from .model import Period
from .units import (
    Quantity,
    _check_magnitude,
    dimension,
    dimension_of,
    format_quantity,
    hba1c_ifcc_to_ngsp,
    is_quantity,
    magnitude,
    parse_quantity,
    unit_name,
    unit_symbol,
)

__all__ = ["Diabetes", "Flag", "FlagKind", "Medication", "Patient"]

_DIABETES_TYPES = ("type-1", "type-2", "other")
_PERIODS = ("day", "week", "month")


class FlagKind(enum.StrEnum):
    """Why an input was flagged rather than refused."""

    PROBABLE_UNIT_ERROR = "probable-unit-error"
    """Possible, but far likelier a value in another unit (e.g. HbA1c % labelled mmol/mol)."""
    PLACEHOLDER_DATE = "placeholder-date"
    """A date records systems use for 'unknown' (e.g. 1900-01-01)."""
    CONFLICT = "conflict"
    """A given value disagrees with the value derivable from other inputs."""
    CONTRADICTION = "contradiction"
    """Findings that contradict each other (e.g. no bladder or bowel dysfunction, yet urinary retention); none used."""
    IMPLAUSIBLE = "implausible"
    """A derived value outside what a person can have."""
    UNLOCKED = "unlocked"
    """A guideline file used that does not match the lock (allowed for guideline authors only)."""
    SITE_DECISION_NOT_APPLIED = "site-decision-not-applied"
    """A site decision names a guideline version other than the one used, so it does not apply."""
    UNDECIDED = "undecided"
    """A result known only as a limit ("<200 ng/L") with a threshold inside it.

    That comparison is unknown (its rule undetermined unless its other inputs decide it); the limit is used for
    every threshold it decides."""


@attrs.frozen(kw_only=True)
class Flag:
    """A visible warning about an input: the value was not used (it is unknown to every rule).

    An ``undecided`` flag is the exception: the limit is used wherever it decides a threshold.
    """

    field: str
    kind: FlagKind
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.kind.value}: {self.message}"


@attrs.frozen(kw_only=True)
class Diabetes:
    """A diabetes diagnosis: its type and the date it was made."""

    type: Literal["type-1", "type-2", "other"]
    diagnosed: dt.date


@attrs.frozen(kw_only=True)
class Medication:
    """A medication the patient takes or took.

    ``dose`` is the amount given per ``per`` period (e.g. ``"350 ug"`` per
    ``"day"``). ``cumulative`` is the total exposure so far, as a mass or a
    mass per body-surface area (``"600 mg/m2"``).
    """

    agent: str
    dose: Quantity | None = None
    per: Literal["day", "week", "month"] | None = None
    route: str | None = None
    started: dt.date | None = None
    stopped: dt.date | None = None
    cumulative: Quantity | None = None
    indication: str | None = None

    def active_on(self, date: dt.date) -> bool:
        """True if the medication is taken on ``date``.

        Both ends count: a drug is taken on its start date and on its stop date
        (the stop date is the last day taken), so a dose stopped on the
        evaluation date is still checked. An unknown start counts as started.
        """
        started = self.started is None or self.started <= date
        return started and (self.stopped is None or self.stopped >= date)

    def taken_by(self, date: dt.date) -> bool:
        """True if the medication was started on or before ``date`` (current or past exposure)."""
        return self.started is None or self.started <= date


@attrs.frozen(kw_only=True)
class Patient:
    """Everything ``assess`` may use about one person.

    Findings, measurements and last-assessment dates are keyed by fact names
    from the vocabulary (see the docs' input reference); an unknown name is refused
    as :meth:`from_dict` refuses it. A measurement is a quantity, or a bare number
    in the fact's canonical unit (written with that unit by :meth:`to_dict` and
    the record). Anything not given is unknown, never assumed normal. ``limits`` names the measurements known
    only as below or above a laboratory's limit, with the comparator
    (``{"b12-total": "<"}`` for "<150 pg/mL"); see ``measurements`` in the input reference.
    """

    id: str | None = None
    birth_date: dt.date | None = None
    age: float | None = None
    sex: Literal["female", "male"] | None = None
    diabetes: Diabetes | None = None
    findings: Mapping[str, bool] = attrs.field(factory=dict)
    measurements: Mapping[str, Quantity | float] = attrs.field(factory=dict)
    last: Mapping[str, dt.date] = attrs.field(factory=dict)
    medications: tuple[Medication, ...] = ()
    limits: Mapping[str, str] = attrs.field(factory=dict)
    normalized: Mapping[str, float] = attrs.field(init=False, eq=False, repr=False)
    _plain: dict[str, Any] | None = attrs.field(init=False, eq=False, repr=False, default=None)

    def __attrs_post_init__(self) -> None:
        # Convert every measurement to its canonical unit once, here at the
        # boundary, so evaluation runs on floats.
        _check_fields(self)
        vocab = vocabulary()
        names = _names(vocab)
        # unknown names are refused as from_dict refuses them (a typo never silently dropped); membership
        # tests on frozensets keep this cheap, the message with its hint is built only for a refusal
        if not (names.findings.issuperset(self.findings) and names.assessed.issuperset(self.last)):
            raise_all(
                [_unknown("findings", n, vocab, ("boolean",)) for n in self.findings if n not in names.findings]
                + [_unknown_last(n, vocab) for n in self.last if n not in names.assessed]
            )
        values: dict[str, float] = {}
        for name, value in self.measurements.items():
            spec = names.measured.get(name)
            field = f"measurements.{name}"
            if spec is None:
                raise _unknown("measurements", name, vocab, ("quantity", "number"))
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[name] = float(value)
                if spec.unit is not None:
                    # read in the canonical unit and written with it (to_dict): its size checked as that text is
                    # read, so the record can be read again
                    _check_magnitude(values[name], field, value)
            elif is_quantity(value):
                values[name] = to_canonical(spec, parse_quantity(value, field), field)
            else:
                raise InputError(field, value, "a pint quantity or a number")
            if not math.isfinite(values[name]):  # a NaN compares false with every threshold: read as normal
                raise InputError(field, value, "a finite number")
            if spec.integer and not values[name].is_integer():
                raise InputError(field, value, f"a whole number from {spec.low:g} to {spec.high:g}")
            _check_range(spec, values[name], field, value)
        for name, comparator in self.limits.items():
            # compared as its number, shown with its comparator (never as an exact result)
            values[name] = Bound(_limit_value(name, comparator, values), comparator)
        object.__setattr__(self, "normalized", values)

    @classmethod
    def _read(cls, normalized: dict[str, float], **fields: Any) -> Patient:
        """A patient whose measurements were converted to canonical units as they were read and checked."""
        out = cls.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(out, name, value)
        object.__setattr__(out, "limits", {})
        object.__setattr__(out, "normalized", normalized)
        object.__setattr__(out, "_plain", None)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Patient:
        """Build a patient from plain data (as read from JSON).

        Raises:
            InputError: a field is unknown, missing, of the wrong type, or impossible.

        """
        return _parse_patient(data)

    @classmethod
    def from_json(cls, source: str | Path) -> Patient:
        """Read a patient from JSON text, or from a JSON file given as a path.

        A ``str`` that looks like JSON (starts with ``{``, ``[``, a quote, a digit,
        or is empty) is parsed as text; any other ``str`` or a :class:`~pathlib.Path`
        is a file. Duplicate keys are an error, never silently dropped.

        Raises:
            InputError: the file is unreadable, the text is not JSON, or the patient is invalid
                (every problem listed).

        """
        if isinstance(source, str) and _looks_like_json(source.removeprefix("\ufeff")):
            text = source.removeprefix("\ufeff")  # a byte order mark, as some editors write (records too)
        elif isinstance(source, str | Path):
            try:
                text = Path(source).read_text(encoding="utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise InputError("file", str(source), "a UTF-8 encoded JSON file") from exc
            except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
                reason = getattr(exc, "strerror", None) or "not a readable path"
                raise InputError("file", str(source)[:200], f"a readable JSON file ({reason})") from exc
        else:
            raise InputError("patient", type(source).__name__, "JSON text (str) or the path of a JSON file")
        return _parse_patient(loads(text, "patient"))

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-data form (quantities as strings, dates as ISO)."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        if self.birth_date is not None:
            out["birth_date"] = self.birth_date.isoformat()
        if self.age is not None:
            out["age"] = self.age
        if self.sex is not None:
            out["sex"] = self.sex
        if self.diabetes is not None:
            out["diabetes"] = {"type": self.diabetes.type, "diagnosed": self.diabetes.diagnosed.isoformat()}
        if self.findings:
            out["findings"] = dict(self.findings)
        if self.measurements:
            out["measurements"] = {
                k: _measurement_text(k, v, self.limits.get(k, "")) for k, v in self.measurements.items()
            }
        if self.last:
            out["last"] = {k: v.isoformat() for k, v in self.last.items()}
        if self.medications:
            out["medications"] = [_medication_dict(m) for m in self.medications]
        return out

    def plain(self) -> Mapping[str, Any]:
        """The plain-data form, computed once (evaluation records share it; do not mutate it)."""
        if self._plain is None:
            object.__setattr__(self, "_plain", self.to_dict())
        assert self._plain is not None
        return self._plain

    def dates(self) -> dict[str, dt.date]:
        """Every date in the input, by field path (for the as_of check)."""
        found: dict[str, dt.date] = {}
        if self.birth_date is not None:
            found["birth_date"] = self.birth_date
        if self.diabetes is not None:
            found["diabetes.diagnosed"] = self.diabetes.diagnosed
        for name, date in self.last.items():
            found[f"last.{name}"] = date
        for i, med in enumerate(self.medications):
            if med.started is not None:
                found[f"medications[{i}].started"] = med.started
            if med.stopped is not None:
                found[f"medications[{i}].stopped"] = med.stopped
        return found


def _measurement_text(name: str, value: Quantity | float, comparator: str) -> Quantity | float | str:
    """A measurement as the plain data holds it: a quantity as text with its unit, a number fact as a number.

    A bare number given to the constructor for a quantity fact is read in the fact's canonical unit, so it is
    written with that unit (the plain data, and so the record, must say which unit it is in to be read again).
    """
    if is_quantity(value):
        return comparator + format_quantity(value, exact=True)  # type: ignore[arg-type]
    unit = vocabulary()[name].unit
    if unit is None:
        return value
    return f"{comparator}{float(value)!r} {unit}"


def _unknown(field: str, name: object, vocab: Mapping[str, FactSpec], kinds: tuple[str, ...]) -> InputError:
    """The error :func:`_spec` raises for a name that is not an input fact of these kinds."""
    try:
        _spec(field, name, vocab, kinds)  # type: ignore[arg-type]
    except InputError as exc:
        return exc
    raise AssertionError(name)  # pragma: no cover - called only for a name that is not one


def _unknown_last(name: object, vocab: Mapping[str, FactSpec]) -> InputError:
    """The error for a last-assessment name that is not one (as :func:`_last` gives it)."""
    known = sorted(n[5:] for n in vocab if n.startswith("last-"))
    hint = ""
    if isinstance(name, str):
        import difflib  # here: loaded only to suggest a name for one not known

        close = difflib.get_close_matches(name, known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return InputError(f"last.{name}", name, f"one of {', '.join(known)}{hint}")


def _check_fields(p: Patient) -> None:
    """Refuse a field of the wrong type given to the constructor (``from_dict`` names its own problems first)."""
    problems: list[InputError] = []

    def need(ok: bool, field: str, value: object, expected: str) -> None:
        if not ok:
            problems.append(InputError(field, value, expected))

    def is_date(x: object) -> bool:
        return isinstance(x, dt.date) and not isinstance(x, dt.datetime)

    need(p.id is None or isinstance(p.id, str), "id", p.id, "a string or None")
    need(p.birth_date is None or is_date(p.birth_date), "birth_date", p.birth_date, "a datetime.date or None")
    age = p.age
    if age is not None:
        if not isinstance(age, int | float) or isinstance(age, bool):
            need(False, "age", age, "a number of years or None")
        elif not (math.isfinite(age) and 0 <= age <= 120):
            need(False, "age", age, "an age in years from 0 to 120")
    need(p.sex in (None, "female", "male"), "sex", p.sex, "'female', 'male' or None")
    need(p.diabetes is None or isinstance(p.diabetes, Diabetes), "diabetes", p.diabetes, "a Diabetes or None")
    for name, kind, expected in (
        ("findings", bool, "true or false"),
        ("measurements", object, ""),
        ("last", dt.date, "a datetime.date"),
        ("limits", str, "a comparator string"),
    ):
        value = getattr(p, name)
        if not isinstance(value, Mapping):
            need(False, name, value, f"a mapping of fact name -> {expected or 'quantity or number'}")
            continue
        for key, item in value.items():
            need(isinstance(key, str), name, key, "fact names as strings")
            ok = is_date(item) if kind is dt.date else isinstance(item, kind)
            need(ok, f"{name}.{key}", item, expected)
    meds: object = p.medications  # annotated a tuple; a caller may pass anything
    if not isinstance(meds, tuple | list):
        need(False, "medications", meds, "a tuple of Medication")
    else:
        for i, med in enumerate(meds):
            need(isinstance(med, Medication), f"medications[{i}]", med, "a Medication")
            if isinstance(med, Medication):
                need(
                    isinstance(med.agent, str) and bool(med.agent.strip()),
                    f"medications[{i}].agent",
                    med.agent,
                    "a drug name",
                )
                for key in ("started", "stopped"):
                    when = getattr(med, key)
                    need(when is None or is_date(when), f"medications[{i}].{key}", when, "a datetime.date or None")
        if isinstance(meds, list):
            object.__setattr__(p, "medications", tuple(meds))  # as annotated: the record and caches read a tuple
    raise_all(problems)


def _looks_like_json(text: str) -> bool:
    head = text.lstrip()[:1]
    return head == "" or head in '{["-' or head.isdigit() or text.strip() in ("null", "true", "false")


def _medication_dict(m: Medication) -> dict[str, Any]:
    out: dict[str, Any] = {"agent": m.agent}
    if m.dose is not None:
        out["dose"] = format_quantity(m.dose, exact=True)
    for key in ("per", "route", "indication"):
        value = getattr(m, key)
        if value is not None:
            out[key] = value
    for key in ("started", "stopped"):
        value = getattr(m, key)
        if value is not None:
            out[key] = value.isoformat()
    if m.cumulative is not None:
        out["cumulative"] = format_quantity(m.cumulative, exact=True)
    return out


# -- parsing -----------------------------------------------------------------

_TOP = ("id", "birth_date", "age", "sex", "diabetes", "findings", "measurements", "last", "medications")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class _Problems:
    """Collects every input problem, so one error lists them all."""

    def __init__(self) -> None:
        self.found: list[InputError] = []

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except InputProblemsError as exc:
            self.found.extend(exc.problems)
        except InputError as exc:
            self.found.append(exc)


def _parse_patient(data: Any) -> Patient:
    # Most documents are well formed: the quick reading accepts only those and leaves every other
    # document (anything odd, refused or flagged) to the full reading, which names every problem.
    quick = _quick_patient(data)
    return quick if quick is not None else _parse_checked(data)


class _Names:
    """The vocabulary's input names by kind, for the quick reading (worked out once per vocabulary)."""

    __slots__ = ("assessed", "cumulative_dims", "dose_dims", "findings", "last", "measured", "vocab")

    def __init__(self, vocab: Mapping[str, FactSpec]) -> None:
        self.vocab = vocab
        inputs = [s for s in vocab.values() if s.is_input]
        self.findings = frozenset(s.name for s in inputs if s.type == "boolean")
        self.measured = {s.name: s for s in inputs if s.type in ("quantity", "number")}
        self.last = frozenset(n for n in vocab if n.startswith("last-"))
        self.assessed = frozenset(n[5:] for n in self.last)  # the keys of ``last``
        self.dose_dims = (dimension("mg"), dimension("IU"))
        self.cumulative_dims = (dimension("mg"), dimension("mg/m2"))


_NAMES: list[_Names] = []
_TOP_SET = frozenset(_TOP)


def _names(vocab: Mapping[str, FactSpec]) -> _Names:
    if not _NAMES or _NAMES[0].vocab is not vocab:
        _NAMES[:] = [_Names(vocab)]
    return _NAMES[0]


def _text_ok(value: Any) -> bool:
    """A string that the full reading would accept as text (valid Unicode)."""
    return type(value) is str and (value.isascii() or _encodable(value))


def _quick_patient(data: Any) -> Patient | None:
    """The patient of a well-formed document, or None to leave the document to :func:`_parse_checked`.

    Accepts only plain dicts, lists, strings, numbers and booleans in the places the schema allows them,
    and returns a patient only when the full reading would return the same patient without a problem;
    anything else (a refusal, an odd type, a value to flag) gives None. Every check of the full reading
    is made here too, through the same helpers, or the document is handed over.
    """
    if type(data) is not dict or not _TOP_SET.issuperset(data):
        return None
    try:
        return _quick(data, _names(vocabulary()))
    except InputError:
        return None


def _quick(data: dict[str, Any], names: _Names) -> Patient | None:
    ident = data.get("id")
    if ident is not None and not _text_ok(ident):
        return None
    age = data.get("age")
    if age is not None:
        age = check("age", _number("age", age), "age", age, "an age in years")
    sex = data.get("sex")
    if sex is not None and sex not in ("female", "male"):
        return None
    birth = _date("birth_date", data.get("birth_date"))
    diabetes = data.get("diabetes")
    if diabetes is not None:
        if type(diabetes) is not dict:
            return None
        diabetes = _diabetes(diabetes)
    findings = data.get("findings", {})
    if type(findings) is not dict or not names.findings.issuperset(findings):
        return None
    for flag in findings.values():
        if flag is not True and flag is not False and flag is not None:
            return None
    if None in findings.values():
        findings = {name: flag for name, flag in findings.items() if flag is not None}
    else:
        findings = dict(findings)
    measured = data.get("measurements", {})
    if type(measured) is not dict:
        return None
    measurements: dict[str, Quantity | float] = {}
    normalized: dict[str, float] = {}
    for name, raw in measured.items():
        spec = names.measured.get(name)
        if spec is None:
            return None
        if raw is None:
            continue
        field = f"measurements.{name}"
        if spec.type == "number":
            number = _number(field, raw)
            if spec.integer and not number.is_integer():
                return None
            _check_range(spec, number, field, raw)
            measurements[name] = normalized[name] = number
            continue
        if not _text_ok(raw):
            return None
        q = parse_quantity(raw, field)
        if spec.name == "hba1c" and unit_name(q) not in ("percent", "millimole / mole"):
            return None
        value = to_canonical(spec, q, field)
        _check_range(spec, value, field, raw)
        measurements[name] = q
        normalized[name] = value
    given = data.get("last", {})
    if type(given) is not dict:
        return None
    last: dict[str, dt.date] = {}
    for name, raw in given.items():
        if type(name) is not str or f"last-{name}" not in names.last:
            return None
        date = _date(f"last.{name}", raw)
        if date is not None:
            last[name] = date
    listed = data.get("medications", [])
    if type(listed) is not list:
        return None
    medications = []
    for i, raw in enumerate(listed):
        if type(raw) is not dict or not _MEDICATION_SET.issuperset(raw):
            return None
        for value in raw.values():
            if value is not None and not _text_ok(value):
                return None
        medication = _quick_medication(f"medications[{i}]", raw, names)
        if medication is None:
            return None
        medications.append(medication)
    return Patient._read(
        normalized,
        id=ident,
        birth_date=birth,
        age=age,
        sex=sex,
        diabetes=diabetes,
        findings=findings,
        measurements=measurements,
        last=last,
        medications=tuple(medications),
    )


def _quick_medication(field: str, raw: dict[str, Any], names: _Names) -> Medication | None:
    """:func:`_medication` of a medication whose keys are known and whose values are text or None."""
    agent = raw.get("agent")
    if agent is None or not agent.strip():
        return None
    per = raw.get("per")
    if per is not None and per not in _PERIODS:
        return None
    dose = raw.get("dose")
    if dose is not None:
        dose = parse_quantity(dose, f"{field}.dose")
        if per is None or dose.magnitude <= 0 or dimension_of(dose) not in names.dose_dims:
            return None
    cumulative = raw.get("cumulative")
    if cumulative is not None:
        cumulative = parse_quantity(cumulative, f"{field}.cumulative")
        if dimension_of(cumulative) not in names.cumulative_dims or cumulative.magnitude < 0:
            return None
    started = _date(f"{field}.started", raw.get("started"))
    stopped = _date(f"{field}.stopped", raw.get("stopped"))
    if started is not None and stopped is not None and stopped < started:
        return None
    return Medication(
        agent=agent.strip(),
        dose=dose,
        per=per,
        route=raw.get("route"),
        started=started,
        stopped=stopped,
        cumulative=cumulative,
        indication=raw.get("indication"),
    )


def _parse_checked(data: Any) -> Patient:
    """The full reading: every problem of the document is found and named (the reference for the quick one)."""
    if not isinstance(data, Mapping):
        raise InputError("patient", type(data).__name__, "a JSON object (mapping) of patient fields")
    found = _Problems()
    found.found.extend(_bad_text(data, ""))
    for key in sorted(set(data) - set(_TOP), key=str):
        import difflib  # here: loaded only to suggest a name for one not known

        close = difflib.get_close_matches(str(key), _TOP, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        found.found.append(InputError(str(key), data[key], f"one of the patient fields {', '.join(_TOP)}{hint}"))
    vocab = vocabulary()
    ident = age = sex = birth = diabetes = None
    findings: dict[str, bool] = {}
    measurements: dict[str, Quantity | float] = {}
    last: dict[str, dt.date] = {}
    medications: tuple[Medication, ...] = ()
    with found.guard():
        ident = data.get("id")
        if ident is not None and not isinstance(ident, str):
            raise InputError("id", ident, "a string")
    with found.guard():
        if data.get("age") is not None:
            age = check("age", _number("age", data["age"]), "age", data["age"], "an age in years")
    with found.guard():
        sex = data.get("sex")
        if sex is not None and sex not in ("female", "male"):
            raise InputError("sex", sex, "'female' or 'male'")
    with found.guard():
        birth = _date("birth_date", data.get("birth_date"))
    with found.guard():
        diabetes = _diabetes(data.get("diabetes"))
    with found.guard():
        findings = _findings(data.get("findings", {}), vocab, found)
    limits: dict[str, str] = {}
    with found.guard():
        measurements = _measurements(data.get("measurements", {}), vocab, found, limits)
    with found.guard():
        last = _last(data.get("last", {}), vocab, found)
    with found.guard():
        medications = _medications(data.get("medications", []), found)
    raise_all(found.found)
    return Patient(
        id=ident,
        birth_date=birth,
        age=age,
        sex=sex,
        diabetes=diabetes,
        findings=findings,
        measurements=measurements,
        last=last,
        medications=medications,
        limits=limits,
    )


def _bad_text(value: Any, path: str) -> list[InputError]:
    """Every string (key or value) that is not valid Unicode (a lone surrogate cannot be written out)."""
    problems: list[InputError] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                problems.append(InputError(where or "patient", item, "valid Unicode text (no unpaired surrogates)"))
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and not _encodable(key):
                    problems.append(InputError(name, key, "a key of valid Unicode text (no unpaired surrogates)"))
                stack.append((name, sub))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", sub) for i, sub in enumerate(item))
    return problems


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, value, "a finite number")
    try:
        number = float(value)  # an int too large for a float (possible only from Python) overflows
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(field, value, "a finite number")
    return number


def _date(field: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    # Only the published form YYYY-MM-DD (the JSON Schema's pattern), not every ISO 8601 spelling.
    date = as_date(value) if isinstance(value, str) and _ISO_DATE.match(value) else None
    if date is None:
        raise InputError(field, value, "a date as YYYY-MM-DD")
    return date


def _diabetes(value: Any) -> Diabetes | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError("diabetes", value, "an object with 'type' and 'diagnosed'")
    problems: list[InputError] = []
    for key in sorted(set(value) - {"type", "diagnosed"}, key=str):
        problems.append(InputError(f"diabetes.{key}", value[key], "only 'type' and 'diagnosed'"))
    kind = value.get("type")
    if kind not in _DIABETES_TYPES:
        problems.append(InputError("diabetes.type", kind, f"one of {', '.join(_DIABETES_TYPES)}"))
    diagnosed = None
    try:
        diagnosed = _date("diabetes.diagnosed", value.get("diagnosed"))
        if diagnosed is None:
            problems.append(InputError("diabetes.diagnosed", None, "the diagnosis date as YYYY-MM-DD"))
    except InputError as exc:
        problems.append(exc)
    raise_all(problems)
    assert diagnosed is not None
    return Diabetes(type=kind, diagnosed=diagnosed)  # type: ignore[arg-type]


def _spec(field: str, name: str, vocab: Mapping[str, FactSpec], kinds: tuple[str, ...]) -> FactSpec:
    spec = vocab.get(name)
    if spec is not None and not spec.is_input:
        raise InputError(f"{field}.{name}", name, f"an input fact; {name!r} is derived ({spec.derived})")
    if spec is None:
        if not isinstance(name, str):  # possible only from Python (JSON keys are text); difflib needs a str
            raise InputError(f"{field}.{name}", name, f"a {'/'.join(kinds)} fact name (a string)")
        import difflib  # here: loaded only to suggest a name for one not known

        close = difflib.get_close_matches(name, [n for n, s in vocab.items() if s.type in kinds], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"{field}.{name}", name, f"a known {'/'.join(kinds)} fact name{hint}")
    if spec.type not in kinds:
        raise InputError(f"{field}.{name}", name, f"a {'/'.join(kinds)} fact; {name!r} is a {spec.type} fact")
    return spec


def _findings(value: Any, vocab: Mapping[str, FactSpec], found: _Problems) -> dict[str, bool]:
    if not isinstance(value, Mapping):
        raise InputError("findings", value, "an object of fact name -> true/false")
    out: dict[str, bool] = {}
    for name, flag in value.items():
        with found.guard():
            _spec("findings", name, vocab, ("boolean",))
            if flag is None:
                continue  # explicitly unknown
            if not isinstance(flag, bool):
                raise InputError(f"findings.{name}", flag, "true, false or null")
            out[name] = flag
    return out


def _measurements(
    value: Any, vocab: Mapping[str, FactSpec], found: _Problems, limits: dict[str, str]
) -> dict[str, Quantity | float]:
    """The measurements given; each written as a limit ("<150 pg/mL") has its comparator put in ``limits``."""
    if not isinstance(value, Mapping):
        raise InputError("measurements", value, "an object of fact name -> quantity string or number")
    out: dict[str, Quantity | float] = {}
    for name, raw in value.items():
        with found.guard():
            field = f"measurements.{name}"
            spec = _spec("measurements", name, vocab, ("quantity", "number"))
            if raw is None:
                continue
            limit = split(raw) if isinstance(raw, str) else None
            if limit is None and isinstance(raw, str) and raw.strip()[:1] in _OTHER_COMPARATORS:
                raise UnitError(field, raw, "a limit written with <, <=, > or >= (as '<=150 pg/mL'), or an exact value")
            if limit is not None:
                comparator, rest = limit
                if name not in LIMITED:
                    raise InputError(field, raw, f"an exact value; only {_LIMITED_TEXT} may be given as a limit")
                try:
                    q = _quantity(spec, field, rest)
                except InputError as exc:  # the message quotes what was written, comparator and all
                    raise type(exc)(field, raw, exc.expected) from exc
                value = to_canonical(spec, q, field)
                _check_range(spec, value, field, raw)
                _limit_value(name, comparator, {name: value})
                out[name] = q
                limits[name] = comparator
                continue
            if spec.type == "number":
                number = _number(field, raw)
                if spec.integer and not number.is_integer():
                    raise InputError(field, raw, f"a whole number from {spec.low:g} to {spec.high:g}")
                _check_range(spec, number, field, raw)
                out[name] = number
                continue
            q = _quantity(spec, field, raw)
            _check_range(spec, to_canonical(spec, q, field), field, raw)
            out[name] = q
    return out


def _quantity(spec: FactSpec, field: str, raw: Any) -> Quantity:
    assert spec.unit is not None
    try:
        q = parse_quantity(raw, field)
    except UnitError as exc:
        symbol = unit_symbol(parse_quantity(f"1 {spec.unit}", "unit"))
        if "'350 ug'" not in exc.expected:
            # A specific problem (unknown unit, underflow...): its own message says more; the field's unit is
            # added, since the generic list of symbols does not show how to write e.g. a heart rate ('72 1/min').
            raise type(exc)(field, raw, f"{exc.expected}; this measurement is in {symbol}") from exc
        # Name this fact's unit rather than the generic example (a bare 7.4 for HbA1c is not "350 ug").
        raise type(exc)(field, raw, f"a number followed by a unit, in {symbol} or an equivalent unit") from exc
    if spec.name == "hba1c":
        if unit_name(q) not in ("percent", "millimole / mole"):
            raise UnitError(field, raw, "HbA1c in % (NGSP) or mmol/mol (IFCC)")
        return q
    try:
        to_canonical(spec, q, field)
    except UnitError as exc:
        what = f"{spec.unit}" + (" (or the molar equivalent)" if spec.analyte else "")
        raise type(exc)(field, raw, f"a quantity convertible to {what}") from exc
    return q


_OTHER_COMPARATORS = frozenset("≤≥＜＞≦≧⩽⩾=~≈")
"""Signs a limit may be written with that are not read (only FHIR's <, <=, > and >= are): named, never a unit error."""

_LIMITED_TEXT = ", ".join(sorted(LIMITED)) + " (as '<150 pg/mL')"


def _limit_value(name: str, comparator: str, values: Mapping[str, float]) -> float:
    """The number of a measurement known only as a limit (see ``_limits``).

    A limit is read whatever thresholds lie inside it: each comparison it cannot decide is left unknown and the
    assessment flags it (naming the threshold, its rule and guideline version); every other input is assessed.

    Raises:
        InputError: the fact is not read from a limit, or the comparator is not one.

    """
    if name not in values:
        raise InputError(f"limits.{name}", comparator, "the comparator of a measurement given")
    if name not in LIMITED:
        raise InputError(f"limits.{name}", comparator, f"a limit only on {_LIMITED_TEXT}")
    if comparator not in SIDES:
        raise InputError(f"limits.{name}", comparator, f"one of {', '.join(SIDES)}")
    return values[name]


def to_canonical(spec: FactSpec, q: Quantity, field: str) -> float:
    """Convert a measurement to its fact's canonical unit, as a float."""
    assert spec.unit is not None
    if spec.name == "hba1c" and unit_name(q) == "millimole / mole":
        return float(hba1c_ifcc_to_ngsp(q.magnitude))
    return magnitude(q, spec.unit, analyte=spec.analyte, field=field)


def _check_range(spec: FactSpec, value: float, field: str, raw: Any) -> None:
    if spec.low is not None and spec.high is not None and not spec.low <= round(value, 9) <= spec.high:
        unit = f" {spec.unit}" if spec.unit else ""
        raise InputError(field, raw, f"a value between {spec.low:g} and {spec.high:g}{unit}")


def _last(value: Any, vocab: Mapping[str, FactSpec], found: _Problems) -> dict[str, dt.date]:
    if not isinstance(value, Mapping):
        raise InputError("last", value, "an object of assessment -> date")
    out: dict[str, dt.date] = {}
    for name, raw in value.items():
        with found.guard():
            if f"last-{name}" not in vocab:
                raise _unknown_last(name, vocab)
            date = _date(f"last.{name}", raw)
            if date is not None:
                out[name] = date
    return out


_MEDICATION_KEYS = ("agent", "dose", "per", "route", "started", "stopped", "cumulative", "indication")
_MEDICATION_SET = frozenset(_MEDICATION_KEYS)


def _medications(value: Any, found: _Problems) -> tuple[Medication, ...]:
    if not isinstance(value, list):
        raise InputError("medications", value, "a list of medication objects")
    out = []
    for i, raw in enumerate(value):
        before = len(found.found)
        medication = None
        with found.guard():
            medication = _medication(f"medications[{i}]", raw)
        if medication is not None and len(found.found) == before:
            out.append(medication)
    return tuple(out)


# A rate's period as "per" names it (for the hint when a dose is given as a rate).
_RATE_PERIODS = {"day": "day", "d": "day", "week": "week", "wk": "week", "month": "month", "mo": "month"}


def _medication(field: str, raw: Any) -> Medication:
    if not isinstance(raw, Mapping):
        raise InputError(field, raw, "an object with at least 'agent'")
    found = _Problems()
    for key in sorted(set(raw) - set(_MEDICATION_KEYS), key=str):
        found.found.append(InputError(f"{field}.{key}", raw[key], f"one of {', '.join(_MEDICATION_KEYS)}"))
    agent = raw.get("agent")
    if not isinstance(agent, str) or not agent.strip():
        found.found.append(InputError(f"{field}.agent", agent, "a drug name"))
    dose = cumulative = started = stopped = None
    with found.guard():
        if raw.get("dose") is not None:
            dose = parse_quantity(raw["dose"], f"{field}.dose")
            if dose.magnitude <= 0:
                raise InputError(f"{field}.dose", raw["dose"], "a positive dose")
            if dimension_of(dose) not in (dimension("mg"), dimension("IU")):
                expected = "an amount given per period: a mass (mg, ug, g) or IU"
                text = str(raw["dose"])
                amount, _, period = text.partition("/")
                per_name = _RATE_PERIODS.get(period.strip().casefold())
                if per_name is not None:  # a rate such as "900 mg/day": the period goes in "per"
                    expected += f' with the period in "per" (write "dose": "{amount.strip()}", "per": "{per_name}")'
                raise UnitError(f"{field}.dose", raw["dose"], expected)
    per = raw.get("per")
    with found.guard():
        if per is not None and per not in _PERIODS:
            raise InputError(f"{field}.per", per, "'day', 'week' or 'month'")
        if raw.get("dose") is not None and per is None:
            raise InputError(f"{field}.per", None, "the period the dose is given per: 'day', 'week' or 'month'")
    with found.guard():
        if raw.get("cumulative") is not None:
            cumulative = parse_quantity(raw["cumulative"], f"{field}.cumulative")
            if dimension_of(cumulative) not in (dimension("mg"), dimension("mg/m2")):
                raise UnitError(f"{field}.cumulative", raw["cumulative"], "a mass (g, mg) or mass per area (mg/m2)")
            if cumulative.magnitude < 0:
                raise InputError(f"{field}.cumulative", raw["cumulative"], "a cumulative exposure of 0 or more")
    for key in ("route", "indication"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            found.found.append(InputError(f"{field}.{key}", raw[key], "a string"))
    with found.guard():
        started = _date(f"{field}.started", raw.get("started"))
    with found.guard():
        stopped = _date(f"{field}.stopped", raw.get("stopped"))
    if started is not None and stopped is not None and stopped < started:
        found.found.append(
            InputError(f"{field}.stopped", stopped.isoformat(), f"a date on or after started ({started})")
        )
    raise_all(found.found)
    assert isinstance(agent, str)
    return Medication(
        agent=agent.strip(),
        dose=dose,
        per=per,
        route=raw.get("route"),
        started=started,
        stopped=stopped,
        cumulative=cumulative,
        indication=raw.get("indication"),
    )


def period_of(per: str) -> Period:
    """Map a medication's ``per`` word to a calendar period."""
    return Period(1, per)  # type: ignore[arg-type]
