"""Pages that read the repository: deviations from the seed, conformance, dependencies, changelog.

Repository-only (they read ``pyproject.toml``, ``CHANGELOG.md``, the vendored
conformance decks and ``seed_deviations.toml`` beside this module). They were
in ``neuroguide._docgen_extra`` in 0.1.0 and left the wheel in 0.2.0.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs

import tools.conformance as conformance
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
    pipe_table,
    ref,
    rule_label,
)
from neuroguide._loading import Catalog

__all__ = [
    "WHY",
    "CuratedDeviation",
    "changelog_page",
    "conformance_page",
    "dependencies_page",
    "deviations_page",
    "load_seed_deviations",
]


def _rule_ref(g: m.Guideline, rule: m.Rule, text: str | None = None) -> str:
    return ref(rule_label(g.id, rule.id), text or rule.id)


# -- deviations from the seed ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CuratedDeviation:
    """A seed error not tied to an encoded rule, with what the sources say and where."""

    seed: str
    governs: str
    sources: tuple[str, ...]
    notes: str


SEED_DEVIATIONS_FILE = Path(__file__).with_name("seed_deviations.toml")


def load_seed_deviations(path: Path = SEED_DEVIATIONS_FILE) -> tuple[CuratedDeviation, ...]:
    """Read the curated seed errors (``[[deviation]]`` tables with seed, governs, sources, notes).

    Raises:
        ValueError: an entry lacks a field or has no source.

    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for n, entry in enumerate(data.get("deviation", []), start=1):
        try:
            item = CuratedDeviation(
                seed=str(entry["seed"]),
                governs=str(entry["governs"]),
                sources=tuple(str(s) for s in entry["sources"]),
                notes=str(entry["notes"]),
            )
        except KeyError as exc:
            raise ValueError(f"{path.name}: deviation {n} lacks {exc.args[0]!r}") from None
        if not item.sources:
            raise ValueError(f"{path.name}: deviation {n} names no source")
        out.append(item)
    return tuple(out)


def deviations_page(cat: Catalog, curated: Sequence[CuratedDeviation] | None = None) -> Page:
    """Every ``deviations`` entry of every rule, plus the curated seed errors not tied to a rule."""
    curated = load_seed_deviations() if curated is None else curated
    lines = heading(1, "Deviations from the seed", label("deviations"))
    lines += [
        "The project started from a secondary summary article (the *seed*) that has known errors. Primary sources "
        "govern; where a rule departs from the seed it says so, and the entries are collected here.",
        "",
    ]
    lines += heading(2, "In encoded rules")
    seen: dict[tuple[str, str, str, str], list[str]] = {}
    where: dict[tuple[str, str, str, str], tuple[m.Guideline, m.Rule]] = {}
    for gid in cat.ids():
        for g in cat.versions(gid):
            for rule in g.rules:
                for d in rule.deviations:
                    key = (gid, rule.id, d.seed, d.governs)
                    seen.setdefault(key, []).append(g.version)
                    where[key] = (g, rule)
    if seen:
        rows = []
        for key, versions in seen.items():
            g, rule = where[key]
            rows.append(
                [
                    esc(key[2]),
                    esc(key[3]),
                    _rule_ref(g, rule) + f" ({esc(g.id)} {esc(', '.join(versions))})",
                    "\n".join(f"- {cite_summary(g, c)}" for c in rule.citations),
                ]
            )
        lines += list_table(["The seed says", "What governs", "Rule", "Source"], rows, [25, 35, 18, 22])
    else:
        lines += ["No encoded rule records a deviation yet.", ""]
    lines += heading(2, "Not tied to a rule")
    lines += list_table(
        ["The seed says", "What the sources say", "Sources"],
        [
            [
                esc(d.seed),
                esc(d.governs),
                "\n".join(f"- {esc(s)}" for s in d.sources) + f"\n\n(From the {esc(d.notes)}.)",
            ]
            for d in curated
        ],
        [25, 40, 35],
    )
    return Page("deviations.md", "\n".join(lines))


# -- conformance -------------------------------------------------------------------------------


