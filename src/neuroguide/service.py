"""A CDS Hooks 2.0 service over :func:`neuroguide.assess` and :func:`neuroguide.check_dose` (extra ``service``).

Endpoints (``{base}`` is where the service runs):

- ``GET {base}/cds-services``: discovery (three services, with prefetch templates).
- ``POST {base}/cds-services/neuroguide-patient-view``: hook ``patient-view``; cards from an assessment of the
  prefetched FHIR data.
- ``POST {base}/cds-services/neuroguide-order-select`` and ``.../neuroguide-order-sign``: hooks ``order-select`` and
  ``order-sign``; each draft MedicationRequest's dose is checked.
- ``POST {base}/cds-services/{id}/feedback``: card accepted or overridden (with the reason), stored in the database.
- ``GET {base}/rules/{rule_id}``: the rule as plain text (each card's source link); ``GET {base}/demo``: a page
  rendering the cards for a built-in demonstration patient.

Every card carries, in ``extension["org.neuroguide.audit"]``, the evaluation record id and, per rule, the rule id,
guideline id and version and the guideline file's SHA-256. Requests are authenticated with the EHR's signed JWT
(CDS Hooks "Trusting CDS Clients") when issuers are configured; bad requests get a 4xx status and a JSON body
``{"error": ..., "message": ...}``, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import html
import importlib.util
import ipaddress
import json
import logging
import multiprocessing
import os
import queue
import re
import signal
import socket
import threading
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs
import jwt
import orjson
import sqlalchemy as sa
import uvicorn
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import fhir
from ._actions import action_groups
from ._jsonin import loads
from ._loading import catalog
from ._vocabulary import vocabulary
from .api import find_rule
from .dosing import DoseVerdict, NoRegimenError, Verdict, check_dose
from .evaluation import assess, compile_gates
from .exceptions import (
    GuidelineDataError,
    InputError,
    IntegrityError,
    NeuroguideError,
    NotFoundError,
    UnknownGuidelineError,
)
from .model import Status
from .patient import Flag, FlagKind, Patient
from .report import never_recorded, render_rule, status_text
from .results import (
    DOSE_PROBLEMS,
    SECTION_TITLES,
    Assessment,
    PossibleFlag,
    Recommendation,
    RecommendationStatus,
    Section,
)
from .terminology import LOCAL_SYSTEM

__all__ = ["Issuer", "ServiceConfig", "check_exposure", "create_app", "is_loopback", "load_config", "serve"]

log = logging.getLogger("neuroguide.service")

AUDIT_EXTENSION = "org.neuroguide.audit"
OVERRIDE_SYSTEM = "urn:neuroguide:override-reason"
_SUMMARY_MAX = 139  # the specification: a "<140-character summary"
_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")  # asymmetric only
_QUIET = frozenset({RecommendationStatus.SCHEDULED, RecommendationStatus.WITHIN_RANGE})
# The report's dose problems, and a neurotoxic drug past its cited threshold: a prescriber must see them.
_DOSE_PROBLEMS = DOSE_PROBLEMS | {RecommendationStatus.FLAGGED}
# Sections whose information cards (nothing due, overdue or urgent) share one card per section, its summary naming
# each item: considerations, routine care and work-up. Red flags, results, referrals, medication verdicts and
# treatment (what to give and what not to give) keep their own cards, as does anything due or overdue.
_FOLDED = frozenset({Section.CATEGORIES, Section.SCHEDULE, Section.WORKUP})
_PATIENT_PREFETCH = fhir.PATIENT_PREFETCH  # shared with fhir.reread, which reads a stored request as here
_SERVICES: dict[str, dict[str, Any]] = {
    "neuroguide-patient-view": {
        "hook": "patient-view",
        "title": "neuroguide: numbness and tingling in the legs",
        "description": "Screening due or overdue, red flags, work-up, referrals and treatment cautions for peripheral "
        "neuropathy, from cited and versioned guideline rules.",
        "prefetch": _PATIENT_PREFETCH,
    },
    "neuroguide-order-select": {
        "hook": "order-select",
        "title": "neuroguide: dose check on order selection",
        "description": "Checks each selected draft MedicationRequest's dose against the cited regimens (renal "
        "adjustment from the prefetched patient data).",
        "prefetch": _PATIENT_PREFETCH,
    },
    "neuroguide-order-sign": {
        "hook": "order-sign",
        "title": "neuroguide: dose check before signing",
        "description": "Checks every draft MedicationRequest's dose against the cited regimens before signing.",
        "prefetch": _PATIENT_PREFETCH,
    },
}
_OVERRIDE_REASONS = [
    {"system": OVERRIDE_SYSTEM, "code": "already-done", "display": "Already done or ordered"},
    {"system": OVERRIDE_SYSTEM, "code": "not-applicable", "display": "Not applicable to this patient"},
    {"system": OVERRIDE_SYSTEM, "code": "patient-declined", "display": "Patient declined"},
    {"system": OVERRIDE_SYSTEM, "code": "data-wrong", "display": "The patient data used is wrong or out of date"},
]


# -- configuration -----------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Issuer:
    """A CDS Client trusted to call the service: its ``iss`` and where its public keys are (JWKS URL or inline)."""

    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class ServiceConfig:
    """How the service runs.

    ``base_url`` is the public URL of the service (the JWT audience and the rule links start with it); when unset it
    is taken from each request. Authentication is required when ``require_auth`` is true or any issuer is configured.
    ``as_of`` fixes the evaluation date (tests, benchmarks); by default it is today's date in UTC.
    ``check_conformance = false`` skips checking each resource against the FHIR models, the costliest step for a
    chart not seen before (for an EHR whose output is known to conform); every card response then carries a note
    saying so, and whatever the reader cannot use is still listed.
    """

    base_url: str | None = None
    database: str = "sqlite:///neuroguide-service.sqlite"
    issuers: tuple[Issuer, ...] = ()
    require_auth: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body: int = 1_000_000
    as_of: dt.date | None = None
    leeway: int = 30
    check_conformance: bool = True

    @property
    def auth_required(self) -> bool:
        return self.require_auth or bool(self.issuers)


def load_config(path: str | Path) -> ServiceConfig:
    """Read a TOML configuration file (table ``[service]``, issuers as ``[[service.issuers]]``).

    Raises:
        InputError: the file is unreadable or holds an unknown key or a wrong type.

    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("service", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError("config", str(path), f"a readable TOML file ({exc})") from None
    known = {f.name for f in attrs.fields(ServiceConfig)}
    extra = sorted(set(data) - known)
    if extra:
        raise InputError(f"service.{extra[0]}", data[extra[0]], f"one of {', '.join(sorted(known))}")
    issuers = []
    for i, raw in enumerate(data.pop("issuers", [])):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("iss"), str):
            raise InputError(f"service.issuers[{i}]", raw, "a table with iss and jwks_url or jwks_file")
        jwks = None
        if raw.get("jwks_file"):
            jwks = json.loads((Path(path).parent / raw["jwks_file"]).read_text(encoding="utf-8"))
        issuers.append(Issuer(iss=raw["iss"], jwks_url=raw.get("jwks_url"), jwks=jwks))
    for key in ("require_auth", "check_conformance"):
        if key in data and not isinstance(data[key], bool):
            raise InputError(f"service.{key}", data[key], "true or false")
    if "as_of" in data and not isinstance(data["as_of"], dt.date):
        raise InputError("service.as_of", data["as_of"], "a date (YYYY-MM-DD)")
    if "cors_origins" in data:
        data["cors_origins"] = tuple(data["cors_origins"])
    try:
        return ServiceConfig(issuers=tuple(issuers), **data)
    except TypeError as exc:
        raise InputError("service", str(path), f"valid settings ({exc})") from None


# -- errors ------------------------------------------------------------------------------------------------------


