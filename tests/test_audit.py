"""Regulatory audit: rule history, version diffs, tamper detection, replay and the lock.

Most tests build a small two-version guideline ("tiny") in ``tmp_path`` so
that every expected change is known exactly; a few run on a copy of the
packaged guideline folder, and on the real ADA 2017.1 -> 2026.1 history when
both files are present.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide import _loading, audit
from neuroguide import model as m
from neuroguide.cli import main

V1 = """
id = "tiny"
title = "Tiny audit guideline"
version = "2020.1"
effective = 2020-01-01
status = "approved"
summary = "First edition."

[sources.src-2020]
authors = ["A. Author"]
title = "Tiny standards 2020"
journal = "J Test"
year = 2020
label = "Tiny 2020"
edition = "2020"

[[rules]]
id = "tiny-screen"
kind = "screening"
title = "Screen yearly"
statement = "Screen people with diabetes at least annually."
applies = { any = ["type-1-diabetes", "type-2-diabetes"] }
start = [{ when = "type-2-diabetes", anchor = "diabetes-diagnosed", after = "0 years" }]
interval = "12 months"
last_done = "last-neuropathy-exam"
includes = ["history", "monofilament"]
action = "Screen."

[[rules.citations]]
source = "src-2020"
locator = "Recommendation 1"
quote = "at least annually"
grade = "B"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }

[[rules]]
id = "tiny-referral"
kind = "referral"
title = "Refer"
statement = "Refer when claudication."
when = "claudication"
to = "vascular"
action = "Refer for vascular assessment."

[[rules.citations]]
source = "src-2020"
locator = "Recommendation 2"
quote = "refer"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }

[[rules]]
id = "tiny-old"
kind = "treatment"
title = "Old treatment"
statement = "Offer drug A."
when = "burning-pain"
options = ["drug A"]
action = "Offer drug A."

[[rules.citations]]
source = "src-2020"
locator = "Recommendation 3"
quote = "drug A"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }

[[rules]]
id = "tiny-caution"
kind = "caution"
title = "Caution"
statement = "Beware."
when = "smoker"
caution = "Beware."

[[rules.citations]]
source = "src-2020"
locator = "Recommendation 4"
quote = "beware"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }
"""

V2 = """
id = "tiny"
title = "Tiny audit guideline"
version = "2021.1"
effective = 2021-03-01
status = "approved"
summary = "Second edition."
supersedes = "2020.1"

[sources.src-2020]
authors = ["A. Author"]
title = "Tiny standards 2020"
journal = "J Test"
year = 2020
label = "Tiny 2020"
edition = "2020"

[sources.src-2021]
authors = ["A. Author"]
title = "Tiny standards 2021"
journal = "J Test"
year = 2021
label = "Tiny 2021"
edition = "2021"

[[changes]]
rule = "tiny-screen"
what = "Interval shortened from 12 to 6 months; type 2 only."
why = "The 2021 edition screens more often."
source = "src-2021"

[[changes]]
rule = "tiny-old"
what = "Removed: drug A is no longer recommended."
why = "Withdrawn in the 2021 edition."
source = "src-2021"

[[changes]]
rule = "tiny-new"
what = "Added: work-up for burning pain."
why = "New in the 2021 edition."
source = "src-2021"

[[changes]]
rule = "tiny-caution"
what = "Retired."
why = "No longer in the 2021 edition."

[[rules]]
id = "tiny-screen"
kind = "screening"
title = "Screen twice a year"
statement = "Screen people with type 2 diabetes every 6 months."
applies = { all = ["type-2-diabetes", { not = "type-1-diabetes" }] }
start = [{ when = "type-2-diabetes", anchor = "diabetes-diagnosed", after = "0 years" }]
interval = "6 months"
last_done = "last-neuropathy-exam"
includes = ["history", "vibration"]
action = "Screen."

[[rules.citations]]
source = "src-2021"
locator = "Recommendation 1.1"
quote = "every 6 months"
grade = "A"
verification = { status = "primary", via = "test original", checked = 2021-03-02 }

[[rules]]
id = "tiny-referral"
kind = "referral"
title = "Refer"
statement = "Refer when claudication."
when = "claudication"
to = "vascular"
action = "Refer for vascular assessment."

[[rules.citations]]
source = "src-2020"
locator = "Recommendation 2"
quote = "refer"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }

