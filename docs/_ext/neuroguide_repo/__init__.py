"""neuroguide's own docs extension: the pages that read this repository.

Loaded by ``docs/conf.py`` (never shipped in the wheel). It connects to
:mod:`neuroguide.sphinxext`'s ``neuroguide-contribute`` event and contributes:

- the traceability matrix (``tests/*.py`` rule markers and the last JUnit run),
  plus the "Tests" section of every rule page;
- the deviations from the seed (encoded rules plus ``seed_deviations.toml``);
- the conformance report (``tools/conformance`` over ``tests/conformance/decks``);
- the dependencies (``pyproject.toml``) and the changelog (``CHANGELOG.md``).

Configuration values (all optional, paths relative to the docs source dir):

``neuroguide_tests_dir``
    Folder scanned for ``pytest.mark.rule`` markers (default ``../tests``).
``neuroguide_junit``
    JUnit XML of the last test run (default: ``$NEUROGUIDE_JUNIT``, else ``_generated/junit.xml``).
``neuroguide_conformance_dir``
    Conformance decks (default ``../tests/conformance/decks``).
``neuroguide_require_tests``
    Warn when an approved rule has no test (default True).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

import neuroguide
from neuroguide._docgen_md import Contribution
from neuroguide._loading import Catalog
from neuroguide.sphinxext import CONTRIBUTE_EVENT

from .pages import changelog_page, conformance_page, dependencies_page, deviations_page
from .trace import TraceSettings, build_trace

if TYPE_CHECKING:
    from sphinx.application import Sphinx

__all__ = ["RepoSettings", "contribution", "setup"]


@attrs.frozen(kw_only=True)
class RepoSettings:
    """Where the repository's pages look, resolved from the Sphinx configuration."""

    repo_root: Path
    tests_dir: Path | None
    junit: Path | None
    conformance_dir: Path | None
    require_tests: bool = True


def contribution(cat: Catalog, settings: RepoSettings) -> Contribution:
    """Build every repository page for ``cat`` (the trace matrix first: rule pages list its tests)."""
    trace = build_trace(
        TraceSettings(
            catalog=cat,
            tests_dir=settings.tests_dir,
            junit=settings.junit,
            repo_root=settings.repo_root,
            require_tests=settings.require_tests,
        )
    )
    conformance, conformance_problems = conformance_page(settings.conformance_dir)
    pages = (
        trace.page(),
        deviations_page(cat),
        conformance,
        dependencies_page(settings.repo_root),
        changelog_page(settings.repo_root),
    )
    return Contribution(
        pages=pages,
        problems=(*trace.problems, *conformance_problems),
        rule_tests=trace.rule_tests_md(),
    )


def _settings(app: Sphinx) -> RepoSettings:
    src = Path(app.srcdir)
    cfg = app.config
    generated = src / cfg.neuroguide_generated_dir
    junit_env = os.environ.get("NEUROGUIDE_JUNIT")
    if cfg.neuroguide_junit:
        junit = src / cfg.neuroguide_junit
    else:
        junit = Path(junit_env) if junit_env else generated / "junit.xml"
    return RepoSettings(
        repo_root=src.parent,
        tests_dir=src / (cfg.neuroguide_tests_dir or "../tests"),
        junit=junit,
        conformance_dir=(src / (cfg.neuroguide_conformance_dir or "../tests/conformance/decks")).resolve(),
        require_tests=bool(cfg.neuroguide_require_tests),
    )


def _on_contribute(app: Sphinx, cat: Catalog) -> Contribution:
    return contribution(cat, _settings(app))


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension (it needs ``neuroguide.sphinxext``, set up first)."""
    app.setup_extension("neuroguide.sphinxext")
    app.add_config_value("neuroguide_tests_dir", None, "env")
    app.add_config_value("neuroguide_junit", None, "env")
    app.add_config_value("neuroguide_conformance_dir", None, "env")
    app.add_config_value("neuroguide_require_tests", True, "env", types=[bool])
    app.connect(CONTRIBUTE_EVENT, _on_contribute)
    return {"version": neuroguide.__version__, "parallel_read_safe": True, "parallel_write_safe": True}
