"""Cohort files in and out: formats, provenance metadata, the command line, the HTML summary, Dask."""

from __future__ import annotations

import datetime as dt
import gc
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

pl = pytest.importorskip("polars")
pq = pytest.importorskip("pyarrow.parquet")

from neuroguide.cli import main  # noqa: E402
from neuroguide.cohort import _io  # noqa: E402
from neuroguide.cohort._dask import QUIET, dask_teardown  # noqa: E402
from neuroguide.cohort._errors import BadRowsError  # noqa: E402
from neuroguide.cohort._html import summary_html, write_summary  # noqa: E402

AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "c.parquet"
    _io.write_synth(600, path, seed=3, as_of=AS_OF)
    return path


def _sorted(frame: Any) -> Any:
    return frame.sort("row", "rule", "status", "label", nulls_last=True)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".arrow"])
def test_every_input_format_gives_the_same_results(tmp_path: Path, cohort_file: Path, suffix: str) -> None:
    # Patient documents have no columns to lack (a fact not given is unknown for that patient): every
    # undetermined result is a row, as in a table run with every undetermined row.
    mode = _io.Undetermined.ALL if suffix == ".jsonl" else _io.Undetermined.COMPACT
    reference = tmp_path / "ref.parquet"
    _io.run(cohort_file, reference, as_of=AS_OF, batch_rows=300, undetermined=mode)
    other = tmp_path / f"c{suffix}"
    _io.write_synth(600, other, seed=3, as_of=AS_OF)
    out = tmp_path / "out.parquet"
    summary = _io.run(other, out, as_of=AS_OF, batch_rows=250)
    assert summary.rows == 600 and summary.bad_rows == 0
    assert _sorted(pl.read_parquet(out)).equals(_sorted(pl.read_parquet(reference)))
    assert bool(summary.absent_only) == (suffix != ".jsonl")


def test_results_file_carries_guideline_versions_and_hashes(tmp_path: Path, cohort_file: Path) -> None:
    out = tmp_path / "r.parquet"
    summary = _io.run(cohort_file, out, as_of=AS_OF)
    meta = {k.decode(): v.decode() for k, v in pq.read_metadata(out).metadata.items()}
    guidelines = json.loads(meta["neuroguide.guidelines"])
    assert {g["id"] for g in guidelines} >= {"ada-neuropathy", "iwgdf-foot"}
    assert all(len(g["sha256"]) == 64 for g in guidelines)
    assert meta["neuroguide.as_of"] == AS_OF.isoformat()
    assert meta["neuroguide.rows"] == "600"
    assert meta["neuroguide.undetermined"] == "compact"
    only = json.loads(meta["neuroguide.absent_only"])
    assert only and [r["rule"] for r in only] == [a.rule for a in summary.absent_only]
    assert all(r["patients"] > 0 and r["missing"] for r in only)
    keys = {"guideline", "version", "rule", "patients", "missing", "kind", "urgent", "status"}
    assert all(set(r) == keys for r in only)
    by_rule = {r["rule"]: r for r in only}
    assert by_rule["cauda-equina-suspected"] | {"patients": 0, "missing": []} == {
        "guideline": "presentation-pattern",
        "version": by_rule["cauda-equina-suspected"]["version"],
        "rule": "cauda-equina-suspected",
        "patients": 0,
        "missing": [],
        "kind": "referral",
        "urgent": True,
        "status": "approved",
    }
    assert by_rule["b12-nitrous-oxide-homocysteine"]["urgent"] is False
    assert by_rule["b12-nitrous-oxide-homocysteine"]["kind"] == "workup"
    assert [a.rule for a in summary.urgent_absent()] == [r["rule"] for r in only if r["urgent"]]
    assert {"cauda-equina-suspected", "gbs-suspected"} <= {a.rule for a in summary.urgent_absent()}
    frame = pl.read_parquet(out)
    assert frame.height == summary.results
    every = tmp_path / "all.parquet"
    full = _io.run(cohort_file, every, as_of=AS_OF, undetermined="all")
    assert full.results == summary.results + sum(r["patients"] for r in only)
    assert full.absent_only == summary.absent_only
    assert {"patient_id", "rule", "guideline", "version", "status", "due", "due_by", "overdue_days", "missing"} <= set(
        frame.columns
    )
    assert summary.errors.is_file()


