"""Redlines, the sign-off packet and the FHIR knowledge artifacts (issue 19)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuroguide import _loading, audit, fhir_artifacts, packet
from neuroguide import site as s
from neuroguide._redline import as_html, as_text, word_diff
from neuroguide.cli import main

SITE_FILE = Path(__file__).resolve().parents[1] / "examples" / "site" / "example-test-hospital.toml"

# -- redline ----------------------------------------------------------------------------------

_words = st.lists(st.sampled_from(["a", "b", "cat", "mg", "12", "<x>", "&", "\n"]), max_size=12).map(" ".join)


@given(_words, _words)
def test_a_redline_rebuilds_both_texts(before: str, after: str) -> None:
    segments = word_diff(before, after)
    assert "".join(x.text for x in segments if x.op != "ins") == before
    assert "".join(x.text for x in segments if x.op != "del") == after
    assert all(x.text for x in segments)


def test_a_changed_phrase_reads_as_one_change() -> None:
    assert as_text(word_diff("the cat sat on the mat", "the dog sat on a mat")) == (
        "the [-cat-]{+dog+} sat on [-the-]{+a+} mat"
    )
    assert as_text(word_diff("Section 12, neuropathy", "Recommendation 12.17")) == (
        "[-Section 12, neuropathy-]{+Recommendation 12.17+}"
    )


def test_html_redline_escapes_the_text() -> None:
    html = as_html(word_diff("dose < 5 mg", "dose <= 5 mg & more"))
    assert "<script" not in html
    assert '<del class="redline-del">&lt;</del>\u2009<ins class="redline-ins">&lt;=</ins>' in html
    assert "&amp; more" in html


def test_redline_of_ada_neuropathy_shows_the_quote_words_that_changed() -> None:
    lines = audit.redline("ada-neuropathy", "2024.1", "2026.1")
    dpn = next(r for r in lines if r.id == "dpn-screening")
    assert dpn.event == "changed"
    quote = next(f for f in dpn.fields if f.path == "citations[0].quote")
    # ADA 2024's full sentence was replaced by the ADA 2026 fragment ending with its grade "B".
    assert as_text(quote.segments).startswith("[-All people with diabetes should be assessed")
    assert as_text(quote.segments).endswith("annually thereafter.{+ B+}")
    added = [r for r in lines if r.event == "added"]
    assert added
    assert all(f.change == "added" for r in added for f in r.fields)
    assert {f.path for f in added[0].fields} >= {"statement", "citations[0].quote"}


def test_cli_diff_redline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "diff", "ada-neuropathy", "2024.1", "2026.1", "--redline"]) == 0
    out = capsys.readouterr().out
    assert "[-" in out
    assert "{+" in out
    assert "CHANGED dpn-screening" in out
    assert main(["audit", "diff", "ada-neuropathy", "2024.1", "2026.1", "--redline", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(r["id"] == "dpn-screening" for r in data)


# -- packet -----------------------------------------------------------------------------------

_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" timestamp="2026-11-30T05:00:00">
<properties>
<property name="rule" value="dpn-screening tests/test_rules_diagnosis.py::test_dpn_due[a]"/>
<property name="rule" value="dpn-screening tests/test_rules_diagnosis.py::test_dpn_fails"/>
<property name="rule" value="dpn-assessment tests/test_x.py::TestCase::test_in_class"/>
</properties>
<testcase classname="tests.test_rules_diagnosis" name="test_dpn_due[a]"/>
<testcase classname="tests.test_rules_diagnosis" name="test_dpn_fails"><failure message="x"/></testcase>
<testcase classname="tests.test_x.TestCase" name="test_in_class"><skipped/></testcase>
</testsuite></testsuites>
"""


def test_junit_outcomes_are_read_per_rule(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(_JUNIT)
    tests, stamp = packet.read_rule_tests(junit)
    assert stamp == "2026-11-30T05:00:00"
    assert [t.outcome for t in tests["dpn-screening"]] == ["passed", "failed"]
    assert [t.outcome for t in tests["dpn-assessment"]] == ["skipped"]


def _external(html: str) -> list[str]:
    """Anything the page would fetch from elsewhere: scripts, stylesheets, fonts, images, imports."""
    found = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, flags=re.I)
    found += re.findall(r"@import|url\(\s*['\"]?https?:", html, flags=re.I)
    return found


