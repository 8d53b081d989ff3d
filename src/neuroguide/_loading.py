"""Reading guideline files: discovery, validation, the lock file, version selection."""

from __future__ import annotations

import base64
import copyreg
import datetime as dt
import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import _converter, _diskcache, _dist
from . import model as m
from ._criteria import facts_in
from ._vocabulary import source_hashes, vocabulary
from .exceptions import GuidelineDataError, InputError, IntegrityError, Problem, UnitError, UnknownGuidelineError
from .units import Quantity, convert, format_quantity, is_quantity, parse_quantity, parse_unit

if TYPE_CHECKING:  # importlib.resources (with tempfile) is not imported at run time: see _dist.package_files
    from importlib.resources.abc import Traversable

__all__ = [
    "GUIDELINES_ENV",
    "Catalog",
    "GuidelineInfo",
    "catalog",
    "compares",
    "criteria_of",
    "criterion_facts",
    "guideline_files",
    "guideline_root",
    "load_file",
    "lock_mismatches",
    "read_lock",
]

LOCK_NAME = "lock.json"


# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _version() -> re.Pattern[str]:
    return re.compile(r"^\d{4}\.\d+$")


@functools.cache
def _id() -> re.Pattern[str]:
    return re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


_RELEASED = (m.Status.APPROVED, m.Status.RETIRED)


def guideline_root() -> Traversable:
    """Return the folder of released guideline files.

    Installed, it is ``neuroguide/guidelines`` inside the package (the wheel carries
    the repository's ``guidelines/``). An editable install has no packaged copy: name
    the folder explicitly with the environment variable ``NEUROGUIDE_GUIDELINES``
    (e.g. the checkout's ``guidelines/``); the package never guesses a path outside itself.

    Raises:
        UnknownGuidelineError: neither is there.

    """
    packaged = _dist.package_files() / "guidelines"
    if packaged.is_dir():
        return packaged
    named = os.environ.get(GUIDELINES_ENV)
    if named and Path(named).is_dir():
        return Path(named)
    raise UnknownGuidelineError(
        f"guidelines folder (none packaged; install the wheel, or set {GUIDELINES_ENV} to a guidelines folder)", []
    )


GUIDELINES_ENV = "NEUROGUIDE_GUIDELINES"


@attrs.frozen(kw_only=True)
class GuidelineInfo:
    """One line of :func:`neuroguide.list_guidelines`."""

    id: str
    version: str
    title: str
    effective: dt.date
    status: m.Status
    sha256: str
    rules: int


