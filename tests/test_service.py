"""The CDS Hooks service, exercised over HTTP against a real uvicorn server on 127.0.0.1 (a free port).

The EHR's JWT is signed with an ES384 key whose public half is served as a JWK Set by a second local HTTP server,
as the CDS Hooks specification describes ("Trusting CDS Clients").
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="needs the service extra")
pytest.importorskip("fhir.resources", reason="needs the service extra")

import attrs
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec

from neuroguide import cli, fhir, replay
from neuroguide._actions import action_groups
from neuroguide.audit import replay_record
from neuroguide.evaluation import assess
from neuroguide.patient import Patient
from neuroguide.results import SECTION_TITLES, EvaluationRecord, Section
from neuroguide.service import AUDIT_EXTENSION, Issuer, ServiceConfig, _readable, _Store, _uuid5, cards_for, create_app
from tools.fhir import EXAMPLES

AS_OF = dt.date(2026, 11, 23)
ISS = "https://ehr.test/"
KID = "ehr-key-1"
ORIGIN = "https://ehr.example.org"
PATIENT_VIEW = "/cds-services/neuroguide-patient-view"
ORDER_SELECT = "/cds-services/neuroguide-order-select"
ORDER_SIGN = "/cds-services/neuroguide-order-sign"
KEYS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Server:
    def __init__(self, base: str, db: Path, key: ec.EllipticCurvePrivateKey, log: _Collect) -> None:
        self.base, self.db, self.key, self.log = base, db, key, log

    def token(self, path: str, **changes: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": self.base + path, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        claims.update({k: v for k, v in changes.items() if k not in ("key", "alg", "headers")})
        key = changes.get("key", self.key)
        headers = {"kid": KID, "typ": "JWT", **changes.get("headers", {})}
        return jwt.encode(claims, key, algorithm=changes.get("alg", "ES384"), headers=headers)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "auto",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token == "auto":
            token = self.token(path)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                text = resp.read()
                status, got = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            text = exc.read()
            status, got = exc.code, dict(exc.headers)
        kind = got.get("content-type", "")
        return status, {k.lower(): v for k, v in got.items()}, json.loads(text) if "json" in kind else text.decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES384"}]}).encode()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: Any) -> None:
            pass

    keys = http.server.HTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=keys.serve_forever, daemon=True).start()
    jwks_url = f"http://127.0.0.1:{keys.server_address[1]}/jwks.json"
    db = tmp_path_factory.mktemp("service") / "feedback.sqlite"
    config = ServiceConfig(
        database=f"sqlite:///{db}",
        issuers=(Issuer(iss=ISS, jwks_url=jwks_url),),
        cors_origins=(ORIGIN,),
        max_body=400_000,
        as_of=AS_OF,
    )
    port = _free_port()
    collect = _Collect()
    logger = logging.getLogger("neuroguide.service")
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    uv = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", db, key, collect)
    uv.should_exit = True
    thread.join(timeout=60)
    keys.shutdown()
    keys.server_close()
    logger.removeHandler(collect)


def prefetch_of(name: str) -> dict[str, Any]:
    """The example's Bundle split the way a CDS Client fills the service's prefetch templates."""
    bundle = json.loads((EXAMPLES / "fhir" / f"{name}.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"patient": None}
    searches: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("conditions", "observations", "procedures", "medicationStatements", "medicationRequests")
    }
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            out["patient"] = res
        else:
            key = KEYS.get(res["resourceType"], "medicationStatements")
            searches[key].append({"resource": res})
    for key, entries in searches.items():
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    return out


def view(name: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": name},
        "prefetch": prefetch_of(name),
    }


def order(hook: str, grams_per_day: float, *, selections: list[str] | None = None) -> dict[str, Any]:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/t2d-metformin"},
        "medicationCodeableConcept": {"text": "gabapentin"},
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "route": {"text": "oral"},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": grams_per_day * 1000 / 3,
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ],
    }
    lab = {"resourceType": "ServiceRequest", "id": "lab-1", "status": "draft", "intent": "order", "subject": {}}
    context: dict[str, Any] = {
        "userId": "Practitioner/1",
        "patientId": "t2d-metformin",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}, {"resource": lab}],
        },
    }
    if selections is not None:
        context["selections"] = selections
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch_of("t2d-metformin"),
    }


# -- discovery and authentication ----------------------------------------------------------------------------------


def test_discovery_lists_three_services_with_prefetch_templates(server: Server) -> None:
    status, _, body = server.call("GET", "/cds-services")
    assert status == 200
    services = {s["id"]: s for s in body["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select", "order-sign"}
    for s in services.values():
        assert s["description"] and s["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def test_a_call_without_a_jwt_is_refused_with_401(server: Server) -> None:
    status, headers, body = server.call("GET", "/cds-services", token=None)
    assert status == 401
    assert body["error"] == "unauthorized"
    assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "https://elsewhere.example/cds-services"}, "Audience"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
        ({"iss": "https://unknown-ehr.example/"}, "not trusted"),
        ({"key": "a-shared-secret-is-never-allowed-by-cds-hooks", "alg": "HS256"}, "asymmetric only"),
        ({"key": ec.generate_private_key(ec.SECP384R1())}, "Signature"),
        ({"headers": {"jku": "https://attacker.example/jwks.json"}}, "jku"),
        ({"headers": {"typ": "at+jwt"}}, "typ"),
    ],
    ids=["audience", "expired", "issuer", "hmac", "wrong-key", "jku", "typ"],
)
def test_invalid_jwts_are_refused(server: Server, change: dict[str, Any], why: str) -> None:
    token = server.token("/cds-services", **change)
    status, _, body = server.call("GET", "/cds-services", token=token)
    assert status == 401
    assert why.lower() in body["message"].lower()


def test_a_replayed_jwt_is_refused(server: Server) -> None:
    token = server.token("/cds-services")
    assert server.call("GET", "/cds-services", token=token)[0] == 200
    status, _, body = server.call("GET", "/cds-services", token=token)
    assert (status, "already used" in body["message"]) == (401, True)


# -- patient-view ------------------------------------------------------------------------------------------------


def test_patient_view_returns_auditable_cards(server: Server) -> None:
    status, _, body = server.call("POST", PATIENT_VIEW, view("t2d-metformin"))
    assert status == 200
    cards = body["cards"]
    assert cards
    lock = json.loads(Path(__file__).resolve().parents[1].joinpath("guidelines", "lock.json").read_text())
    hashes = json.dumps(lock)
    for card in cards:
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"]
        audit = card["extension"]["org.neuroguide.audit"]
        assert len(audit["record"]) == 32
        for rule in audit["rules"]:
            assert rule["rule"] and rule["version"] and rule["sha256"] in hashes
    assert len({c["uuid"] for c in cards}) == len(cards)
    overdue = [c for c in cards if "overdue" in c["summary"]]
    assert overdue and all(c["indicator"] == "warning" for c in overdue)
    screening = next(c for c in cards if c["extension"]["org.neuroguide.audit"]["rules"][0]["rule"] == "dpn-screening")
    assert screening["detail"].startswith("**")  # markdown
    status, _, text = server.call("GET", screening["source"]["url"].removeprefix(server.base))
    assert status == 200 and "dpn-screening" in text


def test_cards_for_the_same_action_are_merged(server: Server) -> None:
    cards = server.call("POST", PATIENT_VIEW, view("high-risk-foot"))[2]["cards"]
    details = [c["detail"].split("\n")[0] for c in cards if c["extension"]["org.neuroguide.audit"]["rules"]]
    assert len(details) == len(set(details))


@pytest.mark.parametrize("name", sorted(p.stem for p in (EXAMPLES / "fhir").glob("*.json")))
def test_information_shares_one_card_per_section_and_no_rule_is_lost(name: str) -> None:
    as_of = dt.date(2026, 11, 23)
    reading = fhir.read(prefetch_of(name), as_of=as_of)
    result = assess(reading.patient, as_of=as_of)
    cards = cards_for(result, "0" * 32, "http://x")
    audit = [c["extension"][AUDIT_EXTENSION]["rules"] for c in cards]
    # Nothing is dropped: every rule of a group with something to show is named by exactly one card.
    quiet = {"scheduled", "within-range"}
    groups = [g.items for g in action_groups(result) if any(r.status.value not in quiet for r in g.items)]
    assert sorted(r["rule"] for rules in audit for r in rules) == sorted(r.rule for items in groups for r in items)
    shared = {
        c["uuid"]: section
        for section in Section
        for c in cards
        if c["uuid"] == _uuid5(f"neuroguide:{'0' * 32}:section:{section.value}")
    }
    for card in cards:
        rules = card["extension"][AUDIT_EXTENSION]["rules"]
        if card["uuid"] in shared:
            # A shared card: information only, two or more items, each listed with a link to its rule.
            assert card["indicator"] == "info"
            assert not {r["status"] for r in rules} & {"overdue", "due", "emergency", "urgent"}
            listed = [line for line in card["detail"].splitlines() if line.startswith("- [")]
            assert len(listed) >= 2 and all("](http://x/rules/" in line for line in listed)
            assert card["summary"].startswith(SECTION_TITLES[shared[card["uuid"]]])
        elif card["indicator"] == "info" and rules:
            # An information card of its own: due now, a section that never shares, or the only one of its section.
            first = next(r for r in result.recommendations if r.rule == rules[0]["rule"])
            alone = [c for c in cards if c is not card and c["uuid"] not in shared and c["indicator"] == "info"]
            peers = [
                c
                for c in alone
                if next(
                    r for r in result.recommendations if r.rule == c["extension"][AUDIT_EXTENSION]["rules"][0]["rule"]
                ).section
                is first.section
                and c["extension"][AUDIT_EXTENSION]["rules"][0]["status"] != "due"
            ]
            assert (
                rules[0]["status"] == "due"
                or first.section in (Section.RESULTS, Section.REFERRALS, Section.MEDICATIONS, Section.TREATMENT)
                or not peers
            )


def test_red_flags_are_critical(server: Server) -> None:
    cards = server.call("POST", PATIENT_VIEW, view("gbs-ascending"))[2]["cards"]
    assert cards[0]["indicator"] == "critical"


def test_each_request_is_logged_with_its_evaluation_record_id(server: Server) -> None:
    body = view("t1d-anniversary")
    record = server.call("POST", PATIENT_VIEW, body)[2]["cards"][0]["extension"]["org.neuroguide.audit"]["record"]
    line = next(line for line in server.log.lines if body["hookInstance"] in line)
    assert f"record={record}" in line and "-> 200" in line


def test_unrecognised_fhir_data_is_shown_on_a_card(server: Server) -> None:
    body = view("t2d-metformin")
    creatinine = {  # a laboratory's own code, not a standard one
        "resourceType": "Observation",
        "id": "lab-cr",
        "status": "final",
        "code": {"coding": [{"system": "http://lab.example.org/codes", "code": "CREA"}]},
        "subject": {"reference": "Patient/t2d-metformin"},
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": 1.1, "system": "http://unitsofmeasure.org", "code": "mg/dL"},
    }
    body["prefetch"]["observations"]["entry"].append({"resource": creatinine})
    cards = server.call("POST", PATIENT_VIEW, body)[2]["cards"]
    notes = [c for c in cards if "could not be used" in c["summary"]]
    assert notes and "Observation/lab-cr" in notes[0]["detail"]


# -- order-select and order-sign ---------------------------------------------------------------------------------


def test_order_select_checks_the_selected_draft_dose(server: Server) -> None:
    status, _, body = server.call(
        "POST", ORDER_SELECT, order("order-select", 3.6, selections=["MedicationRequest/draft-1"])
    )
    assert status == 200
    (card,) = [c for c in body["cards"] if "gabapentin" in c["summary"]]
    assert card["indicator"] == "info" and "within range" in card["summary"]


def test_order_sign_warns_about_a_dose_above_the_maximum(server: Server) -> None:
    status, _, body = server.call("POST", ORDER_SIGN, order("order-sign", 9.0))
    assert status == 200
    (card,) = [c for c in body["cards"] if "gabapentin" in c["summary"]]
    assert card["indicator"] == "warning" and "above maximum" in card["summary"]


def test_order_select_without_selections_is_a_bad_request(server: Server) -> None:
    status, _, body = server.call("POST", ORDER_SELECT, order("order-select", 3.6))
    assert (status, body["error"]) == (400, "bad-request")


# -- feedback ----------------------------------------------------------------------------------------------------


def test_feedback_is_stored_in_sqlite(server: Server) -> None:
    card = server.call("POST", PATIENT_VIEW, view("t2d-metformin"))[2]["cards"][0]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [],
                "outcomeTimestamp": "2026-11-23T10:00:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "done last week elsewhere"},
                "outcomeTimestamp": "2026-11-23T10:05:00Z",
            },
        ]
    }
    status, _, body = server.call("POST", PATIENT_VIEW + "/feedback", feedback)
    assert (status, body) == (200, {"stored": 2})
    with sqlite3.connect(server.db) as db:
        rows = db.execute(
            "SELECT outcome, override_code, user_comment, rules FROM feedback WHERE card = ? ORDER BY id",
            (card["uuid"],),
        ).fetchall()
    assert [r[:3] for r in rows] == [
        ("accepted", None, None),
        ("overridden", "already-done", "done last week elsewhere"),
    ]
    assert rows[1][3] is not None and "sha256" in rows[1][3]  # the card's rules, for the audit


@pytest.mark.parametrize(
    "feedback",
    [{}, {"feedback": []}, {"feedback": [{"card": "x", "outcome": "maybe", "outcomeTimestamp": "t"}]}],
    ids=["no-list", "empty", "bad-outcome"],
)
def test_bad_feedback_is_refused(server: Server, feedback: dict[str, Any]) -> None:
    assert server.call("POST", PATIENT_VIEW + "/feedback", feedback)[0] == 400


# -- bad requests: a 4xx status and a JSON error body, never a 500 -------------------------------------------------


def _bad(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**body, "prefetch": {**body["prefetch"], key: value}}


BAD: list[tuple[str, str, Callable[[], dict[str, Any]] | bytes, int, str]] = [
    ("malformed-json", PATIENT_VIEW, b'{"hook": "patient-view",', 400, "malformed-json"),
    ("unknown-service", "/cds-services/no-such-service", lambda: view("t2d-metformin"), 404, "unknown-service"),
    ("wrong-hook", PATIENT_VIEW, lambda: {**view("t2d-metformin"), "hook": "order-sign"}, 400, "unsupported-hook"),
    ("no-hook-instance", PATIENT_VIEW, lambda: {"hook": "patient-view", "context": {}}, 400, "bad-request"),
    ("missing-prefetch", PATIENT_VIEW, lambda: {**view("t2d-metformin"), "prefetch": {}}, 412, "precondition-failed"),
    (
        "wrong-resource-type",
        PATIENT_VIEW,
        lambda: _bad(view("t2d-metformin"), "patient", {"resourceType": "Observation", "id": "x"}),
        400,
        "wrong-resource-type",
    ),
    (
        "search-not-a-bundle",
        PATIENT_VIEW,
        lambda: _bad(view("t2d-metformin"), "conditions", {"resourceType": "Condition", "id": "x"}),
        400,
        "wrong-resource-type",
    ),
    (
        "draft-orders-not-a-bundle",
        ORDER_SIGN,
        lambda: {**order("order-sign", 1.0), "context": {**order("order-sign", 1.0)["context"], "draftOrders": []}},
        400,
        "wrong-resource-type",
    ),
    (
        "draft-orders-missing",
        ORDER_SIGN,
        lambda: {**order("order-sign", 1.0), "context": {"userId": "Practitioner/1", "patientId": "t2d-metformin"}},
        400,
        "bad-request",
    ),
    ("oversized", PATIENT_VIEW, b"{" + b" " * 500_000 + b"}", 413, "payload-too-large"),
]


def _without(body: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The body with context fields removed (None) or replaced."""
    new = {**body["context"], **context}
    return {**body, "context": {k: v for k, v in new.items() if v is not None}}


