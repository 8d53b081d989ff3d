"""``neuroguide cohort``: evaluate a cohort file, make a synthetic one, or summarise a results file.

Only argparse is imported here; Polars and Dask load when the command runs, so ``neuroguide
--help`` stays fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._io import AbsentOnly

__all__ = ["add_parser"]

_EPILOG = """examples:
  neuroguide cohort synth 100000 -o cohort.parquet --as-of 2026-11-30
  neuroguide cohort cohort.parquet -o results.parquet --as-of 2026-11-30 --summary summary.html
  neuroguide cohort cohort.parquet -o results.parquet --engine dask --scheduler tcp://10.0.0.5:8786
  neuroguide cohort patients.jsonl -o results.parquet
  neuroguide cohort summary results.parquet -o summary.html
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a date as YYYY-MM-DD") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a share between 0 and 1 (e.g. 0.05)")
    return value


def add_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``cohort`` command to the CLI's subcommands."""
    c = sub.add_parser(
        "cohort",
        help="evaluate a cohort (Parquet, Arrow IPC, CSV or JSON lines) into a results table",
        description="Evaluate every patient of a cohort file columnarly; 'cohort synth N' writes a synthetic "
        "cohort and 'cohort summary RESULTS' an HTML summary. Needs the 'cohort' extra (and 'dask' for --engine dask).",
        formatter_class=fmt,
        epilog=_EPILOG,
    )
    c.add_argument("input", help="cohort file (.parquet, .arrow, .csv, .jsonl), or 'synth' / 'summary'")
    c.add_argument("arg", nargs="?", help="with synth: number of patients; with summary: the results file")
    c.add_argument("-o", "--output", required=True, type=Path, help="results (.parquet), cohort or summary file")
    c.add_argument("--as-of", type=_date, help="evaluation date (default: today, recorded in the output)")
    c.add_argument("--engine", choices=("local", "dask"), default="local", help="where partitions run")
    c.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786")
    c.add_argument("--workers", type=int, default=2, help="worker processes of a local Dask cluster (default 2)")
    c.add_argument("--batch-rows", type=int, default=50_000, help="rows per batch or partition (default 50000)")
    c.add_argument("--max-bad-share", type=_share, default=0.05, help="stop above this share of bad rows (0.05)")
    c.add_argument("--errors", type=Path, help="errors table (default: OUTPUT.errors.parquet)")
    c.add_argument("--summary", type=Path, metavar="HTML", help="also write an HTML summary of the run")
    c.add_argument("--include-in-review", action="store_true", help="also evaluate rules still in review")
    c.add_argument(
        "--all-undetermined",
        action="store_true",
        help="also write a row for every result undetermined only because the input has no column for what it "
        "needs (by default these are counted per rule in the summary)",
    )
    c.add_argument("--seed", type=int, default=0, help="with synth: random seed (default 0)")
    c.add_argument("--quiet", action="store_true", help="no progress on standard error")
    c.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from ._errors import MissingExtraError

    try:
        import polars  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(exc.name or "polars", "cohort") from None
    if args.input == "synth":
        return _synth(args)
    if args.input == "summary":
        return _summary(args)
    if args.arg is not None:
        raise _usage(f"unexpected argument {args.arg!r}")
    return _run(args)


def _usage(message: str) -> Exception:
    from ..exceptions import InputError

    return InputError("arguments", message, "neuroguide cohort INPUT -o OUTPUT (see --help)")


