"""The FHIR reader's notes in the text report, the CLI warning and the CDS Hooks cards: apart from what is missing.

"What is missing" lists only the inputs that would let more rules decide, exactly as for the same patient given as
JSON; the reader's notes (resources and codes not used or not recognised, conflicts, assumptions, conformance) have a
section of their own, grouped by kind, each note once and with one prefix. The expected notes are the reader's
``Note`` objects, never text copied from a report.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import attrs
import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import InputError, fhir
from neuroguide.cli import main
from neuroguide.fhir import Note, NoteKind
from neuroguide.report import Style, render_text, summary

DECK = Path(__file__).parent / "data" / "fhir" / "round8"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "fhir"
AS_OF = dt.date(2026, 11, 23)
SECTION = "From the FHIR data: not used, or read with an assumption"
# What each group is called (the specification of the section; the report's own table is not read here).
TITLES = {
    NoteKind.ASSUMPTION: "Read with an assumption",
    NoteKind.CONFLICT: "In conflict",
    NoteKind.UNDECIDED: "Result too imprecise to decide a rule",
    NoteKind.EXCLUDED: "Not used",
    NoteKind.UNRECOGNISED: "Not recognised",
    NoteKind.NONCONFORMANT: "Not conformant",
}
ORDER = [
    NoteKind.ASSUMPTION,
    NoteKind.CONFLICT,
    NoteKind.UNDECIDED,
    NoteKind.EXCLUDED,
    NoteKind.UNRECOGNISED,
    NoteKind.NONCONFORMANT,
]


def _readable() -> list[str]:
    names = []
    for path in sorted(DECK.glob("*.json")):
        try:
            fhir.read(path, as_of=AS_OF)
        except InputError:  # refused bundles (another FHIR version, a diabetes without onset) give no report
            continue
        names.append(path.stem)
    return names


BUNDLES = _readable()


def squash(text: str) -> str:
    """Text without whitespace: wrapping breaks lines at spaces and after hyphens, never inside other characters."""
    return "".join(text.split())


def sections(report: str) -> dict[str, list[str]]:
    """The report's numbered sections by title (without the number), each as its lines."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in report.splitlines():
        head = re.match(r"^\d+\. (.+)$", line)
        if head:
            current = out.setdefault(head.group(1), [])
        elif not line.strip() or not line.startswith(" "):
            current = None
        elif current is not None:
            current.append(line)
    return out


def shown_notes(lines: list[str]) -> list[tuple[str, str]]:
    """(group heading, item) for each item of the notes section, the item's wrapped lines joined."""
    items: list[tuple[str, str]] = []
    heading = ""
    for line in lines:
        if re.match(r"^   \S", line):
            heading = line.strip()
        elif line.startswith("     - "):
            items.append((heading, line[len("     - ") :]))
        else:  # a continuation line of the item above
            items[-1] = (items[-1][0], items[-1][1] + line)
    return items


def assessed(name: str) -> tuple[fhir.Reading, ng.Assessment, str]:
    reading = fhir.read(DECK / f"{name}.json", as_of=AS_OF)
    result = fhir.assess(DECK / f"{name}.json", as_of=AS_OF)
    return reading, result, render_text(result, Style(all_missing=True))


def test_the_deck_has_notes_of_every_kind() -> None:
    """So the tests below see every group."""
    kinds = {n.kind for name in BUNDLES for n in fhir.read(DECK / f"{name}.json", as_of=AS_OF).notes}
    assert kinds == set(NoteKind)


def line_of(note: Note) -> str:
    """The note as the report should write it: its resource (unless ``what`` names it), what and reason."""
    if note.resource in note.what:
        return f"{note.what}: {note.reason}"
    return f"{note.resource}: {note.what}: {note.reason}"