# CDS Hooks Library STU1 (hookVersion 1.0): patient-view, order-select and order-sign each REQUIRE context.patientId.
NO_PATIENT_ID = [
    ("patient-view", PATIENT_VIEW, lambda: _without(view("t2d-metformin"), patientId=None)),
    ("order-sign", ORDER_SIGN, lambda: _without(order("order-sign", 1.0), patientId=None)),
    (
        "order-select",
        ORDER_SELECT,
        lambda: _without(order("order-select", 1.0, selections=["MedicationRequest/draft-1"]), patientId=None),
    ),
]


@pytest.mark.parametrize(("hook", "path", "payload"), NO_PATIENT_ID, ids=[n[0] for n in NO_PATIENT_ID])
def test_a_hook_without_context_patient_id_is_refused(
    server: Server, hook: str, path: str, payload: Callable[[], dict[str, Any]]
) -> None:
    sent = payload()
    assert "patientId" not in sent["context"] and sent["prefetch"]["patient"]["id"]  # the prefetch names one
    status, _, body = server.call("POST", path, sent)
    assert (status, body["error"]) == (400, "bad-request")
    assert "context.patientId is required" in body["message"] and hook in body["message"]


# The same hooks each REQUIRE context.userId ([ResourceType]/[id] of the current user).
NO_USER_ID = [
    ("patient-view", PATIENT_VIEW, lambda: _without(view("t2d-metformin"), userId=None)),
    ("order-sign", ORDER_SIGN, lambda: _without(order("order-sign", 1.0), userId=None)),
    (
        "order-select",
        ORDER_SELECT,
        lambda: _without(order("order-select", 1.0, selections=["MedicationRequest/draft-1"]), userId=None),
    ),
]


