"""The repository tool that carries patient texts to a new guideline version (tools/patient_text.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import attrs
import pytest

from neuroguide._loading import Catalog
from tools import patient_text as tool

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "patient-text"
    shutil.copytree(ROOT / "src" / "neuroguide" / "_data" / "patient-text", folder)
    monkeypatch.setattr(tool, "TEXTS", folder)
    return folder


def test_carry_restores_every_unchanged_rule_and_nothing_else(texts: Path) -> None:
    path = texts / "ada-neuropathy.toml"
    original = path.read_text(encoding="utf-8")
    stripped = original.replace(', "2026.2"]', "]")
    assert stripped != original
    path.write_text(stripped, encoding="utf-8")
    tool.carry("ada-neuropathy", "2026.2")
    assert path.read_text(encoding="utf-8") == original


def test_a_changed_rule_is_listed_for_a_person_not_carried(texts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = texts / "ada-neuropathy.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(', "2026.2"]', "]"), encoding="utf-8")
    cat = Catalog(ROOT / "guidelines", allow_unlocked=True)
    real = cat.versions("ada-neuropathy")
    reworded = [
        attrs.evolve(
            g,
            rules=tuple(
                attrs.evolve(r, statement=r.statement + " Now yearly.") if r.id == "dpn-screening" else r
                for r in g.rules
            ),
        )
        if g.version == "2026.2"
        else g
        for g in real
    ]
    cat.versions = lambda guideline_id: reworded if guideline_id == "ada-neuropathy" else real  # type: ignore[method-assign]
    assert tool.carry("ada-neuropathy", "2026.2", cat) == 1
    out = capsys.readouterr().out
    assert "re-read and edit by hand: dpn-screening (changed since 2026.1: statement)" in out
    block = re.search(r"^\[rules\.dpn-screening\]\n(?:(?!^\[).*\n?)*", path.read_text(encoding="utf-8"), re.M)
    assert block is not None and '"2026.2"' not in block.group(0)


def test_the_meaning_ignores_provenance_but_not_the_statement() -> None:
    cat = Catalog(ROOT / "guidelines", allow_unlocked=True)
    rule = cat.get("ada-neuropathy").rules[0]
    assert tool._meaning(rule) == tool._meaning(attrs.evolve(rule, citations=(), review_note="re-checked"))
    assert tool._meaning(rule) != tool._meaning(attrs.evolve(rule, statement=rule.statement + " Annually."))
    assert tool._changed_fields(rule, attrs.evolve(rule, statement="x")) == ["statement"]