@pytest.mark.parametrize("name", BUNDLES)
def test_every_note_is_shown_once_under_its_kind(name: str) -> None:
    reading, _, report = assessed(name)
    notes = set(reading.notes)
    shown = shown_notes(sections(report).get(SECTION, []))
    assert len(shown) == len(notes)  # none dropped, none twice
    got = []
    for heading, item in shown:
        (kind,) = [k for k, title in TITLES.items() if heading.startswith(title)]
        assert heading.endswith(f"({sum(1 for n in notes if n.kind is kind)}):"), heading
        got.append((kind, squash(item)))
    assert sorted(got) == sorted((n.kind, squash(line_of(n))) for n in notes)


@pytest.mark.parametrize("name", BUNDLES)
def test_what_is_missing_is_that_of_the_same_patient_given_as_json(name: str) -> None:
    reading, result, report = assessed(name)
    plain = render_text(ng.assess(reading.patient, as_of=AS_OF), Style(all_missing=True))
    missing = "What is missing to decide more"
    assert sections(report)[missing] == sections(plain)[missing]
    assert result.missing == ng.assess(reading.patient, as_of=AS_OF).missing
    assert result.notes == reading.notes


@pytest.mark.parametrize("name", BUNDLES)
def test_no_line_carries_two_prefixes(name: str) -> None:
    _, result, report = assessed(name)
    kinds = "|".join(k.value for k in NoteKind)
    for line in [*report.splitlines(), *summary(result)]:
        assert not re.search(rf"^\s*(?:- )?[A-Z][a-z ]+: (?:{kinds}): ", line), line
        assert not re.search(rf"^\s*- (?:{kinds}): ", line), line


@pytest.mark.parametrize("name", BUNDLES)
def test_the_summary_counts_each_kind(name: str) -> None:
    reading, result, _ = assessed(name)
    lines = summary(result)
    notes = set(reading.notes)
    counted = [line for line in lines if line.startswith("From the FHIR data: ")]
    assert len(counted) == (1 if notes else 0)
    counts = "".join(counted)
    for kind in NoteKind:
        n = sum(1 for note in notes if note.kind is kind)
        assert (f"{n} {TITLES[kind].lower()}" in counts.lower()) is (n > 0), (kind, counts)
    # what the advice rests on, and what conflicts, is named in the summary
    for kind, lead in ((NoteKind.ASSUMPTION, "Read with an assumption: "), (NoteKind.CONFLICT, "In conflict: ")):
        named = [line for line in lines if line.startswith(lead)]
        assert bool(named) is any(n.kind is kind for n in notes)


def test_the_groups_come_in_order() -> None:
    reading, _, report = assessed("stu3_condition_status_strings")
    headings = [line.strip() for line in sections(report)[SECTION] if re.match(r"^   \S", line)]
    kinds = [next(k for k, t in TITLES.items() if h.startswith(t)) for h in headings]
    assert kinds == [k for k in ORDER if any(n.kind is k for n in reading.notes)]
    assert len(kinds) >= 3


def test_the_order_does_not_depend_on_the_order_of_the_bundle() -> None:
    bundle = json.loads((DECK / "synthea_transaction_t2dm.json").read_text(encoding="utf-8"))
    shuffled = {**bundle, "entry": random.Random(8).sample(bundle["entry"], len(bundle["entry"]))}
    assert shuffled["entry"] != bundle["entry"]
    first = render_text(fhir.assess(bundle, as_of=AS_OF))
    again = render_text(fhir.assess(shuffled, as_of=AS_OF))
    assert sections(first)[SECTION] == sections(again)[SECTION]


def test_a_note_given_twice_is_shown_once() -> None:
    _, result, report = assessed("synthea_transaction_t2dm")
    twice = attrs.evolve(result, notes=result.notes + result.notes[::-1])
    assert render_text(twice, Style(all_missing=True)) == report


def test_a_json_patient_has_no_notes_section() -> None:
    result = ng.assess(ng.Patient.from_json(EXAMPLES.parent / "t2d-metformin.json"), as_of=AS_OF)
    assert result.notes == ()
    assert SECTION not in render_text(result) and not any(s.startswith("From the FHIR") for s in summary(result))