def load_file(data: bytes, name: str) -> m.Guideline:
    """Parse and validate one guideline file's bytes.

    Args:
        data: the file's bytes.
        name: its path relative to the guideline folder (``<id>/<version>.toml``),
            used in messages and checked against the id and version inside.

    Raises:
        GuidelineDataError: listing every problem, each with file and key path.

    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GuidelineDataError(
            [Problem(name, "$", f"not valid UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    import tomllib  # here: a start-up served from the knowledge-base cache parses no TOML

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GuidelineDataError([Problem(name, "$", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise GuidelineDataError([Problem(name, "$", "not valid TOML: nested too deeply")]) from None
    # cattrs only here: a start-up served from the knowledge-base cache parses no guideline file.
    import cattrs

    converter = _converter.shared()
    problems: list[Problem] = []
    try:
        guideline = converter.structure(raw, m.Guideline)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, RecursionError) as exc:
        problems.extend(Problem(name, path, msg) for path, msg in _converter.format_errors(exc))
        problems.extend(_prevalidate(raw, name))
        # Rules that structure on their own still get every semantic check.
        problems.extend(_semantics_of_raw_rules(raw, name))
        raise GuidelineDataError(_unique(problems)) from None
    problems.extend(_validate(guideline, name))
    if problems:
        raise GuidelineDataError(problems)
    digest = hashlib.sha256(data).hexdigest()
    return attrs.evolve(guideline, sha256=digest, path=name)


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str, str], Problem] = {}
    for p in problems:
        seen.setdefault((p.file, p.path, p.message), p)
    return list(seen.values())


def _prevalidate(raw: Mapping[str, Any], name: str) -> list[Problem]:
    """Checks that need no structured model, so they run even when structuring fails."""
    problems: list[Problem] = []
    rules = raw.get("rules", [])
    seen: set[str] = set()
    sources = raw.get("sources", {})
    source_ids = set(sources) if isinstance(sources, dict) else set()
    if isinstance(rules, list):
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            rid = rule.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    problems.append(Problem(name, f"$.rules[{i}].id", f"duplicate rule id {rid!r}"))
                seen.add(rid)
            problems.extend(Problem(name, p, msg) for p, msg in _raw_unit_checks(rule, f"$.rules[{i}]"))
            cites = rule.get("citations")
            if not cites:
                problems.append(Problem(name, f"$.rules[{i}].citations", "missing citation: a rule needs at least one"))
                continue
            for j, cite in enumerate(cites if isinstance(cites, list) else []):
                src = cite.get("source") if isinstance(cite, dict) else None
                if isinstance(src, str) and src not in source_ids:
                    problems.append(Problem(name, f"$.rules[{i}].citations[{j}].source", f"unknown source id {src!r}"))
    return problems


_RAW_UNITS = {
    "dosing": {"dose_min": "mg", "dose_max": "mg", "maximum": "mg", "plausible_max": "mg"},
    "neurotoxicity": {},
}


def _raw_unit_checks(rule: Mapping[str, Any], at: str) -> Iterator[tuple[str, str]]:
    """Dimension checks on raw data, so they are reported even when structuring fails."""
    fields = dict(_RAW_UNITS.get(str(rule.get("kind")), {}))
    for key, unit in fields.items():
        raw = rule.get(key)
        if not isinstance(raw, str):
            continue
        try:
            q = parse_quantity(raw, key)
        except UnitError:
            continue  # reported by structuring
        iu = "international_unit" in str(q.units)
        if not iu and q.dimensionality != parse_unit(unit).dimensionality:
            yield f"{at}.{key}", f"wrong unit dimension: {raw!r} is not convertible to {unit}"


def _validate(g: m.Guideline, name: str) -> list[Problem]:
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(name, path, message))

    expected = f"{g.id}/{g.version}.toml"
    if name != expected and "/" in name:
        bad("$.id", f"file {name!r} must be named {expected!r} (folder = id, file = version)")
    if not _id().match(g.id):
        bad("$.id", f"{g.id!r} is not a lower-case, hyphenated id")
    if not _version().match(g.version):
        bad("$.version", f"{g.version!r} is not of the form YYYY.N")
    source_ids = {s.id for s in g.sources}
    vocab = vocabulary()
    seen: set[str] = set()
    rule_ids = {r.id for r in g.rules}
    for i, rule in enumerate(g.rules):
        at = f"$.rules[{i}]"
        if rule.id in seen:
            bad(f"{at}.id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        if not _id().match(rule.id):
            bad(f"{at}.id", f"{rule.id!r} is not a lower-case, hyphenated id")
        if not rule.citations:
            bad(f"{at}.citations", "missing citation: a rule needs at least one")
        for j, cite in enumerate(rule.citations):
            if cite.source not in source_ids:
                bad(f"{at}.citations[{j}].source", f"unknown source id {cite.source!r}")
            if not cite.quote.strip():
                bad(f"{at}.citations[{j}].quote", "empty quote")
            if rule.status is m.Status.APPROVED and cite.verification.status is m.VerificationStatus.UNVERIFIED:
                bad(
                    f"{at}.citations[{j}].verification.status",
                    "an approved rule cannot rest on an unverified quote (set the rule in-review with a review_note)",
                )
        if rule.status is m.Status.IN_REVIEW and not rule.review_note:
            bad(f"{at}.review_note", "an in-review rule must say why in review_note")
        for path, fact in criterion_facts(rule, at):
            spec = vocab.get(fact) or _classification_fact(g, fact)
            if spec is None:
                bad(path, f"unknown fact {fact!r}")
        problems.extend(Problem(name, p, msg) for p, msg in _unit_checks(rule, at))
        problems.extend(Problem(name, p, msg) for p, msg in _semantic_checks(rule, at, _class_labels(g.rules)))
    for k, note in enumerate(g.changes):
        if note.rule not in rule_ids and not note.what.lower().startswith(("removed", "retired")):
            bad(f"$.changes[{k}].rule", f"change note names unknown rule {note.rule!r}")
        if note.source is not None and note.source not in source_ids:
            bad(f"$.changes[{k}].source", f"unknown source id {note.source!r}")
    return problems


def _semantics_of_raw_rules(raw: Mapping[str, Any], name: str) -> list[Problem]:
    """Semantic checks on every rule that structures by itself (the file as a whole did not)."""
    rules = raw.get("rules")
    if not isinstance(rules, list):
        return []
    converter = _converter.shared()
    structured: list[tuple[int, m.Rule]] = []
    for i, rule in enumerate(rules):
        try:
            structured.append((i, converter.structure(rule, m.Rule)))  # type: ignore[arg-type]
        except Exception:
            continue
    labels = _class_labels([r for _, r in structured])
    out: list[Problem] = []
    for i, rule in structured:
        at = f"$.rules[{i}]"
        out.extend(Problem(name, p, msg) for p, msg in _unit_checks(rule, at))
        out.extend(Problem(name, p, msg) for p, msg in _semantic_checks(rule, at, labels))
    return out


def _class_labels(rules: Iterable[m.Rule]) -> dict[str, tuple[str, ...]]:
    return {r.id: tuple(b.label for b in r.bands) for r in rules if isinstance(r, m.ClassificationRule)}


def criteria_of(rule: m.Rule) -> Iterator[tuple[str, m.Criterion]]:
    """Each criterion of a rule, with the field it is in (``when``, ``applies``, a screening start or interval)."""
    for name in ("when", "applies"):
        value = getattr(rule, name, None)
        if value is not None:
            yield name, value
    if isinstance(rule, m.ScreeningRule):
        for i, sp in enumerate(rule.start):
            yield f"start[{i}].when", sp.when
        for i, th in enumerate(rule.intervals):
            yield f"intervals[{i}].when", th.when


def compares(c: m.Criterion) -> Iterator[m.Compare]:
    """Every comparison inside a criterion."""
    if isinstance(c, m.Compare):
        yield c
    elif isinstance(c, m.Not):
        yield from compares(c.not_)
    elif isinstance(c, m.AllOf | m.AnyOf):
        for part in c.all if isinstance(c, m.AllOf) else c.any:
            yield from compares(part)


def _compare_problem(c: m.Compare, labels: Mapping[str, tuple[str, ...]]) -> str | None:
    """Why a comparison's value cannot be compared with its fact, or None."""
    if c.fact in labels:
        allowed = labels[c.fact]
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        return f"value {bad[0]!r} is not a band of {c.fact} ({', '.join(allowed)})" if bad else None
    spec = vocabulary().get(c.fact)
    if spec is None:
        return None  # reported as an unknown fact
    if spec.type == "quantity":
        if not is_quantity(c.value):
            return f"value {c.value!r} must be a quantity convertible to {spec.unit} (e.g. '20 {spec.unit}')"
        try:
            convert(c.value, spec.unit or "", analyte=spec.analyte)  # type: ignore[arg-type]
        except UnitError:
            return f"value {format_quantity(c.value)!r} is not convertible to {spec.unit}"  # type: ignore[arg-type]
        return None
    if spec.type == "number":
        if not isinstance(c.value, float):
            return f"value {c.value!r} must be a number"
        if spec.integer and not c.value.is_integer():
            return f"value {c.value:g} can never match: {c.fact} is a whole number"
        return None
    if spec.type == "category":
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        bad = [v for v in values if v not in spec.values]
        return f"value {bad[0]!r} is not one of {', '.join(spec.values)}" if bad else None
    return f"{c.fact} is a {spec.type} fact: name it (or use 'not') instead of comparing"


