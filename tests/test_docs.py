"""The packaged documentation generator: pages per guideline and rule, the schema, the Sphinx extension.

The pages that read the repository (trace matrix, deviations, conformance...) are tested in test_docs_repo.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import _docgen, _loading, sphinxext
from neuroguide import model as m
from neuroguide._docgen_md import esc
from neuroguide.schema import patient_schema

# -- pages per guideline, version and rule ------------------------------------------------------------


def test_a_page_per_guideline_version_and_rule_for_the_packaged_catalog() -> None:
    cat = _loading.catalog()
    docs = _docgen.generate(cat)
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
    for name in ("neurotoxicity.md", "calculators.md", "anomalies.md", "schema.md", "api.md"):
        assert name in paths
    # Pages that read a repository come only from the project's own docs extension.
    for name in ("traceability.md", "deviations.md", "conformance.md", "dependencies.md", "changelog.md"):
        assert name not in paths
    assert "deviations" not in docs.page("anomalies.md").text
    assert json.loads(docs.page("patient.schema.json").text) == patient_schema()


def test_rule_page_has_quote_decision_table_transparency_and_history(tiny_catalog: _loading.Catalog) -> None:
    docs = _docgen.generate(tiny_catalog)
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
    assert "No test names this rule." in page


def test_history_page_lists_versions_and_changes(tiny_catalog: _loading.Catalog) -> None:
    page = _docgen.generate(tiny_catalog).page("guidelines/tiny-guide/history.md").text
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
        self.new_events: list[str] = []

    def add_config_value(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.config_values.append(name)

    def connect(self, event: str, handler: Any, priority: int = 500) -> None:
        self.events.append(event)

    def add_event(self, name: str) -> None:
        self.new_events.append(name)


def test_extension_setup_is_parallel_safe_and_imports_sphinx_lazily() -> None:
    app = _FakeApp()
    meta = sphinxext.setup(app)  # type: ignore[arg-type]
    assert meta["parallel_read_safe"] is True and meta["parallel_write_safe"] is True
    assert meta["version"] == ng.__version__
    assert {"builder-inited", "config-inited", "missing-reference"} <= set(app.events)
    assert app.new_events == [sphinxext.CONTRIBUTE_EVENT]
    assert app.config_values == ["neuroguide_generated_dir", "neuroguide_guidelines"]
    code = "import sys, neuroguide.sphinxext; print(any(n == 'sphinx' or n.startswith('sphinx.') for n in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_write_pages_replaces_stale_pages_and_keeps_other_files(tiny_catalog: _loading.Catalog, tmp_path: Path) -> None:
    out = tmp_path / "_generated"
    (out / "rules" / "gone").mkdir(parents=True)
    (out / "rules" / "gone" / "old-rule.md").write_text("stale")
    (out / "junit.xml").write_text("<testsuites/>")
    docs = _docgen.generate(tiny_catalog)
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
