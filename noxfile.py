"""Automation: `nox` runs every default session (the README's test command)."""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests", "docs", "build"]
nox.options.error_on_missing_interpreters = False

PYTHON = "3.11"


def _wheel(session: nox.Session) -> str:
    """Build the wheel once per session into dist/ and return its path."""
    shutil.rmtree("dist", ignore_errors=True)
    session.install("build")
    session.run("python", "-m", "build", "--wheel", "--outdir", "dist", silent=True)
    wheels = glob.glob("dist/neuroguide-*.whl")
    if len(wheels) != 1:
        session.error(f"expected one wheel in dist/, found {wheels}")
    return wheels[0]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the suite against the built wheel (not the source tree)."""
    wheel = _wheel(session)
    session.install(
        f"{wheel}[docs,cohort,dask]", *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "test")
    )
    session.env["NEUROGUIDE_WHEEL"] = os.path.abspath(wheel)
    session.run("pytest", "--junitxml=docs/_generated/junit.xml", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import layers (import-linter, contracts in pyproject.toml)."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter only needs to find the package, not import its dependencies.
    session.run("lint-imports", env={"PYTHONPATH": "src"})


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src and tests."""
    session.install(
        "-e", ".[docs,cohort,dask]", *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "typing")
    )
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors and nitpicky references, then run their doctests."""
    wheel = _wheel(session)
    session.install(f"{wheel}[docs]")
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build sdist and wheel; check the wheel holds the guideline files and no repository tooling."""
    shutil.rmtree("dist", ignore_errors=True)
    session.install("build")
    session.run("python", "-m", "build", "--outdir", "dist")
    session.run("python", "-c", _WHEEL_CHECK, *glob.glob("dist/*.whl"))


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (figures go in docs/performance.md)."""
    wheel = _wheel(session)
    session.install(f"{wheel}[cohort,dask]")
    session.run("python", "benchmarks/run.py", *session.posargs)


_WHEEL_CHECK = """
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
toml = [n for n in names if n.startswith('neuroguide/guidelines/') and n.endswith('.toml')]
assert toml, 'no guideline files in the wheel'
assert 'neuroguide/guidelines/lock.json' in names, 'no lock file in the wheel'
assert 'neuroguide/py.typed' in names
# Only the runtime ships: the conformance runner (tools/) and the repo-reading docs pages (docs/_ext/) stay out.
tooling = [n for n in names if 'conformance' in n or '_docgen_trace' in n or n.startswith(('tools/', 'tests/'))]
assert not tooling, f'repository tooling in the wheel: {tooling}'
print(f'wheel ok: {len(toml)} guideline files, {len(names)} files, no repository tooling')
"""
