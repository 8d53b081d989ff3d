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
PEERS = ("clincalc==0.4.0", "open-medicine==0.12.0", "medcalc-bench==1.7.0")


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
        f"{wheel}[docs,fhir,service,governance,cohort,dask]",
        *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "test"),
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
        "-e",
        ".[docs,fhir,service,governance,cohort,dask]",
        *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "typing"),
    )
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors and nitpicky references, then run their doctests."""
    wheel = _wheel(session)
    session.install(f"{wheel}[docs,fhir,service,governance]")
    # One doctree cache for both builders, so the doctest run reuses the html run's parsed pages;
    # -j auto reads and writes in parallel where the extensions allow it.
    common = ("-W", "-n", "--keep-going", "-j", "auto", "-d", "docs/_build/doctrees")
    session.run("sphinx-build", *common, "-b", "html", "docs", "docs/_build/html")
    # Offline intranets: no page may fetch a script, stylesheet or font from another host.
    session.run("python", "tools/offline_check.py", "docs/_build/html")
    session.run("sphinx-build", *common, "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build sdist and wheel; check the wheel holds the guideline files and no repository tooling."""
    shutil.rmtree("dist", ignore_errors=True)
    session.install("build")
    session.run("python", "-m", "build", "--outdir", "dist")
    session.run("python", "-c", _WHEEL_CHECK, *glob.glob("dist/*.whl"))


@nox.session(python=PYTHON, default=False)
def fuzz(session: nox.Session) -> None:
    """Fuzz every input surface against the built wheel: >= 10^5 executions per target, 0 uncaught allowed.

    ``nox -s fuzz -- 200000 7`` sets the executions per target and the seed.
    """
    wheel = _wheel(session)
    session.install(wheel)
    session.run("python", "tests/test_fuzz.py", *(session.posargs or ["100000", "1"]))


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (figures go in docs/performance.md)."""
    wheel = _wheel(session)
    # The peers are installed here only, to be measured side by side: none is a dependency of neuroguide.
    session.install(f"{wheel}[cohort,dask]", *PEERS)
    session.run("python", "benchmarks/run.py", *session.posargs)
    session.run("python", "benchmarks/peers.py", "--write")
    session.run("python", "benchmarks/startup.py")


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


@nox.session(python=PYTHON, default=False)
def mutate(session: nox.Session) -> None:
    """Mutation testing of the numbers and comparisons in approved rules (opt-in; about 20 minutes in full).

    Pass options after ``--``, e.g. ``nox -s mutate -- --workers 2`` or ``-- --sample 150 --seed 1``; the figure
    and the survivors go to docs/_generated/mutation.json, and ``python tools/mutate.py --write`` turns them (with
    the reasons in tools/mutation_survivors.toml) into docs/mutation.md.
    """
    session.install("-e", ".", *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "test"))
    session.run("python", "tools/mutate.py", *session.posargs)