def _run(args: argparse.Namespace) -> int:
    from .. import model as m
    from ._engine import Undetermined
    from ._html import write_summary
    from ._io import check_paths, errors_path, run

    if args.summary is not None:  # refused before the run, not after it has written the results
        err = errors_path(args.output, args.errors)
        check_paths(args.input, (("output", args.output), ("errors", err), ("summary", args.summary)))
    if args.engine == "dask":
        try:
            import dask  # noqa: F401
            import distributed  # noqa: F401
        except ImportError as exc:
            from ._errors import MissingExtraError

            raise MissingExtraError(exc.name or "dask", "dask") from None
    as_of = args.as_of or dt.date.today()  # the CLI may read the clock; the library never does
    statuses = (m.Status.APPROVED, m.Status.IN_REVIEW) if args.include_in_review else (m.Status.APPROVED,)
    progress = None if args.quiet else _progress
    summary = run(
        args.input,
        args.output,
        as_of=as_of,
        engine=args.engine,
        scheduler=args.scheduler,
        workers=args.workers,
        batch_rows=args.batch_rows,
        max_bad_share=args.max_bad_share,
        errors=args.errors,
        statuses=statuses,
        progress=progress,
        undetermined=Undetermined.ALL if args.all_undetermined else Undetermined.COMPACT,
    )
    if progress is not None:
        sys.stderr.write("\n")
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    print(
        f"{summary.rows:,} patients -> {summary.results:,} result rows in {summary.seconds:.1f} s "
        f"({rate:,.0f} patients/s); bad rows: {summary.bad_rows:,} (see {summary.errors})"
    )
    if summary.unrecognised:
        print(
            f"medication names not recognised (no rule could check them; not counted as bad rows): "
            f"{summary.unrecognised:,} (see {summary.errors})"
        )
    if summary.not_checked:
        entries = sum(h.entries for h in summary.not_checked)
        patients = sum(h.patients for h in summary.not_checked)
        print(
            f"drugs not checked (their only rule is not evaluated; rows with status not-checked, "
            f"--include-in-review evaluates them): {entries:,} entries of {patients:,} patients"
        )
        for h in summary.not_checked:
            print(f"  {h.rule} ({h.kind}, {h.status}): {h.patients:,} patients, {h.entries:,} entries")
    if summary.absent:
        print(f"columns absent (unknown for every patient): {', '.join(summary.absent)}")
    if summary.absent_only:
        total = sum(a.patients for a in summary.absent_only)
        written = (
            "rows written" if summary.undetermined is Undetermined.ALL else "no rows; --all-undetermined writes them"
        )
        print(
            f"undetermined only because of absent columns ({written}): "
            f"{_rules(len(summary.absent_only))}, {total:,} results"
        )
        urgent = summary.urgent_absent()
        others = [a for a in summary.absent_only if not a.urgent]
        # Red-flag checks first: a reader must see that none of them could be made, not find them in the list.
        if urgent:
            print(f"red-flag checks not possible (no column for what they need): {_rules(len(urgent))}")
            for a in urgent:
                print(f"  ! {_absent_line(a)}")
        if others:
            print(f"other rules not decided (no column for what they need): {_rules(len(others))}")
            for a in others:
                print(f"  {_absent_line(a)}")
    if summary.fallback_rows:
        print(f"JSON lines read one document at a time (odd or bad lines): {summary.fallback_rows:,}")
    if summary.lookup_rules:
        print(
            f"dosing rules looked up by prescription: {len(summary.lookup_rules):,} "
            "(patients with duplicate therapy are evaluated per patient)"
        )
    if summary.per_row_rules:
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(summary.per_row_kinds.items()))
        print(f"evaluated per patient (not vectorised): {_rules(len(summary.per_row_rules))} ({kinds})")
    if args.summary is not None:
        write_summary(args.output, args.summary, errors=summary.errors)
        print(f"summary: {args.summary}")
    return 0


def _rules(n: int) -> str:
    return f"{n:,} rule" if n == 1 else f"{n:,} rules"


def _absent_line(a: AbsentOnly) -> str:
    status = "" if a.status == "approved" else f", {a.status}"
    return f"{a.guideline} {a.rule} ({a.kind}{status}): {a.patients:,} patients (needs {', '.join(a.missing)})"


def _progress(done: int, total: int | None) -> None:
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} patients")
    else:
        sys.stderr.write(f"\r{done:,} patients")
    sys.stderr.flush()


def _synth(args: argparse.Namespace) -> int:
    from ._io import write_synth

    try:
        n = int(args.arg)
    except (TypeError, ValueError):
        raise _usage(f"synth needs a number of patients, got {args.arg!r}") from None
    if n < 0:
        raise _usage(f"synth needs a number of patients >= 0, got {n}")
    as_of = args.as_of or dt.date.today()
    write_synth(n, args.output, seed=args.seed, as_of=as_of, batch_rows=args.batch_rows)
    print(f"{n:,} synthetic patients (seed {args.seed}, dates up to {as_of}) -> {args.output}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ._html import write_summary

    if args.arg is None:
        raise _usage("summary needs the results file")
    write_summary(Path(args.arg), args.output)
    print(f"summary: {args.output}")
    return 0