def _semantic_checks(rule: m.Rule, at: str, labels: Mapping[str, tuple[str, ...]]) -> Iterator[tuple[str, str]]:
    """Checks the types alone cannot make: comparable thresholds, positive periods, ordered limits."""
    for field, crit in criteria_of(rule):
        for cmp in compares(crit):
            why = _compare_problem(cmp, labels)
            if why is not None:
                yield f"{at}.{field}.value", why
    periods: list[tuple[str, m.Period | None, int]] = []
    if isinstance(rule, m.ScreeningRule):
        periods.append(("interval", rule.interval, 1))
        periods.extend((f"start[{i}].after", sp.after, 0) for i, sp in enumerate(rule.start))
        for i, th in enumerate(rule.intervals):
            periods += [(f"intervals[{i}].shortest", th.shortest, 1), (f"intervals[{i}].longest", th.longest, 1)]
    if isinstance(rule, m.WorkupRule):
        periods.append(("repeat", rule.repeat, 1))
    if isinstance(rule, m.DosingRule):
        periods.append(("per", rule.per, 1))
    if isinstance(rule, m.NeurotoxicityRule):
        periods.append(("duration_threshold", rule.duration_threshold, 1))
    for field, period, least in periods:
        if period is not None and period.count < least:
            yield f"{at}.{field}", f"a period of at least {least} {period.unit}; got {period}"
    if isinstance(rule, m.DosingRule):
        yield from _dose_order(rule, at)
    threshold = rule.cumulative_threshold if isinstance(rule, m.NeurotoxicityRule) else None
    if threshold is not None and not threshold.magnitude > 0:
        yield f"{at}.cumulative_threshold", "a positive cumulative threshold"
    if isinstance(rule, m.ClassificationRule):
        for i, band in enumerate(rule.bands):
            lo, hi = _number_of(band.lower, rule.unit, rule.analyte), _number_of(band.upper, rule.unit, rule.analyte)
            if lo is not None and hi is not None and lo > hi:
                yield f"{at}.bands[{i}].lower", f"lower {band.lower} is above upper {band.upper}"


