"""Governance commands: ``audit signoff|sign|keygen|packet``, ``export fhir``, and the signature check of ``verify``.

Exit codes as elsewhere: 0 clean, 1 a failure found (an invalid or missing
signature), 2 bad input. Defining the commands imports nothing heavy; each
handler imports what it runs (so ``--help`` and ``--version`` stay fast).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import site as s
    from ._loading import Catalog

__all__ = ["add_audit_commands", "add_export_parser", "check_signatures", "load_site_arg", "redline_lines"]

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
_WIDTH = 100


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a date as YYYY-MM-DD") from None


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def _catalog(root: Path | None) -> Catalog:
    from . import audit
    from ._loading import Catalog, catalog

    return Catalog(audit._root(root)) if root is not None else catalog()


def load_site_arg(path: Path | None, root: Path | None = None) -> s.Site | None:
    """The ``--site FILE`` option: a validated overlay, or None."""
    from .site import load_site

    return load_site(path, source=_catalog(root)) if path is not None else None


def _passphrase(env: str | None) -> bytes | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        from .exceptions import InputError  # here: the parsers (and --help) need no attrs

        raise InputError("--passphrase-env", env, "the name of an environment variable holding the passphrase")
    return value.encode()


def add_audit_commands(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add ``signoff``, ``sign``, ``keygen`` and ``packet`` to ``neuroguide audit``."""
    so = sub.add_parser(
        "signoff",
        help="what a site adopted, disabled, and must review (no site: every rule unsigned)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide audit signoff --as-of 2026-11-30\n"
        "  neuroguide audit signoff --site examples/site/example-test-hospital.toml --as-of 2026-11-30 --due-within 60",
    )
    so.add_argument("--site", type=Path, help="site governance overlay (TOML)")
    so.add_argument("--as-of", type=_date, required=True, help="date the review states are computed for")
    so.add_argument("--due-within", type=int, default=90, metavar="DAYS", help="review due within DAYS (90)")
    so.add_argument("--root", type=Path, help="guideline folder (default: the packaged guidelines)")
    so.add_argument("--json", action="store_true", help="print JSON")
    so.set_defaults(handler=_signoff)

    kg = sub.add_parser(
        "keygen",
        help="create an Ed25519 key pair for signing a site overlay (or a release lock)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide audit keygen --private site-key.pem --public site-key.pub.pem\n"
        "  NG_PASS=... neuroguide audit keygen --private k.pem --public k.pub.pem --passphrase-env NG_PASS",
    )
    kg.add_argument("--private", type=Path, required=True, help="private key file to create (keep it offline)")
    kg.add_argument("--public", type=Path, required=True, help="public key file to create (distribute this)")
    kg.add_argument("--passphrase-env", metavar="VAR", help="encrypt the private key with the passphrase in $VAR")
    kg.set_defaults(handler=_keygen)

    sg = sub.add_parser(
        "sign",
        help="write FILE.sig, a detached Ed25519 signature (a site overlay, or lock.json)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide audit sign site.toml --key site-key.pem --signer 'CDS committee' "
        "--date 2026-11-30",
    )
    sg.add_argument("file", type=Path, help="file to sign")
    sg.add_argument("--key", type=Path, required=True, help="private key file")
    sg.add_argument("--signer", required=True, help="who signs, as shown to verifiers")
    sg.add_argument("--date", type=_date, required=True, help="signing date (signed with the file)")
    sg.add_argument("--passphrase-env", metavar="VAR", help="the private key's passphrase is in $VAR")
    sg.set_defaults(handler=_sign)

    pk = sub.add_parser(
        "packet",
        help="printable sign-off packet (self-contained HTML) for one guideline version",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide audit packet ada-neuropathy 2026.1 -o packet.html --test-results results.xml\n"
        "  neuroguide audit packet ada-neuropathy 2026.1 -o p.html --site examples/site/example-test-hospital.toml",
    )
    pk.add_argument("guideline", help="guideline id")
    pk.add_argument("version", help="guideline version")
    pk.add_argument("-o", "--output", type=Path, required=True, help="HTML file to write")
    pk.add_argument("--test-results", type=Path, metavar="XML", help="JUnit XML of the test run whose outcomes to show")
    pk.add_argument("--site", type=Path, help="site overlay: fill the sign-off fields from it")
    pk.add_argument("--root", type=Path, help="guideline folder (default: the packaged guidelines)")
    pk.set_defaults(handler=_packet)


