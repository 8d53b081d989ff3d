"""neuroguide's repository docs extension (docs/_ext/neuroguide_repo): trace matrix, deviations, conformance...

These pages read the checkout (tests, JUnit XML, pyproject.toml, CHANGELOG.md, the vendored decks), so they
live outside the wheel and reach the packaged generator only through a Contribution.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from neuroguide import _docgen, _loading
from neuroguide_repo import RepoSettings, contribution
from neuroguide_repo.pages import (
    changelog_page,
    conformance_page,
    dependencies_page,
    deviations_page,
    load_seed_deviations,
)
from neuroguide_repo.trace import scan_tests
from tools.conformance import DECKS

ROOT = Path(__file__).resolve().parents[1]


def _settings(tests_dir: Path | None = None, junit: Path | None = None, decks: Path | None = DECKS) -> RepoSettings:
    return RepoSettings(repo_root=ROOT, tests_dir=tests_dir, junit=junit, conformance_dir=decks)


def _docs(cat: _loading.Catalog, settings: RepoSettings) -> _docgen.DocSet:
    return _docgen.generate(cat, [contribution(cat, settings)])


def test_contribution_adds_the_repository_pages_and_links_them(tiny_catalog: _loading.Catalog) -> None:
    docs = _docs(tiny_catalog, _settings())
    for name in ("traceability.md", "deviations.md", "conformance.md", "dependencies.md", "changelog.md"):
        assert name in docs.paths()
    anomalies = docs.page("anomalies.md").text
    assert "deviations from the seed" in anomalies and "conformance page" in anomalies


def test_deviations_page_has_encoded_and_curated_entries(tiny_catalog: _loading.Catalog) -> None:
    deviations = deviations_page(tiny_catalog).text
    assert "Seed says Y." in deviations and "Source says X." in deviations
    assert "Nearly 41-48% of small fiber neuropathy cases remain idiopathic" in deviations
    assert "two-fold increased risk in diabetes" in deviations
    assert "70-90%" in deviations


def test_curated_seed_deviations_are_data_with_sources() -> None:
    curated = load_seed_deviations()
    assert len(curated) == 7
    assert all(d.seed and d.governs and d.sources and d.notes for d in curated)
    (central,) = [d for d in curated if "multiple sclerosis?" in d.seed]
    assert (
        "upper-motor-neuron signs" in central.governs and "Immediately contact the MSCC coordinator" in central.governs
    )


def test_a_curated_deviation_without_a_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "devs.toml"
    path.write_text('[[deviation]]\nseed = "a"\ngoverns = "b"\nsources = []\nnotes = "c"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="deviation 1 names no source"):
        load_seed_deviations(path)


def test_conformance_page_runs_the_vendored_decks() -> None:
    page, problems = conformance_page(DECKS)
    assert problems == []
    assert "Totals: 950 vectors, 339 run, 318 agreed, 21 disagreed" in page.text
    assert "## Conformance against decks written by others" in page.text  # demoted under the page title


def test_missing_conformance_decks_fail_the_docs_build(tmp_path: Path) -> None:
    page, problems = conformance_page(tmp_path / "absent")
    assert [p.location for p in problems] == ["conformance.md"]
    assert "is missing" in problems[0].message and "nothing was run" in page.text


def test_dependencies_and_changelog_read_the_checkout() -> None:
    deps = dependencies_page(ROOT).text
    for name in ("`attrs`", "`cattrs`", "`pint`", "`pyyaml`", "`hatchling`"):
        assert name in deps
    assert "```{include} ../../CHANGELOG.md" in changelog_page(ROOT).text
    assert "No CHANGELOG.md" in changelog_page(None).text


def test_dependencies_page_states_the_terms_of_every_code_system_shipped() -> None:
    from neuroguide import terminology

    deps = dependencies_page(ROOT).text
    assert "Code systems shipped as data" in deps
    for system in terminology.code_systems().values():
        if system.uri != terminology.LOCAL_SYSTEM:
            assert f"| {system.name} |" in deps, system.name
    assert "copyright Regenstrief Institute" in deps and "National Library of Medicine" in deps


# -- the traceability matrix ------------------------------------------------------------------------------


def test_matrix_flags_an_approved_rule_without_a_test(tiny_catalog: _loading.Catalog, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_other.py").write_text('import pytest\n\n@pytest.mark.rule("other-rule")\ndef test_x(): ...\n')
    docs = _docs(tiny_catalog, _settings(tests_dir=tests))
    messages = [p.message for p in docs.problems]
    assert any("approved rule 'tiny-rule'" in msg and "has no test" in msg for msg in messages), messages
    assert "**none**" in docs.page("traceability.md").text


def test_matrix_finds_markers_and_reads_the_last_run(tiny_catalog: _loading.Catalog, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_tiny.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.rule("tiny-rule")
            def test_quote(): ...

            @pytest.mark.rule("tiny-guide/tiny-rule")
            class TestBoundaries:
                def test_edge(self): ...
            """
        )
    )
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite timestamp="2026-11-23T10:00:00">'
        '<testcase classname="tests.test_tiny" name="test_quote"/>'
        '<testcase classname="tests.test_tiny.TestBoundaries" name="test_edge[a]"><failure/></testcase>'
        '<testcase classname="tests.test_tiny.TestBoundaries" name="test_edge[b]"/>'
        "</testsuite></testsuites>"
    )
    docs = _docs(tiny_catalog, _settings(tests_dir=tests, junit=junit))
    assert not [p for p in docs.problems if "tiny-rule" in p.message]
    rule_page = docs.page("rules/tiny-guide/tiny-rule.md").text
    assert "- `tests/test_tiny.py::test_quote`: passed (1)" in rule_page
    assert "- `tests/test_tiny.py::TestBoundaries::test_edge`: FAILED (1 of 2)" in rule_page
    assert "2026-11-23T10:00:00" in rule_page


def test_scan_tests_reads_every_marker_form(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_forms.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from pytest import mark

            pytestmark = [pytest.mark.rule("module-wide")]

            def test_plain(): ...

            @mark.rule("direct")
            def helper(): ...

            @pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.rule("in-param"))])
            def test_param(x): ...
            """
        )
    )
    found = {(t.function, t.rule) for t in scan_tests(tests)}
    assert found == {
        ("test_plain", "module-wide"),
        ("helper", "module-wide"),
        ("helper", "direct"),
        ("test_param", "module-wide"),
        ("test_param", "in-param"),
    }