@pytest.mark.parametrize(("hook", "path", "payload"), NO_USER_ID, ids=[n[0] for n in NO_USER_ID])
def test_a_hook_without_context_user_id_is_refused(
    server: Server, hook: str, path: str, payload: Callable[[], dict[str, Any]]
) -> None:
    sent = payload()
    assert "userId" not in sent["context"] and sent["context"]["patientId"]
    status, _, body = server.call("POST", path, sent)
    assert (status, body["error"]) == (400, "bad-request")
    assert "context.userId is required" in body["message"] and hook in body["message"]


@pytest.mark.parametrize(("hook", "path", "payload"), NO_USER_ID, ids=[n[0] for n in NO_USER_ID])
def test_a_hook_with_an_empty_context_user_id_is_refused(
    server: Server, hook: str, path: str, payload: Callable[[], dict[str, Any]]
) -> None:
    sent = payload()
    sent["context"]["userId"] = ""
    status, _, body = server.call("POST", path, sent)
    assert (status, body["error"]) == (400, "bad-request")
    assert (
        'context.userId must be a string ([ResourceType]/[id], e.g. Practitioner/123, not empty), got ""'
        in (body["message"])
    )


# patient-view: userId "Must be in the format [ResourceType]/[id]" (CDS Hooks Library STU1 patient-view, v1.0.1).
BAD_USERS = ["  ", "abc", "Practitioner/", "/123", "Practitioner 123", "practitioner/1", "Practitioner/1/_history/2",
             "Practitioner/a b", "Practitioner/" + "x" * 65]  # fmt: skip