def _number_of(q: Quantity | float | None, unit: str, analyte: str | None = None) -> float | None:
    if q is None:
        return None
    if not is_quantity(q):
        return float(q)
    try:
        return float(convert(q, unit, analyte=analyte).magnitude)  # type: ignore[arg-type]
    except UnitError:
        return None  # reported by the dimension check


def _dose_order(rule: m.DosingRule, at: str) -> Iterator[tuple[str, str]]:
    unit = "IU" if _is_iu(rule.plausible_max) else "mg"
    amounts = {f: _number_of(getattr(rule, f), unit) for f in ("dose_min", "dose_max", "maximum", "plausible_max")}
    for field, value in amounts.items():
        if value is not None and not value > 0:
            yield f"{at}.{field}", f"a positive amount; got {format_quantity(getattr(rule, field))}"
    lo, hi, top, plausible = (amounts[f] for f in ("dose_min", "dose_max", "maximum", "plausible_max"))
    if lo is not None and hi is not None and lo > hi:
        yield f"{at}.dose_min", f"dose_min {format_quantity(rule.dose_min)} is above dose_max"  # type: ignore[arg-type]
    if hi is not None and top is not None and hi > top:
        yield f"{at}.dose_max", "dose_max is above maximum"
    highest = max((v for v in (hi, top) if v is not None), default=None)
    if plausible is not None and highest is not None and plausible < highest:
        yield f"{at}.plausible_max", "plausible_max is below the highest dose the rule allows"
    for i, band in enumerate(rule.renal):
        c_lo, c_hi = _number_of(band.crcl_lower, "mL/min"), _number_of(band.crcl_upper, "mL/min")
        for field, value in (("crcl_lower", c_lo), ("crcl_upper", c_hi)):
            if value is not None and value < 0:
                yield f"{at}.renal[{i}].{field}", "a clearance of 0 mL/min or more"
        if c_lo is not None and c_hi is not None and c_lo > c_hi:
            yield f"{at}.renal[{i}].crcl_lower", "crcl_lower is above crcl_upper"
        d_lo, d_hi = _number_of(band.daily_min, "mg"), _number_of(band.daily_max, "mg")
        for field, value in (("daily_min", d_lo), ("daily_max", d_hi)):
            if value is not None and not value > 0:
                yield f"{at}.renal[{i}].{field}", "a positive daily amount"
        if d_lo is not None and d_hi is not None and d_lo > d_hi:
            yield f"{at}.renal[{i}].daily_min", "daily_min is above daily_max"
        if band.dialysis is not None and not band.avoid:
            yield f"{at}.renal[{i}].dialysis", "dialysis only on a row with avoid = true (no dose is checked on it)"
    if sum(band.dialysis is not None for band in rule.renal) > 1:
        yield f"{at}.renal", "at most one row with dialysis"


def _classification_fact(g: m.Guideline, fact: str) -> object | None:
    for rule in g.rules:
        if isinstance(rule, m.ClassificationRule) and rule.id == fact:
            return rule
    return None