def _demote(markdown: str) -> str:
    """Push every Markdown heading one level down (the page keeps its own title)."""
    out, fence = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        out.append("#" + line if not fence and re.match(r"^#{1,5} ", line) else line)
    return "\n".join(out)


def conformance_page(folder: Path | None) -> tuple[Page, list[DocProblem]]:
    """Render the conformance report of the decks in ``folder``; a missing folder is a problem, not a skip."""
    lines = heading(1, "Conformance against external decks", label("conformance"))
    lines += [
        "Test decks written outside this project (openEHR GDL2 vectors, UCUM examples, HbA1c anchor points, eCQM "
        "test cases) run against the package; every disagreement is listed with its explanation. The decks are "
        "vendored in `tests/conformance/decks/` (each with its licence and provenance) and run by "
        "`tools/conformance`.",
        "",
    ]
    problems: list[DocProblem] = []
    if folder is None or not folder.is_dir():
        shown = folder.as_posix() if folder is not None else "(not configured)"
        problems.append(DocProblem(f"the conformance decks folder {shown} is missing", "conformance.md"))
        lines += [f"*The conformance decks folder {code(shown)} is missing; nothing was run.*", ""]
        return Page("conformance.md", "\n".join(lines)), problems
    try:
        body = conformance.run(folder).to_markdown()
    except Exception as exc:  # report on the page and fail the build, rather than crash it
        problems.append(DocProblem(f"conformance run failed: {type(exc).__name__}: {exc}", "conformance.md"))
        lines += [f"*The conformance run failed: {esc(exc)}*", ""]
        return Page("conformance.md", "\n".join(lines)), problems
    lines += [_demote(body), ""]
    return Page("conformance.md", "\n".join(lines)), problems


# -- dependencies ------------------------------------------------------------------------------