@pytest.mark.parametrize("user", BAD_USERS)
def test_a_patient_view_user_id_not_shaped_resource_type_slash_id_is_refused(server: Server, user: str) -> None:
    status, _, body = server.call("POST", PATIENT_VIEW, _without(view("t2d-metformin"), userId=user))
    assert (status, body["error"]) == (400, "bad-request")
    assert "context.userId must be in the format [ResourceType]/[id]" in body["message"]
    assert (
        json.dumps(user) in body["message"]
        and "Practitioner, PractitionerRole, Patient or RelatedPerson" in (body["message"])
    )


@pytest.mark.parametrize("user", ["Practitioner/abc", "PractitionerRole/123", "Patient/t2d-metformin",
                                  "RelatedPerson/rp.1", "Practitioner/" + "x" * 64, "Device/7"])  # fmt: skip
def test_a_patient_view_user_id_of_the_spec_form_is_answered(server: Server, user: str) -> None:
    # Device is not among the types the hook "expects", but the spec does not require them: answered.
    status, _, body = server.call("POST", PATIENT_VIEW, _without(view("t2d-metformin"), userId=user))
    assert status == 200 and "cards" in body


@pytest.mark.parametrize(("path", "payload"), [(ORDER_SIGN, lambda: order("order-sign", 1.0))])
def test_an_order_hook_user_id_is_not_held_to_the_patient_view_format(
    server: Server, path: str, payload: Callable[[], dict[str, Any]]
) -> None:
    # The published order-sign hook (STU1) gives userId no format rule: "abc" is answered.
    status, _, body = server.call("POST", path, _without(payload(), userId="abc"))
    assert status == 200 and "cards" in body


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"patientId": "someone-else"}, "is not context.patientId 'someone-else'"),
        ({"patientId": ""}, "context.patientId must be a string (a Patient id, not empty)"),
        ({"patientId": 7}, "context.patientId must be a string (a Patient id, not empty)"),
        ({"userId": ["Practitioner/1"]}, "context.userId must be a string"),
    ],
)
def test_a_patient_view_context_that_is_wrong_is_refused(server: Server, context: dict[str, Any], named: str) -> None:
    status, _, body = server.call("POST", PATIENT_VIEW, _without(view("t2d-metformin"), **context))
    assert (status, body["error"]) == (400, "bad-request")
    assert named in body["message"]


