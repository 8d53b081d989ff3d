"""The ``neuroguide`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import json
import re
import sys

from . import _dist

# typing and pathlib are left out of the module's imports: `neuroguide --version` needs neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["main"]

# Commands defined in this module. Any other word (or none) builds the whole parser, with the
# audit, governance, service and cohort commands, whose parsers live in their own modules.
_CORE = frozenset({"assess", "rules", "show", "dose", "calc", "schema", "validate"})

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # bad usage is bad input: exit 2 with the message
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


class _Help(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, wrapping to the width ``shutil.get_terminal_size`` gives, found without ``shutil``.

    argparse makes a formatter for every argument it adds, and its own asks ``shutil`` for the width: importing
    ``shutil`` (and the compression modules it loads) is a cost of every start-up, not only of ``--help``.
    """

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


def _columns() -> int:
    """``COLUMNS`` if set, else the width of the terminal on standard output, else 80 (as ``shutil`` decides)."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for (no package module is imported)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"neuroguide {_dist.version()}")
        parser.exit()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a date as YYYY-MM-DD") from None


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; for one of the core commands, without the other modules' commands."""
    from pathlib import Path

    fmt = _Help
    p = _Parser(
        prog="neuroguide",
        description="Cited, versioned guidance for numbness and tingling in the legs.",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide assess examples/t2d-metformin.json\n  neuroguide rules --kind screening\n"
        "  neuroguide show dpn-screening\n  neuroguide dose cyanocobalamin '250 mg' --per day --route oral\n"
        "  neuroguide schema",
    )
    p.add_argument("--version", action=_Version, help="show the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser(
        "assess",
        help="assess a patient (JSON file or - for stdin)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide assess examples/t2d-metformin.json --as-of 2026-11-23\n"
        "  neuroguide assess patient.json --json > record.json\n  cat patient.json | neuroguide assess -\n"
        "  neuroguide assess examples/t2d-metformin.json --as-of 2026-11-23 --audience patient",
    )
    a.add_argument(
        "file", help="patient JSON file, a FHIR R4 Bundle (needs neuroguide[fhir]), or - to read standard input"
    )
    a.add_argument("--as-of", type=_date, help="evaluation date (default: today, recorded in the output)")
    a.add_argument("--json", action="store_true", help="print the evaluation record as JSON")
    a.add_argument("--pin", action="append", default=[], metavar="ID=VERSION", help="use this guideline version")
    a.add_argument("--include-in-review", action="store_true", help="also evaluate rules still in review")
    a.add_argument("--all-missing", action="store_true", help="list every missing input (default: the few that matter)")
    a.add_argument(
        "--audience",
        choices=("clinician", "patient"),
        default="clinician",
        help="patient: plain language for the person, with the same rule codes",
    )
    a.add_argument("--root", type=Path, help="guideline folder (default: the packaged guidelines)")
    a.add_argument(
        "--allow-unlocked",
        action="store_true",
        help="GUIDELINE AUTHORS ONLY: use files that do not match lock.json (the record names them)",
    )
    a.add_argument("--site", type=Path, help="site governance overlay (TOML) to apply; stamped in the record")

    r = sub.add_parser(
        "rules",
        help="list rules",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide rules\n  neuroguide rules --guideline ada-neuropathy --status approved\n"
        "  neuroguide rules --kind dosing --json",
    )
    r.add_argument("--guideline", help="only this guideline id")
    r.add_argument(
        "--kind",
        choices=(
            "screening",
            "referral",
            "workup",
            "consideration",
            "treatment",
            "caution",
            "classification",
            "dosing",
            "neurotoxicity",
        ),
        help="only this rule kind",
    )
    r.add_argument("--status", choices=("approved", "in-review", "draft", "retired"), help="only this status")
    r.add_argument("--as-of", type=_date, help="versions in effect on this date (default: latest released)")
    r.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser(
        "show",
        help="show one rule in full, with its quotes",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide show dpn-screening\n  neuroguide show dpn-screening --version 2017.1",
    )
    s.add_argument("rule", help="rule id")
    s.add_argument("--guideline", help="guideline id (when the rule id is ambiguous)")
    s.add_argument("--version", help="guideline version (default: latest released)")
    s.add_argument("--json", action="store_true", help="print JSON")

    d = sub.add_parser(
        "dose",
        help="check a dose against the cited regimens",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide dose cyanocobalamin '1 mg' --per day --route oral --indication malabsorption\n"
        "  neuroguide dose gabapentin '1800 mg' --per day --crcl '45 mL/min'\n"
        "  neuroguide dose pregabalin '300 mg' --per day --patient examples/t2d-metformin.json\n"
        "  neuroguide dose midodrine '30 mg' --per day --include-in-review   # a regimen in review, said so\n"
        "exit codes: 0 within the range of an approved regimen; 1 not within it, or any verdict from a regimen in"
        " review (not yet verified); 2 bad input, or no regimen to check against",
    )
    d.add_argument("agent")
    d.add_argument("dose", help="amount per period, e.g. '300 mg'")
    d.add_argument(
        "--per", required=True, choices=("day", "week", "month"), help="the period the amount is given per (required)"
    )
    d.add_argument("--route", help="e.g. oral, intramuscular, intravenous")
    d.add_argument("--indication", help="narrow to an indication")
    d.add_argument("--crcl", help="creatinine clearance, e.g. '45 mL/min'")
    d.add_argument("--patient", help="patient JSON file (creatinine clearance derived from it)")
    d.add_argument("--as-of", type=_date, help="evaluation date (default: today)")
    d.add_argument(
        "--include-in-review",
        action="store_true",
        help="also evaluate rules still in review: a regimen in review is used only when no approved one names the"
        " drug, and its verdict (marked NOT YET VERIFIED) exits 1, never 0",
    )
    d.add_argument("--json", action="store_true", help="print JSON")

    c = sub.add_parser(
        "calc",
        help="run a calculator",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide calc --list\n"
        "  neuroguide calc cockcroft-gault age=70 weight='72 kg' serum_creatinine='1.4 mg/dL' sex=female",
    )
    c.add_argument("name", nargs="?", help="calculator name (see --list)")
    c.add_argument("args", nargs="*", metavar="KEY=VALUE", help="inputs; quantities as '72 kg'")
    c.add_argument("--list", action="store_true", help="list calculators")
    c.add_argument("--json", action="store_true", help="print JSON")

    sc = sub.add_parser(
        "schema",
        help="print the JSON Schema of the patient input",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide schema\n  neuroguide schema > patient.schema.json",
    )
    sc.set_defaults(handler=_schema)

    v = sub.add_parser(
        "validate",
        help="check guideline files (all packaged ones, or the given paths)",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide validate\n  neuroguide validate guidelines/ada-neuropathy/2026.1.toml",
    )
    v.add_argument("paths", nargs="*", type=Path)
    if command in _CORE:
        return p

    import importlib

    try:
        audit = importlib.import_module("neuroguide._cli_audit")
    except ImportError:  # pragma: no cover - audit module absent
        pass
    else:
        audit.add_parser(sub, fmt)
        importlib.import_module("neuroguide._cli_governance").add_export_parser(sub, fmt)
    importlib.import_module("neuroguide._cli_serve").add_parser(sub, fmt)
    # The cohort command's parser imports only argparse; Polars and Dask load when it runs.
    importlib.import_module("neuroguide.cohort._cli").add_parser(sub, fmt)
    return p


