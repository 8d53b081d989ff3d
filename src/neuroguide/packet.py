"""A printable sign-off packet for one guideline version: one self-contained HTML file.

What a governance committee reads and signs at a release: for every rule its
statement, decision logic, quotes with locators and how each was verified, the
tests that assert it with their last outcome, the words changed since the previous
version, and sign-off fields, blank or filled from a site overlay. The file has
print styles (A4) and loads nothing from outside: no script, font or stylesheet.

Test outcomes come from a JUnit XML file passed in (the installed package never
reads a source checkout). The test suite records which rule each test asserts as
``rule`` properties of the test suite (``tests/conftest.py``).
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from . import audit as a
from . import model as m
from . import site as s
from ._loading import Catalog, catalog, read_lock
from ._redline import as_html
from .exceptions import InputError
from .results import package_version

__all__ = ["TestOutcome", "read_rule_tests", "render_packet"]


@attrs.frozen(kw_only=True)
class TestOutcome:
    """One test of a rule and its outcome in the run the JUnit file records."""

    __test__ = False  # not a pytest test class

    name: str
    outcome: str  # passed, failed, skipped, not run


def read_rule_tests(results: Path) -> tuple[dict[str, list[TestOutcome]], str]:
    """Read rule -> tests (with outcomes) and the run's timestamp from a JUnit XML file.

    Raises:
        InputError: the file cannot be read or is not JUnit XML.

    """
    try:
        root = ET.parse(results).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InputError("--test-results", str(results), f"a readable JUnit XML file ({exc})") from None
    outcomes: dict[tuple[str, str], str] = {}
    stamp = ""
    pairs: list[tuple[str, str]] = []
    for suite in root.iter("testsuite"):
        stamp = stamp or suite.get("timestamp", "")
        for prop in suite.iterfind("properties/property"):
            if prop.get("name") == "rule":
                rule, _, node = (prop.get("value") or "").partition(" ")
                if rule and node:
                    pairs.append((rule, node))
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            word = "failed"
        elif case.find("skipped") is not None:
            word = "skipped"
        else:
            word = "passed"
        outcomes[(case.get("classname", ""), case.get("name", ""))] = word
    by_rule: dict[str, list[TestOutcome]] = {}
    for rule, node in pairs:
        by_rule.setdefault(rule, []).append(TestOutcome(name=node, outcome=_find(node, outcomes)))
    return by_rule, stamp


def _find(node: str, outcomes: Mapping[tuple[str, str], str]) -> str:
    path, *parts = node.split("::")
    if not parts:
        return "not run"
    module = path.removesuffix(".py").replace("/", ".")
    expected = module + "".join(f".{p}" for p in parts[:-1])
    for (classname, name), word in outcomes.items():
        if name == parts[-1] and (expected == classname or expected.endswith("." + classname)):
            return word
    return "not run"


_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10.5pt; line-height: 1.4;
       color: #111; max-width: 190mm; margin: 1em auto; padding: 0 1em; }
h1 { font-size: 17pt; margin: 0 0 .3em; } h2 { font-size: 13.5pt; border-bottom: 1px solid #999;
  margin-top: 1.4em; break-after: avoid; } h3 { font-size: 11.5pt; margin: 1.1em 0 .3em; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: .4em 0; }
th, td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #eee; } tr { break-inside: avoid; }
.meta td:first-child { width: 30%; font-weight: bold; }
blockquote { margin: .3em 0 .3em 1em; padding-left: .6em; border-left: 3px solid #888; }
.quiet { color: #444; font-size: 9.5pt; }
.warn { border: 2px solid #b45309; background: #fff7ed; padding: 4px 6px; }
.rule { border-top: 2px solid #333; margin-top: 1.2em; padding-top: .3em; }
.signoff { break-inside: avoid; border: 1px solid #333; padding: 6px; margin: .5em 0; }
.signoff td { height: 1.7em; } .signoff td:first-child { width: 28%; }
.box { display: inline-block; width: .9em; height: .9em; border: 1px solid #000; margin: 0 .2em 0 .8em;
  vertical-align: middle; text-align: center; line-height: .9em; }
ins.redline-ins { background: #dcfce7; text-decoration: underline; }
del.redline-del { background: #fee2e2; text-decoration: line-through; }
.passed { color: #166534; } .failed { color: #b91c1c; font-weight: bold; } .notrun { color: #92400e; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; overflow-wrap: anywhere; }
table.redline td:first-child { width: 26%; }
@page { size: A4; margin: 14mm 12mm; }
@media print { body { margin: 0; max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def render_packet(
    guideline_id: str,
    version: str,
    *,
    source: Catalog | None = None,
    site: s.Site | None = None,
    results: Path | None = None,
) -> str:
    """Render the sign-off packet of one guideline version as self-contained HTML.

    Args:
        guideline_id: the guideline id.
        version: the version to sign off.
        source: a catalog other than the packaged one.
        site: a site overlay: its decisions fill the sign-off fields.
        results: a JUnit XML file of the test run whose outcomes to show.

    Returns:
        The HTML document.

    Raises:
        UnknownGuidelineError: no such guideline or version.
        InputError: the JUnit file cannot be read.

    """
    cat = source if source is not None else catalog()
    g = cat.get(guideline_id, version=version)
    tests, stamp = read_rule_tests(results) if results is not None else ({}, "")
    versions = cat.versions(guideline_id)
    index = [v.version for v in versions].index(g.version)
    previous = versions[index - 1] if index > 0 else None
    locked = read_lock(cat.root).get(g.path)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Sign-off packet: {_e(g.title)} {_e(g.version)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Sign-off packet: {_e(g.title)}, version {_e(g.version)}</h1>",
        '<table class="meta">',
        _row("Guideline id", f"<code>{_e(g.id)}</code>"),
        _row("Version / effective", f"{_e(g.version)}, effective {g.effective.isoformat()}"),
        _row("Upstream status", _e(g.status.value)),
        _row("File and sha256", f"<code>{_e(g.path)}</code><br><code>{_e(g.sha256)}</code>"),
        _row(
            "Lock entry",
            "matches the file"
            if locked == g.sha256
            else f"<b>does not match</b> (lock pins <code>{_e(locked)}</code>)"
            if locked
            else "<b>not locked</b>",
        ),
        _row("Previous version", _e(previous.version) if previous else "none (first version in the catalog)"),
        _row("Rules", str(len(g.rules))),
        _row("Produced by", f"neuroguide {_e(package_version())}"),
        _row(
            "Test outcomes",
            f"from the JUnit file {_e(results.name)}" + (f", run at {_e(stamp)}" if stamp else "")
            if results is not None
            else '<span class="notrun">no test run given: every test shows "not run"</span>',
        ),
        _row("Mutation check", "not recorded in this packet (run by the project's mutation session)"),
        "</table>",
        f"<p>{_e(g.summary)}</p>",
    ]
    out += _version_signoff(g, site)
    out += _summary(g, site, tests)
    out += _changes(g, previous, cat)
    out += ["<h2>Rules</h2>"]
    for rule in g.rules:
        out += _rule(g, rule, site, tests.get(rule.id, []), results is not None)
    out += ["<h2>Sources</h2>", "<ul>"]
    for src in g.sources:
        ref = f" doi:{_e(src.doi)}" if src.doi else f" {_e(src.url)}" if src.url else ""
        pmid = f" PMID {_e(src.pmid)}" if src.pmid else ""
        out.append(
            f"<li><b>{_e(src.short())}</b>: {_e(', '.join(src.authors))}. {_e(src.title)}. "
            f"{_e(src.journal or src.publisher or '')} {src.year}.{ref}{pmid}</li>"
        )
    out += ["</ul>", "</body></html>"]
    return "\n".join(out)


def _row(head: str, value: str) -> str:
    return f"<tr><td>{_e(head)}</td><td>{value}</td></tr>"


_KINDS = ("adopt", "adopt-with-note", "disable", "approve-locally")


def _signoff_block(title: str, d: s.Decision | None, site: s.Site | None, *, allowed: Sequence[str]) -> list[str]:
    checks = "".join(
        f'<span class="box">{"X" if d is not None and d.decision.value == k else ""}</span>{_e(k)}' for k in allowed
    )

    def val(text: object | None) -> str:
        return _e(text) if text is not None else ""

    return [
        f'<div class="signoff"><b>{_e(title)}</b>'
        + (f' <span class="quiet">(site: {_e(site.site.name)})</span>' if site is not None else "")
        + (f'<p class="quiet">{_e(s.NO_SIGNOFF)}</p>' if d is None else ""),
        "<table>",
        f"<tr><td>Decision</td><td>{checks}</td></tr>",
        f"<tr><td>Approver name</td><td>{val(d.approver if d else None)}</td></tr>",
        f"<tr><td>Role</td><td>{val(d.role if d else None)}</td></tr>",
        f"<tr><td>Date</td><td>{val(d.date.isoformat() if d else None)}</td></tr>",
        f"<tr><td>Scope</td><td>{val(d.scope if d else None)}</td></tr>",
        f"<tr><td>Review due</td><td>{val(d.review_due.isoformat() if d else None)}</td></tr>",
        f"<tr><td>Note or reason</td><td>{val((d.note or d.reason) if d else None)}</td></tr>",
        "<tr><td>Signature</td><td></td></tr>",
        "</table></div>",
    ]


def _version_signoff(g: m.Guideline, site: s.Site | None) -> list[str]:
    d = None
    if site is not None:
        found = site.decision(g.id, g.version)
        d = found if found is not None and found.rule is None else None
    block = _signoff_block(f"{g.id} {g.version}", d, site, allowed=_KINDS[:3])
    return ["<h2>Sign-off for the whole version</h2>", *block]


def _test_counts(items: Sequence[TestOutcome]) -> str:
    if not items:
        return '<span class="notrun">none recorded</span>'
    words = [t.outcome for t in items]
    parts = [f"{words.count(w)} {w}" for w in ("passed", "failed", "skipped", "not run") if w in words]
    cls = "failed" if "failed" in words else "notrun" if "not run" in words else "passed"
    return f'<span class="{cls}">{_e(", ".join(parts))}</span>'


def _summary(g: m.Guideline, site: s.Site | None, tests: Mapping[str, Sequence[TestOutcome]]) -> list[str]:
    out = [
        "<h2>Rules at a glance</h2>",
        "<table><tr><th>Rule</th><th>Kind</th><th>Upstream status</th>"
        "<th>Quote verification</th><th>Tests</th><th>Site decision</th></tr>",
    ]
    for r in g.rules:
        d = site.decision(g.id, g.version, r.id) if site is not None else None
        verif = ", ".join(dict.fromkeys(c.verification.status.value for c in r.citations))
        urgent = " (urgent)" if m.is_urgent(r) else ""
        out.append(
            f"<tr><td><a href='#rule-{_e(r.id)}'><code>{_e(r.id)}</code></a></td><td>{_e(r.kind)}{urgent}</td>"
            f"<td>{_e(r.status.value)}</td><td>{_e(verif)}</td><td>{_test_counts(tests.get(r.id, []))}</td>"
            f"<td>{_site_word(d, r)}</td></tr>"
        )
    out.append("</table>")
    return out


def _site_word(d: s.Decision | None, r: m.Rule) -> str:
    if d is None:
        return _e(s.NO_SIGNOFF)
    word = d.decision.value + (" (whole version)" if d.rule is None else "")
    if d.rule is None and r.status is not m.Status.APPROVED:
        word += f"; rule {r.status.value} upstream: not used unless approved locally"
    return _e(word)


def _changes(g: m.Guideline, previous: m.Guideline | None, cat: Catalog) -> list[str]:
    if previous is None:
        return ["<h2>Changes since the previous version</h2>", "<p>First version in the catalog.</p>"]
    out = [
        f"<h2>Changes since version {_e(previous.version)}</h2>",
        '<p class="quiet">Word-level redline: <del class="redline-del">removed</del> '
        '<ins class="redline-ins">added</ins>.</p>',
    ]
    lines = a.redline(g.id, previous.version, g.version, cat)
    if not lines:
        out.append("<p>No rule changed.</p>")
    for r in lines:
        out.append(f"<h3>{_e(r.event)}: <code>{_e(r.id)}</code> {_e(r.title)}</h3>")
        out += [f'<p class="quiet">Change note: {_e(n.what)} Why: {_e(n.why)}</p>' for n in r.notes]
        out.append('<table class="redline">')
        out += [f"<tr><td><code>{_e(f.path)}</code></td><td>{as_html(f.segments)}</td></tr>" for f in r.fields]
        out.append("</table>")
    return out


# Fields shown elsewhere in the packet (or not parameters); every other field of a rule is a parameter row.
_NOT_PARAMETERS = frozenset(
    {"id", "kind", "title", "statement", "citations", "status", "section", "review_note", "boundary", "deviations",
     "applies", "when", "action", "bands", "renal"}
)  # fmt: skip


def _logic(rule: m.Rule) -> list[str]:
    rows = []
    for name in ("applies", "when"):
        c = getattr(rule, name, None)
        if c is not None:
            rows.append((name, a.describe_criterion(c)))
    for field in attrs.fields(type(rule)):
        value = getattr(rule, field.name)
        if field.name not in _NOT_PARAMETERS and value not in (None, ()):
            rows.append((field.name, a._value_text(value)))
    if isinstance(rule, m.ClassificationRule):
        for b in rule.bands:
            rows.append((f"band {b.label}", a._value_text(b)))
    if isinstance(rule, m.DosingRule):
        for band in rule.renal:
            rows.append((f"renal {band.label}", a._value_text(band)))
    action = getattr(rule, "action", None)
    if isinstance(action, str):
        rows.append(("action", action))
    return [f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows]


def _rule(g: m.Guideline, rule: m.Rule, site: s.Site | None, tests: Sequence[TestOutcome], have_run: bool) -> list[str]:
    out = [
        f'<div class="rule" id="rule-{_e(rule.id)}">',
        f"<h3>{_e(rule.title)} <code>{_e(rule.id)}</code></h3>",
        f'<p class="quiet">{_e(rule.kind)} rule; upstream status {_e(rule.status.value)}'
        + ("; urgent (never hidden: evaluated even while in review)" if m.is_urgent(rule) else "")
        + "</p>",
    ]
    if rule.status is not m.Status.APPROVED:
        out.append(
            f'<p class="warn">Not yet verified upstream ({_e(rule.status.value)}): '
            f"{_e(rule.review_note or 'no review note')}</p>"
        )
    out += [f"<p><b>Statement.</b> {_e(rule.statement)}</p>", "<table>", *_logic(rule), "</table>"]
    if rule.boundary:
        out.append(f"<p><b>Boundaries.</b> {_e(rule.boundary)}</p>")
    for c in rule.citations:
        v = c.verification
        out += [
            f"<p><b>{_e(m.cite(c, g))}</b></p>",
            f"<blockquote>{_e(c.quote)}</blockquote>",
            f'<p class="quiet">Verified {_e(v.status.value)} on {v.checked.isoformat()}: {_e(v.via)}</p>',
        ]
    if tests:
        out.append("<p><b>Tests</b></p><ul>")
        for t in tests:
            cls = t.outcome.replace(" ", "")
            out.append(f'<li><code>{_e(t.name)}</code>: <span class="{cls}">{_e(t.outcome)}</span></li>')
        out.append("</ul>")
    else:
        out.append(f"<p><b>Tests:</b> {'none recorded for this rule' if have_run else 'no test run given'}</p>")
    d = site.decision(g.id, g.version, rule.id) if site is not None else None
    allowed: tuple[str, ...] = _KINDS if rule.status is m.Status.IN_REVIEW else _KINDS[:3]
    if m.is_urgent(rule):
        allowed = tuple(k for k in allowed if k != "disable")
    out += _signoff_block(f"Sign-off of rule {rule.id}", d, site, allowed=allowed)
    out.append("</div>")
    return out