def test_an_order_for_a_patient_id_other_than_the_prefetch_patient_is_refused(server: Server) -> None:
    status, _, body = server.call("POST", ORDER_SIGN, _without(order("order-sign", 1.0), patientId="someone-else"))
    assert (status, body["error"]) == (400, "bad-request") and "is not context.patientId" in body["message"]


@pytest.mark.parametrize(("name", "path", "payload", "code", "error"), BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_the_prescribed_status(
    server: Server, name: str, path: str, payload: Callable[[], dict[str, Any]] | bytes, code: int, error: str
) -> None:
    if isinstance(payload, bytes):
        status, _, body = server.call("POST", path, raw=payload)
    else:
        status, _, body = server.call("POST", path, payload())
    assert (status, body["error"]) == (code, error)
    assert body["message"]


def test_wrong_media_type_method_and_path(server: Server) -> None:
    status, _, body = server.call("POST", PATIENT_VIEW, raw=b"hook=x", headers={"Content-Type": "text/plain"})
    assert (status, body["error"]) == (415, "unsupported-media-type")
    assert server.call("GET", PATIENT_VIEW)[0] == 405
    assert server.call("GET", "/nothing-here")[0] == 404


# -- CORS, demo page, stored records, CLI --------------------------------------------------------------------------


def test_cors_allows_only_the_configured_origin(server: Server) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    status, headers, _ = server.call("OPTIONS", PATIENT_VIEW, token=None, headers=preflight)
    assert status == 200 and headers["access-control-allow-origin"] == ORIGIN
    other = {**preflight, "Origin": "https://evil.example"}
    status, headers, _ = server.call("OPTIONS", PATIENT_VIEW, token=None, headers=other)
    assert status == 400 and "access-control-allow-origin" not in headers


def test_demo_page_renders_cards(server: Server) -> None:
    status, headers, text = server.call("GET", "/demo")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert text.count('class="card"') >= 3 and "WARNING" in text
    assert '<li><a href="http://' in text and "Work-up to order (" in text  # a shared card's links


def test_evaluation_records_are_stored(server: Server) -> None:
    record = server.call("POST", PATIENT_VIEW, view("oxaliplatin"))[2]["cards"][0]["extension"]["org.neuroguide.audit"]
    deadline = time.monotonic() + 30
    while True:  # the record writer runs beside the request
        with sqlite3.connect(server.db) as db:
            row = db.execute("SELECT record FROM evaluations WHERE id = ?", (record["record"],)).fetchone()
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row is not None and json.loads(row[0])["as_of"] == AS_OF.isoformat()
    assert replay(EvaluationRecord.from_json(row[0])).identical  # the stored record is the auditable one


def test_the_stored_record_keeps_the_reader_notes(server: Server) -> None:
    body = view("t2d-metformin")
    del body["prefetch"]["procedures"]  # not provided by the CDS Client: a note on the notes card
    cards = server.call("POST", PATIENT_VIEW, body)[2]["cards"]
    record_id = cards[0]["extension"]["org.neuroguide.audit"]["record"]
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(server.db) as db:
            row = db.execute("SELECT record FROM evaluations WHERE id = ?", (record_id,)).fetchone()
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row is not None
    notes = json.loads(row[0])["notes"]
    assert any(n["resource"] == "prefetch.procedures" and n["kind"] == "excluded" for n in notes)
    assert any("prefetch.procedures" in json.dumps(c) for c in cards)  # the same note, on a card
    assert replay_record(row[0]).reader_notes  # shown to the auditor


def test_cli_has_a_serve_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["serve", "--help"])
    assert exc.value.code == 0
    assert "--port" in capsys.readouterr().out