WHY: dict[str, str] = {
    "attrs": "Frozen, slotted value classes for the rule model, the patient input and every result: immutable "
    "objects keep evaluation deterministic.",
    "cattrs": "One configured converter structures guideline TOML into the typed model (reporting every error with "
    "its key path) and turns evaluation records into JSON and back for replay.",
    "pint": "Units at the boundary: parses and checks doses and laboratory values and converts them once to "
    "canonical units (declared molar masses per analyte; international units kept apart from mass).",
    "sphinx": "Builds this documentation with warnings as errors and nitpicky cross-references, and runs its doctests.",
    "furo": "The HTML theme of this documentation.",
    "myst-parser": "Markdown for the hand-written pages and for the pages generated from the guidelines.",
    "pytest": "Test runner. The `rule` marker ties each test to the rule it asserts (the traceability matrix reads "
    "it) and `--junitxml` records the outcomes the matrix shows.",
    "hypothesis": "Property-based tests: unit invariance, monotonicity, round-trips.",
    "pyyaml": "Reads the YAML conformance decks (openEHR GDL2 test fixtures) in the conformance tests.",
    "types-pyyaml": "Type stubs so mypy --strict can check the code that reads YAML.",
    "textstat": "Measures the Flesch–Kincaid grade of every patient text in the tests (pinned to 0.7.8, whose "
    "syllable dictionary is a package; later releases download it at run time).",
    "ruff": "Linting and formatting (the `lint` nox session).",
    "mypy": "Static type checking in strict mode (the `typecheck` nox session).",
    "nox": "Runs every check (lint, typecheck, tests against the built wheel, docs): the README's test command.",
    "uv": "Fast virtual-environment and package installs for the nox sessions.",
    "hatchling": "Build backend: builds the wheel with the guideline files inside it.",
    "polars": "Optional (`cohort` extra): the columnar cohort evaluator. Its booleans follow Kleene logic with null "
    "as unknown, exactly the engine's three-valued criteria; lazy expressions evaluate every rule over millions of "
    "rows on one core, and month offsets clamp to the month's end like the model's calendar arithmetic.",
    "pyarrow": "Optional (`cohort` extra): Arrow and Parquet I/O for cohort files, read by row group so memory stays "
    "bounded, and the results file with its provenance metadata.",
    "numpy": "Optional (`cohort` extra): the seeded random generator of the synthetic cohort.",
    "dask": "Optional (`dask` extra): runs the cohort partition function on a cluster when one machine is not enough.",
    "distributed": "Optional (`dask` extra): the Dask scheduler and workers (a local cluster, or an existing one by "
    "address).",
    "build": "Builds the wheel and sdist in the nox sessions.",
    "fhir.resources": "Extras `fhir` and `service`: the FHIR resource models (pydantic v2) that `neuroguide.fhir` "
    "checks every incoming resource against, so a non-conformant resource is reported (or refused with "
    "`strict=True`) instead of being read on trust. Version 8 ships R5, R4B and STU3 models and no separate R4 "
    "package; the reader uses the R4B models (R4B is the minor revision of R4) for the check and takes the values "
    "from the JSON itself, so an R4 resource the R4B model would reject is still read, with the deviation listed. "
    "The R4 test decks (CMS122) are read this way without error.",
    "starlette": "Extra `service`: the ASGI toolkit behind `neuroguide serve` (routing, CORS middleware, request "
    "streaming for the payload limit). Chosen over FastAPI because the CDS Hooks messages are small and validated by "
    "hand against the specification, so a schema layer would add weight without checking more.",
    "orjson": "Extras `fhir` and `service`: JSON encoding and decoding in the CDS Hooks service (the request, the "
    "cards and the stored evaluation record) and the content key of the FHIR reader's per-resource conformance "
    "cache. Several times faster than the standard library's `json` on these documents, which matters because "
    "every `patient-view` call serialises and hashes a 50 kB evaluation record (the t2d-metformin example's record: "
    "0.86 ms with `json`, 0.15 ms with orjson, best of five runs of 200). Maintained, with wheels for the usual "
    "platforms, Apache-2.0 or MIT licensed. The core package and the JSON patient input keep the standard "
    "library.",
    "uvicorn": "Extra `service`: the ASGI server that `neuroguide serve` runs (and that the tests start on loopback). "
    "With `--workers N` it serves the HTTP connections in one process, which hands each hook call to whichever of N "
    "evaluator processes is free.",
    "httptools": "Extra `service`: the HTTP/1.1 parser (in C, from the Node.js parser) that uvicorn uses when it is "
    "installed. A hook call carries tens of kilobytes of FHIR resources; with uvicorn's pure-Python parser the HTTP "
    "process spent about as much CPU reading them as on the rest of its work (`docs/performance.md`).",
    "uvloop": "Extra `service`, where it is built (not on Windows): the libuv event loop that uvicorn runs on when it "
    "is installed, with less CPU per request in the HTTP process than asyncio's own loop. Without it the service "
    "runs on asyncio's loop and gives the same responses.",
    "sqlalchemy": "Extra `service`: stores CDS Hooks feedback (card accepted or overridden, with the reason), the "
    "evaluation records behind each card (written in batches) and the set of JWTs already used (shared by the "
    "worker processes); SQLite by default, any SQLAlchemy database URL by configuration.",
    "pyjwt": "Extra `service`: verifies the EHR's signed JWT on every CDS Hooks call (asymmetric algorithms only, "
    "issuer allow-list, audience, expiry, JWKS key look-up), as the CDS Hooks specification requires. Its `crypto` "
    "extra brings `cryptography` for RSA and EC signatures.",
    "cryptography": "Optional (extra `governance`): Ed25519 signatures over `lock.json` and over a site's governance "
    "overlay (`neuroguide audit keygen`, `sign`, `verify --trust`). A maintained, audited implementation: signatures "
    "are not written by hand. Only `neuroguide.signing` imports it, and only when called, so the core runtime stays "
    "attrs, cattrs and pint; assessing patients never needs it.",
}

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _requirements(repo: Path | None) -> list[tuple[str, str, str]]:
    """Return ``(group, name, specifier)`` from ``pyproject.toml`` (plus the CI tools)."""
    found: list[tuple[str, str, str]] = []
    pyproject = repo / "pyproject.toml" if repo is not None else None
    if pyproject is None or not pyproject.is_file():
        return [("runtime", n, "") for n in ("attrs", "cattrs", "pint")]
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    groups: list[tuple[str, list[Any]]] = [("runtime", data.get("project", {}).get("dependencies", []))]
    for extra, reqs in data.get("project", {}).get("optional-dependencies", {}).items():
        groups.append((f"extra [{extra}]", reqs))
    for group, reqs in data.get("dependency-groups", {}).items():
        groups.append((f"dev group {group}", reqs))
    groups.append(("build backend", data.get("build-system", {}).get("requires", [])))
    groups.append(("automation (.ci/run, noxfile.py)", ["nox", "uv", "build"]))
    seen: set[tuple[str, str]] = set()
    for group, reqs in groups:
        for req in reqs:
            if not isinstance(req, str):
                continue  # an {include-group = ...} table
            match = _REQ.match(req)
            if match and (group, match.group(1).lower()) not in seen:
                seen.add((group, match.group(1).lower()))
                found.append((group, match.group(1), match.group(3).strip()))
    return found


