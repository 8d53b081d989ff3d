"""Patient texts: every shown rule has one, it says no more than the rule, and it reads at grade 8 or below."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import statistics
import zipfile
from pathlib import Path

import attrs
import pytest
import textstat

from neuroguide import _loading
from neuroguide import _patient_text as pt
from neuroguide import model as m
from neuroguide.exceptions import GuidelineDataError

# The guideline versions whose rules have texts (the latest released version of each when the texts were
# written). A newer version is checked by adding it here once its texts are written; until then
# `missing_patient_texts()` lists its rules without a text (data to act on, not a failing test).
COVERED = {
    "presentation-pattern": "2024.2",
    "ada-diabetes-diagnosis": "2026.2",
    "ada-neuropathy": "2026.2",
    "aha-acc-pad": "2024.2",
    "b12-testing": "2024.3",
    "drug-dosing": "2026.4",
    "drug-neurotoxicity": "2026.3",
    "inflammatory-neuropathy": "2021.1",
    "iwgdf-foot": "2023.2",
    "neuropathy-workup": "2020.2",
    "oh-treatment": "2025.2",
    "pdn-treatment": "2022.1",
    "thiamine": "2012.3",
}

# Flesch–Kincaid grade 8 is the ceiling: patient materials are commonly asked to read at or below
# US school grade 8; the texts keep drug and test names, which cost grade points, so 6 is not
# reachable for all of them without dropping those names.
MAX_GRADE = 8.0

# Numbers in a rule's action that a patient text leaves out on purpose, with the reason.
ACTION_NUMBERS_LEFT_OUT = {
    # Toxicity grades 1-4 are the clinicians' grading scale; the text keeps the instruction itself.
    "neurotox-nivolumab": {1.0, 2.0, 3.0, 4.0},
    "neurotox-pembrolizumab": {1.0, 2.0, 3.0, 4.0},
    "neurotox-ipilimumab": {1.0, 2.0, 3.0, 4.0},
}

_NUMBER = re.compile(r"(?<![A-Za-z0-9.])\d+(?:\.\d+)?")  # not the 12 of "B12" or the 2 of "m2"
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def numbers(text: str) -> set[float]:
    return {float(x) for x in _NUMBER.findall(_THOUSANDS.sub("", text))}


def rule_wording(rule: m.Rule) -> str:
    """Every string of a rule except its citations and review notes: what a text may restate."""
    skip = {"citations", "deviations", "review_note", "boundary"}
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk({k: v for k, v in attrs.asdict(rule, recurse=True).items() if k not in skip})
    return " ".join(out)


def grade(text: str) -> float:
    return round(float(textstat.flesch_kincaid_grade(text)), 1)


def _in_scope() -> list[tuple[m.Guideline, m.Rule]]:
    cat = _loading.catalog()
    return [(g, r) for gid, ver in COVERED.items() for g in [cat.get(gid, ver)] for r in g.rules if pt.in_scope(r)]


IN_SCOPE = _in_scope()
TEXTS = sorted(pt.patient_texts().values(), key=lambda t: (t.guideline_id, t.rule_id))


def _ids(pairs: list[tuple[m.Guideline, m.Rule]]) -> list[str]:
    return [r.id for _, r in pairs]


# -- coverage ------------------------------------------------------------------------------------


def test_every_in_scope_rule_of_the_covered_versions_has_a_text() -> None:
    cat = _loading.catalog()
    missing = pt.missing_patient_texts(cat.get(gid, ver) for gid, ver in COVERED.items())
    assert missing == [], "\n".join(map(str, missing))
    assert (
        len(IN_SCOPE) == 118
    )  # 110 + two NICE NG19 foot referrals (iwgdf-foot 2023.2) + pattern-myelopathy (approved in 2024.1)
    # + wernicke-thiamine-treatment and thiamine-after-bariatric-surgery (thiamine 2012.3)
    # + rapidly-progressive-limb-weakness (presentation-pattern 2024.2)
    # + gabapentinoid-combination (drug-dosing 2026.3)
    # + neurotox-metronidazole (approved in drug-neurotoxicity 2026.3)


def test_urgent_rules_in_review_are_in_scope() -> None:
    gbs = _loading.catalog().get("inflammatory-neuropathy", "2021.1").rule("gbs-respiratory")
    assert gbs.status is m.Status.IN_REVIEW
    assert pt.in_scope(gbs)
    assert pt.patient_text("gbs-respiratory", "inflammatory-neuropathy", "2021.1") is not None
    routine = _loading.catalog().get("ada-neuropathy", "2026.1").rule("atypical-referral")
    assert routine.status is m.Status.IN_REVIEW
    assert not pt.in_scope(routine)


def test_every_text_belongs_to_an_in_scope_rule_of_a_listed_version() -> None:
    cat = _loading.catalog()
    for t in TEXTS:
        for version in t.applies_to_versions:
            assert t.rule_id in {r.id for r in cat.get(t.guideline_id, version).rules}


def test_lookup_by_rule_guideline_and_version() -> None:
    found = pt.patient_text("dpn-screening", "ada-neuropathy", "2026.1")
    assert found is not None
    assert found.rule_id == "dpn-screening"
    assert found.guideline_id == "ada-neuropathy"
    assert found.file == "patient-text/ada-neuropathy.toml"
    # 2017.1 worded the rule differently: its text was not checked against that wording.
    assert "2017.1" not in found.applies_to_versions
    assert pt.patient_text("dpn-screening", "ada-neuropathy", "2017.1") is None
    assert pt.patient_text("no-such-rule", "ada-neuropathy", "2026.1") is None
    assert pt.patient_text("dpn-screening", "no-such-guideline", "2026.1") is None


def test_missing_texts_are_listed_as_data() -> None:
    old = _loading.catalog().get("ada-neuropathy", "2017.1")
    expected = [
        r.id
        for r in old.rules
        if pt.in_scope(r) and "2017.1" not in getattr(pt.patient_texts().get((old.id, r.id)), "applies_to_versions", ())
    ]
    missing = pt.missing_patient_texts([old])
    assert [mt.rule_id for mt in missing] == expected
    assert expected, "2017.1 has rules worded differently from 2026.1"
    assert all(mt.guideline_id == "ada-neuropathy" and mt.version == "2017.1" for mt in missing)
    assert "has no patient text" in str(missing[0])
    problems = pt.text_problems([old])
    assert [p.path for p in problems] == [f"$.rules.{rid}" for rid in expected]
    assert all("rule without patient text" in p.message for p in problems)


def test_the_packaged_latest_versions_have_no_missing_texts_or_problems() -> None:
    covered = [g for g in pt._latest(_loading.catalog()) if COVERED.get(g.id) == g.version]
    assert pt.text_problems(covered) == []


# -- what the texts say --------------------------------------------------------------------------


@pytest.mark.parametrize("t", TEXTS, ids=lambda t: t.rule_id)
def test_a_text_adds_no_number_its_rule_does_not_state(t: pt.PatientText) -> None:
    cat = _loading.catalog()
    for version in t.applies_to_versions:
        rule = cat.get(t.guideline_id, version).rule(t.rule_id)
        extra = numbers(t.full()) - numbers(rule_wording(rule))
        assert not extra, f"{t.rule_id} ({version}): {sorted(extra)} are not in the rule"


@pytest.mark.parametrize(("g", "rule"), IN_SCOPE, ids=_ids(IN_SCOPE))
def test_a_text_keeps_every_number_of_its_rules_action(g: m.Guideline, rule: m.Rule) -> None:
    action = " ".join(str(getattr(rule, f)) for f in ("action", "caution", "exception") if getattr(rule, f, None))
    years = {float(s.year) for s in g.sources}  # "AAN 2009" names a source, not a clinical number
    t = pt.patient_text(rule.id, g.id, g.version)
    assert t is not None
    left_out = numbers(action) - numbers(t.full()) - years - ACTION_NUMBERS_LEFT_OUT.get(rule.id, set())
    assert not left_out, f"{rule.id}: the action's {sorted(left_out)} are missing from the text"


def test_the_left_out_numbers_are_still_in_those_actions() -> None:
    cat = _loading.catalog()
    for rid, left_out in ACTION_NUMBERS_LEFT_OUT.items():
        rule = cat.get("drug-neurotoxicity", COVERED["drug-neurotoxicity"]).rule(rid)
        assert isinstance(rule, m.NeurotoxicityRule)
        assert left_out <= numbers(rule.action)


def test_numbers_are_read_as_written() -> None:
    assert numbers("1,800 mg; 5.7–6.4%; vitamin B12; 16 mg/m2; 128-Hz; 0.90") == {1800, 5.7, 6.4, 16, 128, 0.9}


JARGON = (
    "[fires]",
    "fires",
    "seed",
    "in-review",
    "in review",
    "approved rule",
    "neuroguide",
    "rule id",
    "guideline file",
)


@pytest.mark.parametrize("t", TEXTS, ids=lambda t: t.rule_id)
def test_no_internal_jargon_or_rule_ids(t: pt.PatientText) -> None:
    text = t.full().lower()
    for word in JARGON:
        assert word not in text, f"{t.rule_id}: {word!r}"
    rule_ids = {r.id for g in _loading.catalog().all() for r in g.rules if "-" in r.id}
    for rid in rule_ids:
        assert rid not in text, f"{t.rule_id}: names the rule id {rid!r}"


@pytest.mark.parametrize("t", TEXTS, ids=lambda t: t.rule_id)
def test_short_sentences_spoken_to_the_person(t: pt.PatientText) -> None:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", t.full()) if s]
    assert max(len(s.split()) for s in sentences) <= 30, t.rule_id
    assert t.why is None or len(sentences) - len(re.split(r"(?<=[.!?])\s+", t.text)) == 1, "why is one sentence"
    assert re.search(r"\b(you|your)\b", t.text, re.IGNORECASE), f"{t.rule_id}: not spoken to the person"


URGENCY_WORDS = ("emergency", "urgent", "now", "at once", "immediately", "right away", "today", "promptly")


@pytest.mark.parametrize(("g", "rule"), IN_SCOPE, ids=_ids(IN_SCOPE))
def test_urgency_in_the_rules_own_terms(g: m.Guideline, rule: m.Rule) -> None:
    t = pt.patient_text(rule.id, g.id, g.version)
    assert t is not None
    text = t.full().lower()
    own = rule_wording(rule).lower()
    urgency = getattr(rule, "urgency", None)
    allowed = (
        {"emergency", "now"} if urgency is m.Urgency.EMERGENCY else {"urgent"} if urgency is m.Urgency.URGENT else set()
    )
    if urgency is m.Urgency.EMERGENCY:
        assert "emergency" in text and re.search(r"\bnow\b", text) and "call emergency services" in text
    elif urgency is m.Urgency.URGENT:
        assert "urgent" in text and "emergency" not in text
    for word in URGENCY_WORDS:
        if re.search(rf"\b{word}", text) and word not in allowed:
            assert re.search(rf"\b{word}", own), f"{rule.id}: {word!r} is not in the rule's own wording"


# -- reading level ------------------------------------------------------------------------------


@pytest.mark.parametrize("t", TEXTS, ids=lambda t: t.rule_id)
def test_reading_level_is_measured_and_recorded(t: pt.PatientText) -> None:
    measured = grade(t.full())
    assert measured <= MAX_GRADE, f"{t.rule_id}: Flesch–Kincaid grade {measured} > {MAX_GRADE}"
    assert t.reviewed.grade == pytest.approx(measured, abs=0.05), f"{t.rule_id}: record grade = {measured}"
    assert t.reviewed.measure == "Flesch–Kincaid grade"
    assert t.reviewed.by == "neuroguide developers (not a clinical sign-off)"
    assert t.reviewed.date == dt.date(2026, 11, 30)


def test_reading_level_summary() -> None:
    grades = [grade(t.full()) for t in TEXTS]
    # Measured with textstat 0.7.8: median 5.3, max 7.6 over 86 texts (see CHANGELOG.md).
    assert statistics.median(grades) <= 6.0
    assert max(grades) <= MAX_GRADE


def test_the_grade_measure_is_flesch_kincaid() -> None:
    # 0.39 * words/sentence + 11.8 * syllables/word - 15.59, on a text whose counts are plain:
    # 6 words, 1 sentence, 6 syllables -> 0.39 * 6 + 11.8 - 15.59 = -1.45
    assert textstat.flesch_kincaid_grade("The cat sat on the mat.") == pytest.approx(-1.45, abs=0.01)


# -- the files ----------------------------------------------------------------------------------


def test_each_text_names_the_sha256_of_its_file() -> None:
    root = pt.texts_root()
    files = pt.patient_text_files()
    assert set(files) == {f"patient-text/{gid}.toml" for gid in COVERED}
    for name, digest in files.items():
        data = (root / name.removeprefix("patient-text/")).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


@pytest.mark.skipif("NEUROGUIDE_WHEEL" not in os.environ, reason="only when testing a built wheel (nox -s tests)")
def test_the_wheel_ships_the_texts() -> None:
    names = set(zipfile.ZipFile(os.environ["NEUROGUIDE_WHEEL"]).namelist())
    for gid in COVERED:
        assert f"neuroguide/_data/patient-text/{gid}.toml" in names


# -- the validator ------------------------------------------------------------------------------

_REVIEWED = (
    'reviewed = { by = "neuroguide developers (not a clinical sign-off)", date = 2026-11-30,'
    ' measure = "Flesch–Kincaid grade", grade = 2.0 }'
)

_GOOD = """\
[rules.dpn-screening]
text = "You should be checked."
applies_to_versions = ["2026.1"]
REVIEWED
""".replace("REVIEWED", _REVIEWED)

_BAD = """\
colour = "blue"

