"""Carry patient texts forward to a new guideline version, and list the rules still without one.

A patient text names the guideline versions whose rule wording it matches (``applies_to_versions`` in
``src/neuroguide/_data/patient-text/<guideline>.toml``). When a new version of a guideline is released,
a text may be carried to it only if its rule says the same thing there: same kind, statement, section
and logic, boundary conventions included. Changes to citations, verification notes, deviations or review
status do not change what the rule tells a patient, so they do not block the carry. Every other change
is listed for a person to re-read and edit by hand; nothing is carried silently.

Usage:
  ``python -m tools.patient_text carry GUIDELINE VERSION``  add VERSION where the rule is unchanged
  ``python -m tools.patient_text missing``                 in-scope rules of the versions in force without a text
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from neuroguide import model as m

if TYPE_CHECKING:
    from neuroguide._loading import Catalog

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ROOT / "src" / "neuroguide" / "_data" / "patient-text"
# Fields that say where a rule's words come from, not what the rule says.
_PROVENANCE = ("citations", "review_note", "deviations")


def _meaning(rule: m.Rule) -> m.Rule:
    """The rule with its provenance fields blanked and its status normalised."""
    return attrs.evolve(rule, status=m.Status.APPROVED, citations=(), review_note=None, deviations=())


def _changed_fields(before: m.Rule, after: m.Rule) -> list[str]:
    return [
        f.name
        for f in attrs.fields(type(after))
        if f.name not in _PROVENANCE and f.name != "status" and getattr(before, f.name) != getattr(after, f.name)
    ]


def _add_version(text: str, rule_id: str, version: str) -> str:
    """Append ``version`` to the rule's ``applies_to_versions`` line, keeping the rest of the file as written."""
    block = re.search(rf"^\[rules\.{re.escape(rule_id)}\]\n(?:(?!^\[).*\n?)*", text, re.M)
    if block is None:
        raise SystemExit(f"no [rules.{rule_id}] table")
    line = re.search(r"^applies_to_versions = \[(?P<items>[^\]]*)\]$", block.group(0), re.M)
    if line is None:
        raise SystemExit(f"[rules.{rule_id}] has no one-line applies_to_versions")
    items = line.group("items").rstrip()
    new = f'applies_to_versions = [{items}, "{version}"]'
    start = block.start() + line.start()
    return text[:start] + new + text[block.start() + line.end() :]


def carry(guideline_id: str, version: str, cat: Catalog | None = None) -> int:
    """Carry every unchanged rule's text to ``version``; print what was carried and what needs a person."""
    from neuroguide._loading import Catalog
    from neuroguide._patient_text import load_texts

    cat = cat if cat is not None else Catalog(ROOT / "guidelines", allow_unlocked=True)
    versions = {g.version: g for g in cat.versions(guideline_id)}
    if version not in versions:
        raise SystemExit(f"{guideline_id} has no version {version!r} (known: {', '.join(versions)})")
    target = versions[version]
    path = TEXTS / f"{guideline_id}.toml"
    text = path.read_text(encoding="utf-8")
    carried, review = [], []
    for rule_id, entry in load_texts(path.read_bytes(), path.name, cat).items():
        if version in entry.applies_to_versions or not any(r.id == rule_id for r in target.rules):
            continue
        newest = versions[entry.applies_to_versions[-1]]
        before, after = newest.rule(rule_id), target.rule(rule_id)
        if type(before) is type(after) and _meaning(before) == _meaning(after):
            text = _add_version(text, rule_id, version)
            carried.append(rule_id)
        else:
            review.append(f"{rule_id} (changed since {newest.version}: {', '.join(_changed_fields(before, after))})")
    path.write_text(text, encoding="utf-8")
    print(f"carried to {guideline_id} {version}: {', '.join(carried) or 'none'}")
    for item in review:
        print(f"re-read and edit by hand: {item}")
    return 1 if review else 0


def missing() -> int:
    """Print every in-scope rule of the versions in force that has no text for its version."""
    from neuroguide._patient_text import missing_patient_texts

    gaps = missing_patient_texts()
    for gap in gaps:
        print(gap)
    return 1 if gaps else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.patient_text", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("carry", help="carry texts of unchanged rules to a new guideline version")
    c.add_argument("guideline")
    c.add_argument("version")
    sub.add_parser("missing", help="list in-scope rules of the versions in force without a text")
    args = parser.parse_args(argv)
    os.environ.setdefault("NEUROGUIDE_GUIDELINES", str(ROOT / "guidelines"))
    return carry(args.guideline, args.version) if args.command == "carry" else missing()


if __name__ == "__main__":
    sys.exit(main())
