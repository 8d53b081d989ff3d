from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide import _loading


def test_import_is_light() -> None:
    """`import neuroguide` builds no unit registry and loads no guideline file."""
    code = "import sys, neuroguide; print(json.dumps({'pint': 'pint' in sys.modules, 'attrs': 'attrs' in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert loaded["pint"] is False


def test_version_matches_metadata() -> None:
    from importlib.metadata import version

    assert ng.__version__ == version("neuroguide")


def test_public_names_resolve() -> None:
    for name in ng.__all__:
        assert getattr(ng, name) is not None, name
    assert sorted(dir(ng)) == sorted(ng.__all__)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        _ = ng.not_a_name


def test_guidelines_load_from_the_installed_package() -> None:
    root = _loading.guideline_root()
    assert (root / "lock.json").is_file()
    wheel = os.environ.get("NEUROGUIDE_WHEEL")
    if wheel:
        # Running against the wheel: files come from site-packages, not the checkout.
        assert "site-packages" in str(root)


@pytest.mark.skipif("NEUROGUIDE_WHEEL" not in os.environ, reason="only when testing a built wheel (nox -s tests)")
def test_wheel_contains_every_guideline_file() -> None:
    names = set(zipfile.ZipFile(os.environ["NEUROGUIDE_WHEEL"]).namelist())
    lock = json.loads((_loading.guideline_root() / "lock.json").read_text(encoding="utf-8"))["files"]
    for name in lock:
        assert f"neuroguide/guidelines/{name}" in names
    assert "neuroguide/guidelines/lock.json" in names
    assert "neuroguide/py.typed" in names
    assert "neuroguide/_data/facts/core.toml" in names


# Repository tooling and repository-reading code that must never ship (see tools/ and docs/_ext/).
NOT_IN_WHEEL = ("neuroguide/conformance.py", "neuroguide/_docgen_trace.py", "tools/", "neuroguide_repo/", "tests/")
# Strings that only code reading a source checkout would contain.
REPO_MARKERS = (
    "pyproject.toml",
    "CHANGELOG",
    "junit",
    "shared/conformance",
    "conformance/decks",
    "../tests",
    '"tests"',
)


@pytest.mark.skipif("NEUROGUIDE_WHEEL" not in os.environ, reason="only when testing a built wheel (nox -s tests)")
def test_wheel_ships_only_the_runtime() -> None:
    """No conformance runner, no trace matrix, no module that reads the repository."""
    wheel = zipfile.ZipFile(os.environ["NEUROGUIDE_WHEEL"])
    names = wheel.namelist()
    assert not [n for n in names if n.startswith(NOT_IN_WHEEL) or "conformance" in n]
    for name in (n for n in names if n.endswith(".py")):
        text = wheel.read(name).decode("utf-8")
        found = [marker for marker in REPO_MARKERS if marker in text]
        assert not found, f"{name} mentions {found}"


def test_released_files_match_the_lock() -> None:
    """A released guideline file never changes: its sha256 is pinned in lock.json."""
    cat = _loading.Catalog(_loading.guideline_root())
    assert cat.verify() == []


def test_every_guideline_file_is_locked_and_loads() -> None:
    cat = _loading.catalog()
    lock = json.loads((_loading.guideline_root() / "lock.json").read_text(encoding="utf-8"))["files"]
    assert sorted(lock) == sorted(g.path for g in cat.all())
    for g in cat.all():
        assert g.sha256 == lock[g.path]


def test_checkout_and_package_load_identically() -> None:
    """The files in the repository and the installed copy are byte-identical."""
    checkout = Path(__file__).resolve().parents[1] / "guidelines"
    if not checkout.is_dir():
        pytest.skip("no checkout beside the tests")
    a = _loading.Catalog(checkout)
    b = _loading.catalog()
    assert [(g.id, g.version, g.sha256) for g in a.all()] == [(g.id, g.version, g.sha256) for g in b.all()]
    assert [g.rules for g in a.all()] == [g.rules for g in b.all()]