def criterion_facts(rule: m.Rule, at: str) -> Iterator[tuple[str, str]]:
    """Yield ``(key path, fact)`` for each fact a rule reads: criteria, start points, last-done date, classification."""
    fields: list[tuple[str, m.Criterion]] = []
    for name in ("when", "applies"):
        value = getattr(rule, name, None)
        if value is not None:
            fields.append((name, value))
    if isinstance(rule, m.ScreeningRule):
        for i, sp in enumerate(rule.start):
            fields.append((f"start[{i}].when", sp.when))
            yield f"{at}.start[{i}].anchor", sp.anchor
        for i, th in enumerate(rule.intervals):
            fields.append((f"intervals[{i}].when", th.when))
        yield f"{at}.last_done", rule.last_done
    elif isinstance(rule, m.ClassificationRule):
        yield f"{at}.fact", rule.fact
    for field, crit in fields:
        for fact in facts_in(crit):
            yield f"{at}.{field}", fact


def _unit_checks(rule: m.Rule, at: str) -> Iterator[tuple[str, str]]:
    def check(
        path: str, q: Quantity | float | None, unit: str, analyte: str | None = None
    ) -> Iterator[tuple[str, str]]:
        if q is None:
            return
        if not is_quantity(q):
            if parse_unit(unit).dimensionless:
                return
            yield path, f"got a bare number; expected a quantity convertible to {unit}"
            return
        try:
            convert(q, unit, analyte=analyte)  # type: ignore[arg-type]
        except UnitError:
            yield path, f"wrong unit dimension: {q:~} is not convertible to {unit}"

    if isinstance(rule, m.DosingRule):
        amount = "IU" if _is_iu(rule.plausible_max) else "mg"
        for field in ("dose_min", "dose_max", "maximum", "plausible_max"):
            yield from check(f"{at}.{field}", getattr(rule, field), amount)
        for i, band in enumerate(rule.renal):
            yield from check(f"{at}.renal[{i}].crcl_lower", band.crcl_lower, "mL/min")
            yield from check(f"{at}.renal[{i}].crcl_upper", band.crcl_upper, "mL/min")
            yield from check(f"{at}.renal[{i}].daily_min", band.daily_min, "mg")
            yield from check(f"{at}.renal[{i}].daily_max", band.daily_max, "mg")
    elif isinstance(rule, m.NeurotoxicityRule) and rule.cumulative_threshold is not None:
        q = rule.cumulative_threshold
        if q.dimensionality not in (parse_unit("mg").dimensionality, parse_unit("mg/m2").dimensionality):
            yield f"{at}.cumulative_threshold", f"wrong unit dimension: {q:~} is neither a mass nor a mass per area"
    elif isinstance(rule, m.ClassificationRule):
        try:
            parse_unit(rule.unit)
        except UnitError as exc:
            yield f"{at}.unit", str(exc)
            return
        for i, cband in enumerate(rule.bands):
            yield from check(f"{at}.bands[{i}].lower", cband.lower, rule.unit, rule.analyte)
            yield from check(f"{at}.bands[{i}].upper", cband.upper, rule.unit, rule.analyte)


def _is_iu(q: Quantity) -> bool:
    return "international_unit" in str(q.units)


# -- the catalog ---------------------------------------------------------------


def guideline_files(root: Traversable | Path) -> Iterator[tuple[str, Traversable]]:
    """Yield ``(<id>/<version>.toml, entry)`` for every guideline file under ``root``, sorted.

    Folders starting with ``_`` or ``.`` are skipped.
    """
    for folder in sorted(root.iterdir(), key=lambda e: e.name):
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                yield f"{folder.name}/{entry.name}", entry


def read_lock(root: Traversable | Path) -> dict[str, str]:
    """Return the lock file's ``{file: sha256}`` entries (empty when there is no lock file).

    Raises:
        IntegrityError: the lock file is not a JSON object ``{"files": {name: sha256}}``.

    """
    lock_file = root / LOCK_NAME
    if not lock_file.is_file():
        return {}
    try:
        data = json.loads(lock_file.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError):
        data = None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise IntegrityError([(LOCK_NAME, 'a JSON object {"files": {"<id>/<version>.toml": "<sha256>"}}', "malformed")])
    return dict(files)


def lock_mismatches(root: Traversable | Path) -> list[tuple[str, str, str]]:
    """Return ``(file, expected, actual)`` for every file under ``root`` that differs from the lock.

    Works on bytes alone, without parsing, so an altered file that no longer
    loads is still reported. A file missing from the lock reads
    ``(not in lock)`` as expected; a lock entry with no file reads
    ``(file missing)`` as actual.
    """
    lock = read_lock(root)
    actual = {name: hashlib.sha256(entry.read_bytes()).hexdigest() for name, entry in guideline_files(root)}
    mismatches: list[tuple[str, str, str]] = []
    for name in sorted(set(actual) | set(lock)):
        exp = lock.get(name, "(not in lock)")
        act = actual.get(name, "(file missing)")
        if exp != act:
            mismatches.append((name, exp, act))
    return mismatches


