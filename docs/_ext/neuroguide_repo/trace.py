"""The traceability matrix: rule -> source and locator -> tests -> outcome of the last run.

Repository-only (it reads the checkout's tests and a JUnit file); it was
``neuroguide._docgen_trace`` in 0.1.0 and left the wheel in 0.2.0.

Tests are found by reading (not importing) ``tests/*.py`` for
``@pytest.mark.rule("<id>")`` markers: on a test function, on a test class
(every method), in a module's ``pytestmark``, or inside ``pytest.param(...,
marks=...)``. A marker may name the bare rule id, or ``<guideline>/<rule>`` to
be specific. Outcomes come from a JUnit XML file written by pytest
(``--junitxml``); without one every test shows "not run".
"""

from __future__ import annotations

import ast
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import attrs

from neuroguide import model as m
from neuroguide._docgen_md import (
    DocProblem,
    Page,
    cite_summary,
    code,
    esc,
    heading,
    label,
    list_table,
    ref,
    rule_label,
    rule_page_path,
)
from neuroguide._loading import Catalog

__all__ = ["Outcome", "Row", "TestRef", "Trace", "TraceSettings", "build_trace", "read_junit", "scan_tests"]


@attrs.frozen(kw_only=True)
class TraceSettings:
    """Where the matrix looks.

    Attributes:
        catalog: the guidelines whose rules are traced.
        tests_dir: the folder scanned for ``pytest.mark.rule`` markers (None: no tests known).
        junit: a JUnit XML file with the last test run's outcomes (None or absent: "not run").
        repo_root: the repository, to show the JUnit path relative to it (None: its file name).
        require_tests: report an approved rule without a test as a problem.

    """

    catalog: Catalog
    tests_dir: Path | None = None
    junit: Path | None = None
    repo_root: Path | None = None
    require_tests: bool = True


@attrs.frozen
class TestRef:
    """One test function that names a rule: ``file::Class::function``."""

    __test__ = False  # not a pytest test class, despite the name

    file: str
    function: str
    rule: str

    @property
    def nodeid(self) -> str:
        """Return ``tests/test_x.py::test_y`` (pytest's node id without parameters)."""
        return f"{self.file}::{self.function}"


@attrs.frozen
class Outcome:
    """How the test cases of one test function fared in the last run."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def ran(self) -> bool:
        """True if the function appears in the JUnit file."""
        return bool(self.passed or self.failed or self.skipped)

    def __str__(self) -> str:
        total = self.passed + self.failed + self.skipped
        if not total:
            return "not run"
        if self.failed:
            return f"FAILED ({self.failed} of {total})"
        if self.skipped == total:
            return "skipped"
        return f"passed ({self.passed})" + (f", {self.skipped} skipped" if self.skipped else "")


# -- scanning the tests ------------------------------------------------------------------


def _rule_marks(node: ast.AST) -> Iterator[str]:
    """Yield the ids of every ``*.mark.rule("id")`` call inside ``node``."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call) or not isinstance(sub.func, ast.Attribute) or sub.func.attr != "rule":
            continue
        owner = sub.func.value
        if not (isinstance(owner, ast.Attribute) and owner.attr == "mark") and not (
            isinstance(owner, ast.Name) and owner.id == "mark"
        ):
            continue
        if sub.args and isinstance(sub.args[0], ast.Constant) and isinstance(sub.args[0].value, str):
            yield sub.args[0].value


def _pytestmark(body: Iterable[ast.stmt]) -> list[str]:
    ids: list[str] = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            ids.extend(_rule_marks(stmt.value))
    return ids


def _module_values(body: Iterable[ast.stmt]) -> dict[str, list[str]]:
    """Rule ids marked inside module-level assignments (e.g. lists of ``pytest.param(..., marks=...)``)."""
    values: dict[str, list[str]] = {}
    for stmt in body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        value = getattr(stmt, "value", None)
        if value is None:
            continue
        ids = list(_rule_marks(value))
        for target in targets:
            if isinstance(target, ast.Name) and ids:
                values[target.id] = ids
    return values


def _decorator_marks(decorator: ast.expr, values: dict[str, list[str]]) -> list[str]:
    ids = list(_rule_marks(decorator))
    for sub in ast.walk(decorator):
        if isinstance(sub, ast.Name) and sub.id in values:
            ids.extend(values[sub.id])  # parametrize over a module-level list of marked params
    return ids


