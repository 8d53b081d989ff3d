"""The compiled gate list in the knowledge-base cache: the same code as a fresh compile, and a doubtful entry unused."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import marshal
import os
from collections.abc import Callable, Iterator
from importlib.resources import as_file
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import _criteria, _diskcache, _loading
from neuroguide import model as m
from neuroguide._facts import derive_flagged

AS_OF = dt.date(2026, 11, 23)
EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.json"))


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


def _criteria_of(source: _loading.Catalog) -> list[tuple[int, m.Criterion | None]]:
    rules = [r for g in source.all() for r in g.rules]
    return [(i, getattr(r, "when", None) or getattr(r, "applies", None)) for i, r in enumerate(rules)]


class _Spy:
    """Counts the compiles of ``_criteria`` and keeps the gate sources it is given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.compiles = 0
        self.sources: list[tuple[str, dict[str, object]]] = []
        real = _criteria.gates_code

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.compiles += 1
            return compile(*args, **kwargs)

        def kept(source: str, consts: Any) -> Any:
            self.sources.append((source, dict(consts)))
            return real(source, consts)

        monkeypatch.setattr(_criteria, "compile", counted, raising=False)  # shadows the builtin in that module
        monkeypatch.setattr(_criteria, "gates_code", kept)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("gates-*.bin")) if folder.is_dir() else []


def _facts_of_examples() -> list[dict[str, Any]]:
    return [dict(derive_flagged(ng.Patient.from_json(path), AS_OF)[0]) for path in EXAMPLES]


def test_the_cached_code_is_the_code_of_a_fresh_compile(root: Path, cache_dir: Path) -> None:
    criteria = _criteria_of(_loading.Catalog(root))
    first = _criteria.compiled_all(criteria)
    (entry,) = _entries(cache_dir)
    source = _criteria._SOURCES[-1] + "\n"
    key = entry.read_bytes()[len(_diskcache.FORMAT) :].split(b"\n", 1)[0].decode()
    payload = _diskcache.load_bytes("gates", key)
    assert payload is not None
    assert marshal.loads(payload) == compile(source, "<gates>", "exec")
    again = _criteria.compiled_all(criteria)
    assert again is not first
    for facts in _facts_of_examples():
        assert again(facts) == first(facts)


def test_a_warm_start_compiles_no_gate_list(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    criteria = _criteria_of(_loading.Catalog(root))
    spy = _Spy(monkeypatch)
    cold = _criteria.compiled_all(criteria)
    assert spy.compiles == 1
    warm = _criteria.compiled_all(criteria)
    assert spy.compiles == 1  # read from the cache
    _, consts = spy.sources[-1]
    monkeypatch.setenv(_diskcache.CACHE_ENV, "off")
    fresh = _criteria.compiled_all(criteria)
    assert spy.compiles == 2
    for facts in _facts_of_examples():
        assert warm(facts) == cold(facts) == fresh(facts)
    assert all(name.startswith("k") for name in consts)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_assessed_the_same_with_cached_gates(
    root: Path, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = ng.Patient.from_json(path)
    ng.assess(patient, as_of=AS_OF, source=_loading.Catalog(root))  # writes the entry
    cached = ng.assess(patient, as_of=AS_OF, source=_loading.Catalog(root))  # a new plan, its code from the cache
    monkeypatch.setenv(_diskcache.CACHE_ENV, "off")
    fresh = ng.assess(patient, as_of=AS_OF, source=_loading.Catalog(root))
    assert cached.record.to_json() == fresh.record.to_json()


# -- invalidation -----------------------------------------------------------------------------------------------------


def _small() -> list[tuple[int, m.Criterion | None]]:
    return [(0, m.Compare(fact="age", op=">=", value=65.0)), (1, None), (2, m.Fact(name="pad"))]


def test_other_criteria_are_compiled_not_read(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    spy = _Spy(monkeypatch)
    _criteria.compiled_all(_small())
    _criteria.compiled_all([(0, m.Compare(fact="age", op=">=", value=70.0))])  # other source: other key
    assert spy.compiles == 2
    assert len(_entries(cache_dir)) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda mp: mp.setattr(_diskcache, "package_version", lambda: "99.0"),
        lambda mp: mp.setattr(importlib.util, "MAGIC_NUMBER", b"\x00\x00\r\n"),
        lambda mp: mp.setattr(_diskcache, "code_fingerprint", lambda: "other code"),
    ],
    ids=["package-version", "python-magic-number", "code"],
)
def test_a_new_package_python_or_code_compiles_again(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[pytest.MonkeyPatch], None]
) -> None:
    spy = _Spy(monkeypatch)
    _criteria.compiled_all(_small())
    _criteria.compiled_all(_small())
    assert spy.compiles == 1
    change(monkeypatch)
    gates = _criteria.compiled_all(_small())
    assert spy.compiles == 2
    assert gates({"age": 70.0, "pad": False}) == [(0, True), (1, True)]


# -- a doubtful entry is not used -------------------------------------------------------------------------------------


def _replace_payload(entry: Path, payload: bytes) -> None:
    """Write ``payload`` under the entry's key with a valid digest (as someone able to write the file could)."""
    key = entry.read_bytes()[len(_diskcache.FORMAT) :].split(b"\n", 1)[0].decode()
    digest = hashlib.sha256(key.encode() + b"\0" + payload).hexdigest()
    entry.write_bytes(_diskcache.FORMAT + key.encode() + b"\n" + digest.encode() + b"\n" + payload)
    entry.chmod(0o600)


@pytest.mark.parametrize(
    "payload",
    [
        marshal.dumps(compile("import os\ndef gates(facts):\n    return os.getcwd()\n", "<gates>", "exec")),
        marshal.dumps(compile("def gates(facts):\n    return __import__('os')\n", "<gates>", "exec")),
        marshal.dumps(compile("def gates(facts):\n    return [x for x in facts]\n", "<gates>", "exec")),
        marshal.dumps(compile("def gates(facts):\n    return 1.5\n", "<gates>", "exec")),
        marshal.dumps(compile("def other(facts):\n    return []\n", "<gates>", "exec")),
        marshal.dumps(("not", "code")),
        b"\x00garbage",
        b"",
    ],
    ids=["imports", "unknown-name", "nested-code", "float-constant", "other-function", "not-code", "garbage", "empty"],
)
def test_code_not_shaped_as_generated_is_compiled_afresh(
    monkeypatch: pytest.MonkeyPatch, cache_dir: Path, payload: bytes
) -> None:
    _criteria.compiled_all(_small())
    (entry,) = _entries(cache_dir)
    _replace_payload(entry, payload)
    spy = _Spy(monkeypatch)
    gates = _criteria.compiled_all(_small())
    assert spy.compiles == 1
    assert gates({"age": 70.0, "pad": True}) == [(0, True), (1, True), (2, True)]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_gate_entry_others_can_write_is_not_trusted(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    _criteria.compiled_all(_small())
    (entry,) = _entries(cache_dir)
    entry.chmod(0o666)
    spy = _Spy(monkeypatch)
    _criteria.compiled_all(_small())
    assert spy.compiles == 1


def test_a_fresh_compile_passes_the_shape_check(root: Path) -> None:
    # Else the cache would never be used on this Python (correct, but slow).
    _criteria.compiled_all(_criteria_of(_loading.Catalog(root)))
    source = _criteria._SOURCES[-1] + "\n"
    code = compile(source, "<gates>", "exec")
    names = _criteria._GATE_NAMES | {name for name in code.co_consts[0].co_names if name.startswith("k")}
    assert _criteria._gates_shaped(marshal.dumps(code), names) == code