class Catalog:
    """Every guideline version in one folder, loaded and checked against the lock.

    Loading verifies every file against ``lock.json`` first: an altered, unlisted
    or missing file is an :class:`IntegrityError` naming it, so a tampered
    knowledge base never runs. ``allow_unlocked=True`` is for guideline authors
    editing files: it loads them anyway and lists them in :attr:`unlocked`, which
    every evaluation record made with this catalog carries.
    """

    def __init__(self, root: Traversable | Path, *, allow_unlocked: bool = False, cache: bool = False) -> None:
        if isinstance(root, str):
            root = Path(root)
        if not hasattr(root, "is_dir") or not root.is_dir():  # else an OSError or AttributeError from deep inside
            raise InputError("root", str(root), "a folder of guideline files (<id>/<version>.toml)")
        self.root = root
        self.allow_unlocked = allow_unlocked
        self.cache = cache
        """Reuse the validated files from the knowledge-base cache in the user cache folder (see Reliability)."""
        self.from_cache = False
        """True if this load was served from the cache (the files' bytes were still checked)."""
        self.cache_key: str | None = None
        """The cache key of this folder's contents (with ``cache=True``): what was validated, by which code."""
        self._versions: dict[str, dict[str, m.Guideline]] = {}
        self._sorted: dict[str, list[m.Guideline]] = {}
        self._lock: dict[str, str] = {}
        self.unlocked: tuple[str, ...] = ()
        """Files that differ from the lock (only with ``allow_unlocked``), as ``<id>/<version>.toml``."""
        self._load()

    def _files(self) -> Iterator[tuple[str, Traversable]]:
        return guideline_files(self.root)

    def _load(self) -> None:
        problems: list[Problem] = []
        data = {name: entry.read_bytes() for name, entry in self._files()}
        hashes = {name: hashlib.sha256(b).hexdigest() for name, b in data.items()}
        self._check_installed(hashes)
        try:
            self._lock = read_lock(self.root)
        except IntegrityError:
            if not self.allow_unlocked:
                raise
            self._lock = {}
        # The hash is checked before the file is parsed: a tampered file is never read as guidance.
        mismatches = _mismatches(self._lock, hashes)
        if mismatches and not self.allow_unlocked:
            raise IntegrityError(mismatches)
        self.unlocked = tuple(name for name, _, _ in mismatches)
        key = self.cache_key = self._cache_key(hashes) if self.cache else None
        if key is not None:
            cached = _cached_guidelines(key, hashes)
            if cached is not None:
                for g in cached:
                    self._versions.setdefault(g.id, {})[g.version] = g
                self.from_cache = True
                return
        loaded: list[m.Guideline] = []
        for name, raw in data.items():
            try:
                g = load_file(raw, name)
            except GuidelineDataError as exc:
                problems.extend(exc.problems)
                continue
            loaded.append(g)
            self._versions.setdefault(g.id, {})[g.version] = g
        problems.extend(_supersedes_problems(self._versions, self._lock))
        if problems:
            raise GuidelineDataError(problems)
        if key is not None:
            _diskcache.store(_KIND, key, loaded, _Reducer())

    def _check_installed(self, hashes: Mapping[str, str]) -> None:
        """Nothing here; the packaged catalog also checks the files against the wheel's record."""

    def _cache_key(self, hashes: Mapping[str, str]) -> str:
        """Key of this folder's validated contents: the lock, every file, and the vocabulary they were checked with."""
        lock_file = self.root / LOCK_NAME
        lock = hashlib.sha256(lock_file.read_bytes()).hexdigest() if lock_file.is_file() else "(no lock)"
        parts = [(LOCK_NAME, lock), *sorted(hashes.items()), *source_hashes()]
        return _diskcache.key_of(_KIND, parts)

    # -- integrity --

    def verify(self) -> list[tuple[str, str, str]]:
        """Return ``(file, expected, actual)`` for every file that differs from the lock.

        A file missing from the lock, or a lock entry with no file, is a mismatch too.
        """
        actual = {name: hashlib.sha256(entry.read_bytes()).hexdigest() for name, entry in self._files()}
        return _mismatches(self._lock, actual)

    def check_integrity(self) -> None:
        """Raise :class:`IntegrityError` if any released file differs from the lock."""
        mismatches = self.verify()
        if mismatches:
            raise IntegrityError(mismatches)

    # -- lookup --

    def ids(self) -> list[str]:
        """Return every guideline id, sorted."""
        return sorted(self._versions)

    def versions(self, guideline_id: str) -> list[m.Guideline]:
        """Return every version of a guideline, oldest effective date first."""
        cached = self._sorted.get(guideline_id)
        if cached is None:
            try:
                found = self._versions[guideline_id]
            except KeyError:
                raise UnknownGuidelineError(guideline_id, self._versions) from None
            cached = self._sorted[guideline_id] = sorted(found.values(), key=lambda g: (g.effective, g.version))
        return list(cached)

    def get(self, guideline_id: str, version: str | None = None, as_of: dt.date | None = None) -> m.Guideline:
        """Return one version: pinned, in effect on ``as_of``, or the latest released.

        Raises:
            UnknownGuidelineError: no such guideline, version, or none in effect then.
            InputError: ``as_of`` is not a date.

        """
        if as_of is not None and (not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime)):
            raise InputError("as_of", as_of, "a datetime.date")  # else a TypeError (or pint's error) from comparing
        versions = self.versions(guideline_id)
        if version is not None:
            for g in versions:
                if g.version == version:
                    return g
            raise UnknownGuidelineError(f"{guideline_id} {version}", [f"{guideline_id} {g.version}" for g in versions])
        released = [g for g in versions if g.status in _RELEASED]
        if as_of is not None:
            released = [g for g in released if g.effective <= as_of]
        if not released or released[-1].status is m.Status.RETIRED:
            when = f" on {as_of.isoformat()}" if as_of else ""
            raise UnknownGuidelineError(f"{guideline_id} (no released version in effect{when})", [])
        return released[-1]

    def in_effect(self, as_of: dt.date) -> list[m.Guideline]:
        """Return, for each guideline, the version in effect on ``as_of`` (skipping none)."""
        out = []
        for gid in self.ids():
            try:
                out.append(self.get(gid, as_of=as_of))
            except UnknownGuidelineError:
                continue
        return out

    def all(self) -> list[m.Guideline]:
        """Every version of every guideline."""
        return [g for gid in self.ids() for g in self.versions(gid)]