def _functions(
    body: Iterable[ast.stmt], prefix: str, inherited: list[str], values: dict[str, list[str]] | None = None
) -> Iterator[tuple[str, list[str]]]:
    values = values or {}
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            marks = [i for d in stmt.decorator_list for i in _decorator_marks(d, values)]
            if marks or (inherited and stmt.name.startswith("test")):
                yield prefix + stmt.name, inherited + marks
        elif isinstance(stmt, ast.ClassDef):
            marks = [i for d in stmt.decorator_list for i in _decorator_marks(d, values)] + _pytestmark(stmt.body)
            yield from _functions(stmt.body, f"{prefix}{stmt.name}::", inherited + marks, values)


def scan_tests(tests_dir: Path, root: Path | None = None) -> list[TestRef]:
    """Return every (test function, rule id) pair marked in ``tests_dir``.

    Args:
        tests_dir: folder of test files (``test_*.py`` and ``*_test.py``, recursively).
        root: the files are named relative to this folder (default: the parent of ``tests_dir``).

    Returns:
        One :class:`TestRef` per function and rule id, sorted by file then source order.

    Raises:
        SyntaxError: a test file does not parse (the suite would not run either).

    """
    base = root if root is not None else tests_dir.parent
    found: list[TestRef] = []
    files = sorted({*tests_dir.rglob("test_*.py"), *tests_dir.rglob("*_test.py")})
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        name = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()
        module_marks = _pytestmark(tree.body)
        for function, ids in _functions(tree.body, "", module_marks, _module_values(tree.body)):
            for rid in dict.fromkeys(ids):
                found.append(TestRef(file=name, function=function, rule=rid))
    return found


# -- reading the last run ----------------------------------------------------------------


def read_junit(path: Path) -> tuple[dict[tuple[str, ...], Outcome], str]:
    """Read a pytest JUnit XML file.

    Returns:
        A map from ``(*classname parts, function)`` (parameters stripped) to the
        aggregated outcome, and the run's timestamp (empty if not recorded).

    Raises:
        ET.ParseError: the file is not XML.

    """
    root = ET.parse(path).getroot()
    results: dict[tuple[str, ...], Outcome] = {}
    stamp = ""
    for suite in root.iter("testsuite"):
        stamp = stamp or suite.get("timestamp", "")
    for case in root.iter("testcase"):
        name = case.get("name", "").split("[", 1)[0]
        classname = case.get("classname", "")
        key = (*[p for p in classname.split(".") if p], name)
        prior = results.get(key, Outcome())
        if case.find("failure") is not None or case.find("error") is not None:
            prior = attrs.evolve(prior, failed=prior.failed + 1)
        elif case.find("skipped") is not None:
            prior = attrs.evolve(prior, skipped=prior.skipped + 1)
        else:
            prior = attrs.evolve(prior, passed=prior.passed + 1)
        results[key] = prior
    return results, stamp


def _outcome(ref_: TestRef, results: Mapping[tuple[str, ...], Outcome]) -> Outcome:
    stem = Path(ref_.file).with_suffix("").as_posix().split("/")
    tail = (stem[-1], *ref_.function.split("::"))
    total = Outcome()
    for key, outcome in results.items():
        if len(key) >= len(tail) and key[-len(tail) :] == tail:
            total = Outcome(
                total.passed + outcome.passed, total.failed + outcome.failed, total.skipped + outcome.skipped
            )
    return total


# -- the matrix ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Row:
    """One rule of the matrix, as of the latest version that holds it."""

    guideline: m.Guideline
    rule: m.Rule
    approved_somewhere: bool
    tests: tuple[tuple[TestRef, Outcome], ...]