def test_feedback_right_after_its_card_still_names_the_cards_rules(tmp_path: Path) -> None:
    """The background writer gathers records for a moment; feedback arriving first must not lose the audit link."""
    store = _Store(f"sqlite:///{tmp_path / 'race.sqlite'}")
    store.start()
    try:
        rules = [{"rule": "dpn-screening", "sha256": "ab"}]
        card = {"uuid": "card-1", "extension": {AUDIT_EXTENSION: {"rules": rules}}}
        store.later("record-1", "neuroguide-patient-view", "hook-1", "{}", [card])
        feedback = {"card": "card-1", "outcome": "accepted", "acceptedSuggestions": [], "outcomeTimestamp": "t"}
        assert store.feedback("neuroguide-patient-view", [feedback]) == 1
    finally:
        store.stop()
    with sqlite3.connect(tmp_path / "race.sqlite") as db:
        (rules,) = db.execute("SELECT rules FROM feedback WHERE card = 'card-1'").fetchone()
    assert rules is not None and "dpn-screening" in rules


def test_dose_problems_lead_the_warnings_and_say_what_is_wrong() -> None:
    # CrCl (140 - 76) x 70 / (72 x 6) = 10.4 mL/min: duloxetine is to be avoided, gabapentin 900 mg/day is too much.
    doc = {
        "id": "esrd-gabapentin",
        "birth_date": "1950-01-01",
        "sex": "male",
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "measurements": {"weight": "70 kg", "serum-creatinine": "6 mg/dL"},
        "medications": [
            {"agent": "gabapentin", "dose": "900 mg", "per": "day", "started": "2026-01-01"},
            {"agent": "duloxetine", "dose": "60 mg", "per": "day", "started": "2026-01-01"},
        ],
    }
    result = assess(Patient.from_dict(doc), as_of=AS_OF)
    cards = cards_for(result, "0" * 32, "http://x")
    leading = [c["summary"] for c in cards[:2]]
    assert all(c["indicator"] == "warning" for c in cards[:2])
    assert any(s.startswith("Avoid at this kidney function: Duloxetine") for s in leading)
    assert any(s.startswith("Dose above the cited maximum: Gabapentin") for s in leading)