def add_export_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add ``neuroguide export fhir``."""
    p = sub.add_parser(
        "export",
        help="export the guidelines as knowledge artifacts (FHIR R4 Library, PlanDefinition, ActivityDefinition)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide export fhir -o fhir/",
    )
    ex = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    f = ex.add_parser(
        "fhir", help="FHIR R4 Clinical Reasoning artifacts, one set per guideline version", formatter_class=fmt
    )
    f.add_argument("-o", "--output", type=Path, required=True, help="folder to write the JSON resources into")
    f.add_argument("--site", type=Path, help="site overlay: approvalDate and lastReviewDate from its decisions")
    f.add_argument(
        "--base", help="canonical base URL (default: a reserved .invalid address; a publishing site sets its own)"
    )
    f.add_argument("--root", type=Path, help="guideline folder (default: the packaged guidelines)")
    f.set_defaults(handler=_export_fhir)


# -- signoff ------------------------------------------------------------------------------------

_STATE_WORD = {"no-signoff": "NO SIGN-OFF", "current": "ADOPTED", "due": "REVIEW DUE", "overdue": "OVERDUE"}


def _signoff(args: argparse.Namespace) -> int:
    from . import site as s
    from .audit import to_plain
    from .model import Status

    cat = _catalog(args.root)
    site = s.load_site(args.site, source=cat) if args.site is not None else None
    report = s.signoff(site, as_of=args.as_of, source=cat, due_within=args.due_within)
    if args.json:
        print(json.dumps(to_plain(report), indent=2, ensure_ascii=False))
        return EXIT_OK
    who = f"{report.site.name} (overlay sha256 {report.site.sha256})" if report.site else "no site overlay given"
    print(f"Site sign-off as of {report.as_of.isoformat()}: {who}")
    if site is None:
        print("The package ships no local approvals: every rule shows 'no site sign-off recorded' until a site")
        print("records its own decisions (see `neuroguide audit signoff --help`).")
    current = None
    for row in report.rows:
        if (row.guideline, row.version) != current:
            current = (row.guideline, row.version)
            print(f"\n{row.guideline} {row.version}")
        state = _STATE_WORD[row.review]
        if row.decision is not None and row.decision.decision is s.DecisionKind.DISABLE:
            state = "DISABLED" if row.review == "current" else f"DISABLED, {state}"
        upstream = "" if row.upstream_status is Status.APPROVED else f" [upstream {row.upstream_status.value}]"
        urgent = " [urgent]" if row.urgent else ""
        print(f"  {state:22} {row.rule}{upstream}{urgent}")
        if row.decision is not None:
            scope = " (for the whole version)" if row.inherited else ""
            print(_wrap(row.text + scope, "      "))
    for d in report.stale:
        what = f"rule {d.rule}" if d.rule else "the whole version"
        print(_wrap(f"NOTE: a decision covers {d.guideline} {d.version} ({what}), not in effect on this date", ""))
    counts = {state: report.count(state) for state in _STATE_WORD}
    print(
        f"\n{len(report.rows)} rules: {counts['current']} adopted and current, {counts['due']} due for review within "
        f"{report.due_within_days} days, {counts['overdue']} overdue, {counts['no-signoff']} without site sign-off"
    )
    return EXIT_OK


# -- keys and signatures ------------------------------------------------------------------------


def _keygen(args: argparse.Namespace) -> int:
    from . import signing

    kid = signing.generate_keys(args.private, args.public, passphrase=_passphrase(args.passphrase_env))
    print(f"created key {kid}: private {args.private} (owner-only; keep offline), public {args.public}")
    return EXIT_OK


def _sign(args: argparse.Namespace) -> int:
    from . import signing

    out = signing.sign_file(
        args.file, args.key, signer=args.signer, date=args.date, passphrase=_passphrase(args.passphrase_env)
    )
    print(f"wrote {out}")
    return EXIT_OK


def check_signatures(root: Path | None, trust: Sequence[Path], site: Path | None) -> tuple[bool, list[str]]:
    """``verify --trust``: the lock's signature (and the site overlay's), each against the trusted keys."""
    from . import signing
    from ._loading import LOCK_NAME, guideline_root
    from .audit import _root

    folder = Path(str(_root(root))) if root is not None else Path(str(guideline_root()))
    checks = [signing.verify_file(folder / LOCK_NAME, trust)]
    if site is not None:
        checks.append(signing.verify_file(site, trust))
    lines = []
    for c in checks:
        word = "SIGNED" if c.ok else "UNSIGNED" if c.verdict == "missing" else "BAD SIGNATURE"
        lines.append(f"{word:13} {c.file}: {c.message}")
        if c.file == LOCK_NAME and c.verdict == "missing" and root is None:
            lines.append("  the packaged lock carries no release signature: neuroguide has no release key yet")
    return all(c.ok for c in checks), lines


# -- redline ------------------------------------------------------------------------------------


def redline_lines(guideline: str, v1: str, v2: str, root: Path | None) -> list[str]:
    """``audit diff --redline``: word-level changes, ``[-removed-]{+added+}``."""
    from ._redline import as_text
    from .audit import redline

    lines = [f"Redline {guideline} {v1} -> {v2}: [-removed-] {{+added+}}"]
    for r in redline(guideline, v1, v2, _catalog(root)):
        lines.append("")
        lines.append(_wrap(f"{r.event.upper()} {r.id} ({r.kind}): {r.title}", ""))
        for n in r.notes:
            lines.append(_wrap(f"note ({n.version}): {n.what} Why: {n.why}", "  "))
        for f in r.fields:
            lines.append(f"  {f.path}:")
            lines.append(_wrap(as_text(f.segments), "    "))
    return lines


# -- packet and export --------------------------------------------------------------------------


def _packet(args: argparse.Namespace) -> int:
    from . import packet

    cat = _catalog(args.root)
    site = load_site_arg(args.site, args.root)
    text = packet.render_packet(args.guideline, args.version, source=cat, site=site, results=args.test_results)
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        from .exceptions import InputError  # here: the parsers (and --help) need no attrs

        raise InputError("--output", str(args.output), f"a writable file ({exc.strerror})") from None
    print(f"wrote {args.output} ({len(text)} bytes)")
    return EXIT_OK


def _export_fhir(args: argparse.Namespace) -> int:
    from . import fhir_artifacts

    cat = _catalog(args.root)
    site = load_site_arg(args.site, args.root)
    base = (args.base or fhir_artifacts.DEFAULT_BASE).rstrip("/")
    written = fhir_artifacts.export(args.output, source=cat, site=site, base=base)
    print(f"wrote {len(written)} FHIR resources to {args.output}", file=sys.stdout)
    return EXIT_OK