def test_a_bundle_without_notes_has_no_notes_section() -> None:
    result = fhir.assess(EXAMPLES / "t2d-metformin.json", as_of=AS_OF)
    assert result.notes == () and SECTION not in render_text(result)


def test_the_missing_list_is_not_crowded_out_by_notes() -> None:
    """With the default short list, the inputs shown are the urgent ones, as for the JSON patient."""
    reading, result, _ = assessed("synthea_transaction_t2dm")
    assert len(reading.notes) > 5  # more notes than the short list shows
    short = sections(render_text(result))["What is missing to decide more"]
    plain = sections(render_text(ng.assess(reading.patient, as_of=AS_OF)))["What is missing to decide more"]
    assert short == plain
    assert all(squash(n.text) not in squash("".join(short)) for n in reading.notes)


def test_the_json_warning_lists_each_note_once_by_kind(capsys: pytest.CaptureFixture[str]) -> None:
    reading = fhir.read(DECK / "stu3_condition_status_strings.json", as_of=AS_OF)
    assert main(["assess", str(DECK / "stu3_condition_status_strings.json"), "--as-of", str(AS_OF), "--json"]) == 0
    err = capsys.readouterr().err
    items = [line.strip()[2:] for line in err.splitlines() if line.startswith("    - ")]
    assert sorted(items) == sorted(n.text for n in set(reading.notes))
    unused = sum(1 for n in set(reading.notes) if not n.assumed)
    assert f"{unused} FHIR item(s) not used, {len(set(reading.notes)) - unused} read with an assumption" in err


def test_the_cards_list_each_note_once_with_one_prefix() -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import cards_for

    reading, result, _ = assessed("synthea_transaction_t2dm")
    notes = reading.notes
    cards = cards_for(attrs.evolve(result, notes=()), "rec-1", "http://h", [*notes, *notes])
    reader = [c for c in cards if c["source"]["label"] == "neuroguide: FHIR reader"]
    items = [line[2:] for c in reader for line in c["detail"].splitlines() if line.startswith("- ")]
    assert sorted(items) == sorted(n.text for n in set(notes))
    assert sum(int(c["summary"].split()[0]) for c in reader) == len(set(notes))
    kinds = "|".join(k.value for k in NoteKind)
    assert not [i for i in items if re.match(rf"^(?:{kinds}): ", i)]
    # a resource type not read is named once on its line, not as "Claim: 1 resource(s): Claim/..."
    assert not [i for i in items if re.match(r"^([A-Za-z]+): \d+ resource\(s\): \1/", i)]


def test_a_note_names_its_resource_once() -> None:
    kind = Note(kind=NoteKind.UNRECOGNISED, resource="Claim", what="1 resource(s): Claim/c1", reason="not read")
    code = Note(kind=NoteKind.UNRECOGNISED, resource="Observation/o1", what="http://x|1", reason="no binding")
    assert kind.text == "1 resource(s): Claim/c1: not read"
    assert code.text == "Observation/o1: http://x|1: no binding"
    assert str(kind) == "Claim: 1 resource(s): Claim/c1: not read"  # str() is unchanged (logs, API users)


def test_the_cards_list_the_notes_of_the_assessment_too() -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import cards_for

    reading, result, _ = assessed("patient_partial_unknown_deceased")
    assert result.notes
    both = cards_for(result, "rec-1", "http://h", reading.notes)  # given both ways: still once each
    alone = cards_for(result, "rec-1", "http://h")
    assert both == alone
    reader = [c for c in alone if c["source"]["label"] == "neuroguide: FHIR reader"]
    items = [line[2:] for c in reader for line in c["detail"].splitlines() if line.startswith("- ")]
    assert sorted(items) == sorted(line_of(n) for n in set(reading.notes))
