"""The compiled knowledge base: a cached catalog is the fresh catalog, and a doubtful cache is never used."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from importlib.metadata import distribution, version
from importlib.resources import as_file
from pathlib import Path
from typing import Any

import attrs
import pytest

import neuroguide as ng
from neuroguide import _diskcache, _dist, _loading, _patient_text, _plausible, _vocabulary
from neuroguide._actions import same_action
from neuroguide._converter import converter
from neuroguide.cli import main
from neuroguide.units import is_quantity


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own, empty cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(_diskcache.CACHE_DIR_ENV, str(folder))
    monkeypatch.delenv(_diskcache.CACHE_ENV, raising=False)
    return folder


@pytest.fixture
def root() -> Iterator[Path]:
    with as_file(_loading.guideline_root()) as path:
        yield Path(path)


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "guidelines"
    with as_file(_loading.guideline_root()) as src:
        shutil.copytree(src, copy)
    return copy


def _relock(root: Path, name: str) -> None:
    lock = json.loads((root / "lock.json").read_text(encoding="utf-8"))
    lock["files"][name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    (root / "lock.json").write_text(json.dumps(lock), encoding="utf-8")


def _entries(folder: Path, kind: str = "catalog") -> list[Path]:
    return sorted(folder.glob(f"{kind}-*.bin")) if folder.is_dir() else []


def _warm(root: Path) -> _loading.Catalog:
    """Load twice: the first load writes the cache, the second must read it."""
    first = _loading.Catalog(root, cache=True)
    assert not first.from_cache
    second = _loading.Catalog(root, cache=True)
    assert second.from_cache
    return second


def _same(a: Any, b: Any, at: str) -> None:
    """Compare two values object by object: same types, same fields, quantities with the same magnitude and unit."""
    assert type(a) is type(b), at
    if attrs.has(type(a)):
        for field in attrs.fields(type(a)):
            _same(getattr(a, field.name), getattr(b, field.name), f"{at}.{field.name}")
    elif is_quantity(a):
        assert (a.magnitude, a.units) == (b.magnitude, b.units), at
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), at
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{at}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), at
        for k in a:
            _same(a[k], b[k], f"{at}[{k!r}]")
    else:
        assert a == b, at


# -- the cached catalog is the fresh catalog ---------------------------------------------------------------------------


def test_the_cached_catalog_equals_a_fresh_load_object_by_object(root: Path) -> None:
    fresh = _loading.Catalog(root)
    cached = _warm(root)
    assert cached.ids() == fresh.ids()
    assert cached.unlocked == fresh.unlocked == ()
    for gid in fresh.ids():
        for old, new in zip(fresh.versions(gid), cached.versions(gid), strict=True):
            _same(old, new, f"{old.id} {old.version}")
            assert old == new
            assert converter.unstructure(old) == converter.unstructure(new)
            for rule in old.rules:
                assert new.rule(rule.id) == rule


def test_a_stored_catalog_keeps_each_text_once(root: Path, cache_dir: Path) -> None:
    # Versions of a guideline repeat most of their prose; the entry stores each distinct text once.
    fresh = _loading.Catalog(root)
    texts = [
        value
        for g in fresh.all()
        for rule in g.rules
        for value in (getattr(rule, a.name) for a in attrs.fields(type(rule)))
        if isinstance(value, str)
    ]
    assert len(texts) > len(set(texts))  # the packaged versions do repeat texts: the check below can fail
    cached = _warm(root)
    shared: dict[str, str] = {}
    for g in cached.all():
        for rule in g.rules:
            for a in attrs.fields(type(rule)):
                value = getattr(rule, a.name)
                if isinstance(value, str):
                    assert shared.setdefault(value, value) is value, (g.id, g.version, rule.id, a.name)
    (entry,) = _entries(cache_dir)
    buffer = io.BytesIO()  # the same catalog with pickle's own reduction of model objects
    reducer = _loading._Reducer()
    _diskcache._Pickler(buffer, lambda obj: reducer(obj) if is_quantity(obj) else NotImplemented).dump(fresh.all())
    assert entry.stat().st_size < len(buffer.getvalue()) * 0.75


def test_every_rule_kind_and_nested_part_is_in_the_comparison(root: Path) -> None:
    # The object-by-object comparison above reaches every kind of rule, band, renal band and quantity.
    kinds = {rule.kind for g in _warm(root).all() for rule in g.rules}
    assert {"screening", "referral", "classification", "dosing", "neurotoxicity"} <= kinds


def test_the_cached_vocabulary_equals_a_fresh_build(cache_dir: Path) -> None:
    _vocabulary.vocabulary.cache_clear()
    try:
        first = dict(_vocabulary.vocabulary())
        assert _entries(cache_dir, "vocabulary")
        _vocabulary.vocabulary.cache_clear()
        cached = dict(_vocabulary.vocabulary())
    finally:
        _vocabulary.vocabulary.cache_clear()
    fresh = _vocabulary._build()
    _same(cached, fresh, "vocabulary")
    _same(first, fresh, "vocabulary")


@pytest.mark.parametrize(
    ("table", "kind", "name"),
    [(_plausible.spans, "plausible", "plausible.toml"), (same_action, "actions", "actions.toml")],
)
def test_the_cached_tables_equal_a_fresh_read(cache_dir: Path, table: Any, kind: str, name: str) -> None:
    table.cache_clear()
    try:
        first = dict(table())
        (entry,) = _entries(cache_dir, kind)
        table.cache_clear()
        cached = dict(table())
        stored = entry.read_bytes()
        entry.write_bytes(stored[:-1] + b"\0")  # damaged: not used, read afresh and stored again
        table.cache_clear()
        again = dict(table())
        assert entry.read_bytes() == stored
    finally:
        table.cache_clear()
    fresh = sys.modules[table.__module__]._read((_dist.package_files() / "_data" / name).read_bytes())
    assert fresh  # the table has entries: the comparisons can fail
    for found in (first, cached, again):
        _same(found, fresh, kind)


def test_the_cached_patient_texts_equal_a_fresh_load(
    root: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_loading, "_catalog", None)
    _patient_text.patient_texts.cache_clear()
    try:
        first = dict(_patient_text.patient_texts())
        assert _entries(cache_dir, "patient-texts")
        monkeypatch.setattr(_loading, "_catalog", None)
        _patient_text.patient_texts.cache_clear()

        def no_parsing(*_: object) -> None:
            raise AssertionError("the texts were parsed again")

        with monkeypatch.context() as patch:
            patch.setattr(_patient_text, "_load_files", no_parsing)
            cached = dict(_patient_text.patient_texts())
    finally:
        _patient_text.patient_texts.cache_clear()
    fresh = _patient_text.load_folder(_patient_text.texts_root(), _loading.Catalog(root))
    assert fresh
    _same(cached, fresh, "patient texts")
    _same(first, fresh, "patient texts")


def test_the_packaged_catalog_uses_the_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_loading, "_catalog", None)
    assert not _loading.catalog().from_cache
    monkeypatch.setattr(_loading, "_catalog", None)
    assert _loading.catalog().from_cache
    assert len(_entries(cache_dir)) == 1


def test_an_assessment_is_the_same_from_the_cache(root: Path, as_of: Any) -> None:
    patient = ng.Patient.from_json(Path(__file__).parent.parent / "examples" / "t2d-metformin.json")
    fresh = ng.assess(patient, as_of=as_of, source=_loading.Catalog(root))
    cached = ng.assess(patient, as_of=as_of, source=_warm(root))
    assert cached.record.to_json() == fresh.record.to_json()


# -- invalidation -----------------------------------------------------------------------------------------------------


def test_a_changed_guideline_file_is_read_again(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = _warm(root)
    name = "thiamine/2012.1.toml"
    text = (root / name).read_text(encoding="utf-8")
    old_title = before.get("thiamine", version="2012.1").title
    (root / name).write_text(text.replace(f'title = "{old_title}"', 'title = "Retitled"', 1), encoding="utf-8")
    _relock(root, name)
    after = _loading.Catalog(root, cache=True)
    assert not after.from_cache
    assert after.get("thiamine", version="2012.1").title == "Retitled"
    assert _loading.Catalog(root, cache=True).from_cache


def test_a_changed_lock_is_read_again(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _warm(root)
    lock = json.loads((root / "lock.json").read_text(encoding="utf-8"))
    (root / "lock.json").write_text(json.dumps(lock, indent=4), encoding="utf-8")  # same entries, other bytes
    assert not _loading.Catalog(root, cache=True).from_cache


def test_a_new_package_version_is_read_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(root)
    monkeypatch.setattr(_diskcache, "package_version", lambda: "99.0")
    assert not _loading.Catalog(root, cache=True).from_cache
    assert _loading.Catalog(root, cache=True).from_cache


def test_changed_code_is_read_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(root)
    monkeypatch.setattr(_diskcache, "code_fingerprint", lambda: "other code")
    assert not _loading.Catalog(root, cache=True).from_cache


def test_a_tampered_file_is_refused_even_with_a_warm_cache(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _warm(root)
    name = "thiamine/2012.1.toml"
    (root / name).write_bytes((root / name).read_bytes() + b"\n# edited\n")
    with pytest.raises(ng.IntegrityError, match="thiamine/2012.1.toml"):
        _loading.Catalog(root, cache=True)


def test_a_broken_file_still_lists_its_problems_with_a_warm_cache(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _warm(root)
    name = "ada-neuropathy/2026.1.toml"
    text = (root / name).read_text(encoding="utf-8")
    (root / name).write_text(text.replace('value = "20 mmHg"', 'value = "abc"', 1), encoding="utf-8")
    _relock(root, name)
    with pytest.raises(ng.GuidelineDataError, match=r"ada-neuropathy/2026\.1\.toml"):
        _loading.Catalog(root, cache=True)


# -- a doubtful cache is never used ------------------------------------------------------------------------------------


def _damage_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _damage_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 3])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _damage_key(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(_diskcache.FORMAT)] ^= 0x01  # the first character of the key in the header
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_damage_last_byte, _damage_middle_byte, _truncate, _empty, _damage_key])
def test_a_damaged_cache_is_rebuilt_not_used(root: Path, cache_dir: Path, damage: Any) -> None:
    fresh = _loading.Catalog(root)
    _warm(root)
    (entry,) = _entries(cache_dir)
    damage(entry)
    rebuilt = _loading.Catalog(root, cache=True)
    assert not rebuilt.from_cache
    assert rebuilt.all() == fresh.all()
    # ... and the rebuilt entry is good again.
    assert _loading.Catalog(root, cache=True).from_cache


class _Sneaky:
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return os.getcwd, ()


def test_a_payload_with_a_valid_digest_builds_only_allowed_classes(root: Path, cache_dir: Path) -> None:
    _warm(root)
    (entry,) = _entries(cache_dir)
    key = entry.read_bytes()[len(_diskcache.FORMAT) :].split(b"\n", 1)[0].decode()
    payload = pickle.dumps([_Sneaky()], protocol=5)
    digest = hashlib.sha256(key.encode() + b"\0" + payload).hexdigest()
    entry.write_bytes(_diskcache.FORMAT + key.encode() + b"\n" + digest.encode() + b"\n" + payload)
    assert _diskcache.load("catalog", key, _loading._allowed()) is None
    assert not _loading.Catalog(root, cache=True).from_cache


def test_a_payload_of_other_guidelines_is_not_used(root: Path, cache_dir: Path) -> None:
    # A well-formed entry whose guidelines are not the files on disk (here: one left out).
    catalog = _warm(root)
    (entry,) = _entries(cache_dir)
    key = entry.read_bytes()[len(_diskcache.FORMAT) :].split(b"\n", 1)[0].decode()
    assert _diskcache.store("catalog", key, catalog.all()[1:], _loading._Reducer())
    assert not _loading.Catalog(root, cache=True).from_cache


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_cache_file_others_can_write_is_not_trusted(root: Path, cache_dir: Path) -> None:
    _warm(root)
    (entry,) = _entries(cache_dir)
    entry.chmod(0o666)
    assert not _loading.Catalog(root, cache=True).from_cache


# -- no cache is always fine -----------------------------------------------------------------------------------------


def test_an_unwritable_cache_folder_means_no_cache_and_no_noise(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(_diskcache.CACHE_DIR_ENV, str(blocker / "cache"))  # cannot be created under a file
    fresh = _loading.Catalog(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = _loading.Catalog(root, cache=True)
        second = _loading.Catalog(root, cache=True)
    assert not first.from_cache and not second.from_cache
    assert second.all() == fresh.all()
    assert capsys.readouterr() == ("", "")


def test_the_cache_can_be_turned_off(root: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_diskcache.CACHE_ENV, "off")
    assert not _loading.Catalog(root, cache=True).from_cache
    assert not _loading.Catalog(root, cache=True).from_cache
    assert not cache_dir.exists()


def test_a_catalog_caches_only_when_asked(root: Path, cache_dir: Path) -> None:
    _loading.Catalog(root)
    assert not cache_dir.exists()


def test_the_cache_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_diskcache.CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform not in ("win32", "darwin"):
        assert _diskcache.cache_dir() == tmp_path / "xdg" / "neuroguide"
    monkeypatch.setenv(_diskcache.CACHE_DIR_ENV, str(tmp_path / "named"))
    assert _diskcache.cache_dir() == tmp_path / "named"


def test_entries_are_written_for_this_user_only(root: Path, cache_dir: Path) -> None:
    _warm(root)
    (entry,) = _entries(cache_dir)
    if os.name == "posix":
        assert entry.stat().st_mode & 0o077 == 0
    assert not list(cache_dir.glob(".*.tmp"))  # written atomically: no temporary file is left


# -- start-up: what the command line loads -----------------------------------------------------------------------------

_PROBE = """
import sys
from neuroguide.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
shown = ("neuroguide", "attr", "cattrs", "pint", "tomllib")
print(" ".join(sorted(m for m in sys.modules if m.startswith(shown))), file=sys.stderr)
"""


def _modules_after(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, **(env or {})},
    )
    return set(done.stderr.strip().splitlines()[-1].split())


def test_assess_loads_neither_audit_nor_interfaces_it_does_not_use(cache_dir: Path) -> None:
    loaded = _modules_after("assess", "examples/t2d-metformin.json", "--as-of", "2026-11-23")
    assert "neuroguide.evaluation" in loaded
    unused = {
        "neuroguide.audit",
        "neuroguide.signing",
        "neuroguide._cli_audit",
        "neuroguide._cli_governance",
        "neuroguide._cli_serve",
        "neuroguide.cohort",
        "neuroguide.fhir",
        "neuroguide.fhir_artifacts",
        "neuroguide.service",
        "neuroguide.terminology",
        "neuroguide.packet",
        "neuroguide.schema",
        "neuroguide.sphinxext",
        "neuroguide._docgen",
        "neuroguide._docgen_extra",
        "neuroguide._docgen_md",
        "neuroguide._docgen_codes",
        "neuroguide.calculators",
        # Not for this patient (metformin only): the dose and neurotoxicity checks load with a drug they cover,
        # the plain-language summary with --audience patient.
        "neuroguide.dosing",
        "neuroguide.neurotox",
        "neuroguide.plain",
        "neuroguide._patient_text",
    }
    assert loaded & unused == set()


def test_the_checks_and_the_summary_load_when_used(cache_dir: Path) -> None:
    neurotoxic = _modules_after("assess", "examples/oxaliplatin.json", "--as-of", "2026-11-23", "--audience", "patient")
    assert {"neuroguide.neurotox", "neuroguide.plain", "neuroguide._patient_text"} <= neurotoxic
    dosed = _modules_after("assess", "examples/bariatric-b12-mg.json", "--as-of", "2026-11-23")
    assert "neuroguide.dosing" in dosed


def test_a_warm_assess_loads_neither_cattrs_nor_pint(cache_dir: Path) -> None:
    """From the cache, with no record written: no converter, no unit registry, no TOML parser (each costs start-up
    time)."""
    argv = ("assess", "examples/t2d-metformin.json", "--as-of", "2026-11-23")
    cold = _modules_after(*argv)  # parses and validates the guideline files, then fills the cache
    assert "cattrs" in cold
    warm = _modules_after(*argv)
    assert "neuroguide.evaluation" in warm
    assert {m for m in warm if m.split(".")[0] in ("cattrs", "pint", "tomllib")} == set()


def test_version_loads_no_package_module() -> None:
    loaded = _modules_after("--version")
    assert loaded <= {"neuroguide", "neuroguide.cli", "neuroguide._dist"}


_ENTRY_PROBE = """
import sys
from neuroguide._entry import main
code = main()
loaded = sorted(m for m in sys.modules if m.startswith(("neuroguide", "attr", "argparse")))
print(code, " ".join(loaded), file=sys.stderr)
"""


def test_the_console_script_answers_version_without_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-c", _ENTRY_PROBE, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"neuroguide {version('neuroguide')}\n"
    assert done.stderr.split() == ["0", "neuroguide", "neuroguide._dist", "neuroguide._entry"]


def test_the_console_script_runs_every_other_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY_PROBE, "rules", "--guideline", "thiamine", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)[0]["guideline"] == "thiamine"
    assert done.stderr.split()[0] == "0"
    assert "neuroguide.cli" in done.stderr.split()


def test_help_loads_only_the_command_parsers() -> None:
    loaded = _modules_after("--help")
    parsers = {"neuroguide._cli_audit", "neuroguide._cli_governance", "neuroguide._cli_serve", "neuroguide.cohort._cli"}
    assert parsers <= loaded <= {"neuroguide", "neuroguide.cli", "neuroguide._dist", "neuroguide.cohort", *parsers}


def test_the_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert _dist.version() == version("neuroguide") == ng.__version__
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"neuroguide {version('neuroguide')}\n"


def test_the_record_is_the_installers_record() -> None:
    expected = {
        str(f).removeprefix("neuroguide/guidelines/"): (f.hash.mode, f.hash.value)
        for f in distribution("neuroguide").files or []
        if str(f).startswith("neuroguide/guidelines/") and f.hash is not None
    }
    assert _dist.recorded_hashes("neuroguide/guidelines/") == expected