class HookError(NeuroguideError, ValueError):
    """A request the service refuses: the HTTP status and a message for the CDS Client."""

    def __init__(self, status: int, error: str, message: str, hook_instance: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.hook_instance = hook_instance

    def __reduce__(self) -> tuple[Any, ...]:  # it crosses from an evaluator process to the HTTP process
        return (HookError, (self.status, self.error, self.message, self.hook_instance))


class _Json(JSONResponse):
    """A JSON response encoded by orjson (several times faster than the standard library for a response of cards)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(exc: HookError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
    return _Json({"error": exc.error, "message": exc.message}, status_code=exc.status, headers=headers)


# -- authentication ----------------------------------------------------------------------------------------------


class _Auth:
    """Verifies the EHR's JWT: asymmetric signature by a configured issuer's key, audience, expiry, no replay."""

    def __init__(self, config: ServiceConfig, store: _Store) -> None:
        self.config = config
        self.store = store
        self.issuers = {i.iss: i for i in config.issuers}
        self.clients: dict[str, jwt.PyJWKClient] = {}
        self.sets: dict[str, jwt.PyJWKSet] = {}

    def _key(self, issuer: Issuer, kid: str) -> Any:
        if issuer.jwks is not None:
            keys = self.sets.get(issuer.iss)
            if keys is None:  # parsed once: loading an RSA or EC key costs more than checking a signature with it
                keys = self.sets[issuer.iss] = jwt.PyJWKSet.from_dict(dict(issuer.jwks))
            for key in keys.keys:
                if key.key_id == kid:
                    return key.key
            raise HookError(401, "unauthorized", f"no key {kid!r} in the JWK Set of {issuer.iss}")
        if issuer.jwks_url is None:
            raise HookError(401, "unauthorized", f"no JWK Set configured for {issuer.iss}")
        client = self.clients.setdefault(issuer.jwks_url, jwt.PyJWKClient(issuer.jwks_url, cache_keys=True))
        return client.get_signing_key(kid).key

    def verify(self, request: Request, audience: Sequence[str]) -> Mapping[str, Any] | None:
        header = request.headers.get("authorization", "")
        if not self.config.auth_required:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HookError(401, "unauthorized", "an Authorization: Bearer JWT signed by the CDS Client is required")
        try:
            head = jwt.get_unverified_header(token)
            alg, kid = head.get("alg"), head.get("kid")
            if alg not in _ALGORITHMS:
                raise HookError(401, "unauthorized", f"JWT algorithm {alg!r} is not accepted (asymmetric only)")
            if head.get("typ") != "JWT" or not isinstance(kid, str):
                raise HookError(401, "unauthorized", "the JWT header needs typ 'JWT' and a kid")
            iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
            issuer = self.issuers.get(iss) if isinstance(iss, str) else None
            if issuer is None:
                raise HookError(401, "unauthorized", f"issuer {iss!r} is not trusted by this service")
            if head.get("jku") is not None and head["jku"] != issuer.jwks_url:
                raise HookError(401, "unauthorized", f"jku {head['jku']!r} is not the JWK Set configured for {iss}")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=self._key(issuer, kid),
                algorithms=[alg],
                audience=list(audience),
                issuer=iss,
                leeway=self.config.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except HookError:
            raise
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise HookError(401, "unauthorized", f"the JWT was refused: {exc}") from None
        # The replay set lives in the database, so every worker process sees every token used.
        if not self.store.first_use(f"{iss}|{claims['jti']}", float(claims["exp"]) + self.config.leeway):
            raise HookError(401, "unauthorized", "the JWT was already used (jti seen before)")
        return claims


# -- storage -----------------------------------------------------------------------------------------------------

_META = sa.MetaData()
EVALUATIONS = sa.Table(
    "evaluations",
    _META,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("hook_instance", sa.String(200), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)
CARDS = sa.Table(
    "cards",
    _META,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("evaluation", sa.String(64), nullable=False),
    sa.Column("rules", sa.Text, nullable=False),
)
FEEDBACK = sa.Table(
    "feedback",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("card", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("override_system", sa.String(300)),
    sa.Column("override_code", sa.String(200)),
    sa.Column("override_display", sa.String(500)),
    sa.Column("user_comment", sa.Text),
    sa.Column("accepted_suggestions", sa.Text),
    sa.Column("outcome_timestamp", sa.String(40), nullable=False),
    sa.Column("received", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rules", sa.Text),
)


JWT_SEEN = sa.Table(
    "jwt_seen",
    _META,
    sa.Column("jti", sa.String(300), primary_key=True),  # "<iss>|<jti>": a jti is unique per issuer
    sa.Column("expires", sa.Float, nullable=False),  # when the token can no longer be accepted (exp + leeway)
)
_BATCH = 64  # records written per transaction at most (each brings about 20 card rows)
_REMEMBERED = 4096  # stored record ids remembered per process
_GATHER = 0.2  # seconds the writer collects records before a transaction (a shutdown writes at once)


class _Flush:
    """A marker in the writer's queue: set ``done`` once everything queued before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


@attrs.frozen
class _Pending:
    """An evaluation record and its cards' rows (uuid, rules as JSON), waiting for the writer."""

    record_id: str
    service: str
    hook_instance: str
    record: str
    cards: tuple[tuple[str, str], ...]
    created: dt.datetime


def _pending(
    record_id: str, service: str, hook_instance: str, record: str, cards: Sequence[Mapping[str, Any]]
) -> _Pending:
    """The writer's item for a record and its cards (each card's row: its uuid and the rules it names)."""
    rows = tuple((c["uuid"], orjson.dumps(c["extension"][AUDIT_EXTENSION]["rules"]).decode()) for c in cards)
    return _Pending(record_id, service, hook_instance, record, rows, dt.datetime.now(dt.UTC))


def _insert_new(db: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows whose primary key is not stored yet (another request or worker may have stored it)."""
    if not rows:
        return
    key = next(iter(table.primary_key.columns))
    if db.dialect.name in ("sqlite", "postgresql"):
        dialect = sqlite_dialect if db.dialect.name == "sqlite" else postgresql_dialect
        db.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=[key.name]), rows)
        return
    known: set[Any] = set()
    ids = [r[key.name] for r in rows]
    for i in range(0, len(ids), 500):  # stay below every database's limit on bound parameters
        known.update(db.execute(sa.select(key).where(key.in_(ids[i : i + 500]))).scalars())
    fresh = [r for r in rows if r[key.name] not in known]
    if fresh:
        db.execute(table.insert(), fresh)


class _Store:
    """The database: evaluation records and cards (batched by a background writer), feedback, JWT replay set.

    The replay set is in the database so that every worker process sees every token used.
    """

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        if self.engine.dialect.name == "sqlite":
            # Write-ahead log: a commit appends instead of rewriting pages, and readers never block the writer.
            # synchronous=FULL: each commit is on disk before it returns, so an audit record survives a power loss
            # or an OS crash too (NORMAL may lose the last commits then); records are written in batches, so this
            # costs one sync per batch.
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(connection: Any, _record: Any) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA busy_timeout=10000")  # several worker processes share the file
                cursor.close()

        _META.create_all(self.engine)
        self.queue: queue.Queue[_Pending | _Flush | None] = queue.Queue()
        self.writer: threading.Thread | None = None
        self.lock = threading.Lock()
        self.next_purge = 0.0
        # Record ids this process stored lately: a chart opened again gives the same record (its id is its hash),
        # which then needs no database round trip. Bounded; forgetting one only costs a redundant insert.
        self.stored: dict[str, None] = {}

    def start(self) -> None:
        """Start the background writer of evaluation records (a response does not wait for the database)."""
        with self.lock:
            if self.writer is None:
                self.writer = threading.Thread(target=self._drain, name="neuroguide-record-writer", daemon=True)
                self.writer.start()

    def stop(self) -> None:
        """Write everything queued, then stop the writer (the server calls this on shutdown: no record is lost)."""
        with self.lock:
            writer, self.writer = self.writer, None
        if writer is not None:
            self.queue.put(None)
            writer.join()
        left = []  # queued by a request that raced the shutdown
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Flush):
                item.done.set()
            elif item is not None:
                left.append(item)
        if left:
            self._write(left)

    def _drain(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            if isinstance(first, _Flush):
                first.done.set()
                continue
            batch = [first]
            # Collect for a moment so that one transaction carries many records (a commit costs more than a row).
            deadline = time.monotonic() + _GATHER
            while len(batch) < _BATCH:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._write(batch)
                    return
                if isinstance(item, _Flush):
                    self._write(batch)
                    batch = []
                    item.done.set()
                    break
                batch.append(item)
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self._insert(batch)
        except Exception:
            log.warning("could not store a batch of %d records; storing them one by one", len(batch), exc_info=True)
            for item in batch:  # so one bad item does not take the others with it
                try:
                    self._insert([item])
                except Exception:  # the request log still has the record id
                    log.exception("could not store evaluation record %s", item.record_id)

    def _insert(self, batch: Sequence[_Pending]) -> None:
        records = {p.record_id: p for p in batch if p.record_id not in self.stored}  # one row per record (its hash)
        if not records:
            return
        batch = list(records.values())
        cards: dict[str, dict[str, Any]] = {}
        for p in batch:
            for uuid_, rules in p.cards:
                cards.setdefault(uuid_, {"uuid": uuid_, "evaluation": p.record_id, "rules": rules})
        rows = [
            {
                "id": p.record_id,
                "service": p.service,
                "hook_instance": p.hook_instance,
                "created": p.created,
                "record": p.record,
            }
            for p in records.values()
        ]
        with self.engine.begin() as db:
            _insert_new(db, EVALUATIONS, rows)
            _insert_new(db, CARDS, list(cards.values()))
        with self.lock:
            for record_id in records:
                self.stored[record_id] = None
            while len(self.stored) > _REMEMBERED:
                del self.stored[next(iter(self.stored))]

    def later(self, record_id: str, service: str, hook_instance: str, record: str, cards: list[dict[str, Any]]) -> None:
        """Queue an evaluation record and its cards for the writer (written at once when no writer runs)."""
        self.put(_pending(record_id, service, hook_instance, record, cards))

    def put(self, item: _Pending) -> None:
        """Queue a writer's item (written at once when no writer runs)."""
        if self.writer is None:
            self._write([item])
        else:
            self.queue.put(item)

    def evaluation(
        self, record_id: str, service: str, hook_instance: str, record: str, cards: list[dict[str, Any]]
    ) -> None:
        """Store an evaluation record and its cards now."""
        self._insert([_pending(record_id, service, hook_instance, record, cards)])

    def first_use(self, key: str, expires: float) -> bool:
        """Record a JWT as used; False if it was used before (by any worker process)."""
        now = time.time()
        try:
            with self.engine.begin() as db:
                if now >= self.next_purge:  # tokens past their expiry are refused anyway: forget them
                    db.execute(JWT_SEEN.delete().where(JWT_SEEN.c.expires < now))
                    self.next_purge = now + 60
                db.execute(JWT_SEEN.insert().values(jti=key, expires=expires))
        except sa.exc.IntegrityError:
            return False
        return True

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every record this process queued so far is written."""
        if self.writer is not None:
            marker = _Flush()
            self.queue.put(marker)
            marker.done.wait(timeout)

    def _card_rules(self, uuids: Sequence[str]) -> dict[str, str]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(CARDS.c.uuid, CARDS.c.rules).where(CARDS.c.uuid.in_(list(uuids))))
            return {row.uuid: row.rules for row in rows}

    def feedback(self, service: str, items: list[dict[str, Any]]) -> int:
        now = dt.datetime.now(dt.UTC)
        wanted = list(dict.fromkeys(item["card"] for item in items))
        known = self._card_rules(wanted)
        if len(known) < len(wanted):
            # Feedback can follow its card faster than the background writer stores it: the audit row must
            # still name the card's rules, so write what is queued here, then (another worker may hold the
            # card) give the writers one gathering period before looking again.
            self.flush()
            known = self._card_rules(wanted)
            if len(known) < len(wanted):
                time.sleep(_GATHER + 0.05)
                known = self._card_rules(wanted)
        with self.engine.begin() as db:
            for item in items:
                rules = known.get(item["card"])
                reason = (item.get("overrideReason") or {}).get("reason") or {}
                db.execute(
                    FEEDBACK.insert().values(
                        service=service,
                        card=item["card"],
                        outcome=item["outcome"],
                        override_system=reason.get("system"),
                        override_code=reason.get("code"),
                        override_display=reason.get("display"),
                        user_comment=(item.get("overrideReason") or {}).get("userComment"),
                        accepted_suggestions=orjson.dumps(item.get("acceptedSuggestions", [])).decode(),
                        outcome_timestamp=item["outcomeTimestamp"],
                        received=now,
                        rules=rules,
                    )
                )
        return len(items)


# -- cards -------------------------------------------------------------------------------------------------------


def _indicator(rec: Recommendation) -> str:
    if rec.section is Section.RED_FLAGS or rec.status in (RecommendationStatus.EMERGENCY, RecommendationStatus.URGENT):
        return "critical"
    if rec.status is RecommendationStatus.OVERDUE or rec.status in _DOSE_PROBLEMS:
        return "warning"
    return "info"


def _quiet(rec: Recommendation) -> bool:
    """Nothing to show: only scheduled, or a dose within range that depends on no missing fact."""
    return rec.status in _QUIET and not (rec.status is RecommendationStatus.WITHIN_RANGE and rec.missing)


_RANK = {"critical": 0, "warning": 1, "info": 2}
# Flags about the knowledge base, not the patient's values (the input-flags card leaves them out).
_NOT_INPUTS = frozenset({FlagKind.UNLOCKED, FlagKind.SITE_DECISION_NOT_APPLIED, FlagKind.UNDECIDED})
_TIMELY = frozenset({RecommendationStatus.OVERDUE, RecommendationStatus.DUE})


def _summary(rec: Recommendation) -> str:
    title = rec.title.rstrip(".")
    prefix = {RecommendationStatus.EMERGENCY: "Emergency: ", RecommendationStatus.URGENT: "Urgent: "}.get(
        rec.status, ""
    )
    if rec.status in _DOSE_PROBLEMS:  # the verdict first: a title alone does not say what is wrong with the dose
        prefix = f"{status_text(rec).split(';')[0]}: "
    suffix = ""
    if rec.status is RecommendationStatus.OVERDUE and rec.due is not None:
        # With no previous one on record, "overdue since" the diagnosis would read as years of neglect.
        suffix = (
            f" (none on record; due since {rec.due.isoformat()})"
            if never_recorded(rec)
            else f" (overdue since {rec.due.isoformat()})"
        )
    elif rec.status is RecommendationStatus.DUE:
        suffix = " (due now)"
    if rec.rule_status is not Status.APPROVED:
        # An EHR may show the summary alone: the flag is never cut off, and leads an urgent or emergency card.
        if prefix in _URGENT_PREFIXES:
            prefix = f"{prefix[:-2]} (not yet verified): "
        else:
            suffix += " - not yet verified"
    room = _SUMMARY_MAX - len(prefix) - len(suffix)  # only the title is shortened
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return f"{prefix}{title}{suffix}"


_URGENT_PREFIXES = ("Emergency: ", "Urgent: ")


_TOKEN = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:-[a-z0-9]+)+(?![\w-])|(?<![\w-])[a-z]+(?![\w-])")


@functools.lru_cache(maxsize=4096)  # reasons recur from chart to chart; the vocabulary is fixed for the process
def _readable(reason: str) -> str:
    """A reason with the vocabulary's labels for fact names (``not pad`` -> ``not peripheral artery disease``).

    For the card only: the record keeps the engine's wording, which replay compares.
    """
    labels = vocabulary()

    def label(match: re.Match[str]) -> str:
        fact = labels.get(match.group(0))
        if fact is None:
            return match.group(0)
        text = fact.label.split(";")[0]
        return text if match.start() == 0 else text[:1].lower() + text[1:]

    return _TOKEN.sub(label, reason)


def _detail(group: list[Recommendation], unverified: bool) -> str:
    first = group[0]
    lines = [f"**{first.action}**", ""]
    if unverified:
        lines += ["**NOT YET VERIFIED (rule in review):** shown because it is urgent; check the source.", ""]
    reasons = list(dict.fromkeys(r for rec in group for r in rec.reasons))
    if reasons:
        lines += ["Why:", *[f"- {_readable(r)}" for r in reasons], ""]
    if first.due is not None:
        lines += [f"Due: {first.due.isoformat()}", ""]
    details = list(dict.fromkeys(d for rec in group for d in rec.details))
    if details:
        lines += [*[f"- {d}" for d in details], ""]
    lines += [
        "Sources:",
        *[f"- {rec.citation} (rule `{rec.rule}`, {rec.guideline} {rec.version}){_also(rec, first)}" for rec in group],
    ]
    return "\n".join(lines)


def _also(rec: Recommendation, lead: Recommendation) -> str:
    """For a rule merged into another's card: its own state and action, as the text report's "also recommended"."""
    return "" if rec is lead else f": {status_text(rec)}: {rec.action}"


def _card(
    group: list[Recommendation], record_id: str, hashes: Mapping[tuple[str, str], str], base: str
) -> dict[str, Any]:
    # The most pressing recommendation leads (one due now before one without a date; a merely scheduled one never);
    # the others are named below it with their own state.
    group = sorted(group, key=lambda r: (_RANK[_indicator(r)], r.status in _QUIET, r.status not in _TIMELY))
    first = group[0]
    unverified = any(r.rule_status is not Status.APPROVED for r in group)
    card_id = _uuid5(f"neuroguide:{record_id}:{first.rule}")
    rules = [
        {
            "rule": r.rule,
            "guideline": r.guideline,
            "version": r.version,
            "sha256": hashes.get((r.guideline, r.version), ""),
            "ruleStatus": r.rule_status.value,
            "status": r.status.value,
        }
        for r in group
    ]
    return {
        "uuid": card_id,
        "summary": _summary(first),
        "indicator": _indicator(first),
        "detail": _detail(group, unverified),
        "source": {"label": f"neuroguide: {first.guideline} {first.version}", "url": f"{base}/rules/{first.rule}"},
        "overrideReasons": _OVERRIDE_REASONS,
        "extension": {AUDIT_EXTENSION: {"record": record_id, "rules": rules}},
    }


def _is_dose_problem(card: Mapping[str, Any]) -> bool:
    rules = card["extension"][AUDIT_EXTENSION]["rules"]
    return bool(rules) and rules[0]["status"] in _DOSE_PROBLEMS


def _foldable(rec: Recommendation) -> bool:
    """Information with nothing due, overdue, urgent or wrong with a dose, in a section whose items can share a card."""
    return rec.status not in _TIMELY and rec.section in _FOLDED


_Folded = list[tuple[dict[str, Any], list[Recommendation]]]


def _section_card(section: Section, folded: _Folded, record_id: str, base: str) -> dict[str, Any]:
    """One info card for a section's items: each its title, action and link; its audit names every rule."""
    lines = [f"**{SECTION_TITLES[section]}**: these have no due date; consider them at this visit.", ""]
    rules: list[dict[str, Any]] = []
    for card, items in folded:
        audit = card["extension"][AUDIT_EXTENSION]["rules"]
        lead = next(r for r in items if r.rule == audit[0]["rule"])
        lines.append(f"- [{card['summary']}]({base}/rules/{lead.rule}): {lead.action}")
        rules += audit
    first = folded[0][1][0]
    titles = "; ".join(card["summary"] for card, _ in folded)
    summary = f"{SECTION_TITLES[section]} ({len(folded)}, no due date): {titles}"
    if len(summary) > _SUMMARY_MAX:
        summary = summary[: _SUMMARY_MAX - 1].rstrip() + "…"
    return {
        "uuid": _uuid5(f"neuroguide:{record_id}:section:{section.value}"),
        "summary": summary,
        "indicator": "info",
        "detail": "\n".join(lines),
        "source": {"label": f"neuroguide: {first.guideline} {first.version}", "url": f"{base}/rules/{first.rule}"},
        "overrideReasons": _OVERRIDE_REASONS,
        "extension": {AUDIT_EXTENSION: {"record": record_id, "rules": rules}},
    }


def _unchecked_card(result: Assessment, record_id: str, base: str) -> dict[str, Any]:
    """A warning that urgent checks could not be made, naming the missing inputs and the rules that need them."""
    wanted = {m.fact: m for m in result.missing}
    missing = [wanted[f] for f in result.urgent_missing if f in wanted]
    names = [m.label.split(";")[0] for m in missing]
    found = "confirmed" if result.possible else "found"
    summary = f"No red flag {found}, but {len(names)} urgent check input(s) missing: {', '.join(names)}"
    if len(summary) > _SUMMARY_MAX:
        summary = summary[: _SUMMARY_MAX - 1].rstrip() + "…"
    lines = ["**Record these to rule out an urgent or emergency problem:**", ""]
    lines += [f"- {m.label} (needed by {', '.join(f'`{r}`' for r in m.needed_by)})" for m in missing]
    return {
        "uuid": _uuid5(f"neuroguide:{record_id}:urgent-missing"),
        "summary": summary,
        "indicator": "warning",
        "detail": "\n".join(lines),
        "source": {"label": "neuroguide", "url": f"{base}/cds-services"},
        "extension": {AUDIT_EXTENSION: {"record": record_id, "rules": []}},
    }


def _flags_card(flags: Sequence[Flag], record_id: str, base: str) -> dict[str, Any]:
    """A warning naming the patient's values left out (contradicting findings, placeholder dates, unit slips, ...)."""
    return _warning_card(
        flags,
        record_id,
        base,
        "flags",
        "**Check and correct these values.** They were not used: each is unknown to every rule, and a rule that "
        "needs one is undecided and names it among the missing inputs.",
        f"{len(flags)} input problem(s) flagged: the values were not used",
    )


def _undecided_card(flags: Sequence[Flag], record_id: str, base: str) -> dict[str, Any]:
    """A warning naming each result given as a limit that leaves a rule's threshold undecided."""
    return _warning_card(
        flags,
        record_id,
        base,
        "undecided",
        "**A result given as a limit leaves these thresholds undecided.** It was used for every threshold it "
        "decides; each comparison named is unknown, so its rule is undecided unless its other inputs decide it. "
        "An exact value would decide it.",
        f"{len(flags)} result(s) given as a limit leave a rule undecided",
    )


def _warning_card(
    flags: Sequence[Flag], record_id: str, base: str, key: str, heading: str, summary: str
) -> dict[str, Any]:
    """A warning card listing flags under a heading; ``key`` makes its uuid stable per record."""
    lines = [heading, "", *(f"- {html.escape(f'{f.field} = {f.value}: {f.message}', quote=False)}" for f in flags)]
    return {
        "uuid": _uuid5(f"neuroguide:{record_id}:{key}"),
        "summary": summary,
        "indicator": "warning",
        "detail": "\n".join(lines),
        "source": {"label": "neuroguide", "url": f"{base}/cds-services"},
        "extension": {AUDIT_EXTENSION: {"record": record_id, "rules": []}},
    }


def _possible_card(
    item: PossibleFlag, record_id: str, hashes: Mapping[tuple[str, str], str], base: str
) -> dict[str, Any]:
    """A red flag that rests on contradicting inputs: critical when every reading raises it, else a warning."""
    card = _card([item.recommendation], record_id, hashes, base)
    how = (
        "raised whichever of the contradicting values is right"
        if item.every
        else f"raised in {item.readings} of {item.of} readings of the contradicting values"
    )
    fields = "; ".join(item.fields)
    card["uuid"] = _uuid5(f"neuroguide:{record_id}:possible:{item.recommendation.rule}")
    summary = f"Possible red flag (contradicting inputs): {item.recommendation.title}"
    card["summary"] = summary if len(summary) <= _SUMMARY_MAX else summary[: _SUMMARY_MAX - 1].rstrip() + "…"
    card["indicator"] = "critical" if item.every else "warning"
    card["detail"] = (
        f"**Possible, not decided: {how}.** The inputs {html.escape(fields, quote=False)} contradict each other and "
        "were not used; check and correct them now.\n\n" + card["detail"]
    )
    return card


def cards_for(result: Assessment, record_id: str, base: str, notes: Sequence[fhir.Note] = ()) -> list[dict[str, Any]]:
    """The cards for an assessment: one per action, grouped exactly as the text report groups its items.

    A group whose every recommendation is only scheduled (nothing to do now) gets no card; information with nothing
    due shares one card per report section. With no red flag found while an urgent or emergency rule could not
    decide, a warning card names the inputs it needs: "no red flag" must not read as reassurance. Values the
    assessment flagged and did not use (findings contradicting each other, placeholder dates, ...) get a warning card.
    The FHIR reader's notes (``notes``, and those in ``result.notes``) are listed once each on their own cards.
    """
    hashes = {(g.id, g.version): g.sha256 for g in result.record.guidelines}
    cards: list[dict[str, Any]] = []
    folded: dict[Section, _Folded] = {}
    for group in action_groups(result):
        if all(_quiet(rec) for rec in group.items):
            continue
        items = list(group.items)
        card = _card(items, record_id, hashes, base)
        # Information with nothing due shares one card per section (eighteen cards for one chart are not read).
        if card["indicator"] == "info" and all(_foldable(r) for r in items):
            folded.setdefault(items[0].section, []).append((card, items))
        else:
            cards.append(card)
    for section in Section:
        share = folded.get(section, [])
        if len(share) == 1:
            cards.append(share[0][0])
        elif share:
            cards.append(_section_card(section, share, record_id, base))
    cards += [_possible_card(p, record_id, hashes, base) for p in result.possible]
    if result.urgent_missing and not any(c["indicator"] == "critical" for c in cards):
        cards.append(_unchecked_card(result, record_id, base))
    flagged = [f for f in result.flags if f.kind not in _NOT_INPUTS]
    if flagged:
        cards.append(_flags_card(flagged, record_id, base))
    undecided = [f for f in result.flags if f.kind is FlagKind.UNDECIDED]
    if undecided:
        cards.append(_undecided_card(undecided, record_id, base))
    # Dose problems lead the warnings: a prescription may be signed in this visit.
    cards.sort(key=lambda c: (_RANK[c["indicator"]], not _is_dose_problem(c)))
    if notes or result.notes:
        # Data read with an assumption WAS used: it gets its own card, not the "could not be used" one.
        cards += _notes_cards([*result.notes, *notes], record_id, base)
    return cards


def _notes_cards(notes: Sequence[fhir.Note], record_id: str, base: str) -> list[dict[str, Any]]:
    once = list(dict.fromkeys(notes))  # a note given twice (a prefetch key and the bundle) is listed once
    unused = [n for n in once if not n.assumed]
    assumed = [n for n in once if n.assumed]
    cards: list[dict[str, Any]] = []
    if unused:
        cards.append(
            _notes_card(
                unused,
                f"neuroguide:{record_id}:notes",
                f"{len(unused)} item(s) of the record could not be used by neuroguide",
                "These were not used (unknown code, unit or status), or conflict with another entry (each says how "
                "it was resolved); the advice above does not include what was not used:",
                record_id,
                base,
            )
        )
    if assumed:
        cards.append(
            _notes_card(
                assumed,
                f"neuroguide:{record_id}:assumed",
                f"{len(assumed)} item(s) of the record were read with an assumption",
                "These were used in the advice above, read as each note says (for example an unconfirmed diagnosis "
                "read as present, or a condition without a clinical status read as active); check them:",
                record_id,
                base,
            )
        )
    return cards


def _notes_card(
    notes: Sequence[fhir.Note], key: str, summary: str, intro: str, record_id: str, base: str
) -> dict[str, Any]:
    lines = [f"- {html.escape(n.text, quote=False)}" for n in notes]  # one line each, the resource named once
    return {
        "uuid": _uuid5(key),
        "summary": summary,
        "indicator": "info",
        "detail": intro + "\n\n" + "\n".join(lines),
        "source": {"label": "neuroguide: FHIR reader", "url": f"{base}/cds-services"},
        "extension": {AUDIT_EXTENSION: {"record": record_id, "rules": []}},
    }


def _dose_card(med: Any, verdict: DoseVerdict, base: str, ref: str) -> dict[str, Any]:
    # On dialysis without CrCl no renal row is decided: not a verdict to file as information.
    problem = verdict.verdict not in (Verdict.WITHIN, Verdict.NOT_COVERED) or verdict.dialysis_unbanded
    summary = f"{verdict.agent} {verdict.given}: {verdict.verdict.value.replace('-', ' ')}"
    if verdict.expected:
        summary += f" (expected {verdict.expected})"
    if len(summary) > _SUMMARY_MAX:
        summary = summary[: _SUMMARY_MAX - 1].rstrip() + "…"
    lines = [f"**{verdict.message}**", ""]
    lines += [f"- {n}" for n in verdict.notes]
    if verdict.missing:
        lines += [f"- Missing to decide: {', '.join(verdict.missing)}"]
    if verdict.citation:
        lines += ["", f"Source: {verdict.citation} (rule `{verdict.rule}`, {verdict.guideline} {verdict.version})"]
    rule = verdict.rule or "dosing"
    return {
        "uuid": _uuid5(f"neuroguide:{ref}:{verdict.agent}:{verdict.given}"),
        "summary": summary,
        "indicator": "warning" if problem else "info",
        "detail": "\n".join(lines),
        "source": {
            "label": f"neuroguide: {verdict.guideline or 'dosing'} {verdict.version or ''}".strip(),
            "url": f"{base}/rules/{rule}",
        },
        "overrideReasons": _OVERRIDE_REASONS,
        "extension": {
            AUDIT_EXTENSION: {
                "order": ref,
                "rules": [
                    {
                        "rule": verdict.rule,
                        "guideline": verdict.guideline,
                        "version": verdict.version,
                        "verdict": verdict.verdict.value,
                    }
                ],
            }
        },
    }


# -- requests ----------------------------------------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    """The request body (refused if larger than ``limit`` or not JSON by its media type)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise HookError(413, "payload-too-large", f"the request body is larger than {limit} bytes")
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in ("application/json", "application/fhir+json"):
        raise HookError(415, "unsupported-media-type", f"expected application/json, got {kind!r}")
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HookError(413, "payload-too-large", f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    """The body parsed strictly: a key given twice is refused by name (a fast parser keeps one value silently)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the body is not UTF-8 JSON ({exc.reason} at byte {exc.start})"
        raise HookError(400, "malformed-json", message) from None
    try:
        data = loads(text, "body", constants=False)
    except InputError as exc:
        raise HookError(400, "malformed-json", f"the body is not valid JSON: {exc}") from None
    if b"\\ud" in raw or b"\\uD" in raw:  # an escaped surrogate: orjson refuses a lone one (it cannot be stored)
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HookError(400, "malformed-json", f"the body is not valid JSON ({exc})") from None
    return data


def _hook_request(body: Any, service_id: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise HookError(400, "bad-request", "the body must be a JSON object")
    instance = body.get("hookInstance") if isinstance(body.get("hookInstance"), str) else None  # for the log
    for field, kind in (("hook", str), ("hookInstance", str), ("context", Mapping)):
        if not isinstance(body.get(field), kind):
            what = "a string" if kind is str else "an object"
            raise HookError(400, "bad-request", f"{field} is required ({what})", instance)
    expected = _SERVICES[service_id]["hook"]
    if body["hook"] != expected:
        message = f"service {service_id} answers hook {expected!r}, not {body['hook']!r}"
        raise HookError(400, "unsupported-hook", message, instance)
    context = body["context"]
    patient_id = context.get("patientId")
    if patient_id is None:  # every hook served names its patient; the prefetch patient alone could be anyone's
        raise HookError(
            400,
            "bad-request",
            f"context.patientId is required by the {expected} hook (the FHIR Patient.id of the patient in context; "
            "CDS Hooks Library, hookVersion 1.0)",
            instance,
        )
    if not isinstance(patient_id, str) or not patient_id:  # else never compared with the prefetch patient
        got = json.dumps(patient_id)[:80]
        message = f"context.patientId must be a string (a Patient id, not empty), got {got}"
        raise HookError(400, "bad-request", message, instance)
    user_id = context.get("userId")
    if user_id is None:  # REQUIRED by all three hooks served (CDS Hooks Library, hookVersion 1.0)
        raise HookError(
            400,
            "bad-request",
            f"context.userId is required by the {expected} hook (the current user as [ResourceType]/[id], "
            "e.g. Practitioner/123; CDS Hooks Library, hookVersion 1.0)",
            instance,
        )
    if not isinstance(user_id, str) or not user_id:
        got = json.dumps(user_id)[:80]
        message = f"context.userId must be a string ([ResourceType]/[id], e.g. Practitioner/123, not empty), got {got}"
        raise HookError(400, "bad-request", message, instance)
    if expected == "patient-view" and not _USER_ID.fullmatch(user_id):
        got = json.dumps(user_id)[:80]
        message = (
            f"context.userId must be in the format [ResourceType]/[id] (a FHIR resource type, '/', a FHIR id of "
            "letters, digits, '-' and '.', e.g. Practitioner/123; for patient-view the user is expected to be a "
            f"Practitioner, PractitionerRole, Patient or RelatedPerson), got {got}"
        )
        raise HookError(400, "bad-request", message, instance)
    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, Mapping):
        raise HookError(400, "bad-request", "prefetch must be an object of prefetch key -> FHIR resource", instance)
    return body


# patient-view's userId "Must be in the format [ResourceType]/[id]" (CDS Hooks Library STU1, hookVersion 1.0): a
# resource type name, then a FHIR id (R4 datatype id: [A-Za-z0-9\-\.]{1,64}). The published order-select and
# order-sign pages give no such rule for userId, so they are not held to it. The user's resource type is only
# "expected" (Practitioner, PractitionerRole, Patient or RelatedPerson), not required, so another type is accepted.
_USER_ID = re.compile(r"[A-Z][A-Za-z]*/[A-Za-z0-9\-.]{1,64}")


def _prefetched(body: Mapping[str, Any], required: bool) -> tuple[dict[str, Any], list[fhir.Note]]:
    """The usable prefetch data, with notes for keys the CDS Client did not (or could not) fill."""
    prefetch = dict(body.get("prefetch") or {})
    notes: list[fhir.Note] = []
    patient_id = body["context"].get("patientId")
    patient = prefetch.get("patient")
    if patient is None and required:
        where = "this service reads prefetched data only (it does not query the EHR's FHIR server)"
        raise HookError(412, "precondition-failed", f"prefetch key 'patient' is missing or null and {where}")
    if patient is not None:
        if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
            got = patient.get("resourceType") if isinstance(patient, Mapping) else type(patient).__name__
            raise HookError(400, "wrong-resource-type", f"prefetch 'patient' must be a Patient resource, got {got!r}")
        if isinstance(patient_id, str) and patient.get("id") not in (None, patient_id):
            raise HookError(
                400, "bad-request", f"prefetch patient {patient.get('id')!r} is not context.patientId {patient_id!r}"
            )
    for key, value in list(prefetch.items()):
        if key not in _PATIENT_PREFETCH:
            prefetch.pop(key)
            notes.append(
                fhir.Note(
                    kind=fhir.NoteKind.UNRECOGNISED,
                    resource=f"prefetch.{key}",
                    what="prefetch key",
                    reason="not requested by this service; ignored",
                )
            )
        elif isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome":
            prefetch.pop(key)
            notes.append(
                fhir.Note(
                    kind=fhir.NoteKind.EXCLUDED,
                    resource=f"prefetch.{key}",
                    what="prefetch failed",
                    reason="the CDS Client sent an OperationOutcome instead of data",
                )
            )
        elif value is None:
            prefetch.pop(key)  # CDS Hooks: a client that cannot fulfil a prefetch omits the key or sends null
        elif not isinstance(value, Mapping):
            raise HookError(400, "wrong-resource-type", f"prefetch {key!r} must be a FHIR resource, Bundle or null")
        elif key != "patient" and value.get("resourceType") != "Bundle":
            raise HookError(
                400,
                "wrong-resource-type",
                f"prefetch {key!r} must be a searchset Bundle, got {value.get('resourceType')!r}",
            )
    for key in _PATIENT_PREFETCH:
        if key not in prefetch and key != "patient":
            given = "sent it as null" if key in (body.get("prefetch") or {}) else "did not provide it"
            notes.append(
                fhir.Note(
                    kind=fhir.NoteKind.EXCLUDED,
                    resource=f"prefetch.{key}",
                    what="prefetch key absent",
                    reason=f"the CDS Client {given}; that kind of data is unknown",
                )
            )
    return prefetch, notes


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(uuid.NAMESPACE_URL, name))``, without building a UUID object (about 20 cards a request)."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode("utf-8"), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _record_json(result: Assessment) -> tuple[str, str]:
    """The evaluation record as compact JSON (what is stored, and replays) and its id: the start of its SHA-256."""
    data = orjson.dumps(result.record.to_dict())
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()[:32]


@attrs.frozen
class _Done:
    """An answered hook call: the response body, the hookInstance for the log, and the record to store (if any)."""

    body: bytes
    hook_instance: str
    record: _Pending | None = None


@attrs.define
class _Hooks:
    """Answers hook calls from the request body alone (no request object, no database).

    It runs in the HTTP process (one worker) or in each evaluator process (``workers`` > 1), so everything it needs
    crosses a process boundary as bytes and small values.
    """

    config: ServiceConfig

    def as_of(self) -> dt.date:
        return self.config.as_of or dt.datetime.now(dt.UTC).date()

    def answer(self, service_id: str, raw: bytes, base: str) -> _Done:
        body = _hook_request(_parse_json(raw), service_id)
        try:
            if _SERVICES[service_id]["hook"] == "patient-view":
                return self.patient_view(service_id, body, base)
            return self.orders(body, base)
        except HookError as exc:
            exc.hook_instance = body["hookInstance"]
            raise
        except _SERVICE_FAULTS as exc:
            log.error("the service cannot use its guidelines: %s", exc)
            message = f"the service cannot use its guidelines (its own configuration, not the request): {exc}"
            raise HookError(503, "service-misconfigured", message, body["hookInstance"]) from None
        except NeuroguideError as exc:  # any input problem not caught nearer is still the client's
            raise HookError(400, "bad-request", str(exc), body["hookInstance"]) from None

    def _read(self, prefetch: Mapping[str, Any], as_of: dt.date) -> fhir.Reading:
        try:
            return fhir.read(prefetch, as_of=as_of, conformance=self.config.check_conformance)
        except InputError as exc:
            raise HookError(400, "bad-fhir-data", str(exc)) from None

    def patient_view(self, service_id: str, body: Mapping[str, Any], base: str) -> _Done:
        prefetch, notes = _prefetched(body, required=True)
        as_of = self.as_of()
        reading = self._read(prefetch, as_of)
        try:
            result = assess(reading.patient, as_of=as_of)
        except _SERVICE_FAULTS:
            raise
        except NeuroguideError as exc:
            raise HookError(400, "bad-patient-data", str(exc)) from None
        result = result.with_notes([*notes, *reading.notes])  # in the stored record too, for the auditor
        record_json, record_id = _record_json(result)
        cards = cards_for(result, record_id, base)
        record = _pending(record_id, service_id, body["hookInstance"], record_json, cards)
        return _Done(orjson.dumps({"cards": cards}), body["hookInstance"], record)

    def orders(self, body: Mapping[str, Any], base: str) -> _Done:
        context = body["context"]
        drafts = context.get("draftOrders")
        if drafts is None:
            raise HookError(400, "bad-request", "context.draftOrders is required (a FHIR Bundle of the draft orders)")
        if not isinstance(drafts, Mapping) or drafts.get("resourceType") != "Bundle":
            got = drafts.get("resourceType") if isinstance(drafts, Mapping) else type(drafts).__name__
            raise HookError(400, "wrong-resource-type", f"context.draftOrders must be a FHIR Bundle, got {got!r}")
        selections = context.get("selections")
        # An array of strings (CDS Hooks order-select); a string would be matched by substring.
        if selections is not None and not (
            isinstance(selections, list) and all(isinstance(s, str) for s in selections)
        ):
            got = json.dumps(selections)[:80]  # the body was JSON: its parts are too
            raise HookError(
                400,
                "bad-request",
                f"context.selections must be an array of strings (the ids of the selected orders, such as "
                f"'MedicationRequest/1'), got {got}",
            )
        if body["hook"] == "order-select" and not (isinstance(selections, list) and selections):
            raise HookError(
                400, "bad-request", "order-select needs context.selections (the ids of the selected orders)"
            )
        prefetch, notes = _prefetched(body, required=False)
        as_of = self.as_of()
        patient: Patient | None = self._read(prefetch, as_of).patient if prefetch.get("patient") else None
        cards: list[dict[str, Any]] = []
        entries = drafts.get("entry") or []
        if not isinstance(entries, list):  # not silently "no orders": the dose would go unchecked
            got = type(entries).__name__
            raise HookError(400, "bad-request", f"context.draftOrders.entry must be a list, got {got}")
        resources = []
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(res, Mapping):
                raise HookError(400, "bad-request", f"draftOrders.entry[{i}] has no resource")
            resources.append((f"{res.get('resourceType')}/{res.get('id')}", res))
        unknown = [s for s in selections or () if s not in {ref for ref, _ in resources}]
        if unknown:  # else the selected order is silently left unchecked
            raise HookError(
                400,
                "bad-request",
                f"context.selections names {', '.join(unknown)}, which is not in context.draftOrders",
            )
        patient_id = context.get("patientId") or (patient.id if patient is not None else None)
        for ref, res in resources:
            if selections and ref not in selections:
                continue
            if res.get("resourceType") != "MedicationRequest":
                continue  # other orders (labs, imaging) are not for this service
            subject = _order_subject(res)
            if patient_id is not None and subject is not None and subject != f"Patient/{patient_id}":
                # an order for someone else is not checked against this patient's renal function
                why = f"the order is for {subject}, not the patient in context (Patient/{patient_id}); not checked"
                notes.append(fhir.Note(kind=fhir.NoteKind.EXCLUDED, resource=ref, what="subject", reason=why))
                continue
            try:
                med, med_notes = fhir.draft_medication(res)
            except InputError as exc:
                raise HookError(400, "bad-fhir-data", str(exc)) from None
            notes += med_notes
            if med is None or med.dose is None or med.per is None:
                continue
            try:
                verdict = check_dose(
                    med.agent, med.dose, per=med.per, route=med.route, patient=patient, as_of=as_of if patient else None
                )
            except _SERVICE_FAULTS:
                raise
            except NotFoundError as exc:
                held = exc.in_review if isinstance(exc, NoRegimenError) else ()
                reason = (
                    f"its dosing regimen ({', '.join(held)}) is in review; the dose was not checked"
                    if held
                    else "no cited dosing regimen names this drug; the dose was not checked"
                )
                notes.append(fhir.Note(kind=fhir.NoteKind.UNRECOGNISED, resource=ref, what=med.agent, reason=reason))
                continue
            except InputError as exc:
                raise HookError(400, "bad-fhir-data", f"{ref}: {exc}") from None
            cards.append(_dose_card(med, verdict, base, ref))
        if notes:
            listing = "\n".join(f"- {n}" for n in notes)
            cards.append(
                {
                    "uuid": _uuid5(f"neuroguide:{body['hookInstance']}:notes"),
                    "summary": f"{len(notes)} item(s) could not be used for the dose check",
                    "indicator": "warning",  # a dose not checked is a dose problem a prescriber must see
                    "detail": listing,
                    "source": {"label": "neuroguide: FHIR reader", "url": f"{base}/cds-services"},
                }
            )
        cards.sort(key=lambda c: _RANK[c["indicator"]])
        return _Done(orjson.dumps({"cards": cards}), body["hookInstance"])


_SUBJECT = re.compile(r"(?:^|/)(Patient|Group)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def _order_subject(res: Mapping[str, Any]) -> str | None:
    """The patient, group or contained resource ("#id") a draft order's subject names; None if none or unresolved."""
    subject = res.get("subject")
    ref = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(ref, str):
        return None
    match = _SUBJECT.search(ref)
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    return ref if ref.startswith("#") else None  # a urn:uuid may name the patient's entry: not judged here


# The service's own faults: its guidelines missing, altered or unreadable. Never blamed on the EHR's request.
_SERVICE_FAULTS = (IntegrityError, GuidelineDataError, UnknownGuidelineError)


def _start_evaluator(config: ServiceConfig) -> None:
    """Set up an evaluator process: its hooks, and its first evaluation (guidelines, plans and models loaded)."""
    # The HTTP process stops the pool in order on Ctrl-C or SIGTERM (a terminal or a service manager signals the
    # whole group): an evaluator stopping on its own would fail the requests it is answering.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:  # so it never outlives the HTTP process, even one killed outright (SIGKILL)
        threading.Thread(target=_exit_with, args=(parent,), name="neuroguide-parent-watch", daemon=True).start()
    _logging()
    hooks = _Hooks(config)
    _EVALUATOR["hooks"] = hooks
    _warm(hooks)


def _warm(hooks: _Hooks) -> None:
    """Answer a sample request and compile the plan it made, so that no real request pays for either."""
    hooks.answer("neuroguide-patient-view", _DEMO_REQUEST, "http://127.0.0.1")
    compile_gates()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


def _evaluate(service_id: str, raw: bytes, base: str) -> _Done:
    """A hook call answered in an evaluator process."""
    return _EVALUATOR["hooks"].answer(service_id, raw, base)


def _ready() -> None:
    """Nothing: submitted once per evaluator at startup so that every process is started (and warmed) at once."""


_EVALUATOR: dict[str, _Hooks] = {}


@attrs.define
class _App:
    config: ServiceConfig
    auth: _Auth
    store: _Store
    hooks: _Hooks
    evaluators: int = 0
    pool: ProcessPoolExecutor | None = None

    def base(self, request: Request) -> str:
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    def as_of(self) -> dt.date:
        return self.hooks.as_of()

    async def authenticate(self, request: Request) -> None:
        """Verify the request's JWT (nothing to do when no issuer is configured).

        Off the event loop: the replay check commits to the database (a disk sync) and a key may have to be fetched
        from the issuer's JWK Set URL, and meanwhile the loop keeps serving the other connections.
        """
        if not self.config.auth_required:
            return
        url = f"{self.base(request)}{request.url.path}"
        await run_in_threadpool(self.auth.verify, request, [url, url.rstrip("/")])

    async def start(self) -> None:
        """Check the guidelines, start the record writer and the evaluators (each warmed before the first request).

        Raises:
            IntegrityError: a guideline file does not match its lock (the service does not start).
            NotFoundError: no guidelines are installed.

        """
        catalog()
        self.store.start()
        if self.evaluators > 1:
            await self._start_pool()
        else:  # the first request should not pay for loading the guidelines and building the plans
            _warm(self.hooks)

    async def _start_pool(self) -> None:
        pool = ProcessPoolExecutor(
            self.evaluators,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_evaluator,
            initargs=(self.config,),
        )
        await asyncio.gather(*(asyncio.wrap_future(pool.submit(_ready)) for _ in range(self.evaluators)))
        self.pool = pool

    def stop(self) -> None:
        """Let the evaluators finish, then write every queued record (no record is lost on shutdown)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
        self.store.stop()

    async def discovery(self, request: Request) -> Response:
        await self.authenticate(request)
        return _Json({"services": [{"id": sid, **spec} for sid, spec in _SERVICES.items()]})

    async def call(self, request: Request) -> Response:
        service_id = request.path_params["service_id"]
        if service_id not in _SERVICES:
            raise HookError(404, "unknown-service", f"no CDS service {service_id!r} here (see /cds-services)")
        await self.authenticate(request)
        raw = await _body(request, self.config.max_body)
        if self.pool is None:
            done = self.hooks.answer(service_id, raw, self.base(request))
        else:
            # Whichever evaluator is free takes the request: the work spreads over the processes whatever the
            # number of connections and whichever process accepted them.
            pool = self.pool
            try:
                done = await asyncio.wrap_future(pool.submit(_evaluate, service_id, raw, self.base(request)))
            except BrokenProcessPool:
                # An evaluator died (killed, out of memory): the pool takes no more work. Start a new one.
                log.error("an evaluator process stopped; starting the evaluators again")
                if self.pool is pool:
                    self.pool = None  # meanwhile requests are answered here
                    pool.shutdown(wait=False)
                    for child in multiprocessing.active_children():  # the old evaluators (they ignore SIGTERM)
                        child.kill()
                    await self._start_pool()
                raise HookError(503, "unavailable", "the evaluation was interrupted; send the request again") from None
        request.state.hook_instance = done.hook_instance
        if done.record is not None:
            request.state.record_id = done.record.record_id
            self.store.put(done.record)
        return Response(done.body, media_type="application/json")

    async def feedback(self, request: Request) -> Response:
        service_id = request.path_params["service_id"]
        if service_id not in _SERVICES:
            raise HookError(404, "unknown-service", f"no CDS service {service_id!r} here")
        await self.authenticate(request)
        body = _parse_json(await _body(request, self.config.max_body))
        items = body.get("feedback") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not items:
            raise HookError(400, "bad-request", 'the body must be {"feedback": [...]} with at least one item')
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or not isinstance(item.get("card"), str):
                raise HookError(400, "bad-request", f"feedback[{i}].card (the card uuid) is required")
            if item.get("outcome") not in ("accepted", "overridden"):
                raise HookError(400, "bad-request", f"feedback[{i}].outcome must be 'accepted' or 'overridden'")
            if not isinstance(item.get("outcomeTimestamp"), str):
                raise HookError(400, "bad-request", f"feedback[{i}].outcomeTimestamp is required")
            if item["outcome"] == "accepted" and not isinstance(item.get("acceptedSuggestions"), list):
                raise HookError(400, "bad-request", f"feedback[{i}].acceptedSuggestions is required when accepted")
            reason = item.get("overrideReason")
            if reason is not None and not isinstance(reason, Mapping):
                raise HookError(400, "bad-request", f"feedback[{i}].overrideReason must be an object")
        stored = await run_in_threadpool(self.store.feedback, service_id, list(items))
        return _Json({"stored": stored})

    async def rule_page(self, request: Request) -> Response:
        try:
            g, rule = find_rule(request.path_params["rule_id"], as_of=self.as_of())
        except NotFoundError as exc:
            raise HookError(404, "unknown-rule", str(exc)) from None
        return PlainTextResponse(render_rule(g, rule))

    async def demo(self, request: Request) -> Response:
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/demo", "patientId": "demo"},
            "prefetch": DEMO_PREFETCH,
        }
        done = self.hooks.answer("neuroguide-patient-view", orjson.dumps(body), self.base(request))
        if done.record is not None:
            self.store.put(done.record)
        cards = orjson.loads(done.body)["cards"]
        return HTMLResponse(_demo_html(cards, self.as_of()))


# A Markdown link to a web address; the address may not hold a quote or space (it becomes an attribute).
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s\"]+)\)")


def _markdown(text: str) -> str:
    """The small Markdown subset the cards use (bold, code, links, bullet lists, paragraphs) as HTML."""
    out: list[str] = []
    in_list = False
    for line in text.split("\n"):
        safe = html.escape(line, quote=False)
        parts = safe.split("**")
        safe = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
        parts = safe.split("`")
        safe = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
        safe = _LINK.sub(r'<a href="\2">\1</a>', safe)
        if safe.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{safe[2:]}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if safe.strip():
            out.append(f"<p>{safe}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def _demo_html(cards: list[dict[str, Any]], as_of: dt.date) -> str:
    colour = {"critical": "#b00020", "warning": "#b26a00", "info": "#1f5fa8"}
    items = []
    for card in cards:
        source = card["source"]
        rules = ", ".join(r["rule"] for r in card.get("extension", {}).get(AUDIT_EXTENSION, {}).get("rules", []))
        items.append(
            f'<article class="card" style="border-left-color:{colour[card["indicator"]]}">'
            f'<div class="ind" style="color:{colour[card["indicator"]]}">{html.escape(card["indicator"].upper())}</div>'
            f"<h2>{html.escape(card['summary'])}</h2>"
            f"<div class=detail>{_markdown(card.get('detail', ''))}</div>"
            f'<p class=src>Source: <a href="{html.escape(source.get("url", "#"))}">{html.escape(source["label"])}</a>'
            + (f" · rules: <code>{html.escape(rules)}</code>" if rules else "")
            + "</p></article>"
        )
    style = (
        "body{font-family:system-ui,sans-serif;margin:24px;background:#f4f5f7;color:#1d1d1f;max-width:900px}"
        ".card{background:#fff;border-left:6px solid;border-radius:6px;padding:12px 18px;margin:14px 0;"
        "box-shadow:0 1px 3px rgba(0,0,0,.12)}.card h2{font-size:17px;margin:4px 0 8px}.ind{font-size:12px;"
        "font-weight:700;letter-spacing:.08em}.detail{font-size:14px}.src{font-size:13px;color:#555}"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>neuroguide CDS Hooks demo</title>"
        f"<style>{style}</style></head><body><h1>neuroguide: patient-view cards</h1>"
        f"<p>Demonstration patient (synthetic), evaluated on {as_of.isoformat()}. "
        f"{len(cards)} card(s), as a CDS Client would receive them.</p>" + "".join(items) + "</body></html>"
    )


def _subject(ref: str) -> dict[str, str]:
    return {"reference": ref}


DEMO_PREFETCH: dict[str, Any] = {
    "patient": {"resourceType": "Patient", "id": "demo", "birthDate": "1962-03-14", "gender": "male"},
    "conditions": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "demo-dm",
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "44054006",
                                "display": "Diabetes mellitus type 2 (disorder)",
                            }
                        ]
                    },
                    "subject": _subject("Patient/demo"),
                    "onsetDateTime": "2012-05-02",
                }
            }
        ],
    },
    "observations": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"demo-{fact}",
                    "status": "final",
                    "code": {"coding": [{"system": LOCAL_SYSTEM, "code": fact}]},
                    "subject": _subject("Patient/demo"),
                    "effectiveDateTime": "2026-11-01",
                    "valueBoolean": value,
                }
            }
            for fact, value in (
                ("numbness", True),
                ("tingling", True),
                ("distal-symmetric-pattern", True),
                ("monofilament-abnormal", True),
                ("acute-onset", False),
                ("weakness", False),
            )
        ],
    },
    "procedures": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Procedure",
                    "id": f"demo-{code}",
                    "status": "completed",
                    "code": {"coding": [{"system": system, "code": code}]},
                    "subject": _subject("Patient/demo"),
                    "performedDateTime": "2025-06-10",
                }
            }
            for system, code in (
                (LOCAL_SYSTEM, "last-neuropathy-exam"),
                ("http://snomed.info/sct", "401191002"),
                ("http://snomed.info/sct", "134388005"),
                ("http://snomed.info/sct", "91161007"),
            )
        ],
    },
    "medicationStatements": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "demo-metformin",
                    "status": "active",
                    "medicationCodeableConcept": {"text": "metformin"},
                    "subject": _subject("Patient/demo"),
                    "effectivePeriod": {"start": "2013-02-01"},
                }
            }
        ],
    },
    "medicationRequests": None,
}
_DEMO_REQUEST = orjson.dumps(
    {
        "hook": "patient-view",
        "hookInstance": "warm-up",
        "context": {"userId": "Practitioner/demo", "patientId": "demo"},
        "prefetch": DEMO_PREFETCH,
    }
)


def create_app(config: ServiceConfig | None = None, *, evaluators: int = 1) -> Starlette:
    """Build the ASGI application (run it with any ASGI server, e.g. uvicorn).

    With ``evaluators`` above 1, hook calls are answered by that many evaluator processes (started with the
    application), each request by whichever is free; the HTTP process keeps the connections, authentication and the
    database.
    """
    config = config or ServiceConfig()
    store = _Store(config.database)
    app_state = _App(config=config, auth=_Auth(config, store), store=store, hooks=_Hooks(config), evaluators=evaluators)

    def wrap(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            start = time.perf_counter()
            request.state.record_id = None
            request.state.hook_instance = None
            error = ""
            try:
                response: Response = await handler(request)
            except HookError as exc:
                if exc.hook_instance is not None:
                    request.state.hook_instance = exc.hook_instance
                response, error = _error(exc), f" {exc.error}"
            except NeuroguideError as exc:  # any input problem not caught nearer is still the client's
                response, error = _error(HookError(400, "bad-request", str(exc))), " bad-request"
            except Exception:  # a bug of ours: log it; the client gets a plain 500 without internals
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                response = _Json({"error": "internal", "message": "internal error (logged)"}, status_code=500)
                error = " internal"
            log.info(
                "%s %s -> %d%s hookInstance=%s record=%s %.1f ms",
                request.method,
                request.url.path,
                response.status_code,
                error,
                request.state.hook_instance,
                request.state.record_id,
                (time.perf_counter() - start) * 1000,
            )
            return response

        return endpoint

    routes = [
        Route("/cds-services", wrap(app_state.discovery), methods=["GET"]),
        Route("/cds-services/{service_id}", wrap(app_state.call), methods=["POST"]),
        Route("/cds-services/{service_id}/feedback", wrap(app_state.feedback), methods=["POST"]),
        Route("/rules/{rule_id}", wrap(app_state.rule_page), methods=["GET"]),
        Route("/demo", wrap(app_state.demo), methods=["GET"]),
    ]
    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(HookError(404, "not-found", f"no endpoint {request.url.path} (see /cds-services)"))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(HookError(405, "method-not-allowed", f"{request.method} is not allowed on {request.url.path}"))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await app_state.start()
        try:
            yield
        finally:
            app_state.stop()

    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


# uvloop (libuv's event loop, written in C) where it is built for the platform (not Windows); asyncio's own otherwise.
_LOOP = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


class _NoDelayHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on the httptools parser, with Nagle's algorithm off on every connection.

    httptools parses requests in C: a hook call's body (tens of kilobytes of FHIR resources) is the HTTP process's
    largest input, and the pure-Python parser cost it about as much CPU as the rest of its work. Nagle's algorithm is
    turned off here whatever the event loop does by default: with it on, a response written in two parts waits for
    the client's delayed acknowledgement, adding about 40 ms to every request.
    """

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``: reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name or an empty string: it may resolve to, or bind, any interface
        return False


def check_exposure(config: ServiceConfig, host: str, *, allow_unauthenticated: bool = False) -> None:
    """Refuse to listen beyond this machine with authentication off, unless the operator said so explicitly.

    Raises:
        InputError: ``host`` is not a loopback address, no JWT issuer is configured (and ``require_auth`` is off),
            and ``allow_unauthenticated`` is false.

    """
    if config.auth_required or allow_unauthenticated or is_loopback(host):
        return
    raise InputError(
        "host",
        host,
        "a loopback address (127.0.0.1, ::1 or localhost) while authentication is off: anyone who can reach "
        f"{host} could call the service without a JWT. Configure a trusted EHR as [[service.issuers]] (iss and "
        "jwks_url or jwks_file) in the file given to --config, or pass --allow-unauthenticated (development only)",
    )


def serve(
    config: ServiceConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    allow_unauthenticated: bool = False,
) -> None:
    """Run the service with uvicorn until interrupted, its hook calls answered by ``workers`` processes.

    One worker answers in the HTTP process. With more (one per core is best), one HTTP process keeps every connection
    and hands each hook call to whichever evaluator process is free: separate uvicorn worker processes would each keep
    the connections they happened to accept (a client's keep-alive connections often all land on one), leaving the
    other cores idle. On shutdown (Ctrl-C or SIGTERM) the requests in progress are answered and every queued
    evaluation record is written before the process exits. uvicorn's access log is off: the service logs every
    request itself, with its evaluation record id. The evaluators are started with multiprocessing's "spawn": a
    script calling ``serve(workers=2)`` must do so under ``if __name__ == "__main__":``.

    Raises:
        InputError: fewer than one worker, or a ``host`` beyond loopback with authentication off (see
            :func:`check_exposure`).
        IntegrityError: a guideline file does not match its lock.
        NotFoundError: no guidelines are installed.

    """
    config = config or ServiceConfig()
    if workers < 1:
        raise InputError("workers", workers, "at least 1 worker process")
    check_exposure(config, host, allow_unauthenticated=allow_unauthenticated)
    # Before listening: a service whose guidelines are missing or altered must not start (and then refuse every hook
    # call as if the EHR's data were wrong).
    catalog()
    _logging()
    if not config.auth_required:
        log.warning("authentication is off: no JWT issuer is configured (for development only)")
    app = create_app(config, evaluators=workers)
    uvicorn.run(app, host=host, port=port, http=_NoDelayHttp, loop=_LOOP, log_level="info", access_log=False)
