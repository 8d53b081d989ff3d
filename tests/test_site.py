"""Site governance overlay: validation, application by assess and replay, and the sign-off listing.

Every site here is FICTITIOUS ("Example Test Hospital", approver "Test Approver"): the package ships
no approvals, and the tests must not pretend otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide import _loading, audit
from neuroguide import model as m
from neuroguide import site as s
from neuroguide.cli import main
from neuroguide.exceptions import GuidelineDataError, SiteDataError
from neuroguide.results import RuleOutcome

SITE_FILE = Path(__file__).resolve().parents[1] / "examples" / "site" / "example-test-hospital.toml"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = dt.date(2026, 11, 23)

_DECISION = """
[[decisions]]
guideline = "{g}"
version = "{v}"
{rule}
decision = "{d}"
approver = "Test Approver"
role = "Test role"
date = 2026-10-01
scope = "Test scope"
review_due = {due}
{extra}
"""


def _site(*decisions: str) -> bytes:
    head = '[site]\nid = "example-test-hospital"\nname = "Example Test Hospital"\n'
    return (head + "".join(decisions)).encode()


def _decision(g: str, v: str, d: str, rule: str | None = None, extra: str = "", due: str = "2027-10-01") -> str:
    return _DECISION.format(g=g, v=v, d=d, rule=f'rule = "{rule}"' if rule else "", extra=extra, due=due)


@pytest.fixture(scope="module")
def site() -> s.Site:
    return s.load_site(SITE_FILE)


@pytest.fixture(scope="module")
def patient() -> ng.Patient:
    return ng.Patient.from_json(EXAMPLES / "t2d-metformin.json")


# -- validation -------------------------------------------------------------------------------


def test_the_test_site_loads_with_its_hash(site: s.Site) -> None:
    import hashlib

    assert site.site.name == "Example Test Hospital"
    assert site.sha256 == hashlib.sha256(SITE_FILE.read_bytes()).hexdigest()
    assert {d.approver for d in site.decisions} == {"Test Approver"}


def test_every_problem_is_reported_at_once_with_its_key_path() -> None:
    data = _site(
        _decision("ada-neuropathy", "2099.1", "adopt"),
        _decision("ada-neuropathy", "2026.1", "adopt", rule="no-such-rule"),
        _decision("ada-neuropathy", "2026.1", "approve-locally", rule="dpn-screening", extra='reason = "x"'),
        _decision("ada-neuropathy", "2026.1", "disable", rule="dpn-assessment"),
        _decision("ada-neuropathy", "2026.1", "adopt-with-note", rule="foot-history", due="2026-09-01"),
    )
    with pytest.raises(SiteDataError) as info:
        s.parse_site(data, "bad.toml")
    found = {(p.path, p.message.split(";")[0][:40]) for p in info.value.problems}
    paths = [p.path for p in info.value.problems]
    assert "$.decisions[0].version" in paths
    assert "$.decisions[1].rule" in paths
    assert "$.decisions[2].decision" in paths  # approve-locally of an approved rule
    assert "$.decisions[3].reason" in paths  # disable without a reason
    assert "$.decisions[4].note" in paths  # adopt-with-note without a note
    assert "$.decisions[4].review_due" in paths
    assert len(found) >= 6
    assert all(p.file == "bad.toml" for p in info.value.problems)
    # One error type for data problems: callers that catch GuidelineDataError catch this too.
    assert isinstance(info.value, GuidelineDataError)
    assert isinstance(info.value, ValueError)
    assert "problems in the site overlay" in str(info.value)


def test_unknown_keys_bad_dates_and_bad_decisions_are_named() -> None:
    bad = _site(_decision("ada-neuropathy", "2026.1", "rubber-stamp", extra="colour = 1")).replace(
        b"date = 2026-10-01", b'date = "yesterday"'
    )
    with pytest.raises(SiteDataError) as info:
        s.parse_site(bad, "bad.toml")
    paths = {p.path for p in info.value.problems}
    assert {"$.decisions[0].colour", "$.decisions[0].decision", "$.decisions[0].date"} <= paths


def test_conflicting_decisions_are_refused_not_resolved() -> None:
    data = _site(
        _decision("ada-neuropathy", "2026.1", "adopt", rule="dpn-screening"),
        _decision("ada-neuropathy", "2026.1", "disable", rule="dpn-screening", extra='reason = "x"'),
    )
    with pytest.raises(SiteDataError, match="same target as decisions"):
        s.parse_site(data)


def test_the_hash_cannot_be_written_into_the_file() -> None:
    with pytest.raises(SiteDataError, match="computed from the file"):
        s.parse_site(b'sha256 = "0"\n' + _site(), "x.toml")


def _urgent_rules(status: m.Status) -> list[tuple[m.Guideline, m.Rule]]:
    cat = _loading.catalog()
    return [(g, r) for g in cat.all() for r in g.rules if m.is_urgent(r) and r.status is status]


@pytest.mark.parametrize("status", [m.Status.APPROVED, m.Status.IN_REVIEW])
def test_an_urgent_rule_may_not_be_disabled(status: m.Status) -> None:
    g, r = _urgent_rules(status)[0]
    data = _site(_decision(g.id, g.version, "disable", rule=r.id, extra='reason = "local pathway"'))
    with pytest.raises(SiteDataError, match="may not be disabled") as info:
        s.parse_site(data)
    assert info.value.problems[0].path == "$.decisions[0].decision"


def test_a_version_holding_an_urgent_rule_may_not_be_disabled_whole() -> None:
    g, _ = _urgent_rules(m.Status.APPROVED)[0]
    data = _site(_decision(g.id, g.version, "disable", extra='reason = "not used here"'))
    with pytest.raises(SiteDataError, match="holds urgent rules"):
        s.parse_site(data)


def test_an_urgent_rule_can_carry_a_local_pathway_note_instead() -> None:
    g, r = _urgent_rules(m.Status.APPROVED)[0]
    note = 'note = "Test note: call the fictitious on-call team."'
    site = s.parse_site(_site(_decision(g.id, g.version, "adopt-with-note", rule=r.id, extra=note)))
    assert site.details(g.id, g.version, r.id)[0].endswith("Test note: call the fictitious on-call team.")


def test_approve_locally_is_rule_by_rule() -> None:
    data = _site(_decision("ada-neuropathy", "2026.1", "approve-locally", extra='reason = "x"'))
    with pytest.raises(SiteDataError, match="rule by rule"):
        s.parse_site(data)


# -- assess and replay ------------------------------------------------------------------------


def test_without_a_site_nothing_changes_and_the_record_has_no_site_key(patient: ng.Patient) -> None:
    result = ng.assess(patient, as_of=AS_OF)
    assert result.record.site is None
    assert "site" not in result.record.to_dict()
    assert not any(t.outcome is RuleOutcome.DISABLED for t in result.record.trace)


def test_a_disabled_rule_is_not_evaluated_and_the_trace_says_who_disabled_it(patient: ng.Patient, site: s.Site) -> None:
    plain = ng.assess(patient, as_of=AS_OF)
    assert plain.by_rule("diagnosis-of-exclusion") is not None
    result = ng.assess(patient, as_of=AS_OF, site=site)
    assert result.by_rule("diagnosis-of-exclusion") is None
    (trace,) = [t for t in result.record.trace if t.rule == "diagnosis-of-exclusion"]
    assert trace.outcome is RuleOutcome.DISABLED
    assert "Disabled at Example Test Hospital by Test Approver" in trace.leaves[0]
    assert "Reason: Test reason" in trace.leaves[0]


def test_a_locally_approved_in_review_rule_is_evaluated_and_keeps_its_upstream_status(
    patient: ng.Patient, site: s.Site
) -> None:
    assert ng.assess(patient, as_of=AS_OF).by_rule("foot-self-care-education") is None
    rec = ng.assess(patient, as_of=AS_OF, site=site).by_rule("foot-self-care-education")
    assert rec is not None
    assert rec.rule_status is m.Status.IN_REVIEW
    assert any(d.startswith("Locally approved while in review upstream at Example Test Hospital") for d in rec.details)


def test_a_site_note_is_shown_with_the_recommendation(patient: ng.Patient, site: s.Site) -> None:
    rec = ng.assess(patient, as_of=AS_OF, site=site).by_rule("dpn-screening")
    assert rec is not None
    assert rec.details[-1].startswith("Site note (Example Test Hospital, Test Approver, 2026-10-01): Test note")


def test_the_record_is_stamped_and_replays_only_with_the_same_overlay(
    patient: ng.Patient, site: s.Site, tmp_path: Path
) -> None:
    record = ng.assess(patient, as_of=AS_OF, site=site).record
    assert record.site is not None
    assert record.site.sha256 == site.sha256
    again = ng.EvaluationRecord.from_json(record.to_json())
    assert again == record
    assert ng.replay(again, site=site).identical
    assert audit.replay_record(record.to_json(), site=site).identical
    # Without the overlay, or with another one, the replay differs and says why.
    without = ng.replay(again)
    assert not without.identical
    assert any(d.kind is ng.DifferenceKind.SITE_OVERLAY for d in without.differences)
    changed = s.parse_site(SITE_FILE.read_bytes() + b"\n# edited\n")
    report = ng.replay(again, site=changed)
    assert not report.identical
    assert any("content changed" in d for d in report.differences if d.kind is ng.DifferenceKind.SITE_OVERLAY)
    audited = audit.replay_record(record.to_json())
    assert not audited.identical
    assert any("site overlay" in c for c in audited.causes)


def test_a_record_without_an_overlay_ignores_one_given_to_replay(patient: ng.Patient, site: s.Site) -> None:
    record = ng.assess(patient, as_of=AS_OF).record
    report = ng.replay(record, site=site)
    assert [d.kind for d in report.differences if d.kind.substantive] == [ng.DifferenceKind.SITE_OVERLAY]


# -- sign-off listing -------------------------------------------------------------------------


def test_the_package_ships_no_approvals() -> None:
    report = s.signoff(None, as_of=AS_OF)
    assert report.rows
    assert {r.text for r in report.rows} == {s.NO_SIGNOFF}
    assert report.count("no-signoff") == len(report.rows)


def test_signoff_lists_adopted_disabled_due_and_overdue(site: s.Site) -> None:
    report = s.signoff(site, as_of=AS_OF, due_within=90)
    rows = {(r.guideline, r.rule): r for r in report.rows}
    assert rows["ada-neuropathy", "dpn-screening"].review == "due"  # 2026-12-15 is 22 days after AS_OF
    assert rows["ada-neuropathy", "diagnosis-of-exclusion"].review == "overdue"  # due 2026-11-01
    assert rows["ada-neuropathy", "diagnosis-of-exclusion"].decision.decision is s.DecisionKind.DISABLE  # type: ignore[union-attr]
    adopted = rows["ada-neuropathy", "dpn-assessment"]
    assert adopted.review == "current"
    assert adopted.inherited
    in_review = rows["ada-neuropathy", "glycemic-control"]
    assert "not used unless approved locally" in in_review.text
    assert rows["b12-testing", next(r for g, r in rows if g == "b12-testing")].text == s.NO_SIGNOFF
    # One day either side of a review date.
    on_the_day = {r.rule: r.review for r in s.signoff(site, as_of=dt.date(2026, 11, 1)).rows}
    day_after = {r.rule: r.review for r in s.signoff(site, as_of=dt.date(2026, 11, 2)).rows}
    assert on_the_day["diagnosis-of-exclusion"] == "due"
    assert day_after["diagnosis-of-exclusion"] == "overdue"


def test_a_decision_for_a_version_not_in_effect_is_listed_as_stale() -> None:
    data = _site(_decision("ada-neuropathy", "2024.1", "adopt"))
    report = s.signoff(s.parse_site(data), as_of=AS_OF)
    assert [(d.guideline, d.version) for d in report.stale] == [("ada-neuropathy", "2024.1")]


# -- command line -----------------------------------------------------------------------------


def test_cli_assess_with_a_site(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["assess", str(EXAMPLES / "t2d-metformin.json"), "--as-of", "2026-11-23"]
    assert main([*args, "--site", str(SITE_FILE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["site"]["name"] == "Example Test Hospital"
    assert main([*args, "--site", str(SITE_FILE)]) == 0
    out = capsys.readouterr().out
    assert "Site note (Example Test Hospital" in out
    assert "site overlay: Example Test Hospital" in out


def test_cli_replay_with_a_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "record.json"
    assert (
        main(
            [
                "assess",
                str(EXAMPLES / "t2d-metformin.json"),
                "--as-of",
                "2026-11-23",
                "--site",
                str(SITE_FILE),
                "--json",
            ]
        )
        == 0
    )
    record.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["audit", "replay", str(record), "--site", str(SITE_FILE)]) == 0
    assert "IDENTICAL" in capsys.readouterr().out
    assert main(["audit", "replay", str(record)]) == 1
    assert "site overlay" in capsys.readouterr().out


def test_cli_signoff(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "signoff", "--as-of", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    assert "ships no local approvals" in out
    assert "without site sign-off" in out
    assert main(["audit", "signoff", "--site", str(SITE_FILE), "--as-of", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    assert "OVERDUE" in out
    assert "REVIEW DUE" in out
    assert "DISABLED" in out
    assert main(["audit", "signoff", "--site", str(SITE_FILE), "--as-of", "2026-11-23", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["site"]["sha256"] == s.load_site(SITE_FILE).sha256


def test_cli_signoff_needs_an_explicit_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["audit", "signoff"])
    assert info.value.code == 2


def test_cli_bad_site_exits_2_listing_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "site.toml"
    bad.write_bytes(_site(_decision("ada-neuropathy", "2099.1", "adopt"), _decision("nope", "1", "adopt")))
    assert main(["audit", "signoff", "--site", str(bad), "--as-of", "2026-11-23"]) == 2
    err = capsys.readouterr().err
    assert "2 problems in the site overlay" in err
    assert "$.decisions[1].version" in err


def test_the_text_report_says_which_rules_the_site_disabled(patient: ng.Patient, site: s.Site) -> None:
    from neuroguide.report import render_text

    text = " ".join(render_text(ng.assess(patient, as_of=AS_OF, site=site)).split())
    assert "not evaluated: rule diagnosis-of-exclusion" in text
    assert "Disabled at Example Test Hospital by Test Approver" in text


def test_a_decision_for_an_older_version_is_a_visible_flag_in_the_assessment(patient: ng.Patient) -> None:
    # The 2026.1 decision does not govern 2026.2 (the version in force): not applied, and said so.
    older = _decision("ada-neuropathy", "2026.1", "disable", rule="dpn-screening", extra='reason = "x"')
    site = s.parse_site(_site(older))
    result = ng.assess(patient, as_of=AS_OF, site=site)
    flags = [f for f in result.record.flags if f.kind is ng.FlagKind.SITE_DECISION_NOT_APPLIED]
    assert len(flags) == 1
    assert "ada-neuropathy 2026.1, rule dpn-screening" in flags[0].message
    assert "this assessment uses ada-neuropathy 2026.2" in flags[0].message
    assert result.by_rule("dpn-screening") is not None  # not disabled: the decision named another version
    from neuroguide.report import render_text

    assert "SITE DECISIONS NOT APPLIED" in render_text(result)
    assert ng.replay(result.record, site=site).identical


def test_a_decision_for_the_version_in_use_raises_no_flag(patient: ng.Patient, site: s.Site) -> None:
    result = ng.assess(patient, as_of=AS_OF, site=site)
    assert not [f for f in result.record.flags if f.kind is ng.FlagKind.SITE_DECISION_NOT_APPLIED]