def test_the_packet_is_self_contained_and_covers_every_rule(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(_JUNIT)
    html = packet.render_packet("ada-neuropathy", "2026.1", results=junit)
    assert _external(html) == []
    g = _loading.catalog().get("ada-neuropathy", version="2026.1")
    for rule in g.rules:
        assert f'id="rule-{rule.id}"' in html
        assert rule.citations[0].locator.replace("'", "&#x27;").split(" (")[0] in html
    assert g.sha256 in html
    assert "Changes since version 2024.1" in html
    assert '<del class="redline-del">' in html
    assert "1 passed, 1 failed" in html
    assert s.NO_SIGNOFF in html  # the package ships no approvals
    assert "Test Approver" not in html
    assert "@page" in html
    assert "Not yet verified upstream" in html


def test_the_packet_is_filled_from_a_site_overlay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "packet.html"
    args = ["audit", "packet", "ada-neuropathy", "2026.2", "-o", str(out), "--site", str(SITE_FILE)]
    assert main(args) == 0
    html = out.read_text(encoding="utf-8")
    assert "Test Approver" in html
    assert "Example Test Hospital" in html
    assert "no test run given" in html
    # An urgent rule's sign-off offers no "disable".
    inflammatory = packet.render_packet("inflammatory-neuropathy", "2021.1")
    block = inflammatory.split('id="rule-gbs-respiratory"')[1].split("</div>")[1]
    assert "disable" not in block


def test_the_packet_of_a_first_version_says_so() -> None:
    html = packet.render_packet("ada-neuropathy", "2017.1")
    assert "First version in the catalog" in html


def test_packet_bad_junit_is_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<not")
    out = tmp_path / "p.html"
    assert main(["audit", "packet", "ada-neuropathy", "2026.1", "-o", str(out), "--test-results", str(bad)]) == 2
    assert "JUnit" in capsys.readouterr().err


# -- FHIR knowledge artifacts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    folder = tmp_path_factory.mktemp("fhir")
    fhir_artifacts.export(folder, site=s.load_site(SITE_FILE))
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def test_the_fhir_artifacts_validate_as_r4_resources(exported: dict[str, dict[str, object]]) -> None:
    r4 = pytest.importorskip("fhir.resources.R4B")
    import importlib

    kinds = set()
    for data in exported.values():
        kind = str(data["resourceType"])
        kinds.add(kind)
        model = getattr(importlib.import_module(f"{r4.__name__}.{kind.lower()}"), kind)
        model.model_validate(data)
    assert kinds == {"Library", "PlanDefinition", "ActivityDefinition"}


def test_every_guideline_version_has_a_library_and_a_plan(exported: dict[str, dict[str, object]]) -> None:
    for g in _loading.catalog().all():
        assert f"Library-{g.id}-{g.version}" in exported
        plan = exported[f"PlanDefinition-{g.id}-{g.version}"]
        assert plan["version"] == g.version
        assert plan["status"] == "active"
        actions = plan["action"]
        assert isinstance(actions, list)
        assert [a["id"] for a in actions] == [r.id for r in g.rules]
        for action, rule in zip(actions, g.rules, strict=True):
            citations = [d for d in action["documentation"] if d["type"] == "citation"]
            assert len(citations) == len(rule.citations)
            assert [d for d in action["documentation"] if d["type"] == "documentation"]


def test_crmi_metadata(exported: dict[str, dict[str, object]]) -> None:
    old = exported["PlanDefinition-ada-neuropathy-2024.1"]
    corrected = exported["PlanDefinition-ada-neuropathy-2026.1"]
    new = exported["PlanDefinition-ada-neuropathy-2026.2"]
    # The 2024.1 version ends the day before 2026.1 takes effect (2026-01-01).
    assert old["effectivePeriod"] == {"start": "2024-01-01", "end": "2025-12-31"}
    # 2026.2 corrects 2026.1 from the same date: 2026.1 never governed a day of its own.
    assert "effectivePeriod" not in corrected
    assert new["effectivePeriod"] == {"start": "2026-01-01"}
    # Dates only where the site overlay records them (the test site adopted 2026.2 on 2026-10-01).
    assert new["approvalDate"] == "2026-10-01"
    assert new["lastReviewDate"] == "2026-10-01"
    assert "approvalDate" not in old
    assert "lastReviewDate" not in exported["PlanDefinition-b12-testing-2024.1"]


def test_conditions_timing_and_orderables(exported: dict[str, dict[str, object]]) -> None:
    plan = exported["PlanDefinition-ada-neuropathy-2026.1"]
    dpn = next(a for a in plan["action"] if a["id"] == "dpn-screening")  # type: ignore[attr-defined]
    (condition,) = dpn["condition"]
    assert condition["expression"]["language"] == fhir_artifacts.CRITERIA_LANGUAGE
    assert condition["expression"]["expression"] == "type-1-diabetes OR type-2-diabetes"
    assert "unknown, never false" in condition["expression"]["description"]
    # ADA: "at least annually" -> the encoded 12-month interval.
    assert dpn["timingTiming"] == {"repeat": {"frequency": 1, "period": 12, "periodUnit": "mo"}}
    activity = exported["ActivityDefinition-ada-neuropathy-2026.1-dpn-screening"]
    assert dpn["definitionCanonical"] == f"{activity['url']}|2026.1"
    assert activity["kind"] == "ServiceRequest"
    in_review = next(a for a in plan["action"] if a["id"] == "pain-pharmacotherapy")  # type: ignore[attr-defined]
    assert in_review["description"].startswith("NOT YET VERIFIED")


def test_cli_export_fhir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "fhir", "-o", str(tmp_path / "out")]) == 0
    assert "FHIR resources" in capsys.readouterr().out
    plan = json.loads((tmp_path / "out" / "PlanDefinition-ada-neuropathy-2026.1.json").read_text())
    assert "approvalDate" not in plan  # no site overlay given: no approval is claimed


def test_effective_period_is_a_day_before_the_next_version() -> None:
    cat = _loading.catalog()
    a, b, c = cat.versions("ada-neuropathy")[-3:]
    assert b.effective - dt.timedelta(days=1) == dt.date(2025, 12, 31)
    assert a.version == "2024.1" and (b.version, c.version) == ("2026.1", "2026.2")
    assert c.effective == b.effective  # a correction, in effect from the same date
