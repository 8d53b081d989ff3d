"""The reference-documentation generators: pages per guideline and rule, the trace matrix, the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import _docgen, _docgen_trace, _loading, sphinxext
from neuroguide import model as m
from neuroguide._docgen_md import esc
from neuroguide.schema import patient_schema

# -- a tiny catalog in a temporary folder ----------------------------------------------------------

_TINY = """\
id = "tiny-guide"
title = "Tiny guideline"
version = "{version}"
effective = {effective}
status = "approved"
summary = "A one-rule guideline for the documentation tests."
{supersedes}

[sources.src-a]
authors = ["Doe J", "Roe R"]
title = "A source"
journal = "J Test"
year = 2026
label = "Doe 2026"
doi = "10.0000/test"

[[rules]]
id = "tiny-rule"
kind = "consideration"
title = "Consider something"
statement = "Consider X when there is numbness and no weakness."
when = {{ all = ["numbness", {{ not = "weakness" }}] }}
action = "{action}"

[[rules.citations]]
source = "src-a"
locator = "p. 1"
quote = "Consider X | *when* numbness [sic]."
grade = "B"
verification = {{ status = "primary", via = "the test itself", checked = 2026-11-23 }}

[[rules.deviations]]
seed = "Seed says Y."
governs = "Source says X."
{changes}
"""


def _write_tiny(root: Path) -> Path:
    folder = root / "guidelines" / "tiny-guide"
    folder.mkdir(parents=True)
    (folder / "2025.1.toml").write_text(
        _TINY.format(version="2025.1", effective="2025-01-01", supersedes="", action="Consider X.", changes=""),
        encoding="utf-8",
    )
    changes = '[[changes]]\nrule = "tiny-rule"\nwhat = "Action reworded"\nwhy = "Clearer."\nsource = "src-a"\n'
    (folder / "2026.1.toml").write_text(
        _TINY.format(
            version="2026.1",
            effective="2026-01-01",
            supersedes='supersedes = "2025.1"',
            action="Consider X now.",
            changes=changes,
        ),
        encoding="utf-8",
    )
    return root / "guidelines"


@pytest.fixture
def tiny(tmp_path: Path) -> _loading.Catalog:
    return _loading.Catalog(_write_tiny(tmp_path), allow_unlocked=True)


def _settings(cat: _loading.Catalog, tests_dir: Path | None = None, junit: Path | None = None) -> _docgen.Settings:
    return _docgen.Settings(catalog=cat, tests_dir=tests_dir, junit=junit, repo_root=None, conformance_dir=None)


# -- pages per guideline, version and rule ------------------------------------------------------------


def test_a_page_per_guideline_version_and_rule_for_the_packaged_catalog() -> None:
    cat = _loading.catalog()
    docs = _docgen.generate(_settings(cat))
    paths = set(docs.paths())
    for gid in cat.ids():
        assert f"guidelines/{gid}/index.md" in paths
        assert f"guidelines/{gid}/history.md" in paths
        for g in cat.versions(gid):
            page = docs.page(f"guidelines/{gid}/{g.version}.md").text
            assert g.sha256 in page
            for rule in g.rules:
                assert esc(rule.statement) in page
                assert esc(rule.citations[0].quote) in page
        for rid in {r.id for g in cat.versions(gid) for r in g.rules}:
            assert _docgen.rule_page_path(gid, rid) in paths
    for name in ("traceability.md", "neurotoxicity.md", "calculators.md", "deviations.md", "schema.md", "api.md"):
        assert name in paths
    assert json.loads(docs.page("patient.schema.json").text) == patient_schema()


def test_rule_page_has_quote_decision_table_transparency_and_history(tiny: _loading.Catalog) -> None:
    docs = _docgen.generate(_settings(tiny))
    page = docs.page("rules/tiny-guide/tiny-rule.md").text
    # the quote is escaped so '|' and '*' render literally
    assert r"> Consider X \| \*when\* numbness \[sic\]." in page
    assert "- **Evidence grade:** B" in page
    assert "- **Verification:** primary, via the test itself (checked 2026-11-23)" in page
    assert "| 1 | **ALL** of 1.1–1.2 | true when every condition below holds |" in page
    assert "| 1.2.1 | " in page and "`weakness` is true" in page
    assert "In words: *Numbness in the feet or legs and not (Weakness of the legs)*." in page
    assert "## Transparency (basis of the recommendation)" in page
    assert "| `numbness` | Numbness in the feet or legs | boolean | History. | — |" in page
    assert "never assumed normal" in page and "InputError" in page
    assert "| 2025.1 | 2025-01-01 | approved | approved | first encoded | — |" in page
    assert "changed: action: Consider X. → Consider X now." in page
    assert "Action reworded *Why:* Clearer." in page
    deviations = docs.page("deviations.md").text
    assert "Seed says Y." in deviations and "Source says X." in deviations
    assert "Nearly 41-48% of small fiber neuropathy cases remain idiopathic" in deviations
    assert "two-fold increased risk in diabetes" in deviations
    assert "70-90%" in deviations


def test_history_page_lists_versions_and_changes(tiny: _loading.Catalog) -> None:
    page = _docgen.generate(_settings(tiny)).page("guidelines/tiny-guide/history.md").text
    assert "First version in the catalog: `tiny-rule`." in page
    assert "- Changed: `tiny-rule`." in page


def test_criterion_rows_number_nested_groups() -> None:
    c = m.AnyOf(any=(m.Fact("numbness"), m.AllOf(all=(m.Fact("tingling"), m.Not(m.Fact("weakness"))))))
    rows = _docgen.criterion_rows(c)
    assert [r[0] for r in rows] == ["1", "1.1", "1.2", "1.2.1", "1.2.2", "1.2.2.1"]
    assert "**ANY** of 1.1–1.2" in rows[0][1]
    assert "**NOT** 1.2.2.1" in rows[4][1]
    assert _docgen.plain_criterion(c) == (
        "Numbness in the feet or legs or (Tingling (paraesthesia) in the feet or legs and not (Weakness of the legs))"
    )


# -- the traceability matrix ------------------------------------------------------------------------------


def test_matrix_flags_an_approved_rule_without_a_test(tiny: _loading.Catalog, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_other.py").write_text('import pytest\n\n@pytest.mark.rule("other-rule")\ndef test_x(): ...\n')
    docs = _docgen.generate(_settings(tiny, tests_dir=tests))
    messages = [p.message for p in docs.problems]
    assert any("approved rule 'tiny-rule'" in msg and "has no test" in msg for msg in messages), messages
    assert "**none**" in docs.page("traceability.md").text


def test_matrix_finds_markers_and_reads_the_last_run(tiny: _loading.Catalog, tmp_path: Path) -> None:
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
    docs = _docgen.generate(_settings(tiny, tests_dir=tests, junit=junit))
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
    found = {(t.function, t.rule) for t in _docgen_trace.scan_tests(tests)}
    assert found == {
        ("test_plain", "module-wide"),
        ("helper", "module-wide"),
        ("helper", "direct"),
        ("test_param", "module-wide"),
        ("test_param", "in-param"),
    }


# -- the patient schema --------------------------------------------------------------------------------------


def _conforms(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """A deliberately small JSON Schema checker: the keywords patient_schema() uses."""
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else kinds
        python: dict[str, type | tuple[type, ...]] = {
            "object": dict,
            "array": list,
            "string": str,
            "boolean": bool,
            "null": type(None),
            "number": (int, float),
        }
        ok = any(isinstance(value, python[k]) and not (k == "number" and isinstance(value, bool)) for k in allowed)
        if not ok:
            return [f"{path}: {value!r} is not {allowed}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: too short")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above maximum")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += _conforms(props[key], item, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unknown key {key!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += _conforms(schema["items"], item, f"{path}[{i}]")
    return errors


_EXAMPLE: dict[str, Any] = {
    "id": "p1",
    "birth_date": "1956-04-02",
    "sex": "female",
    "diabetes": {"type": "type-1", "diagnosed": "2001-06-01"},
    "findings": {"numbness": True, "weakness": None, "monofilament-abnormal": False},
    "measurements": {"weight": "72 kg", "serum-creatinine": "88 umol/L", "abi": 0.85},
    "last": {"neuropathy-exam": "2025-10-01", "foot-exam": None},
    "medications": [{"agent": "metformin", "dose": "2000 mg", "per": "day", "started": "2016-01-10"}],
}


def test_patient_schema_accepts_a_valid_patient_the_parser_also_accepts() -> None:
    schema = patient_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert _conforms(schema, _EXAMPLE) == []
    ng.Patient.from_dict(_EXAMPLE)  # the parser agrees


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"findings": {"numbnes": True}}, "$.findings"),
        ({"findings": {"numbness": "yes"}}, "$.findings.numbness"),
        ({"sex": "f"}, "$.sex"),
        ({"measurements": {"abi": 7}}, "$.measurements.abi"),
        ({"measurements": {"weight": 72}}, "$.measurements.weight"),
        ({"diabetes": {"type": "type-2"}}, "$.diabetes"),
        ({"medications": [{"dose": "1 mg"}]}, "$.medications[0]"),
        ({"colour": "blue"}, "$"),
    ],
)
def test_patient_schema_rejects_what_the_parser_rejects(patch: dict[str, Any], field: str) -> None:
    bad = {**_EXAMPLE, **patch}
    errors = _conforms(patient_schema(), bad)
    assert errors and all(e.startswith(field) for e in errors), errors
    with pytest.raises(ng.InputError):
        ng.Patient.from_dict(bad)


def test_every_schema_fact_is_accepted_by_the_parser() -> None:
    props = patient_schema()["properties"]
    for name in props["findings"]["properties"]:
        ng.Patient.from_dict({"findings": {name: True}})
    for name, spec in props["measurements"]["properties"].items():
        if "x-unit" in spec:
            low, high = spec["x-range"]
            value: Any = f"{(low + high) / 2:g} {spec['x-unit']}"
        else:
            value = (spec["minimum"] + spec["maximum"]) / 2
            if "integer" in spec["type"]:
                value = round(value)
        ng.Patient.from_dict({"measurements": {name: value}})
    for name in props["last"]["properties"]:
        ng.Patient.from_dict({"last": {name: "2020-01-01"}})


# -- the Sphinx extension --------------------------------------------------------------------------------------


class _FakeApp:
    def __init__(self) -> None:
        self.config_values: list[str] = []
        self.events: list[str] = []

    def add_config_value(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.config_values.append(name)

    def connect(self, event: str, handler: Any, priority: int = 500) -> None:
        self.events.append(event)


def test_extension_setup_is_parallel_safe_and_imports_sphinx_lazily() -> None:
    app = _FakeApp()
    meta = sphinxext.setup(app)  # type: ignore[arg-type]
    assert meta["parallel_read_safe"] is True and meta["parallel_write_safe"] is True
    assert meta["version"] == ng.__version__
    assert {"builder-inited", "config-inited", "missing-reference"} <= set(app.events)
    code = "import sys, neuroguide.sphinxext; print(any(n == 'sphinx' or n.startswith('sphinx.') for n in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_write_pages_replaces_stale_pages_and_keeps_other_files(tiny: _loading.Catalog, tmp_path: Path) -> None:
    out = tmp_path / "_generated"
    (out / "rules" / "gone").mkdir(parents=True)
    (out / "rules" / "gone" / "old-rule.md").write_text("stale")
    (out / "junit.xml").write_text("<testsuites/>")
    docs = _docgen.generate(_settings(tiny))
    sphinxext.write_pages(out, docs)
    assert not (out / "rules" / "gone" / "old-rule.md").exists()
    assert (out / "junit.xml").exists()
    assert (out / "rules" / "tiny-guide" / "tiny-rule.md").read_text(encoding="utf-8") == docs.page(
        "rules/tiny-guide/tiny-rule.md"
    ).text


def test_fallback_inventories_are_valid_sphinx_inventories(tmp_path: Path) -> None:
    paths = sphinxext.write_fallback_inventories(tmp_path)
    assert {p.stem for p in paths} == {"python", "attrs", "cattrs", "pint"}
    for path in paths:
        data = path.read_bytes()
        header = data.split(b"\n", 4)
        assert header[0] == b"# Sphinx inventory version 2"
        body = zlib.decompress(header[4]).decode()
        for line in body.splitlines():
            _name, role, priority, uri, shown = line.split(" ")
            assert role.startswith("py:") and priority == "1" and "#" in uri and shown == "-"