[rules.dpn-screening]
text = ""
tone = "kind"
applies_to_versions = ["2026.1", "1999.1"]
reviewed = { by = "Dr Smith", date = "yesterday", measure = "SMOG", grade = true, note = "x" }

[rules.dpn-screenin]
text = "A typo in the rule id."
applies_to_versions = ["2026.1"]
REVIEWED

[rules.orthostatic-hypotension]
text = "A rule added in 2026.1, not in 2017.1."
applies_to_versions = ["2017.1"]
REVIEWED
""".replace("REVIEWED", _REVIEWED)


def test_a_good_file_loads() -> None:
    texts = pt.load_texts(_GOOD.encode(), "ada-neuropathy.toml", _loading.catalog())
    assert texts["dpn-screening"].text == "You should be checked."
    assert texts["dpn-screening"].sha256 == hashlib.sha256(_GOOD.encode()).hexdigest()


def test_every_problem_is_listed_at_once_with_file_and_key_path() -> None:
    with pytest.raises(GuidelineDataError) as info:
        pt.load_texts(_BAD.encode(), "ada-neuropathy.toml", _loading.catalog())
    got = {(p.file, p.path) for p in info.value.problems}
    f = "patient-text/ada-neuropathy.toml"
    at = "$.rules.dpn-screening"
    assert got >= {
        (f, "$.colour"),
        (f, f"{at}.text"),
        (f, f"{at}.tone"),
        (f, f"{at}.applies_to_versions[1]"),
        (f, f"{at}.reviewed.by"),
        (f, f"{at}.reviewed.date"),
        (f, f"{at}.reviewed.measure"),
        (f, f"{at}.reviewed.grade"),
        (f, f"{at}.reviewed.note"),
        (f, "$.rules.dpn-screenin"),
    }
    message = str(info.value)
    assert "did you mean 'dpn-screening'" in message
    assert "no clinical sign-off may be claimed" in message
    later = [p for p in info.value.problems if p.path.startswith("$.rules.orthostatic-hypotension")]
    assert [(p.path, p.message) for p in later] == [
        (
            "$.rules.orthostatic-hypotension.applies_to_versions[0]",
            "version '2017.1' has no rule 'orthostatic-hypotension'",
        )
    ]


def test_unknown_guideline_and_bad_toml_are_named() -> None:
    cat = _loading.catalog()
    with pytest.raises(GuidelineDataError, match="no guideline 'no-such'"):
        pt.load_texts(_GOOD.encode(), "no-such.toml", cat)
    with pytest.raises(GuidelineDataError, match="not valid TOML"):
        pt.load_texts(b"[rules.x\n", "ada-neuropathy.toml", cat)


def test_a_folder_with_problems_loads_nothing(tmp_path: Path) -> None:
    (tmp_path / "ada-neuropathy.toml").write_text(_GOOD, encoding="utf-8")
    (tmp_path / "thiamine.toml").write_text('[rules.thiamine-before-glucose]\ntext = "x"\n', encoding="utf-8")
    with pytest.raises(GuidelineDataError) as info:
        pt.load_folder(tmp_path, _loading.catalog())
    assert {p.file for p in info.value.problems} == {"patient-text/thiamine.toml"}
    (tmp_path / "thiamine.toml").unlink()
    assert set(pt.load_folder(tmp_path, _loading.catalog())) == {("ada-neuropathy", "dpn-screening")}