@attrs.frozen(kw_only=True)
class Trace:
    """The matrix rows, where the outcomes came from, and the problems found."""

    rows: tuple[Row, ...]
    junit: str
    stamp: str
    problems: tuple[DocProblem, ...]
    tests_dir: str

    def rule_tests_md(self) -> dict[tuple[str, str], str]:
        """Return, per (guideline, rule), a Markdown list of its tests and outcomes."""
        out: dict[tuple[str, str], str] = {}
        for row in self.rows:
            if row.tests:
                out[(row.guideline.id, row.rule.id)] = (
                    "\n".join(f"- {code(t.nodeid)}: {esc(str(o))}" for t, o in row.tests)
                    + f"\n\nOutcomes from {self._source()}."
                )
        return out

    def _source(self) -> str:
        if not self.junit:
            return "no test run recorded (no JUnit file found)"
        return f"the test run recorded in {code(self.junit)}" + (f" at {esc(self.stamp)}" if self.stamp else "")

    def page(self) -> Page:
        """Return the matrix page."""
        lines = heading(1, "Traceability matrix", label("traceability"))
        tested = sum(1 for r in self.rows if r.tests)
        failing = sum(1 for r in self.rows if any(o.failed for _, o in r.tests))
        lines += [
            "Each rule, the source and locator it rests on, the tests that assert it (found by their "
            f'`@pytest.mark.rule("<id>")` marker in {code(self.tests_dir or "tests/")}), and the outcome of the '
            f"last test run ({self._source()}). The docs build fails if an approved rule has no test or no citation.",
            "",
            f"**{len(self.rows)} rules; {tested} with at least one test; {failing} with a failing test; "
            f"{len(self.problems)} problem(s).**",
            "",
        ]
        if self.problems:
            lines += ["```{admonition} Problems", ":class: error", ""]
            lines += [f"- {esc(p.message)}" for p in self.problems] + ["```", ""]
        by_guideline: dict[str, list[Row]] = {}
        for row in self.rows:
            by_guideline.setdefault(row.guideline.id, []).append(row)
        for gid, rows in by_guideline.items():
            lines += heading(2, rows[0].guideline.title)
            table = []
            for row in rows:
                rule = row.rule
                cites = "\n".join(f"- {cite_summary(row.guideline, c)}" for c in rule.citations) or "**none**"
                tests = "\n".join(f"- {code(t.nodeid)}" for t, _ in row.tests) or "**none**"
                outcomes = "\n".join(f"- {esc(str(o))}" for _, o in row.tests) or "—"
                table.append(
                    [
                        ref(rule_label(gid, rule.id), rule.id),
                        esc(rule.status.value) + f" (v{esc(row.guideline.version)})",
                        cites,
                        tests,
                        outcomes,
                    ]
                )
            lines += list_table(
                ["Rule", "Status", "Source and locator", "Tests", "Last run"], table, [14, 10, 30, 32, 14]
            )
        return Page("traceability.md", "\n".join(lines))


def _matches(marker: str, gid: str, rid: str) -> bool:
    for sep in ("/", ":"):
        if sep in marker:
            g, _, r = marker.rpartition(sep)
            return g == gid and r == rid
    return marker == rid


def build_trace(settings: TraceSettings) -> Trace:
    """Collect the matrix for ``settings``."""
    cat = settings.catalog
    refs = scan_tests(settings.tests_dir) if settings.tests_dir is not None and settings.tests_dir.is_dir() else []
    junit_path = settings.junit
    results: dict[tuple[str, ...], Outcome] = {}
    stamp = ""
    problems: list[DocProblem] = []
    shown = ""
    if junit_path is not None and junit_path.is_file():
        try:
            results, stamp = read_junit(junit_path)
            shown = os.path.relpath(junit_path, settings.repo_root) if settings.repo_root else junit_path.name
        except ET.ParseError as exc:
            problems.append(DocProblem(f"cannot read the JUnit file {junit_path}: {exc}", "traceability.md"))
    rows: list[Row] = []
    for gid in cat.ids():
        versions = cat.versions(gid)
        for rid in dict.fromkeys(r.id for g in versions for r in g.rules):
            holding = [g for g in versions if any(r.id == rid for r in g.rules)]
            g = holding[-1]
            rule = g.rule(rid)
            approved = [h.version for h in holding if h.rule(rid).status is m.Status.APPROVED]
            tests = tuple((t, _outcome(t, results)) for t in refs if _matches(t.rule, gid, rid))
            rows.append(Row(guideline=g, rule=rule, approved_somewhere=bool(approved), tests=tests))
            where = rule_page_path(gid, rid)
            if approved and settings.require_tests and not tests:
                problems.append(
                    DocProblem(
                        f"approved rule {rid!r} ({gid} {', '.join(approved)}) has no test marked "
                        f"@pytest.mark.rule({rid!r})",
                        where,
                    )
                )
            if approved and not all(h.rule(rid).citations for h in holding):
                problems.append(DocProblem(f"approved rule {rid!r} ({gid}) has no citation", where))
    tests_dir = ""
    if settings.tests_dir is not None:
        tests_dir = settings.tests_dir.name + "/"
    return Trace(rows=tuple(rows), junit=shown, stamp=stamp, problems=tuple(problems), tests_dir=tests_dir)