@pytest.mark.parametrize(("name", "shown"), [("t2d-metformin", True), ("cauda-equina", False)])
def test_urgent_checks_that_could_not_be_made_get_a_warning_unless_a_red_flag_is_shown(name: str, shown: bool) -> None:
    as_of = dt.date(2026, 11, 23)
    result = assess(fhir.read(prefetch_of(name), as_of=as_of).patient, as_of=as_of)
    cards = cards_for(result, "0" * 32, "http://x")
    unchecked = [c for c in cards if c["uuid"] == _uuid5(f"neuroguide:{'0' * 32}:urgent-missing")]
    assert bool(unchecked) is shown
    assert shown is not any(c["indicator"] == "critical" for c in cards)
    if shown:
        (card,) = unchecked
        assert card["indicator"] == "warning" and result.urgent_missing
        assert card["detail"].count("\n- ") == len(result.urgent_missing)
        assert card["summary"].startswith(f"No red flag found, but {len(result.urgent_missing)} urgent check")


def test_card_reasons_name_facts_in_words_and_leave_the_record_alone() -> None:
    assert _readable("not pad") == "not peripheral artery disease"
    assert _readable("metformin-duration = 13.81 year > 4 year") == "Years on metformin = 13.81 year > 4 year"
    assert _readable("last assessment 2025-06-10; repeat every 12 months") == (
        "last assessment 2025-06-10; repeat every 12 months"
    )
    as_of = dt.date(2026, 11, 23)
    result = assess(fhir.read(prefetch_of("t2d-metformin"), as_of=as_of).patient, as_of=as_of)
    details = "\n".join(c["detail"] for c in cards_for(result, "0" * 32, "http://x"))
    assert "type-2-diabetes" not in details and "Type 2 diabetes" in details
    assert any("type-2-diabetes" in r for rec in result.recommendations for r in rec.reasons)  # the record's wording


