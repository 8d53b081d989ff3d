"""A self-contained HTML summary of a cohort run: tables and inline SVG charts, no scripts, no links out."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from ..exceptions import InputError
from ._api import bad_rows, is_unrecognised, unrecognised_count
from ._engine import NOT_CHECKED, not_checked_counts
from ._io import errors_path, results_metadata

__all__ = ["summary_html", "write_summary"]

_STATUS_COLOURS = {
    "emergency": "#7f0000",
    "urgent": "#c62828",
    "overdue": "#ef6c00",
    "due": "#f9a825",
    "scheduled": "#2e7d32",
    "fires": "#1565c0",
    "result": "#6a1b9a",
    "flagged": "#ad1457",
    "caution": "#8d6e63",
    "undetermined": "#9e9e9e",
    "not-checked": "#4e342e",
}
_OTHER = "#546e7a"
_BINS = ((1, 30, "1–30"), (31, 90, "31–90"), (91, 180, "91–180"), (181, 365, "181–365"), (366, 730, "366–730"))


def write_summary(results: str | Path, output: str | Path, *, errors: str | Path | None = None) -> None:
    """Write the HTML summary of a results file (and its errors file, if any).

    Raises:
        InputError: the results (or errors) file is missing, not Parquet, or not a neuroguide results table; or
            ``output`` names the results or errors file.

    """
    path = Path(results)
    if not path.name:  # ".": a Dask results folder named by its path; its errors file is named from it
        path = path.resolve()
        if not path.name:
            raise InputError("results", str(results), "a results file or folder written by neuroguide cohort")
    if str(output).strip() == "" or Path(output).is_dir():  # else an IsADirectoryError once the page is made
        raise InputError("output", str(output), "a file path for the HTML page, not a folder")
    err = errors_path(path, errors)
    for name, given in (("results", path), ("errors", err)):
        if Path(output).resolve() == given.resolve():  # the page would replace the file it summarises
            expected = f"a file other than the {name} file {given} (it would be overwritten)"
            raise InputError("output", str(output), expected)
    where = path
    try:  # pyarrow's and polars' own errors become one named error (the file, and what was expected)
        meta = results_metadata(path)
        errors_frame = None
        if err.is_file():
            where = err
            errors_frame = pl.read_parquet(err)
            # The run's counts (rows, bad rows, absent columns) are in the errors file too (Dask writes no single file).
            found = pq.read_metadata(err).metadata or {}
            meta = {**{k.decode(): v.decode() for k, v in found.items()}, **meta}
        where = path
        table = pl.scan_parquet(str(path / "part-*.parquet")) if path.is_dir() else pl.scan_parquet(path)
        page = summary_html(table, meta=meta, errors=errors_frame)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        if isinstance(exc, pl.exceptions.ColumnNotFoundError):  # name the column the table lacks
            found = re.search(r'column "([^"]{1,80})"', str(exc))
            reason = f"it has no column {found.group(1)!r}" if found else type(exc).__name__
        raise InputError(
            "results", str(where), f"a results file written by neuroguide cohort (.parquet) ({reason})"
        ) from None
    Path(output).write_text(page, encoding="utf-8")


def summary_html(
    results: pl.DataFrame | pl.LazyFrame,
    *,
    meta: Mapping[str, str] | None = None,
    errors: pl.DataFrame | None = None,
) -> str:
    """The summary page of a results table (aggregated lazily: the table is never held whole)."""
    lf = results.lazy()
    meta = dict(meta or {})
    by_rule = lf.group_by("guideline", "rule", "status").agg(pl.len().alias("n")).sort("guideline", "rule").collect()
    patients = lf.select(pl.col("patient_id").n_unique()).collect().item() if by_rule.height else 0
    overdue = lf.filter(pl.col("status") == "overdue").select("overdue_days").collect()["overdue_days"]
    iwgdf = (
        lf.filter(pl.col("rule") == "foot-screening-by-risk")
        .group_by(pl.col("label").fill_null(pl.col("status")))
        .agg(pl.len().alias("n"))
        .sort("label")
        .collect()
    )
    missing = (
        lf.select(pl.col("missing").explode().drop_nulls())
        .group_by("missing")
        .agg(pl.len().alias("n"))
        .sort(["n", "missing"], descending=[True, False])
        .head(15)
        .collect()
    )
    held = not_checked_counts(
        lf.filter(pl.col("status").cast(pl.String) == NOT_CHECKED)
        .select("row", "guideline", "version", "rule", "kind", "rule_status", "status")
        .collect()
    )
    parts = [
        _head(),
        "<h1>neuroguide cohort summary</h1>",
        _provenance(meta, patients, errors, held),
        "<h2>Results by rule and status</h2>",
        _legend(),
        _stacked_bars(by_rule),
        "<h2>Overdue screenings: days past the latest date</h2>",
        _bars([(label, n, "#ef6c00") for label, n in _histogram(overdue)], unit="results"),
        "<h2>IWGDF foot-ulcer risk (people with diabetes, foot-screening rule)</h2>",
        _bars([(str(r["label"]), int(r["n"]), "#00838f") for r in iwgdf.iter_rows(named=True)], unit="patients")
        if iwgdf.height
        else "<p>The IWGDF foot-screening rule was not evaluated in this run.</p>",
        "<h2>Facts most often missing</h2>",
        "<p>How often each fact was needed by a rule but not recorded (one count per patient and rule).</p>",
        _bars([(str(r["missing"]), int(r["n"]), "#757575") for r in missing.iter_rows(named=True)], unit="times"),
        _not_checked(held),
        _absent_only(meta),
        _errors_table(errors),
        "</body></html>",
    ]
    return "\n".join(parts)


def _head() -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>neuroguide cohort summary</title><style>"
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
        "margin:2rem;color:#212121;max-width:70rem}"
        "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}"
        "h3.urgent{color:#b71c1c}"
        "table{border-collapse:collapse;font-size:.85rem}"
        "td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}"
        "svg text{font-size:12px;fill:#212121}.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}"
        ".sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}"
        "</style></head><body>"
    )


def _count(text: str) -> str:
    """A count from the metadata with thousands separators, as every other figure on the page."""
    return f"{int(text):,}" if text.isdigit() else text


def _provenance(meta: Mapping[str, str], patients: int, errors: pl.DataFrame | None, held: pl.DataFrame) -> str:
    rows = [
        ("Evaluation date", meta.get("neuroguide.as_of", "?")),
        ("neuroguide version", meta.get("neuroguide.package", "?")),
        ("Input", meta.get("neuroguide.input", "?")),
        ("Patients read", _count(meta.get("neuroguide.rows", "?"))),
        ("Patients with a result row", f"{patients:,}"),
        (
            "Rows with a bad cell",
            _count(meta.get("neuroguide.bad_rows", str(bad_rows(errors)) if errors is not None else "0")),
        ),
    ]
    unknown = meta.get(
        "neuroguide.unrecognised_medications", str(unrecognised_count(errors)) if errors is not None else "0"
    )
    if unknown != "0":
        rows.append(("Medication names not recognised (no rule could check them)", _count(unknown)))
    if held.height:
        rows.append(
            (
                "Drugs not checked (their only rule is not evaluated)",
                f"{held['entries'].sum():,} entries of {held['patients'].sum():,} patients",
            )
        )
    absent = json.loads(meta.get("neuroguide.absent_columns", "[]"))
    if absent:
        rows.append(("Columns absent (unknown for every patient)", ", ".join(absent)))
    mode = meta.get("neuroguide.undetermined")
    if mode == "all":
        rows.append(("Undetermined results", "every one is a row (--all-undetermined)"))
    elif mode is not None:
        rows.append(("Undetermined results", "rows only where a column the input has was empty (see below)"))
    per_row = json.loads(meta.get("neuroguide.per_row_rules", "[]"))
    if per_row:
        shown = ", ".join(per_row) if len(per_row) <= 5 else f"{len(per_row):,} rules"
        rows.append(("Rules evaluated per patient (not vectorised)", shown))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    guidelines = json.loads(meta.get("neuroguide.guidelines", "[]"))
    gl = "".join(
        f"<tr><td>{html.escape(g['id'])}</td><td>{html.escape(g['version'])}</td>"
        f"<td><code>{html.escape(g['sha256'][:16])}…</code></td></tr>"
        for g in guidelines
    )
    table = f"<table>{body}</table>"
    if gl:
        table += "<h2>Guideline versions used</h2><table><tr><th>guideline</th><th>version</th><th>sha256</th></tr>"
        table += gl + "</table>"
    return table


def _legend() -> str:
    items = "".join(
        f"<span><i class='sw' style='background:{c}'></i>{html.escape(s)}</span>" for s, c in _STATUS_COLOURS.items()
    )
    return f"<p class='legend'>{items}<span><i class='sw' style='background:{_OTHER}'></i>dose verdicts</span></p>"


def _stacked_bars(by_rule: pl.DataFrame) -> str:
    if by_rule.height == 0:
        return "<p>No rule fired or was left undetermined.</p>"
    rules: dict[tuple[str, str], dict[str, int]] = {}
    for r in by_rule.iter_rows(named=True):
        rules.setdefault((r["guideline"], r["rule"]), {})[r["status"]] = int(r["n"])
    top = max(sum(v.values()) for v in rules.values())
    label_w, bar_w, row_h = 330, 560, 18
    height = row_h * len(rules) + 10
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{label_w + bar_w + 90}' height='{height}' role='img'>"]
    for i, ((gid, rid), counts) in enumerate(rules.items()):
        y = 5 + i * row_h
        out.append(f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end'>{html.escape(rid)}</text>")
        x = float(label_w)
        order = sorted(counts, key=lambda s: list(_STATUS_COLOURS).index(s) if s in _STATUS_COLOURS else 99)
        for status in order:
            w = bar_w * counts[status] / top
            colour = _STATUS_COLOURS.get(status, _OTHER)
            tip = html.escape(f"{gid} / {rid}: {status} {counts[status]:,}")
            rect = f"<rect x='{x:.1f}' y='{y}' width='{max(w, 0.5):.1f}' height='{row_h - 4}' fill='{colour}'>"
            out.append(f"{rect}<title>{tip}</title></rect>")
            x += w
        out.append(f"<text x='{x + 4:.1f}' y='{y + 13}'>{sum(counts.values()):,}</text>")
    out.append("</svg>")
    return "".join(out)


def _histogram(days: pl.Series) -> list[tuple[str, int]]:
    values = days.drop_nulls()
    out = [(label, int(((values >= lo) & (values <= hi)).sum())) for lo, hi, label in _BINS]
    out.append(("> 730", int((values > 730).sum())))
    return out


def _bars(items: Sequence[tuple[str, int, str]], *, unit: str) -> str:
    if not items or not any(n for _, n, _ in items):
        return "<p>None.</p>"
    top = max(n for _, n, _ in items)
    label_w, bar_w, row_h = 330, 500, 22
    size = f"width='{label_w + bar_w + 120}' height='{row_h * len(items) + 10}'"
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' {size} role='img'>"]
    for i, (label, n, colour) in enumerate(items):
        y = 5 + i * row_h
        w = bar_w * n / top if top else 0
        out.append(f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end'>{html.escape(label)}</text>")
        rect = f"<rect x='{label_w}' y='{y}' width='{max(w, 0.5):.1f}' height='{row_h - 6}' fill='{colour}'>"
        out.append(f"{rect}<title>{html.escape(label)}: {n:,} {unit}</title></rect>")
        out.append(f"<text x='{label_w + w + 4:.1f}' y='{y + 15}'>{n:,}</text>")
    out.append("</svg>")
    return "".join(out)


def _not_checked(held: pl.DataFrame) -> str:
    """Drugs whose neurotoxicity or dose was not checked: the only rule naming them is not evaluated (in review)."""
    if not held.height:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(r['guideline'])}</td><td>{html.escape(r['rule'])}</td>"
        f"<td>{html.escape(r['kind'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{int(r['patients']):,}</td><td>{int(r['entries']):,}</td></tr>"
        for r in held.iter_rows(named=True)
    )
    return (
        "<h2>Drugs not checked</h2>"
        "<p>Patients take these drugs, but the only rule naming them was not evaluated (its status is not among "
        "those the run evaluated): their neurotoxicity or dose was not checked. They are rows of the results "
        "table with status <code>not-checked</code>; <code>--include-in-review</code> evaluates these rules.</p>"
        "<table><tr><th>guideline</th><th>rule</th><th>kind</th><th>status</th><th>patients</th>"
        f"<th>medication entries</th></tr>{rows}</table>"
    )


def _absent_only(meta: Mapping[str, str]) -> str:
    """Rules left undetermined only because the input has no column for what they need."""
    found = json.loads(meta.get("neuroguide.absent_only", "[]"))
    if not found:
        return ""
    written = (
        "They are rows of the results table (--all-undetermined)."
        if meta.get("neuroguide.undetermined") == "all"
        else "They are not rows of the results table (--all-undetermined writes them)."
    )
    urgent = [r for r in found if r.get("urgent")]
    others = [r for r in found if not r.get("urgent")]
    head = (
        "<table><tr><th>guideline</th><th>rule</th><th>kind</th><th>status</th><th>patients</th>"
        "<th>facts it needed (no column in the input)</th></tr>"
    )
    out = [
        "<h2>Undetermined because columns are absent</h2>"
        "<p>Rules that could not be decided for these patients only because the input has no column for "
        f"the facts named (unknown for every patient; add the column to decide them). {written}</p>"
    ]
    # Red-flag checks first and apart: that none could be made for these patients must not be lost in the list.
    if urgent:
        out.append(
            "<h3 class='urgent'>Red-flag checks not possible (no column for what they need)</h3>"
            "<p>Emergency and urgent referrals and red-flag rules: the run could not check these for the patients "
            "counted. Add the columns named to make them.</p>"
            f"{head}{_absent_rows(urgent)}</table>"
        )
    if others:
        out.append(f"<h3>Other rules not decided</h3>{head}{_absent_rows(others)}</table>")
    return "".join(out)


def _absent_rows(found: list[dict[str, Any]]) -> str:
    return "".join(
        f"<tr><td>{html.escape(r['guideline'])}</td><td>{html.escape(r['rule'])}</td>"
        f"<td>{html.escape(str(r.get('kind', '')))}</td><td>{html.escape(str(r.get('status', '')))}</td>"
        f"<td>{int(r['patients']):,}</td><td>{html.escape(', '.join(r['missing']))}</td></tr>"
        for r in found
    )


def _errors_table(errors: pl.DataFrame | None) -> str:
    if errors is None or errors.height == 0:
        return "<h2>Bad cells</h2><p>None: every cell was usable.</p>"
    names, cells = errors.filter(is_unrecognised()), errors.filter(~is_unrecognised())
    return _names_table(names) + (_cells_table(cells) if cells.height else _errors_table(None))


def _names_table(names: pl.DataFrame) -> str:
    """Medication names no rule recognises, each with how often it was given and the closest known name."""
    if not names.height:
        return ""
    counts = (
        names.group_by("value")
        .agg(pl.len().alias("n"), pl.col("expected").first())
        .sort(["n", "value"], descending=[True, False])
    )
    body = "".join(
        f"<tr><td>{html.escape(str(r['value']))}</td><td>{int(r['n']):,}</td>"
        f"<td>{html.escape(str(r['expected']))}</td></tr>"
        for r in counts.head(20).iter_rows(named=True)
    )
    more = f"<p>… and {counts.height - 20:,} other names.</p>" if counts.height > 20 else ""
    return (
        "<h2>Medication names not recognised</h2><p>No rule could check these medications (a misspelling, or a "
        "drug no rule covers); the patients' other results stand. Every entry is listed in the errors table.</p>"
        f"<table><tr><th>name</th><th>entries</th><th>expected</th></tr>{body}</table>{more}"
    )


def _cells_table(errors: pl.DataFrame) -> str:
    counts = errors.group_by("column").agg(pl.len().alias("n"), pl.col("expected").first()).sort("n", descending=True)
    body = "".join(
        f"<tr><td>{html.escape(str(r['column']))}</td><td>{int(r['n']):,}</td><td>{html.escape(str(r['expected']))}</td></tr>"
        for r in counts.head(20).iter_rows(named=True)
    )
    return (
        "<h2>Bad cells</h2><p>Rows with a bad cell are left out of the rules that read that column; "
        "every cell is listed in the errors table.</p>"
        f"<table><tr><th>column</th><th>cells</th><th>expected</th></tr>{body}</table>"
    )