def dependencies_page(repo: Path | None) -> Page:
    """Every declared dependency, its version here, and why it is there."""
    lines = heading(1, "Dependencies", label("dependencies"))
    lines += [
        "The runtime needs three packages; everything else is for building, testing and documenting. Versions are "
        "those installed where these pages were built.",
        "",
    ]
    merged: dict[str, tuple[str, list[str], list[str]]] = {}
    for group, name, spec in _requirements(repo):
        _shown, groups, specs = merged.setdefault(name.lower(), (name, [], []))
        groups.append(group)
        if spec and spec not in specs:
            specs.append(spec)
    rows = []
    for key, (name, groups, specs) in merged.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed here"
        requirement = ", ".join(code(s) for s in specs) or "any"
        # WHY holds our own Markdown (code spans allowed), not data text.
        rows.append([code(name), esc("; ".join(groups)), requirement, esc(installed), WHY.get(key, "—")])
    lines += pipe_table(["Package", "Needed for", "Requirement", "Installed where built", "Why"], rows)
    lines += heading(2, "Code systems shipped as data")
    lines += [
        "The package carries codes of these code systems in `_data/codes.toml` and `_data/valuesets/` (each code with "
        "its source on the {ref}`codes <ng-codes>` page). They are not software dependencies, but their owners' "
        "terms apply:",
        "",
    ]
    lines += pipe_table(["Code system", "Terms"], [[esc(n), esc(t)] for n, t in CODE_SYSTEM_TERMS])
    return Page("dependencies.md", "\n".join(lines))


#: The terms of each code system whose codes the package ships (attribution as the owners ask for it).
CODE_SYSTEM_TERMS = (
    (
        "LOINC",
        "This material contains content from LOINC (http://loinc.org). LOINC is copyright Regenstrief Institute, Inc. "
        "and the Logical Observation Identifiers Names and Codes (LOINC) Committee and is available at no cost under "
        "the license at http://loinc.org/license.",
    ),
    (
        "RxNorm",
        "RxNorm drug names and codes are produced by the U.S. National Library of Medicine; the NLM-authored content "
        "used here is free to use and redistribute, with NLM named as its source.",
    ),
    (
        "SNOMED CT",
        "Copyright SNOMED International. Use outside SNOMED International member countries needs an affiliate licence "
        "from SNOMED International.",
    ),
    ("ICD-10-CM", "Public domain (U.S. National Center for Health Statistics)."),
    ("UCUM", "UCUM Copyright Notice and License v1.0 (Regenstrief Institute): free use with the notice kept."),
)


# -- changelog -------------------------------------------------------------------------------------


def changelog_page(repo: Path | None) -> Page:
    """Include the repository's CHANGELOG.md (or say it is missing)."""
    path = repo / "CHANGELOG.md" if repo is not None else None
    if path is None or not path.is_file():
        lines = heading(1, "Changelog", label("changelog"))
        lines += ["*No CHANGELOG.md in this checkout.*", ""]
        return Page("changelog.md", "\n".join(lines))
    first = next((ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()), "")
    lines = [f"({label('changelog')})=", ""]
    if not first.startswith("# "):
        lines += ["# Changelog", ""]
    lines += ["```{include} ../../CHANGELOG.md", "```", ""]
    return Page("changelog.md", "\n".join(lines))