class _Stdout:
    """Standard output (or error) that outlives a reader who stops early (``neuroguide audit replay r.json | head -1``).

    The first write or flush that meets the closed pipe points the descriptor at /dev/null and drops the rest, so
    the command still runs to its end and exits with its own verdict (a DIFFERENT replay stays exit 1), and the
    interpreter's last flush raises no traceback. Every command prints through ``sys.stdout`` and ``sys.stderr``,
    so one wrapper on each serves them all. A stream Python could not open (its descriptor closed at start:
    ``2>&-``) is ``None``; its text is dropped, never printed to the other stream.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.broken = True
        import os

        try:  # what is left in the stream's buffer then goes to /dev/null at exit, not to the closed pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # a stream without a descriptor (captured in tests)
            pass

    def isatty(self) -> bool:
        return self._stream is not None and bool(self._stream.isatty())

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno... as the real stream has them
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failure found, 2 bad input)."""
    stdout, stderr = sys.stdout, sys.stderr
    if stdout is None or stderr is None:
        _hold_closed_descriptors()
    out, err = _Stdout(stdout), _Stdout(stderr)
    sys.stdout, sys.stderr = out, err  # file-like wrappers (see _Stdout)
    try:
        return _main(argv)
    finally:
        out.flush()  # the last buffered output meets a closed pipe here, inside the guard, not at exit
        err.flush()
        sys.stdout, sys.stderr = stdout, stderr