class _Packaged(Catalog):
    """The packaged catalog: its files are checked against the installer's record first, then the lock."""

    def _check_installed(self, hashes: Mapping[str, str]) -> None:
        # The same bytes as the lock check and the cache key: each file is read and hashed once.
        mismatches = _installed_mismatches(self.root, hashes)
        if mismatches:
            raise IntegrityError(mismatches)


ALLOW_UNLOCKED_ENV = "NEUROGUIDE_ALLOW_UNLOCKED"
_catalog: Catalog | None = None
_catalog_lock = threading.Lock()


def catalog() -> Catalog:
    """Return the packaged catalog, loaded and verified once per process (thread-safe).

    Besides ``lock.json``, an installed wheel's own record of file hashes is
    checked, so a file edited together with its lock entry is refused too.
    ``NEUROGUIDE_ALLOW_UNLOCKED=1`` (for guideline authors only) loads unlocked
    files and stamps every record with them.

    Raises:
        IntegrityError: a packaged file differs from the lock or the wheel's record.

    """
    found = _catalog
    if found is None:
        found = _build_catalog()
    return found


def _build_catalog() -> Catalog:
    global _catalog
    with _catalog_lock:
        # Checked again under the lock: concurrent first calls share one catalog.
        if _catalog is None:
            allow = os.environ.get(ALLOW_UNLOCKED_ENV, "") not in ("", "0")
            root = guideline_root()
            _catalog = Catalog(root, allow_unlocked=True, cache=True) if allow else _Packaged(root, cache=True)
        return _catalog