def test_a_screening_never_done_says_so_rather_than_overdue_since_diagnosis() -> None:
    as_of = dt.date(2026, 11, 23)
    result = assess(fhir.read(prefetch_of("t2d-metformin"), as_of=as_of).patient, as_of=as_of)
    summaries = [c["summary"] for c in cards_for(result, "0" * 32, "http://x")]
    assert "Screen for autonomic neuropathy (none on record; due since 2012-05-02)" in summaries
    assert "Screen for diabetic peripheral neuropathy (overdue since 2026-06-10)" in summaries


def test_an_unverified_urgent_or_emergency_card_says_so_in_its_whole_summary() -> None:
    """An EHR may show only the summary: "not yet verified" leads it and is never cut off, however long the title."""
    from neuroguide import model as m
    from neuroguide._loading import catalog
    from neuroguide.results import RecommendationStatus, recommendation
    from neuroguide.service import _summary

    checked = 0
    for g in catalog().all():
        for rule in g.rules:
            if rule.status is m.Status.APPROVED or not m.is_urgent(rule):
                continue
            pairs = ((RecommendationStatus.EMERGENCY, "Emergency"), (RecommendationStatus.URGENT, "Urgent"))
            for status, word in pairs:
                rec = recommendation(rule, g, status=status, action=getattr(rule, "action", "") or "")
                for long in (False, True):
                    if long:
                        rec = attrs.evolve(rec, title=rec.title + " and a very long explanation" * 5)
                    text = _summary(rec)
                    assert text.startswith(f"{word} (not yet verified): "), text
                    assert len(text) <= 139, text
                    checked += 1
    assert checked >= 20  # every in-review urgent rule of every version, short and long title
    quiet = next(
        (g, r) for g in catalog().all() for r in g.rules if r.status is not m.Status.APPROVED and not m.is_urgent(r)
    )
    rec = recommendation(quiet[1], quiet[0], status=RecommendationStatus.DUE, action="x")
    text = _summary(attrs.evolve(rec, title="A very long title " * 12))
    assert text.endswith("… (due now) - not yet verified") and len(text) <= 139, text


def test_an_implausible_result_is_listed_and_every_other_card_still_comes(server: Server) -> None:
    """A unit slip in one laboratory result must not take away the red-flag and other cards (it did: 400)."""
    body = view("cauda-equina")
    slip = {
        "resourceType": "Observation",
        "id": "b12-slip",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
        "subject": {"reference": "Patient/cauda-equina"},
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": 310, "system": "http://unitsofmeasure.org", "code": "ng/mL"},
    }
    observations = body["prefetch"]["observations"] or {"resourceType": "Bundle", "type": "searchset", "entry": []}
    body["prefetch"]["observations"] = {**observations, "entry": [*observations["entry"], {"resource": slip}]}
    status, _, answer = server.call("POST", PATIENT_VIEW, body)
    assert status == 200, answer
    cards = answer["cards"]
    assert any(c["indicator"] == "critical" for c in cards)
    listed = [c for c in cards if "Observation/b12-slip" in c["detail"]]
    assert len(listed) == 1 and "not used" in listed[0]["detail"] and "310 ng/mL" in listed[0]["detail"]


def test_a_fault_of_the_service_s_guidelines_is_a_503_not_the_ehr_s_bad_data(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuroguide import service as svc
    from neuroguide.exceptions import IntegrityError

    def altered(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError([("thiamine/2012.1.toml", "abc", "def")])

    monkeypatch.setattr(svc, "assess", altered)
    status, _, body = server.call("POST", PATIENT_VIEW, view("t2d-metformin"))
    assert status == 503 and body["error"] == "service-misconfigured", body
    assert "not the request" in body["message"] and "thiamine/2012.1.toml" in body["message"]
    monkeypatch.undo()
    assert server.call("POST", PATIENT_VIEW, view("t2d-metformin"))[0] == 200


def test_a_refused_request_is_logged_with_its_error_and_hook_instance(server: Server) -> None:
    body = {**view("t2d-metformin"), "hook": "order-sign"}
    server.log.lines.clear()
    assert server.call("POST", PATIENT_VIEW, body)[0] == 400
    line = next(x for x in server.log.lines if "-> 400" in x)
    assert "-> 400 unsupported-hook" in line and f"hookInstance={body['hookInstance']}" in line