def _hold_closed_descriptors() -> None:
    """Point a standard descriptor closed at start (``2>&-``) at /dev/null.

    Otherwise the next file opened (a record written with ``--output``) would get descriptor 1 or 2, and whatever
    writes there at the C level would land in that file.
    """
    import os

    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open(os.devnull, os.O_WRONLY)
            if held != fd:  # a lower descriptor was closed too and took it: put it where it belongs
                os.dup2(held, fd)
                os.close(held)


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    # A leading --version acts before any command is read: the core parser answers it (and exits, as argparse does).
    command = "assess" if words[:1] == ["--version"] else next((w for w in words if not w.startswith("-")), None)
    parser = _parser(command)
    args = parser.parse_args(words)
    # A core command is one bounded run whose allocations are mostly modules, classes and the catalog, all alive
    # until it ends: the cyclic collector would walk them again and again for nothing (about a twentieth of a
    # warm `assess`). The long-running commands (cohort, serve) keep it.
    pause = args.command in _CORE and gc.isenabled()
    if pause:
        gc.disable()
    try:
        return _run(args)
    finally:
        if pause:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from .exceptions import GuidelineDataError, InputError, IntegrityError, NeuroguideError

    try:
        return int(_dispatch(args))
    except (InputError, GuidelineDataError, LookupError) as exc:
        print(f"neuroguide: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except IntegrityError as exc:
        print(f"neuroguide: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except NeuroguideError as exc:  # pragma: no cover - every subclass is handled above
        print(f"neuroguide: error: {exc}", file=sys.stderr)
        return EXIT_FAIL


def _dispatch(args: argparse.Namespace) -> int:
    handler = {
        "assess": _assess,
        "rules": _rules,
        "show": _show,
        "dose": _dose,
        "calc": _calc,
        "validate": _validate,
    }.get(args.command)
    if handler is None:
        return int(args.handler(args))
    return handler(args)


def _today() -> dt.date:
    return dt.date.today()  # the CLI may read the clock; the library never does


def _assess(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .evaluation import assess
    from .exceptions import InputError
    from .patient import Patient
    from .report import Style, render_patient, render_text

    if args.file == "-":
        text = sys.stdin.read()
        if not text.lstrip().startswith("{"):
            raise InputError("stdin", text[:40], "a patient JSON object")
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8").removeprefix("\ufeff")  # as some editors write
        except (OSError, UnicodeDecodeError, ValueError):
            text = None  # Patient.from_json says what is wrong with the file
    reading = _fhir_reading(args, text)
    if reading is not None:
        patient = reading.patient
    elif text is not None:
        from ._jsonin import loads

        patient = Patient.from_dict(loads(text, "patient"))  # text, never taken for a path (from_json guesses)
    else:
        patient = Patient.from_json(Path(args.file))
    source = None
    if args.root is not None or args.allow_unlocked:
        from ._loading import Catalog, guideline_root

        source = Catalog(args.root or guideline_root(), allow_unlocked=args.allow_unlocked)
    pins: dict[str, str] = {}
    for pin in args.pin:
        gid, sep, version = pin.partition("=")
        if not sep:
            raise InputError("--pin", pin, "ID=VERSION")
        if pins.get(gid, version) != version:  # two versions of one guideline: which was meant cannot be told
            raise InputError("--pin", pin, f"one version per guideline ({gid} is also pinned to {pins[gid]})")
        pins[gid] = version
    statuses = ("approved", "in-review") if args.include_in_review else ("approved",)
    site = None
    if args.site is not None:
        from .site import load_site

        site = load_site(args.site)
    result = assess(patient, as_of=args.as_of or _today(), pins=pins, statuses=statuses, source=source, site=site)
    if reading is not None:  # what the FHIR reader did not use, or read with an assumption: its own report section
        result = result.with_notes(reading.notes)
    if result.record.unlocked:
        print(
            f"neuroguide: WARNING: unlocked guideline files used: {', '.join(result.record.unlocked)}", file=sys.stderr
        )
    if args.json:
        if reading is not None and reading.notes:  # in the record's notes too; said here so a reader sees them
            _warn_notes(reading.notes)
        print(result.record.to_json())
        return EXIT_OK
    note = None if args.as_of else "today; choose another date with --as-of YYYY-MM-DD"
    style = Style.for_terminal(sys.stdout, all_missing=args.all_missing, as_of_note=note)
    print(render_patient(result, style) if args.audience == "patient" else render_text(result, style))
    return EXIT_OK


def _warn_notes(notes: Sequence[Any]) -> None:
    """The FHIR reader's notes on standard error, grouped by kind as in the text report, each once."""
    from .report import note_groups, note_title

    once = tuple(dict.fromkeys(notes))
    unused = sum(1 for n in once if not n.assumed)
    counts = [f"{unused} FHIR item(s) not used"] if unused else []
    counts += [f"{len(once) - unused} read with an assumption"] if len(once) > unused else []
    print(f"neuroguide: WARNING: {', '.join(counts)} (also in the record's notes):", file=sys.stderr)
    for kind, items in note_groups(once):
        print(f"  {note_title(kind)} ({len(items)}):", file=sys.stderr)
        for n in items:
            print(f"    - {n.text}", file=sys.stderr)


def _fhir_reading(args: argparse.Namespace, text: str | None) -> Any:
    """A FHIR input (JSON with a ``resourceType``: a Bundle or a resource) read through :mod:`neuroguide.fhir`."""
    if text is None or '"resourceType"' not in text:
        return None
    from ._jsonin import loads

    # strict: a duplicate key, over-deep nesting or a huge number is a named error (exit 2), never a traceback
    data = loads(text, "file")
    if not isinstance(data, dict) or "resourceType" not in data:
        return None
    from . import fhir
    from .exceptions import InputError, install_hint

    try:
        return fhir.read(data, as_of=args.as_of or _today())
    except fhir.FhirExtraMissingError:
        raise InputError(
            "file",
            args.file,
            f"a patient JSON file; this is FHIR ({data['resourceType']}), which needs the optional FHIR reader: "
            + install_hint("fhir"),
        ) from None


def _rules(args: argparse.Namespace) -> int:
    from ._loading import catalog
    from .report import rule_line

    cat = catalog()
    rows = []
    for gid in cat.ids():
        if args.guideline and gid != args.guideline:
            continue
        try:
            g = cat.get(gid, as_of=args.as_of)
        except LookupError:
            continue
        for rule in g.rules:
            if args.kind and rule.kind != args.kind:
                continue
            if args.status and rule.status.value != args.status:
                continue
            rows.append((g, rule))
    if args.guideline and not rows and args.guideline not in cat.ids():
        from .exceptions import UnknownGuidelineError

        raise UnknownGuidelineError(args.guideline, cat.ids())
    if args.json:
        out = [
            {
                "guideline": g.id,
                "version": g.version,
                "rule": r.id,
                "kind": r.kind,
                "status": r.status.value,
                "title": r.title,
            }
            for g, r in rows
        ]
        print(json.dumps(out, indent=2))
    else:
        for g, rule in rows:
            print(rule_line(g, rule))
        print(f"{len(rows)} rule{'s' if len(rows) != 1 else ''}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from ._converter import converter
    from ._loading import catalog
    from .api import find_rule
    from .report import render_rule

    cat = catalog()
    if args.guideline or args.version:
        gid = args.guideline
        if gid is None:
            g0, _ = find_rule(args.rule)
            gid = g0.id
        g = cat.get(gid, version=args.version)
        rule = g.rule(args.rule)
    else:
        g, rule = find_rule(args.rule)
    if args.json:
        print(
            json.dumps(
                {"guideline": g.id, "version": g.version, "rule": converter.unstructure(rule, type(rule))},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(render_rule(g, rule))
    return EXIT_OK


def _dose(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .dosing import NoRegimenError, check_dose
    from .patient import Patient

    patient = Patient.from_json(Path(args.patient)) if args.patient else None
    try:
        verdict = check_dose(
            args.agent,
            args.dose,
            per=args.per,
            route=args.route,
            indication=args.indication,
            crcl=args.crcl,
            patient=patient,
            as_of=args.as_of or _today(),
            statuses=("approved", "in-review") if args.include_in_review else ("approved",),
        )
    except NoRegimenError as exc:
        if not exc.in_review or args.include_in_review:
            raise
        print(
            f"neuroguide: error: {exc}; --include-in-review checks it against the regimen in review "
            "(marked NOT YET VERIFIED, never a pass)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    # Only when no approved regimen names the drug is one in review used (check_dose): its verdict is not a pass.
    unverified = verdict.rule_status not in (None, "approved")
    if args.json:
        from ._converter import converter

        print(json.dumps(converter.unstructure(verdict), indent=2, ensure_ascii=False))
    else:
        # A regimen in review is marked as the assess report marks a rule in review.
        mark = "; NOT YET VERIFIED (rule in review)" if unverified else ""
        print(f"{verdict.verdict.value.upper()}{mark}: {verdict.message}")
        for note in verdict.notes:
            print(f"  note: {note}")
        if verdict.crcl is not None and verdict.dialysis_row:
            print(f"  creatinine clearance given: {verdict.crcl:.1f} mL/min (not used: on dialysis the row is decided)")
        elif verdict.crcl is not None:
            basis = "as given" if verdict.crcl_basis in (None, "given") else f"from {verdict.crcl_basis}"
            print(f"  creatinine clearance used: {verdict.crcl:.1f} mL/min (Cockcroft–Gault, {basis})")
        if verdict.citation:
            print(f"  rule {verdict.rule} ({verdict.guideline} {verdict.version}); {verdict.citation}")
        if unverified:
            print(
                f"  unverified: no approved regimen for {verdict.agent}; rule {verdict.rule} is in review (its source "
                "text is not yet verified), so this is not a pass (exit 1)"
            )
    return EXIT_OK if verdict.ok and not unverified else EXIT_FAIL


def _calc(args: argparse.Namespace) -> int:
    from .calculators import REGISTRY
    from .exceptions import InputError

    if args.list or not args.name:
        for name, fn in sorted(REGISTRY.items()):
            doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
            print(f"{name:28} {doc}")
        return EXIT_OK
    if args.name not in REGISTRY:
        from .exceptions import NotFoundError

        raise NotFoundError(args.name, REGISTRY)
    fn = REGISTRY[args.name]
    if not args.args:
        print(_calc_usage(args.name, fn))
        return EXIT_OK
    kwargs: dict[str, Any] = {}
    for item in args.args:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError("argument", item, "KEY=VALUE")
        name = key.replace("-", "_")
        if name in kwargs:  # one of two values would be dropped silently
            raise InputError(f"{args.name}.{name}", item, f"each input once ({name} is given twice)")
        kwargs[name] = _coerce(value)
    _check_inputs(args.name, fn, kwargs)
    result = fn(**kwargs)
    if args.json:
        from ._converter import converter

        print(json.dumps(converter.unstructure(result), indent=2, ensure_ascii=False, default=str))
    else:
        from .report import render_calc

        print(render_calc(result))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from .schema import patient_schema

    print(json.dumps(patient_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _check_inputs(name: str, fn: Any, kwargs: dict[str, Any]) -> None:
    """Name an unknown or missing calculator input before calling it (with a close match and the expected inputs)."""
    import difflib
    import inspect

    from .exceptions import InputError

    params = {
        p.name: p for p in inspect.signature(fn).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    for key, value in kwargs.items():
        if key not in params:
            close = difflib.get_close_matches(key, params, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{name}.{key}", value, f"one of the inputs {', '.join(params)}{hint}")
    missing = [p for p, spec in params.items() if spec.default is spec.empty and p not in kwargs]
    if missing:
        needed = ", ".join(f"{p}=..." for p in missing)
        raise InputError(f"{name}.{missing[0]}", "(not given)", f"every required input: {needed}")


def _calc_usage(name: str, fn: Any) -> str:
    """The calculator's inputs, from its signature: what ``calc NAME`` prints and bad arguments are told."""
    import inspect

    parts = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = "" if param.default is param.empty else f" (default {param.default!r})"
        parts.append(f"{param.name}=...{default}")
    doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
    return f"{name}: {doc}\n  inputs: " + " ".join(parts)


# A plain decimal number: Python's int() and float() also take "7_0", " 70", other scripts' digits and "nan",
# which are left as text for the calculator to name.
# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _number() -> re.Pattern[str]:
    return re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _coerce(value: str) -> Any:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if not _number().fullmatch(value):
        return value
    try:
        return int(value)
    except ValueError:
        return float(value)


def _validate(args: argparse.Namespace) -> int:
    from ._loading import Catalog, guideline_root, load_file
    from .exceptions import GuidelineDataError, InputError

    if args.paths:
        problems = 0
        for path in args.paths:
            name = f"{path.parent.name}/{path.name}"
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError("path", str(path), f"a readable guideline file ({exc.strerror})") from None
            try:
                g = load_file(data, name)
            except GuidelineDataError as exc:
                print(str(exc), file=sys.stderr)
                problems += 1
                continue
            print(f"ok  {name}: {g.id} {g.version}, {len(g.rules)} rules, sha256 {g.sha256}")
        return EXIT_INPUT if problems else EXIT_OK
    cat = Catalog(guideline_root())
    for g in cat.all():
        print(f"ok  {g.path}: {len(g.rules)} rules")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