def _mismatches(lock: Mapping[str, str], actual: Mapping[str, str]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for name in sorted(set(actual) | set(lock)):
        exp = lock.get(name, "(not in lock)")
        act = actual.get(name, "(file missing)")
        if exp != act:
            out.append((name, exp, act))
    return out


def _installed_mismatches(
    root: Traversable | Path, hashes: Mapping[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """Compare the packaged guideline files and lock with the hashes the wheel installer recorded.

    ``hashes`` are the hex SHA-256 of files already read (by name under ``root``); the others are read here.
    Nothing to compare from a source checkout or an editable install (no such record).
    """
    recorded = _dist.recorded_hashes("neuroguide/guidelines/")
    known = hashes or {}
    out: list[tuple[str, str, str]] = []
    for name, (mode, value) in sorted(recorded.items()):
        if mode != "sha256":
            continue
        if name in known:
            digest = bytes.fromhex(known[name])
        else:
            entry = root.joinpath(*name.split("/"))
            digest = hashlib.sha256(entry.read_bytes()).digest() if entry.is_file() else b""
        actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if actual != value:
            out.append((name, f"{value} (wheel record, base64)", actual or "(file missing)"))
    return out


# -- the knowledge-base cache ------------------------------------------------------

_KIND = "catalog"


@functools.lru_cache(maxsize=1024)
def _quantity(text: str) -> Quantity:
    """Rebuild a quantity stored in the cache (written exactly by :class:`_Reducer`; equal ones are shared)."""
    return parse_quantity(text, "cached quantity")


class _Reducer:
    """Pickle reductions for a stored catalog: quantities as their exact text, and each distinct text once.

    Every version of a guideline is a whole snapshot, so most of its prose repeats the version before; pickle
    stores an object once but equal strings from different files are different objects. A model object is
    reduced as pickle would (its class and ``__getstate__``), with each string swapped for the first equal one
    seen: the entry is half the size, and reading it back (every start-up) is quicker.
    """

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def __call__(self, obj: object) -> Any:
        # Quantities are stored as their exact text: a pint object pickles with its registry's internals.
        if is_quantity(obj):
            return _quantity, (format_quantity(obj, exact=True),)  # type: ignore[arg-type]
        if attrs.has(type(obj)):
            state = {name: self._once(value) for name, value in obj.__getstate__().items()}  # type: ignore[attr-defined]
            return copyreg.__newobj__, (type(obj),), state  # type: ignore[attr-defined]
        return NotImplemented

    def _once(self, value: object) -> object:
        if type(value) is str:
            return self._texts.setdefault(value, value)
        if type(value) is tuple:
            return tuple(map(self._once, value))
        return value


def _allowed() -> dict[tuple[str, str], object]:
    """What a cached catalog may contain: the model's classes, dates, and quantities."""
    allowed: dict[tuple[str, str], object] = {
        (cls.__module__, cls.__qualname__): cls
        for cls in vars(m).values()
        if isinstance(cls, type) and cls.__module__ == m.__name__
    }
    allowed[("datetime", "date")] = dt.date
    allowed[(__name__, "_quantity")] = _quantity
    return allowed


def _cached_guidelines(key: str, hashes: Mapping[str, str]) -> list[m.Guideline] | None:
    """The cached guidelines for ``key``, if they are exactly the files now on disk (else None: rebuild)."""
    found = _diskcache.load(_KIND, key, _allowed())
    if not isinstance(found, list) or not all(isinstance(g, m.Guideline) for g in found):
        return None
    # Belt and braces: every file is there once, under its own name and hash.
    if sorted((g.path, g.sha256) for g in found) != sorted(hashes.items()):
        return None
    return found


def _supersedes_problems(versions: Mapping[str, Mapping[str, m.Guideline]], lock: Mapping[str, str]) -> list[Problem]:
    """``supersedes`` must name another, earlier version of the same guideline (so there are no cycles).

    A superseded version that is locked but missing is the integrity check's finding, not repeated here.
    """
    problems: list[Problem] = []
    for gid, by_version in versions.items():
        for g in by_version.values():
            if g.supersedes is None:
                continue
            name = f"{gid}/{g.version}.toml"
            old = by_version.get(g.supersedes)
            if g.supersedes == g.version:
                problems.append(Problem(name, "$.supersedes", "a version cannot supersede itself"))
            elif old is None and f"{gid}/{g.supersedes}.toml" not in lock:
                known = ", ".join(sorted(by_version)) or "none"
                problems.append(Problem(name, "$.supersedes", f"no version {g.supersedes!r} of {gid} (known: {known})"))
            elif old is not None and (old.effective, old.version) >= (g.effective, g.version):
                problems.append(
                    Problem(name, "$.supersedes", f"{g.supersedes} takes effect on or after {g.version}: not earlier")
                )
    return problems
