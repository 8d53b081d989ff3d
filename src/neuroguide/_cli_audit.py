"""``neuroguide audit``: history, diff, verify, replay and lock, for auditors and maintainers.

Exit codes follow the rest of the CLI: 0 clean / identical, 1 a failure was
found (tampering, a different replay, a refused lock change), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import _cli_governance as gov

if TYPE_CHECKING:
    from . import audit as a
    from ._loading import Catalog

__all__ = ["add_parser"]

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
_WIDTH = 100


def _audit() -> ModuleType:
    """The audit module, imported when an audit command runs (so ``--help`` and ``--version`` stay fast)."""
    from . import audit

    return audit


def add_parser(subparsers: Any, formatter_class: type[argparse.HelpFormatter]) -> None:
    """Add the ``audit`` command and its sub-commands to the main parser.

    Args:
        subparsers: the main parser's sub-parser action.
        formatter_class: the help formatter the other commands use.

    """
    p = subparsers.add_parser(
        "audit",
        help="audit trail: rule history, version diffs, tamper check, replay, lock",
        formatter_class=formatter_class,
        description="Reconstruct why a recommendation was made, and prove the rules were not altered.",
        epilog="examples:\n  neuroguide audit history dpn-screening\n"
        "  neuroguide audit diff ada-neuropathy 2017.1 2026.1\n  neuroguide audit verify\n"
        "  neuroguide audit replay record.json\n"
        "  neuroguide audit lock --root guidelines   # maintainers, after adding a version",
    )
    sub = p.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND")

    h = sub.add_parser(
        "history",
        help="every version of a rule: changes, notes, sources, field differences",
        formatter_class=formatter_class,
        epilog="examples:\n  neuroguide audit history dpn-screening\n  neuroguide audit history dpn-screening --json",
    )
    h.add_argument("rule", help="rule id")
    h.add_argument("--guideline", help="only this guideline id")
    _common(h, json_flag=True)
    h.set_defaults(handler=_history)

    d = sub.add_parser(
        "diff",
        help="rules added, removed and changed between two versions of a guideline",
        formatter_class=formatter_class,
        epilog="examples:\n  neuroguide audit diff ada-neuropathy 2017.1 2026.1",
    )
    d.add_argument("guideline", help="guideline id")
    d.add_argument("v1", help="earlier version, e.g. 2017.1")
    d.add_argument("v2", help="later version, e.g. 2026.1")
    d.add_argument("--redline", action="store_true", help="word-level changes of statements, quotes and logic")
    _common(d, json_flag=True)
    d.set_defaults(handler=_diff)

    v = sub.add_parser(
        "verify",
        help="check every released file against lock.json (exit 1 on tampering)",
        formatter_class=formatter_class,
        epilog="examples:\n  neuroguide audit verify\n  neuroguide audit verify --root guidelines\n"
        "  neuroguide audit verify --root guidelines --trust release.pub.pem\n"
        "  neuroguide audit verify --trust site.pub.pem --site site.toml",
    )
    v.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="KEYFILE",
        help="trusted Ed25519 public key (repeatable): lock.json.sig must be a valid signature by one of them",
    )
    v.add_argument("--site", type=Path, help="with --trust: also check the site overlay's signature (FILE.sig)")
    _common(v, json_flag=True)
    v.set_defaults(handler=_verify)

    r = sub.add_parser(
        "replay",
        help="re-evaluate an evaluation record with its recorded versions",
        formatter_class=formatter_class,
        epilog="examples:\n  neuroguide assess patient.json --json > record.json\n"
        "  neuroguide audit replay record.json\n"
        "  neuroguide audit replay record.json --fhir bundle.json   # a record made from FHIR data\n"
        "  neuroguide audit replay svc_rec.json --fhir request.json # a CDS Hooks record: the whole request",
    )
    r.add_argument("record", help="evaluation record JSON (from `neuroguide assess --json`), or - for stdin")
    r.add_argument("--site", type=Path, help="the site overlay the record applied (its sha256 is checked)")
    r.add_argument(
        "--fhir",
        type=Path,
        metavar="FILE",
        help="the FHIR input the record was made from (for a CDS Hooks record, the request or its prefetch): "
        "read again, its patient and reader notes are compared",
    )
    _common(r, json_flag=True)
    r.set_defaults(handler=_replay)

    lk = sub.add_parser(
        "lock",
        help="maintainers: add lock entries for new guideline files (never changes an existing entry)",
        formatter_class=formatter_class,
        epilog="examples:\n  neuroguide audit lock --root guidelines",
    )
    _common(lk, json_flag=False)
    lk.set_defaults(handler=_lock)
    gov.add_audit_commands(sub, formatter_class)


def _common(p: argparse.ArgumentParser, *, json_flag: bool) -> None:
    p.add_argument("--root", type=Path, help="guideline folder (default: the packaged guidelines)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON")


def _catalog(args: argparse.Namespace) -> Catalog | None:
    if args.root is None:
        return None

    from ._loading import Catalog

    # Audit commands inspect folders as they are: unlocked files are reported, not refused.
    return Catalog(_audit()._root(args.root), allow_unlocked=True)


def _print_json(value: Any) -> None:
    print(json.dumps(_audit().to_plain(value), indent=2, ensure_ascii=False))


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def _changes(changes: Iterable[a.FieldChange], indent: str) -> list[str]:
    lines: list[str] = []
    for c in changes:
        if c.change == "added":
            lines.append(_wrap(f"+ {c.path}: {c.after}", indent))
        elif c.change == "removed":
            lines.append(_wrap(f"- {c.path}: {c.before}", indent))
        elif len(c.before or "") + len(c.after or "") <= 70:
            lines.append(_wrap(f"~ {c.path}: {c.before} -> {c.after}", indent))
        else:
            lines.append(f"{indent}~ {c.path}:")
            lines.append(_wrap(f"was: {c.before}", indent + "    "))
            lines.append(_wrap(f"now: {c.after}", indent + "    "))
    return lines


def _notes(notes: Iterable[a.Note], indent: str, *, with_rule: bool = False) -> list[str]:
    lines: list[str] = []
    for n in notes:
        src = f" [source: {n.source_label or n.source}]" if n.source else ""
        rule = f"{n.rule}: " if with_rule else ""
        lines.append(_wrap(f"note ({n.version}) {rule}{n.what} Why: {n.why}{src}", indent))
    return lines


# -- history --------------------------------------------------------------------------


def _history(args: argparse.Namespace) -> int:
    hist = _audit().history(args.rule, _catalog(args), guideline=args.guideline)
    if args.json:
        _print_json(hist)
        return EXIT_OK
    print(f"History of rule {hist.rule} ({', '.join(hist.guidelines)}): {len(hist.entries)} version entries")
    for e in hist.entries:
        until = f" until {e.superseded_on.isoformat()}" if e.superseded_on else " (current)"
        status = f"rule {e.rule_status.value}" if e.rule_status else "rule absent"
        print()
        print(
            f"{e.guideline} {e.version}  effective {e.effective.isoformat()}{until}  "
            f"[{e.guideline_status.value}]  {e.event.upper()}  ({status})"
        )
        print(f"  file {e.file}  sha256 {e.sha256}")
        if e.previous:
            print(f"  compared with {e.previous}")
        print(_wrap(f"title: {e.title}", "  "))
        for s in e.cites:
            ref = f"doi:{s.doi}" if s.doi else s.url or (f"PMID {s.pmid}" if s.pmid else "")
            edition = f", edition {s.edition}" if s.edition else ""
            print(_wrap(f"cites {s.label}{edition}: {s.title} ({s.year}) {ref}".rstrip(), "  "))
        lines = _notes(e.notes, "  ")
        print("\n".join(lines) if lines else "  (no change note for this rule in this version)")
        if e.differences or e.source_changes:
            print(f"  differences from {e.previous}:")
            for line in _changes((*e.differences, *e.source_changes), "    "):
                print(line)
        for w in e.warnings:
            print(_wrap(f"WARNING: {w}", "  "))
    return EXIT_OK


# -- diff ------------------------------------------------------------------------------


def _diff(args: argparse.Namespace) -> int:
    if args.redline and not args.json:
        print("\n".join(gov.redline_lines(args.guideline, args.v1, args.v2, args.root)))
        return EXIT_OK
    d = _audit().diff(args.guideline, args.v1, args.v2, _catalog(args))
    if args.redline:
        _print_json(_audit().redline(args.guideline, args.v1, args.v2, _catalog(args)))
        return EXIT_OK
    if args.json:
        _print_json(d)
        return EXIT_OK
    print(
        f"{d.guideline}: {d.v1} (effective {d.effective1.isoformat()}) -> {d.v2} (effective {d.effective2.isoformat()})"
    )
    print(f"  sha256 {d.v1} {d.sha256_1}")
    print(f"  sha256 {d.v2} {d.sha256_2}")
    if d.metadata:
        print("guideline metadata:")
        print("\n".join(_changes(d.metadata, "  ")))
    if d.sources_added or d.sources_removed or d.sources_changed:
        print("sources:")
        for s in d.sources_added:
            print(_wrap(f"+ {s.id}: {s.label}, {s.title}" + (f", edition {s.edition}" if s.edition else ""), "  "))
        for s in d.sources_removed:
            print(_wrap(f"- {s.id}: {s.label}, {s.title}" + (f", edition {s.edition}" if s.edition else ""), "  "))
        print("\n".join(_changes(d.sources_changed, "  ")) if d.sources_changed else "", end="")
        if d.sources_changed:
            print()
    print(f"rules added ({len(d.added)}):")
    for r in d.added:
        print(_wrap(f"+ {r.id} ({r.kind}, {r.status.value}): {r.title}", "  "))
    print(f"rules removed ({len(d.removed)}):")
    for r in d.removed:
        print(_wrap(f"- {r.id} ({r.kind}, {r.status.value}): {r.title}", "  "))
    print(f"rules changed ({len(d.changed)}):")
    for c in d.changed:
        print(_wrap(f"~ {c.id} ({c.kind}): {c.title}", "  "))
        for line in _notes(c.notes, "    "):
            print(line)
        for line in _changes(c.changes, "    "):
            print(line)
    print(f"rules unchanged ({len(d.unchanged)}): {', '.join(d.unchanged) or '-'}")
    other = [n for n in d.notes if n.rule not in {c.id for c in d.changed}]
    if other:
        print("other change notes:")
        print("\n".join(_notes(other, "  ", with_rule=True)))
    for w in d.warnings:
        print(_wrap(f"WARNING: {w}", ""))
    return EXIT_OK


# -- verify ----------------------------------------------------------------------------

_PROBLEM_WORD = {"altered": "TAMPERED", "not-locked": "NOT LOCKED", "missing": "MISSING"}


def _verify(args: argparse.Namespace) -> int:
    report = _audit().verify(args.root)
    if args.site is not None and not args.trust:
        from .exceptions import InputError  # here: the parsers (and --help) need no attrs

        raise InputError("--site", str(args.site), "--trust KEYFILE as well (the overlay's signature is checked)")
    signed, sig_lines = gov.check_signatures(args.root, args.trust, args.site) if args.trust else (True, [])
    if args.json:
        data = _audit().to_plain(report)
        data["ok"] = report.ok and signed
        data["signatures"] = sig_lines
        print(json.dumps(data, indent=2))
        return EXIT_OK if report.ok and signed else EXIT_FAIL
    for line in sig_lines:
        print(line)
    if not signed:
        print("FAILED: a signature is missing or invalid for the trusted keys given", file=sys.stderr)
        return EXIT_FAIL
    for mm in report.mismatches:
        print(f"{_PROBLEM_WORD[mm.problem]:10} {mm.file}")
        if mm.problem == "altered":
            print(f"  expected sha256 {mm.expected} (lock.json)")
            print(f"  actual   sha256 {mm.actual}")
        elif mm.problem == "not-locked":
            print(f"  actual sha256 {mm.actual}; no lock entry (a maintainer adds it with `neuroguide audit lock`)")
        else:
            print(f"  expected sha256 {mm.expected} (lock.json); the released file is gone")
    where = f"{report.root}/lock.json"
    if report.ok:
        print(f"OK: all {report.files} guideline files match {where}")
        return EXIT_OK
    problems = {mm.problem for mm in report.mismatches}
    advice = []
    if problems & {"altered", "missing"}:
        advice.append("A released file must never be edited or deleted: restore it from version control.")
    if "not-locked" in problems:
        advice.append(
            "A file without a lock entry is not released: a maintainer releases it with `neuroguide audit lock`."
        )
    print(
        f"FAILED: {len(report.mismatches)} problem(s) against {where} ({report.files} files, {report.locked} locked). "
        + " ".join(advice),
        file=sys.stderr,
    )
    return EXIT_FAIL


# -- replay ----------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.record == "-" else Path(args.record).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        from .exceptions import InputError  # here: the parsers (and --help) need no attrs

        raise InputError("record", args.record, f"a readable UTF-8 evaluation record JSON file ({exc})") from None
    record: Any = text
    reading = None
    if args.fhir is not None:  # read as the record's input was read (its date, its conformance choice)
        from . import fhir
        from .evaluation import EvaluationRecord

        record = EvaluationRecord.from_json(text)
        reading = fhir.reread(record, args.fhir)
    site = gov.load_site_arg(args.site, args.root)
    result = _audit().replay_record(record, source=_catalog(args), site=site, reading=reading)
    if args.json:
        _print_json(result)
        return EXIT_OK if result.identical else EXIT_FAIL
    used = ", ".join(f"{g.id} {g.version}" + (" (pinned)" if g.pinned else "") for g in result.guidelines)
    if result.identical:
        print(
            f"IDENTICAL: the record of {result.as_of.isoformat()} re-evaluated with {used or 'no guidelines'} "
            f"gives the same {result.recommendations} recommendation(s)."
        )
        for g in result.guidelines:
            print(f"  {g.id} {g.version} sha256 {g.current_sha256} (as recorded)")
        if reading is not None:
            print(f"  {args.fhir} read again: the record's patient and its {len(result.reader_notes)} reader note(s)")
    else:
        print(
            f"DIFFERENT: re-evaluating the record of {result.as_of.isoformat()} with {used or 'no guidelines'} "
            "gives another result."
        )
        if result.causes:
            print("why:")
            for cause in result.causes:
                print(_wrap(f"- {cause}", "  "))
        print("what differs:")
        for d in result.differences:
            print(_wrap(f"- {d}", "  "))
    if result.reader_notes:
        print(f"FHIR reader notes in the record ({len(result.reader_notes)}): what was not used, or read so:")
        for n in result.reader_notes:
            print(_wrap(f"- {n}", "  "))
    for note in result.notes:
        print(_wrap(f"note: {note}", ""))
    return EXIT_OK if result.identical else EXIT_FAIL


# -- lock ------------------------------------------------------------------------------


def _lock(args: argparse.Namespace) -> int:
    report = _audit().update_lock(args.root)
    where = f"{report.root}/lock.json"
    for mm in report.refused:
        if mm.problem == "missing":
            print(
                f"REFUSED {mm.file}: the lock pins sha256 {mm.expected} but the file is gone; "
                "a released file may not be deleted (retire its rules in a new version instead)",
                file=sys.stderr,
            )
        else:
            print(
                f"REFUSED {mm.file}: already locked with sha256 {mm.expected}, file now {mm.actual}; "
                "a released file may not be changed (release a new version file instead)",
                file=sys.stderr,
            )
    if report.refused:
        print(f"nothing written to {where}", file=sys.stderr)
        return EXIT_FAIL
    for name, digest in report.added:
        print(f"locked {name} sha256 {digest}")
    if report.written:
        print(f"wrote {where}: {len(report.added)} new, {report.kept} unchanged")
    else:
        print(f"nothing to add: every file is already in {where}")
    return EXIT_OK