[[rules]]
id = "tiny-new"
kind = "workup"
title = "Work up burning pain"
statement = "Test B12 in burning pain."
when = "burning-pain"
tests = ["vitamin B12"]
action = "Order B12."

[[rules.citations]]
source = "src-2021"
locator = "Recommendation 5"
quote = "b12"
verification = { status = "secondary", via = "test copy", checked = 2021-03-02 }

[[rules]]
id = "tiny-caution"
kind = "caution"
title = "Caution"
statement = "Beware."
status = "retired"
when = "smoker"
caution = "Beware."

[[rules.citations]]
source = "src-2021"
locator = "Recommendation 4"
quote = "beware"
verification = { status = "secondary", via = "test copy", checked = 2020-01-02 }
"""

PATIENT = {"diabetes": {"type": "type-2", "diagnosed": "2019-01-01"}, "last": {"neuropathy-exam": "2020-06-01"}}


def _write(root: Path, text: str) -> Path:
    version = text.split('version = "', 1)[1].split('"', 1)[0]
    folder = root / "tiny"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A guideline folder with both tiny versions, locked."""
    root = tmp_path / "guidelines"
    _write(root, V1)
    _write(root, V2)
    assert audit.update_lock(root).written
    return root


def _copy_tree(src: Traversable, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.is_dir():
            _copy_tree(entry, dst / entry.name)
        elif entry.is_file():
            (dst / entry.name).write_bytes(entry.read_bytes())


@pytest.fixture
def packaged_copy(tmp_path: Path) -> Path:
    """A copy of the installed guideline folder, with a fresh lock of its current files."""
    root = tmp_path / "packaged"
    _copy_tree(_loading.guideline_root(), root)
    (root / "lock.json").unlink(missing_ok=True)
    assert audit.update_lock(root).written
    return root


def _paths(changes: tuple[audit.FieldChange, ...]) -> dict[str, audit.FieldChange]:
    return {c.path: c for c in changes if c.change == "changed"}


# -- tamper detection ----------------------------------------------------------------------


def test_clean_folder_verifies(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = audit.verify(tiny)
    assert report.ok
    assert report.files == 2
    assert report.locked == 2
    assert _loading.Catalog(tiny).verify() == []
    assert main(["audit", "verify", "--root", str(tiny)]) == 0
    assert "OK: all 2 guideline files match" in capsys.readouterr().out


def test_tampering_with_a_released_file_is_detected(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tiny / "tiny" / "2020.1.toml"
    locked = json.loads((tiny / "lock.json").read_text(encoding="utf-8"))["files"]["tiny/2020.1.toml"]
    path.write_text(V1.replace('interval = "12 months"', 'interval = "24 months"'), encoding="utf-8")
    actual = audit.file_sha256(path)
    assert actual != locked

    report = audit.verify(tiny)
    assert not report.ok
    assert report.mismatches == (
        audit.Mismatch(file="tiny/2020.1.toml", problem="altered", expected=locked, actual=actual),
    )
    # Loading refuses the tampered folder; an author's unlocked catalog names the file.
    with pytest.raises(ng.IntegrityError, match=r"tiny/2020\.1\.toml: expected sha256"):
        _loading.Catalog(tiny)
    cat = _loading.Catalog(tiny, allow_unlocked=True)
    assert cat.unlocked == ("tiny/2020.1.toml",)
    assert cat.verify() == [("tiny/2020.1.toml", locked, actual)]
    with pytest.raises(ng.IntegrityError, match=r"tiny/2020\.1\.toml"):
        cat.check_integrity()

    assert main(["audit", "verify", "--root", str(tiny)]) == 1
    captured = capsys.readouterr()
    assert "TAMPERED   tiny/2020.1.toml" in captured.out
    assert f"expected sha256 {locked}" in captured.out
    assert f"actual   sha256 {actual}" in captured.out
    assert "FAILED" in captured.err

    assert main(["audit", "verify", "--root", str(tiny), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["mismatches"] == [
        {"file": "tiny/2020.1.toml", "problem": "altered", "expected": locked, "actual": actual}
    ]


def test_tampering_that_breaks_the_file_is_still_reported(tiny: Path) -> None:
    """Hashing needs no parsing: a file edited into invalid TOML is named, not just 'fails to load'."""
    path = tiny / "tiny" / "2021.1.toml"
    path.write_bytes(path.read_bytes() + b"\n[[[ not toml\n")
    with pytest.raises(ng.IntegrityError, match=r"tiny/2021\.1\.toml"):
        _loading.Catalog(tiny)
    with pytest.raises(ng.GuidelineDataError):
        _loading.Catalog(tiny, allow_unlocked=True)
    (mm,) = audit.verify(tiny).mismatches
    assert (mm.file, mm.problem) == ("tiny/2021.1.toml", "altered")


def test_even_a_whitespace_edit_is_tampering(tiny: Path) -> None:
    path = tiny / "tiny" / "2021.1.toml"
    path.write_bytes(path.read_bytes() + b"\n")
    assert [mm.file for mm in audit.verify(tiny).mismatches] == ["tiny/2021.1.toml"]


def test_missing_and_unlocked_files_are_reported(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny / "tiny" / "2020.1.toml").unlink()
    extra = _write(tiny, V2.replace('version = "2021.1"', 'version = "2022.1"'))
    report = audit.verify(tiny)
    assert [(mm.file, mm.problem) for mm in report.mismatches] == [
        ("tiny/2020.1.toml", "missing"),
        ("tiny/2022.1.toml", "not-locked"),
    ]
    assert report.mismatches[1].actual == audit.file_sha256(extra)
    assert main(["audit", "verify", "--root", str(tiny)]) == 1
    out = capsys.readouterr().out
    assert "MISSING    tiny/2020.1.toml" in out
    assert "NOT LOCKED tiny/2022.1.toml" in out


def test_tampering_with_a_copy_of_the_packaged_guidelines(packaged_copy: Path) -> None:
    assert audit.verify(packaged_copy).ok
    target = packaged_copy / "ada-neuropathy" / "2026.1.toml"
    original = target.read_bytes()
    target.write_bytes(original.replace(b'interval = "12 months"', b'interval = "24 months"', 1))
    assert target.read_bytes() != original
    (mm,) = audit.verify(packaged_copy).mismatches
    assert mm.file == "ada-neuropathy/2026.1.toml"
    assert mm.problem == "altered"
    assert mm.expected == _sha(original)


def test_packaged_guidelines_match_their_lock(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped files are exactly the released ones (the lead regenerates the lock on release)."""
    assert audit.verify().mismatches == ()
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: all ")


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# -- lock ------------------------------------------------------------------------------------


def test_lock_adds_new_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "g"
    p1 = _write(root, V1)
    first = audit.update_lock(root)
    assert first.added == (("tiny/2020.1.toml", audit.file_sha256(p1)),)
    assert first.written
    p2 = _write(root, V2)
    assert main(["audit", "lock", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"locked tiny/2021.1.toml sha256 {audit.file_sha256(p2)}" in out
    assert "tiny/2020.1.toml" not in out
    lock = json.loads((root / "lock.json").read_text(encoding="utf-8"))
    assert lock == {"files": {"tiny/2020.1.toml": audit.file_sha256(p1), "tiny/2021.1.toml": audit.file_sha256(p2)}}
    again = audit.update_lock(root)
    assert (again.added, again.written, again.kept) == ((), False, 2)


def test_lock_refuses_to_change_an_existing_entry(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock_before = (tiny / "lock.json").read_bytes()
    path = tiny / "tiny" / "2020.1.toml"
    path.write_text(V1.replace('grade = "B"', 'grade = "A"'), encoding="utf-8")
    _write(tiny, V2.replace('version = "2021.1"', 'version = "2022.1"'))  # a new file, which alone would be fine

    report = audit.update_lock(tiny)
    assert not report.ok
    assert not report.written
    assert [(mm.file, mm.problem) for mm in report.refused] == [("tiny/2020.1.toml", "altered")]
    assert (tiny / "lock.json").read_bytes() == lock_before  # nothing written, not even the new file

    assert main(["audit", "lock", "--root", str(tiny)]) == 1
    err = capsys.readouterr().err
    assert "REFUSED tiny/2020.1.toml" in err
    assert "may not be changed" in err
    assert (tiny / "lock.json").read_bytes() == lock_before


def test_lock_refuses_a_deleted_released_file(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny / "tiny" / "2020.1.toml").unlink()
    assert main(["audit", "lock", "--root", str(tiny)]) == 1
    assert "REFUSED tiny/2020.1.toml" in capsys.readouterr().err


def test_lock_never_locks_an_invalid_file(tmp_path: Path) -> None:
    root = tmp_path / "g"
    _write(root, V1.replace('interval = "12 months"', 'interval = "twelve"'))
    with pytest.raises(ng.GuidelineDataError):
        audit.update_lock(root)
    assert not (root / "lock.json").exists()


# -- as_of picks the version in effect -----------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "version", "due"),
    [
        (dt.date(2021, 2, 28), "2020.1", dt.date(2021, 6, 1)),  # one day before 2021.1 takes effect: 12 months
        (dt.date(2021, 3, 1), "2021.1", dt.date(2020, 12, 1)),  # on the effective date: 6 months
        (dt.date(2021, 3, 2), "2021.1", dt.date(2020, 12, 1)),
    ],
)
def test_as_of_selects_the_version_in_effect(tiny: Path, as_of: dt.date, version: str, due: dt.date) -> None:
    cat = _loading.Catalog(tiny)
    assert cat.get("tiny", as_of=as_of).version == version
    result = ng.assess(PATIENT, as_of=as_of, source=cat)
    assert [(g.id, g.version) for g in result.record.guidelines] == [("tiny", version)]
    rec = result.by_rule("tiny-screen")
    assert rec is not None
    assert (rec.version, rec.due) == (version, due)


def test_no_version_in_effect_before_the_first(tiny: Path) -> None:
    cat = _loading.Catalog(tiny)
    assert cat.get("tiny", as_of=dt.date(2020, 1, 1)).version == "2020.1"
    with pytest.raises(ng.UnknownGuidelineError):
        cat.get("tiny", as_of=dt.date(2019, 12, 31))


def test_a_pin_overrides_as_of(tiny: Path) -> None:
    cat = _loading.Catalog(tiny)
    result = ng.assess(PATIENT, as_of=dt.date(2021, 6, 1), pins={"tiny": "2020.1"}, source=cat)
    (ref,) = result.record.guidelines
    assert (ref.version, ref.pinned) == ("2020.1", True)


# -- replay ------------------------------------------------------------------------------------


def test_old_record_replays_identically_after_a_newer_version_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "g"
    _write(root, V1)
    audit.update_lock(root)
    old = ng.assess(PATIENT, as_of=dt.date(2021, 6, 1), pins={"tiny": "2020.1"}, source=_loading.Catalog(root))
    unpinned = ng.assess(PATIENT, as_of=dt.date(2021, 6, 1), source=_loading.Catalog(root))
    assert unpinned.record.guidelines[0].version == "2020.1"

    _write(root, V2)  # a newer version, effective 2021-03-01, before the records' date
    audit.update_lock(root)
    cat = _loading.Catalog(root)
    assert ng.assess(PATIENT, as_of=dt.date(2021, 6, 1), source=cat).record.guidelines[0].version == "2021.1"

    for result in (old, unpinned):
        got = audit.replay_record(result.record.to_json(), source=cat)
        assert got.identical, got.differences
        assert got.differences == ()
        assert got.causes == ()
        (g,) = got.guidelines
        assert (g.version, g.current_sha256, g.locked_sha256) == ("2020.1", g.recorded_sha256, g.recorded_sha256)
    # The unpinned record would select another version today: said, not silently changed.
    notes = audit.replay_record(unpinned.record, source=cat).notes
    assert notes == (
        "tiny: the current catalog would select 2021.1 on 2021-06-01; the record used 2020.1 and the replay kept it",
    )

    record_file = tmp_path / "record.json"
    record_file.write_text(old.record.to_json(), encoding="utf-8")
    assert main(["audit", "replay", str(record_file), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("IDENTICAL: the record of 2021-06-01 re-evaluated with tiny 2020.1 (pinned)")


def test_replay_detects_a_changed_file(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2021, 2, 28), source=_loading.Catalog(tiny))
    recorded = result.record.guidelines[0].sha256
    path = tiny / "tiny" / "2020.1.toml"
    path.write_text(V1.replace('interval = "12 months"', 'interval = "24 months"'), encoding="utf-8")
    now = audit.file_sha256(path)

    got = audit.replay_record(result.record, source=_loading.Catalog(tiny, allow_unlocked=True))
    assert not got.identical
    assert got.causes == (
        f"tiny/2020.1.toml: content changed since the record was made (recorded sha256 {recorded}, file now {now}; "
        "lock.json still pins the recorded hash): the released file was edited after release",
    )
    assert f"guideline tiny 2020.1: content changed (recorded sha256 {recorded}, now {now})" in got.differences
    assert "rule tiny-screen (tiny): due was '2021-06-01', now '2022-06-01'" in got.differences

    record_file = tmp_path / "record.json"
    record_file.write_text(result.record.to_json(), encoding="utf-8")
    assert main(["audit", "replay", str(record_file), "--root", str(tiny)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DIFFERENT:")
    assert "tiny/2020.1.toml: content changed" in out
    assert "due was '2021-06-01', now '2022-06-01'" in out

    assert main(["audit", "replay", str(record_file), "--root", str(tiny), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["identical"] is False
    assert data["guidelines"][0]["current_sha256"] == now


def test_replay_detects_a_content_change_that_does_not_alter_the_result(tiny: Path) -> None:
    """A hash change is a difference even when the recommendations come out the same."""
    result = ng.assess(PATIENT, as_of=dt.date(2021, 2, 28), source=_loading.Catalog(tiny))
    path = tiny / "tiny" / "2020.1.toml"
    path.write_text(V1 + "\n# a comment\n", encoding="utf-8")
    got = audit.replay_record(result.record, source=_loading.Catalog(tiny, allow_unlocked=True))
    assert not got.identical
    assert len(got.causes) == 1
    assert got.causes[0].startswith("tiny/2020.1.toml: content changed")


def test_replay_explains_an_altered_record(tiny: Path) -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2021, 2, 28), source=_loading.Catalog(tiny))
    data = result.record.to_dict()
    data["recommendations"][0]["due"] = "2030-01-01"
    got = audit.replay_record(data, source=_loading.Catalog(tiny))
    assert not got.identical
    assert got.differences == ("rule tiny-screen (tiny): due was '2030-01-01', now '2021-06-01'",)
    assert "the record itself was altered" in got.causes[0]


def test_replay_reports_a_missing_version(tiny: Path) -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2021, 2, 28), source=_loading.Catalog(tiny))
    (tiny / "tiny" / "2020.1.toml").unlink()
    got = audit.replay_record(result.record, source=_loading.Catalog(tiny, allow_unlocked=True))
    assert not got.identical
    assert "tiny 2020.1 is not in the catalog" in got.causes[0].replace("guideline tiny version 2020.1", "tiny 2020.1")


def test_replay_of_a_packaged_record_is_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps(PATIENT), encoding="utf-8")
    assert main(["assess", str(patient), "--as-of", "2026-11-23", "--json"]) == 0
    record = tmp_path / "record.json"
    record.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["audit", "replay", str(record)]) == 0
    assert capsys.readouterr().out.startswith("IDENTICAL:")


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"as_of": "2026-11-23"}'])
def test_replay_bad_input_exits_2(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "record.json"
    record.write_text(content, encoding="utf-8")
    assert main(["audit", "replay", str(record)]) == 2
    assert "record" in capsys.readouterr().err


def test_replay_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "replay", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


# -- history -----------------------------------------------------------------------------------


def test_history_of_a_changed_rule(tiny: Path) -> None:
    hist = audit.history("tiny-screen", _loading.Catalog(tiny))
    assert hist.guidelines == ("tiny",)
    assert [(e.version, e.event) for e in hist.entries] == [("2020.1", "added"), ("2021.1", "changed")]
    first, second = hist.entries
    assert (first.effective, first.superseded_on) == (dt.date(2020, 1, 1), dt.date(2021, 3, 1))
    assert (second.effective, second.superseded_on, second.previous) == (dt.date(2021, 3, 1), None, "2020.1")
    assert [c.label for c in first.cites] == ["Tiny 2020"]
    assert [(c.label, c.edition, c.title) for c in second.cites] == [("Tiny 2021", "2021", "Tiny standards 2021")]
    assert second.notes == (
        audit.Note(
            version="2021.1",
            rule="tiny-screen",
            what="Interval shortened from 12 to 6 months; type 2 only.",
            why="The 2021 edition screens more often.",
            source="src-2021",
            source_label="Tiny 2021",
        ),
    )
    assert second.warnings == ()
    changed = _paths(second.differences)
    expected = {
        "title": ("Screen yearly", "Screen twice a year"),
        "statement": (
            "Screen people with diabetes at least annually.",
            "Screen people with type 2 diabetes every 6 months.",
        ),
        "applies": ("type-1-diabetes OR type-2-diabetes", "type-2-diabetes AND NOT type-1-diabetes"),
        "interval": ("12 months", "6 months"),
        "citations[0].source": ("src-2020", "src-2021"),
        "citations[0].locator": ("Recommendation 1", "Recommendation 1.1"),
        "citations[0].quote": ("at least annually", "every 6 months"),
        "citations[0].grade": ("B", "A"),
        "citations[0].verification.status": ("secondary", "primary"),
        "citations[0].verification.via": ("test copy", "test original"),
        "citations[0].verification.checked": ("2020-01-02", "2021-03-02"),
    }
    assert {k: (v.before, v.after) for k, v in changed.items()} == expected
    lists = [(c.path, c.change, c.before, c.after) for c in second.differences if c.change != "changed"]
    assert lists == [("includes", "removed", "monofilament", None), ("includes", "added", None, "vibration")]


def test_history_of_removed_retired_and_added_rules(tiny: Path) -> None:
    cat = _loading.Catalog(tiny)
    old = audit.history("tiny-old", cat)
    assert [(e.version, e.event, e.rule_status) for e in old.entries] == [
        ("2020.1", "added", m.Status.APPROVED),
        ("2021.1", "removed", None),
    ]
    assert old.entry("2021.1").notes[0].what == "Removed: drug A is no longer recommended."
    assert old.entry("2021.1").title == "Old treatment"

    caution = audit.history("tiny-caution", cat).entry("2021.1")
    assert (caution.event, caution.rule_status) == ("retired", m.Status.RETIRED)
    assert _paths(caution.differences)["status"].before == "approved"
    assert _paths(caution.differences)["status"].after == "retired"

    new = audit.history("tiny-new", cat)
    assert [(e.version, e.event) for e in new.entries] == [("2021.1", "added")]
    assert new.entries[0].warnings == ()

    same = audit.history("tiny-referral", cat)
    assert [(e.version, e.event) for e in same.entries] == [("2020.1", "added"), ("2021.1", "unchanged")]
    assert same.entries[1].differences == ()
    assert same.entries[1].source_changes == ()
    assert same.entries[1].warnings == ()
    with pytest.raises(ng.UnknownRuleError):
        audit.history("no-such-rule", cat)


def test_history_flags_a_change_without_a_note(tmp_path: Path) -> None:
    root = tmp_path / "g"
    _write(root, V1)
    _write(
        root,
        V1.replace('version = "2020.1"', 'version = "2020.2"')
        .replace("effective = 2020-01-01", "effective = 2020-06-01")
        .replace('quote = "drug A"', 'quote = "drug A or B"'),
    )
    entry = audit.history("tiny-old", _loading.Catalog(root, allow_unlocked=True)).entry("2020.2")
    assert entry.event == "changed"
    assert [(c.path, c.before, c.after) for c in entry.differences] == [("citations[0].quote", "drug A", "drug A or B")]
    assert entry.warnings == ("changed in 2020.2 without a [[changes]] note for this rule",)


def test_history_reports_a_changed_source_edition(tmp_path: Path) -> None:
    root = tmp_path / "g"
    _write(root, V1)
    _write(
        root,
        V1.replace('version = "2020.1"', 'version = "2020.2"')
        .replace("effective = 2020-01-01", "effective = 2020-06-01")
        .replace('edition = "2020"', 'edition = "2020, corrected"'),
    )
    entry = audit.history("tiny-referral", _loading.Catalog(root, allow_unlocked=True)).entry("2020.2")
    assert entry.event == "changed"
    assert entry.differences == ()
    assert entry.source_changes == (
        audit.FieldChange(path="source src-2020.edition", change="changed", before="2020", after="2020, corrected"),
    )


def test_history_cli(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "history", "tiny-screen", "--root", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "tiny 2021.1  effective 2021-03-01 (current)  [approved]  CHANGED" in out
    assert "~ interval: 12 months -> 6 months" in out
    assert (
        "    ~ applies:\n"
        "        was: type-1-diabetes OR type-2-diabetes\n"
        "        now: type-2-diabetes AND NOT type-1-diabetes\n"
    ) in out
    assert "    - includes: monofilament\n    + includes: vibration\n" in out
    assert "~ citations[0].grade: B -> A" in out
    assert "Why: The 2021 edition screens more often. [source: Tiny 2021]" in " ".join(out.split())
    assert main(["audit", "history", "tiny-screen", "--root", str(tiny), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["event"] for e in data["entries"]] == ["added", "changed"]
    assert data["entries"][1]["effective"] == "2021-03-01"
    assert {"path": "interval", "change": "changed", "before": "12 months", "after": "6 months"} in data["entries"][1][
        "differences"
    ]
    assert main(["audit", "history", "no-such-rule", "--root", str(tiny)]) == 2


# -- diff --------------------------------------------------------------------------------------


def test_diff_between_versions(tiny: Path) -> None:
    d = audit.diff("tiny", "2020.1", "2021.1", _loading.Catalog(tiny))
    assert [r.id for r in d.added] == ["tiny-new"]
    assert [r.id for r in d.removed] == ["tiny-old"]
    assert [c.id for c in d.changed] == ["tiny-screen", "tiny-caution"]
    assert d.unchanged == ("tiny-referral",)
    assert [s.id for s in d.sources_added] == ["src-2021"]
    assert d.sources_removed == ()
    assert d.sources_changed == ()
    meta = {c.path: (c.change, c.before, c.after) for c in d.metadata}
    assert meta == {
        "effective": ("changed", "2020-01-01", "2021-03-01"),
        "summary": ("changed", "First edition.", "Second edition."),
        "supersedes": ("changed", "(none)", "2020.1"),
    }
    screen = d.rule("tiny-screen")
    assert _paths(screen.changes)["interval"].after == "6 months"
    assert _paths(screen.changes)["citations[0].grade"].before == "B"
    assert [n.what for n in screen.notes] == ["Interval shortened from 12 to 6 months; type 2 only."]
    caution = d.rule("tiny-caution")
    assert [(c.path, c.before, c.after) for c in caution.changes] == [
        ("citations[0].source", "src-2020", "src-2021"),
        ("status", "approved", "retired"),
    ]
    assert [n.rule for n in d.notes] == ["tiny-screen", "tiny-old", "tiny-new", "tiny-caution"]
    assert d.warnings == ()
    assert (d.sha256_1, d.sha256_2) == (
        _loading.Catalog(tiny).get("tiny", version="2020.1").sha256,
        _loading.Catalog(tiny).get("tiny", version="2021.1").sha256,
    )


def test_diff_of_a_version_with_itself_is_empty(tiny: Path) -> None:
    d = audit.diff("tiny", "2021.1", "2021.1", _loading.Catalog(tiny))
    assert (d.added, d.removed, d.changed, d.metadata) == ((), (), (), ())
    assert len(d.unchanged) == 4


def test_diff_cli(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "diff", "tiny", "2020.1", "2021.1", "--root", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "+ tiny-new (workup, approved): Work up burning pain" in out
    assert "- tiny-old (treatment, approved): Old treatment" in out
    assert "~ tiny-screen (screening): Screen twice a year" in out
    assert "~ status: approved -> retired" in out
    assert "rules unchanged (1): tiny-referral" in out
    assert main(["audit", "diff", "tiny", "2020.1", "2021.1", "--root", str(tiny), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["added"]] == ["tiny-new"]
    assert main(["audit", "diff", "tiny", "2020.1", "2099.1", "--root", str(tiny)]) == 2


def test_criteria_render_readably() -> None:
    c = m.AllOf(
        (
            m.Fact("type-2-diabetes"),
            m.AnyOf((m.Compare("abi", "<=", 0.9), m.Not(m.Fact("pedal-pulses-decreased")))),
            m.Compare("iwgdf-category", "in", ("2", "3")),
        )
    )
    assert audit.describe_criterion(c) == (
        "type-2-diabetes AND (abi <= 0.9 OR NOT pedal-pulses-decreased) AND iwgdf-category in [2, 3]"
    )
    assert audit.describe_criterion(m.Not(m.AnyOf((m.Fact("a"), m.Fact("b"))))) == "NOT (a OR b)"


# -- the real guideline histories ---------------------------------------------------------------


def _ada_versions() -> list[str]:
    try:
        return [g.version for g in _loading.catalog().versions("ada-neuropathy")]
    except LookupError:
        return []


def check_consecutive_diffs(cat: _loading.Catalog) -> list[str]:
    """Diff every pair of consecutive versions and check it against the files; return audit warnings."""
    warnings: list[str] = []
    for gid in cat.ids():
        versions = cat.versions(gid)
        for old, new in itertools.pairwise(versions):
            d = audit.diff(gid, old.version, new.version, cat)
            old_ids = {r.id for r in old.rules}
            new_ids = {r.id for r in new.rules}
            assert {r.id for r in d.added} == new_ids - old_ids
            assert {r.id for r in d.removed} == old_ids - new_ids
            assert {c.id for c in d.changed} | set(d.unchanged) == old_ids & new_ids
            for change in d.changed:
                assert old.rule(change.id) != new.rule(change.id)
                entry = audit.history(change.id, cat, guideline=gid).entry(new.version)
                assert entry.event in ("changed", "retired")
                assert entry.differences == change.changes
            for rid in d.unchanged:
                assert audit.rule_differences(old.rule(rid), new.rule(rid)) == ()
            assert {(n.rule, n.what) for n in d.notes} == {(n.rule, n.what) for n in new.changes}
            warnings.extend(f"{gid} {old.version} -> {new.version}: {w}" for w in d.warnings)
    return warnings


def test_real_diffs_match_the_files_and_every_change_has_a_note() -> None:
    """Every rule added, removed or changed in a released version carries a [[changes]] note."""
    assert check_consecutive_diffs(_loading.catalog()) == []


@pytest.mark.skipif(
    not {"2017.1", "2026.1"} <= set(_ada_versions()), reason="ADA 2017.1 and 2026.1 are not both encoded yet"
)
def test_real_ada_pain_pharmacotherapy_history() -> None:
    """ADA 2017 named pregabalin or duloxetine; later editions list drug classes: the history shows it."""
    cat = _loading.catalog()
    first = cat.get("ada-neuropathy", version="2017.1").rule("pain-pharmacotherapy")
    assert isinstance(first, m.TreatmentRule)
    # ADA 2017: "Either pregabalin or duloxetine are recommended as initial pharmacologic treatments ..."
    assert "pregabalin" in first.citations[0].quote
    assert "duloxetine" in first.citations[0].quote
    assert {"pregabalin", "duloxetine"} <= set(first.options)

    hist = audit.history("pain-pharmacotherapy", guideline="ada-neuropathy")
    assert hist.entries[0].version == "2017.1"
    assert hist.entries[0].event == "added"
    assert {c.year for c in hist.entries[0].cites} == {2017}
    steps = [e for e in hist.entries[1:] if e.event == "removed" or any(c.path == "options" for c in e.differences)]
    assert steps, "the 2017 drug list never changed in the encoded history"
    step = steps[0]
    assert step.notes, f"{step.version} changed the drug list without a change note"
    if step.event != "removed":
        before = cat.get("ada-neuropathy", version=step.previous).rule("pain-pharmacotherapy")
        after = cat.get("ada-neuropathy", version=step.version).rule("pain-pharmacotherapy")
        assert isinstance(before, m.TreatmentRule)
        assert isinstance(after, m.TreatmentRule)
        removed = {c.before for c in step.differences if c.path == "options" and c.change == "removed"}
        added = {c.after for c in step.differences if c.path == "options" and c.change == "added"}
        assert removed == set(before.options) - set(after.options)
        assert added == set(after.options) - set(before.options)
    d = audit.diff("ada-neuropathy", "2017.1", "2026.1")
    assert "pain-pharmacotherapy" in {c.id for c in d.changed} | {r.id for r in d.removed}


def test_versions_in_effect_on_the_real_effective_dates() -> None:
    """On each real effective date the new version applies; one day before, the previous one.

    A correction released with its predecessor's effective date (same source edition, e.g. drug-dosing
    2026.2) replaces that predecessor on every date: the highest version of an effective date applies.
    """
    cat = _loading.catalog()
    for gid in cat.ids():
        released = [g for g in cat.versions(gid) if g.status in (m.Status.APPROVED, m.Status.RETIRED)]
        for prev, g in itertools.pairwise(released):
            if g.status is m.Status.RETIRED or prev.effective == g.effective:
                continue
            last_of_day = [v for v in released if v.effective == g.effective][-1]
            last_before = [v for v in released if v.effective == prev.effective][-1]
            assert cat.get(gid, as_of=g.effective).version == last_of_day.version
            assert cat.get(gid, as_of=g.effective - dt.timedelta(days=1)).version == last_before.version


def test_copy_tree_helper_keeps_every_file(packaged_copy: Path) -> None:
    names = sorted(p.relative_to(packaged_copy).as_posix() for p in packaged_copy.rglob("*.toml"))
    assert names == sorted(g.path for g in _loading.catalog().all())
    shutil.rmtree(packaged_copy / "ada-neuropathy")
    assert {mm.problem for mm in audit.verify(packaged_copy).mismatches} == {"missing"}