def test_a_run_with_too_many_bad_rows_stops_and_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("patient_id,hba1c\na,5.0\nb,99\nc,abc\n")
    out = tmp_path / "r.parquet"
    with pytest.raises(BadRowsError):
        _io.run(src, out, as_of=AS_OF, max_bad_share=0.1)
    assert not out.exists()


def test_unreadable_json_lines_are_errors_not_crashes(tmp_path: Path) -> None:
    src = tmp_path / "p.jsonl"
    src.write_text('{"id": "a", "findings": {"numbness": true}}\n{not json\n\n[1, 2]\n')
    out = tmp_path / "r.parquet"
    summary = _io.run(src, out, as_of=AS_OF, max_bad_share=1.0)
    errors = pl.read_parquet(summary.errors)
    assert errors.select("row", "column").rows() == [(1, "line"), (2, "patient")]
    assert set(pl.read_parquet(out)["patient_id"].to_list()) == {"a"}


def test_cli_synth_run_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cohort = tmp_path / "c.parquet"
    assert main(["cohort", "synth", "300", "-o", str(cohort), "--as-of", "2026-11-30", "--seed", "7"]) == 0
    out, html = tmp_path / "r.parquet", tmp_path / "s.html"
    code = main(["cohort", str(cohort), "-o", str(out), "--as-of", "2026-11-30", "--summary", str(html), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "300 patients" in text and "patients/s" in text
    assert "undetermined only because of absent columns (no rows; --all-undetermined writes them)" in text
    assert "b12-testing b12-nitrous-oxide-homocysteine (workup): 300 patients (needs nitrous-oxide-use)" in text
    # Red-flag checks that could not be made come first, under their own heading, before every other rule.
    lines = text.splitlines()
    urgent = lines.index("red-flag checks not possible (no column for what they need): 8 rules")
    other = next(i for i, line in enumerate(lines) if line.startswith("other rules not decided"))
    cauda = "  ! presentation-pattern cauda-equina-suspected (referral): 300 patients"
    assert urgent < lines.index(next(x for x in lines if x.startswith(cauda))) < other
    assert "  ! presentation-pattern sphincter-disturbance-new (referral, in-review): " in text  # in review: shown
    assert all(line.startswith("  ! ") for line in lines[urgent + 1 : other])
    assert not any("cauda-equina-suspected" in line for line in lines[other:])
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Undetermined because columns are absent" in page
    heading = page.index("Red-flag checks not possible (no column for what they need)")
    assert heading < page.index("cauda-equina-suspected") < page.index("Other rules not decided")
    assert page.index("Other rules not decided") < page.index("b12-nitrous-oxide-homocysteine")
    assert main(["cohort", "summary", str(out), "-o", str(tmp_path / "again.html")]) == 0
    every = tmp_path / "all.parquet"
    args = ["cohort", str(cohort), "-o", str(every), "--as-of", "2026-11-30", "--quiet", "--all-undetermined"]
    assert main(args) == 0
    assert "(rows written)" in capsys.readouterr().out
    assert pl.read_parquet(every).height > pl.read_parquet(out).height


def test_cli_counts_drugs_not_checked_and_include_in_review_checks_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = tmp_path / "c.parquet"
    assert main(["cohort", "synth", "4000", "-o", str(cohort), "--as-of", "2026-11-30", "--seed", "3"]) == 0
    out, html = tmp_path / "r.parquet", tmp_path / "s.html"
    args = ["cohort", str(cohort), "-o", str(out), "--as-of", "2026-11-30", "--quiet", "--batch-rows", "1500"]
    assert main([*args, "--summary", str(html)]) == 0
    text = capsys.readouterr().out
    rows = pl.read_parquet(out).filter(pl.col("status") == "not-checked")
    # Counted from the rows themselves (over three partitions), per rule.
    want = {
        r["rule"]: (r["patients"], r["entries"])
        for r in rows.group_by("rule")
        .agg(pl.col("row").n_unique().alias("patients"), pl.len().alias("entries"))
        .iter_rows(named=True)
    }
    assert {"neurotox-amiodarone", "neurotox-colchicine"} <= set(want)
    entries, patients = rows.height, rows["row"].n_unique()
    assert "drugs not checked (their only rule is not evaluated; rows with status not-checked, " in text
    assert f"{entries:,} entries of {patients:,} patients" in text
    for rule, (n, e) in want.items():
        assert f"  {rule} (neurotoxicity, in-review): {n:,} patients, {e:,} entries" in text
    meta = {k.decode(): v.decode() for k, v in (pq.read_metadata(out).metadata or {}).items()}
    held = json.loads(meta["neuroguide.not_checked"])
    assert {r["rule"]: (r["patients"], r["entries"]) for r in held} == want
    assert all(r["status"] == "in-review" and r["kind"] == "neurotoxicity" for r in held)
    page = html.read_text()
    assert "<h2>Drugs not checked</h2>" in page and "neurotox-amiodarone" in page
    assert f"{entries:,} entries of {patients:,} patients" in page
    # With the rules in review evaluated, nothing is left unchecked: no rows, no count, no line, no table.
    again, page2 = tmp_path / "again.parquet", tmp_path / "again.html"
    assert (
        main(["cohort", str(cohort), "-o", str(again), "--as-of", "2026-11-30", "--quiet", "--include-in-review"]) == 0
    )
    assert "drugs not checked" not in capsys.readouterr().out
    assert pl.read_parquet(again).filter(pl.col("status") == "not-checked").height == 0
    meta = {k.decode(): v.decode() for k, v in (pq.read_metadata(again).metadata or {}).items()}
    assert json.loads(meta["neuroguide.not_checked"]) == []
    assert main(["cohort", "summary", str(again), "-o", str(page2)]) == 0
    assert "Drugs not checked" not in page2.read_text()


def test_cli_reports_bad_input_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "c.csv"
    src.write_text("patient_id,numbnes\na,true\n")
    assert main(["cohort", str(src), "-o", str(tmp_path / "r.parquet")]) == 2
    assert "numbnes" in capsys.readouterr().err
    assert main(["cohort", "synth", "many", "-o", str(tmp_path / "x.parquet")]) == 2


def test_summary_is_self_contained(tmp_path: Path, cohort_file: Path) -> None:
    out = tmp_path / "r.parquet"
    _io.run(cohort_file, out, as_of=AS_OF)
    page = summary_html(pl.scan_parquet(out))
    assert "<svg" in page and "IWGDF" in page
    lowered = page.lower()
    assert "<script" not in lowered and "<link" not in lowered and "src=" not in lowered
    assert "http" not in lowered.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_summary_renders_in_a_headless_browser(tmp_path: Path, cohort_file: Path) -> None:
    out, html = tmp_path / "r.parquet", tmp_path / "s.html"
    _io.run(cohort_file, out, as_of=AS_OF)
    from neuroguide.cohort._html import write_summary

    write_summary(out, html)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a page with charts, not a blank one


def test_dask_local_cluster_gives_the_local_engines_results(tmp_path: Path, cohort_file: Path) -> None:
    pytest.importorskip("distributed")
    local, remote = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    small = tmp_path / "small-groups.parquet"
    pq.write_table(pq.read_table(cohort_file), small, row_group_size=250)
    mine = _io.run(small, local, as_of=AS_OF, batch_rows=250)
    summary = _io.run(small, remote, as_of=AS_OF, engine="dask", workers=2, batch_rows=250)
    assert summary.rows == 600
    assert summary.absent_only == mine.absent_only and summary.absent_only
    assert summary.results == mine.results
    key = b"neuroguide.absent_only"  # the run's summary, in the errors file of either engine
    assert pq.read_metadata(summary.errors).metadata[key] == pq.read_metadata(mine.errors).metadata[key]
    assert sorted(p.name for p in remote.iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert _io.read_results(remote).equals(pl.read_parquet(local))
    # Where the time went: the phases in order, and one timing per partition, each on a worker.
    assert list(summary.phases) == ["plan", "cluster", "tasks", "close", "errors"]
    assert list(mine.phases) == ["plan", "evaluate", "errors"]
    assert [t.index for t in summary.tasks] == [0, 1, 2]
    for task in summary.tasks:
        assert task.worker and task.finished >= task.started and {"read", "write"} <= dict(task.steps).keys()
    meta = _io.results_metadata(remote)
    assert json.loads(meta["neuroguide.guidelines"])  # every partition file carries the provenance
    page = tmp_path / "summary.html"
    write_summary(remote, page)  # the summary reads the directory and the run's counts from the errors file
    assert "600" in page.read_text(encoding="utf-8")


def test_the_local_clusters_settings_are_known_to_dask() -> None:
    """A setting renamed by a later Dask would be ignored silently: each must name an existing one."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    for key in QUIET:
        assert dask.config.get(key, default=None) is not None, key


def test_a_closing_worker_leaves_its_objects_to_the_process_exit() -> None:
    """The local cluster's workers skip the interpreter's last collections (they made closing take seconds)."""
    before = gc.get_freeze_count()
    try:
        dask_teardown(None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_partitions_span_and_split_row_groups(tmp_path: Path, cohort_file: Path) -> None:
    odd = tmp_path / "odd-groups.parquet"
    pq.write_table(pq.read_table(cohort_file), odd, row_group_size=170)
    parts = _io.partitions(odd, 250)
    assert [(p.first_row, p.rows) for p in parts] == [(0, 250), (250, 250), (500, 100)]
    whole = pl.read_parquet(odd)
    again = pl.concat([_io.read_partition(odd, p)[0] for p in parts])
    assert again.equals(whole)


def test_cli_summary_lines_use_one_number_style_and_name_what_runs_per_patient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def only(rule: str, urgent: bool, kind: str, status: str = "approved") -> Any:
        return _io.AbsentOnly("presentation-pattern", "1", rule, 20_000, ("sensory-level",), kind, urgent, status)

    summary = _io.RunSummary(
        rows=20_000,
        results=573_306,
        bad_rows=1_234,
        absent=("sensory-level",),
        seconds=2.0,
        output=tmp_path / "r.parquet",
        errors=tmp_path / "r.errors.parquet",
        per_row_rules=("vincristine-neurotoxicity", "oxaliplatin-neurotoxicity"),
        per_row_kinds={"neurotoxicity": 2},
        lookup_rules=("gabapentin-renal", "pregabalin-renal", "duloxetine-renal"),
        absent_only=(
            only("pattern-myelopathy", False, "consideration"),
            only("cord-compression-suspected", True, "referral", "in-review"),
        ),
        fallback_rows=1_500,
    )
    monkeypatch.setattr(_io, "run", lambda *a, **k: summary)
    src = tmp_path / "c.parquet"
    src.write_bytes(b"")
    assert main(["cohort", str(src), "-o", str(tmp_path / "r.parquet"), "--as-of", "2026-11-30", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("20,000 patients -> 573,306 result rows in 2.0 s (10,000 patients/s); bad rows: 1,234")
    head = "undetermined only because of absent columns (no rows; --all-undetermined writes them)"
    assert f"{head}: 2 rules, 40,000 results" in lines
    at = lines.index("red-flag checks not possible (no column for what they need): 1 rule")
    assert lines[at + 1] == (
        "  ! presentation-pattern cord-compression-suspected (referral, in-review): "
        "20,000 patients (needs sensory-level)"
    )
    assert lines[at + 2] == "other rules not decided (no column for what they need): 1 rule"
    assert lines[at + 3].startswith("  presentation-pattern pattern-myelopathy (consideration): 20,000 patients")
    assert "JSON lines read one document at a time (odd or bad lines): 1,500" in lines
    dosing = "dosing rules looked up by prescription: 3"
    assert f"{dosing} (patients with duplicate therapy are evaluated per patient)" in lines
    assert "evaluated per patient (not vectorised): 2 rules (2 neurotoxicity)" in lines
    assert not any("medication rules" in line for line in lines)


def test_absent_only_counts_in_python_say_which_rules_are_red_flag_checks() -> None:
    from neuroguide import cohort
    from neuroguide.model import is_urgent

    res = cohort.evaluate(cohort.synth(60, seed=5, as_of=AS_OF), as_of=AS_OF)
    only = res.absent_only
    assert {"guideline", "version", "rule", "patients", "missing", "kind", "urgent", "status"} <= set(only.columns)
    rules = {s.rule.id: s.rule for s in res.plan.steps}
    for r in only.iter_rows(named=True):
        rule = rules[r["rule"]]
        assert (r["kind"], r["urgent"], r["status"]) == (rule.kind, is_urgent(rule), str(rule.status))
    urgent = set(only.filter(pl.col("urgent"))["rule"].to_list())
    assert "cauda-equina-suspected" in urgent and "b12-nitrous-oxide-homocysteine" not in urgent


def test_the_partition_function_outline_of_the_docs_gives_the_run_s_results(tmp_path: Path, cohort_file: Path) -> None:
    """The public partition names, with each partition's first row, give what a whole run writes."""
    import neuroguide.cohort as nc

    out = tmp_path / "r.parquet"
    summary = nc.run(cohort_file, out, as_of=AS_OF, batch_rows=200)
    plan = nc.make_plan(AS_OF)
    frame = pl.read_parquet(cohort_file)
    parts = [nc.evaluate_partition(frame.slice(i, 200), plan, first_row=i) for i in range(0, frame.height, 200)]
    results = pl.concat([p[0] for p in parts])
    assert results.cast(nc.RESULT_SCHEMA).equals(nc.read_results(out))
    counts = nc.merge_absent_only((p[3] for p in parts), plan)
    assert [attrs.astuple(a) for a in summary.absent_only] == [
        (*r[:4], tuple(r[4]), *r[5:]) for r in counts.iter_rows()
    ]
    assert isinstance(plan, nc.Plan)


def test_partition_counts_keep_the_red_flag_marker_and_add_up_to_evaluate_s(cohort_file: Path) -> None:
    """Partition counts have evaluate's eight columns (kind, urgent, status); merged, they are evaluate's counts."""
    import neuroguide.cohort as nc

    frame = pl.read_parquet(cohort_file)
    whole = nc.evaluate(frame, as_of=AS_OF)
    plan = nc.make_plan(AS_OF)
    parts = [nc.evaluate_partition(frame.slice(i, 150), plan, first_row=i)[3] for i in range(0, frame.height, 150)]
    assert all(p.schema == pl.Schema(nc.ABSENT_ONLY_SCHEMA) for p in [*parts, whole.absent_only])
    merged = nc.merge_absent_only(parts, plan)
    assert merged.equals(whole.absent_only)
    assert merged["urgent"].any()  # the synthetic cohort lacks columns some red-flag checks read
    # The engine's own five-column counts merge the same (the rule info comes from the plan).
    assert nc.merge_absent_only([p.drop("kind", "urgent", "status") for p in parts], plan).equals(merged)


def test_the_partition_function_takes_arrow_as_evaluate_does(cohort_file: Path) -> None:
    import pyarrow as pa

    import neuroguide.cohort as nc
    from neuroguide.exceptions import InputError

    frame = pl.read_parquet(cohort_file).slice(0, 120)
    plan = nc.make_plan(AS_OF)
    want = nc.evaluate_partition(frame, plan, first_row=7)
    table = frame.to_arrow()
    for given in (table, table.to_batches(max_chunksize=1000)[0]):
        got = nc.evaluate_partition(given, plan, first_row=7)
        assert got[0].equals(want[0]) and got[1].equals(want[1]) and got[2] == want[2] and got[3].equals(want[3])
    # Units in Arrow field metadata count, as for evaluate.
    grams = frame.with_columns(pl.col("weight") * 1000).to_arrow()
    field = grams.schema.field("weight").with_metadata({"unit": "g"})
    grams = grams.cast(grams.schema.set(grams.schema.get_field_index("weight"), field))
    assert nc.evaluate_partition(grams, plan, first_row=7)[0].equals(want[0])
    with pytest.raises(InputError, match="pyarrow Table or RecordBatch"):
        nc.evaluate_partition(frame.to_dicts(), plan, first_row=0)
    with pytest.raises(InputError, match="row: got 'String'"):
        nc.evaluate_partition(frame.with_columns(row=pl.lit("a")), plan, first_row=0)
    assert isinstance(pa.table({}), pa.Table)


def test_a_table_s_own_row_column_is_kept_and_still_checked_for_unit_slips() -> None:
    import neuroguide.cohort as nc

    plan = nc.make_plan(AS_OF)
    # Creatinine 35 in the mg/dL column is far likelier µmol/L: not used, as assess flags it.
    frame = pl.DataFrame({"patient_id": ["a", "b"], "serum-creatinine": [35.0, 1.0]})
    plain = nc.evaluate_partition(frame, plan, first_row=0)[1]
    numbered = nc.evaluate_partition(frame.with_columns(row=pl.Series([1001, 5], dtype=pl.Int64)), plan, first_row=0)
    assert plain.filter(pl.col("effect") == "not used")["row"].to_list() == [0]
    assert numbered[1].filter(pl.col("effect") == "not used")["row"].to_list() == [1001]
    assert set(numbered[0]["row"]) <= {1001, 5}
    assert nc.evaluate(frame.with_columns(row=pl.Series([9, 8])), as_of=AS_OF).errors["row"].to_list() == [9]


def _docs_block(after: str) -> str:
    text = (Path(__file__).parents[1] / "docs" / "cohort.md").read_text(encoding="utf-8")
    rest = text[text.index(after) :]
    start = rest.index("```python\n") + len("```python\n")
    return rest[start : rest.index("```\n", start)]


def _plain_types_only(schema: Any) -> bool:
    import pyarrow as pa

    def plain(t: Any) -> bool:
        if pa.types.is_list(t):
            return plain(t.value_type)
        return not (pa.types.is_dictionary(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))

    return all(plain(f.type) for f in schema)


def test_spark_ddl_and_plain_arrow_cover_every_column_of_the_public_schemas() -> None:
    import neuroguide.cohort as nc

    for schema in (nc.RESULT_SCHEMA, nc.ERRORS_SCHEMA, nc.ABSENT_ONLY_SCHEMA):
        ddl = nc.spark_ddl(schema)
        assert [part.split("` ")[0].strip(" `") for part in ddl.split(", ")] == list(schema)
        assert all(part.split("` ")[1] for part in ddl.split(", "))
        table = nc.plain_arrow(pl.DataFrame(schema=schema), schema)
        assert table.schema.names == list(schema)
        assert _plain_types_only(table.schema)
        kinds = {"STRING": "string", "BIGINT": "int64", "DATE": "date32[day]", "BOOLEAN": "bool"}
        for part, field in zip(ddl.split(", "), table.schema, strict=True):
            spark = part.split("` ")[1]
            assert str(field.type) == (
                f"list<item: {kinds[spark[6:-1]]}>" if spark.startswith("ARRAY<") else kinds[spark]
            )
    docs = (Path(__file__).parents[1] / "docs" / "cohort.md").read_text(encoding="utf-8")
    assert f"```text\n{nc.spark_ddl(nc.RESULT_SCHEMA)}\n```" in docs


def test_the_spark_outline_of_the_docs_keeps_every_patient_and_error(cohort_file: Path) -> None:
    """The function docs/cohort.md hands to mapInArrow, run over record batches in partitions without Spark."""
    import neuroguide.cohort as nc

    frame = pl.read_parquet(cohort_file)
    # A few bad cells so the errors table has rows to keep.
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 5).then(900.0).otherwise(pl.col("weight")).alias("weight")
    )
    whole = nc.evaluate(frame, as_of=AS_OF)
    assert whole.errors.height
    space: dict[str, Any] = {}
    exec(_docs_block("The function handed to Spark"), space)
    batches = frame.to_arrow().to_batches(max_chunksize=110)
    spark_partitions = [batches[:3], batches[3:]]  # each partition numbers its rows from 0 again
    got = {
        table: pl.concat(
            [
                pl.DataFrame(pl.from_arrow(b))
                for part in spark_partitions
                for b in space["evaluate_batches"](iter(part), table)
            ]
        )
        for table in ("results", "errors", "absent_only")
    }
    assert got["results"]["row"].max() < sum(b.num_rows for b in spark_partitions[0])  # `row` is per partition
    for table, schema in space["SCHEMAS"].items():
        assert _plain_types_only(nc.plain_arrow(pl.DataFrame(schema=schema), schema).schema)
        assert list(got[table].columns) == list(schema)
    keys = ["patient_id", "rule", "status", "label"]
    assert (
        got["results"]
        .drop("row")
        .sort(keys, nulls_last=True)
        .equals(
            pl.DataFrame(pl.from_arrow(nc.plain_arrow(whole.results, nc.RESULT_SCHEMA)))
            .drop("row")
            .sort(keys, nulls_last=True)
        )
    )
    assert (
        got["errors"]
        .drop("row")
        .sort("patient_id", "column")
        .equals(whole.errors.drop("row").sort("patient_id", "column"))
    )
    assert nc.merge_absent_only([got["absent_only"]], space["plan"]()).equals(whole.absent_only)
    with pytest.raises(ValueError, match="patient_id"):
        list(space["evaluate_batches"](iter(frame.drop("patient_id").to_arrow().to_batches()), "results"))


def test_without_patient_id_each_row_number_is_the_id() -> None:
    import neuroguide.cohort as nc

    plan = nc.make_plan(AS_OF)
    frame = pl.DataFrame({"numbness": [True, None], "serum-creatinine": [35.0, 1.0]})
    errors = nc.evaluate_partition(frame, plan, first_row=40)[1]
    assert errors.select("row", "patient_id").rows() == [(40, "40")]


_NO_REGISTRY = """
import sys, datetime as dt
from neuroguide.cohort import run
from neuroguide.cohort._io import write_synth
day = dt.date(2026, 11, 30)
write_synth(2000, sys.argv[1], seed=3, as_of=day)
summary = run(sys.argv[1], sys.argv[2], as_of=day)
print(summary.rows, 'pint' in sys.modules)
"""


def test_a_cohort_of_common_units_is_run_without_the_unit_registry(tmp_path: Path) -> None:
    """Doses, thresholds and measurements in the unit table's units need no pint (about 1.5 s a process)."""
    done = subprocess.run(
        [sys.executable, "-c", _NO_REGISTRY, str(tmp_path / "c.parquet"), str(tmp_path / "r.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["2000", "False"]


def test_a_worker_with_other_guideline_files_refuses_its_partition(tmp_path: Path) -> None:
    """A worker's rules must be the client's: its results file carries the client's provenance."""
    from neuroguide.cohort import _dask, _engine, _parts
    from neuroguide.cohort._errors import WorkerMismatchError

    day = dt.date(2026, 11, 30)
    src = tmp_path / "c.parquet"
    _io.write_synth(60, src, seed=2, as_of=day)
    plan = _engine.make_plan(day)
    meta = _engine.metadata(plan)
    (part,) = _parts.partitions(src, 100)
    args = (str(src), part, day, None, ("approved",), str(tmp_path))
    done = _dask.evaluate_parquet_partition(*args, meta)  # the same installation: evaluated
    assert done.rows == 60
    versions = json.loads(meta["neuroguide.guidelines"])
    versions[0]["sha256"] = "0" * 64  # the client read another file
    altered = {**meta, "neuroguide.guidelines": json.dumps(versions)}
    with pytest.raises(WorkerMismatchError, match="guideline versions") as caught:
        _dask.evaluate_parquet_partition(*args, altered)
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(WorkerMismatchError, match="neuroguide version"):
        _dask.evaluate_parquet_partition(*args, {**meta, "neuroguide.package": "0.0.1"})


def test_dates_before_birth_in_a_csv_cohort_are_refused(tmp_path: Path) -> None:
    # Formatting the refusal's text in the same query as the filter made Polars 2.1 panic on this file.
    src = tmp_path / "c.csv"
    _io.write_synth(5000, src, seed=11, as_of=AS_OF)
    frame = pl.read_csv(src, infer_schema=False)
    before = pl.when(pl.int_range(pl.len()).is_in([28, 1142])).then(pl.lit("1930-02-02"))
    frame.with_columns(before.otherwise(pl.col("last-foot-exam")).alias("last-foot-exam")).write_csv(src)
    summary = _io.run(src, tmp_path / "r.parquet", as_of=AS_OF, max_bad_share=1.0)
    errors = pl.read_parquet(summary.errors).filter(pl.col("column") == "last-foot-exam")
    want = [(28, "1930-02-02", "refused"), (1142, "1930-02-02", "refused")]
    assert errors.select("row", "value", "effect").rows() == want
    assert all(e.startswith("a date on or after birth_date 19") for e in errors["expected"])
    assert not pl.read_parquet(summary.output).filter(pl.col("row").is_in([28, 1142])).height


def test_a_run_lists_and_counts_drug_names_no_rule_recognises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "c.jsonl"
    docs = [
        {"id": "a", "medications": [{"agent": "gabapentn", "dose": "900 mg", "per": "day"}]},
        {"id": "b", "medications": [{"agent": "metformin"}, {"agent": "metforminn"}]},
        {"id": "c", "medications": [{"agent": "gabapentin", "dose": "900 mg", "per": "day"}]},
    ]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out, page = tmp_path / "r.parquet", tmp_path / "s.html"
    args = ["cohort", str(src), "-o", str(out), "--as-of", "2026-11-30", "--quiet", "--summary", str(page)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "bad rows: 0" in text  # a name not recognised does not stop a run: the patient is evaluated, as by assess
    assert "medication names not recognised (no rule could check them; not counted as bad rows): 2" in text
    errors = pl.read_parquet(tmp_path / "r.errors.parquet")
    assert errors.select("patient_id", "column", "value", "effect").rows() == [
        ("a", "medications[0].agent", "gabapentn", "not used"),
        ("b", "medications[1].agent", "metforminn", "not used"),
    ]
    meta = pq.read_metadata(tmp_path / "r.errors.parquet").metadata
    assert meta[b"neuroguide.unrecognised_medications"] == b"2"
    html = page.read_text()
    assert "Medication names not recognised" in html and "gabapentn" in html and "did you mean" in html
    assert "None: every cell was usable." in html


def test_a_run_stopped_for_bad_rows_writes_the_errors_table_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("patient_id,hba1c\na,5.0\nb,99\nc,abc\nd,6.0\n")
    out = tmp_path / "r.parquet"
    with pytest.raises(BadRowsError) as info:
        _io.run(src, out, as_of=AS_OF, max_bad_share=0.1)
    errors_file = tmp_path / "r.errors.parquet"
    assert str(errors_file) in str(info.value)
    errors = pl.read_parquet(errors_file)
    assert errors.select("patient_id", "column", "value").rows() == [("b", "hba1c", "99"), ("c", "hba1c", "abc")]
    assert not out.exists()  # no results: the run stopped
    other = tmp_path / "mine.parquet"
    assert main(["cohort", str(src), "-o", str(out), "--errors", str(other), "--max-bad-share", "0.1"]) == 2
    message = capsys.readouterr().err
    assert str(other) in message and "2 of 4 rows bad" in message
    assert pl.read_parquet(other).height == 2
