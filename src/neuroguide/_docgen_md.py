"""Small MyST-Markdown writing helpers and the page types shared by the doc generators.

Everything here is plain string building: no Sphinx import, so the generators
can be unit-tested without a docs toolchain. Text that comes from data files
(quotes, titles, notes) is escaped, because a quote containing ``*`` or ``|``
must render as written, not as emphasis or a table border.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from . import model as m
from .units import Quantity, format_quantity, is_quantity

__all__ = [
    "Contribution",
    "DocProblem",
    "DocSet",
    "Page",
    "cite_summary",
    "code",
    "display_quantity",
    "esc",
    "esc_keep_spaces",
    "fmt_value",
    "heading",
    "label",
    "list_table",
    "pipe_table",
    "ref",
    "rule_label",
    "rule_page_path",
]


@attrs.frozen
class Page:
    """One generated file: its path relative to the output folder, and its text."""

    path: str
    text: str


@attrs.frozen
class DocProblem:
    """A problem the docs build must report (as a warning, so ``-W`` fails the build)."""

    message: str
    location: str


@attrs.frozen(kw_only=True)
class DocSet:
    """Every generated page plus the problems found while generating them."""

    pages: tuple[Page, ...]
    problems: tuple[DocProblem, ...] = ()

    def page(self, path: str) -> Page:
        """Return the page at ``path``.

        Raises:
            KeyError: no page with that path.

        """
        for page in self.pages:
            if page.path == path:
                return page
        raise KeyError(path)

    def paths(self) -> list[str]:
        """Return every page path, in generation order."""
        return [p.path for p in self.pages]


@attrs.frozen(kw_only=True)
class Contribution:
    """What another Sphinx extension adds to the generated reference (see :mod:`neuroguide.sphinxext`).

    Attributes:
        pages: extra pages, written beside the generated ones.
        problems: problems the build must report.
        rule_tests: per (guideline id, rule id), Markdown shown in the rule page's "Tests" section.

    """

    pages: tuple[Page, ...] = ()
    problems: tuple[DocProblem, ...] = ()
    rule_tests: Mapping[tuple[str, str], str] = attrs.field(factory=dict)


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones
# that change meaning inline (emphasis, links, code, HTML, tables, roles, math).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|$&~{}#])")


def esc(text: object) -> str:
    """Escape data text for inline MyST Markdown (one line; whitespace collapsed)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def esc_keep_spaces(text: str) -> str:
    """Escape Markdown punctuation like :func:`esc`, keeping the whitespace as it is."""
    return _SPECIAL.sub(r"\\\1", text)


def code(text: object) -> str:
    """Return ``text`` as inline code (``|`` escaped so it is safe in pipe tables)."""
    s = " ".join(str(text).split())
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}".replace("|", "\\|")


def label(*parts: str) -> str:
    """Return a document-wide target name made of ``parts`` (lower-case, hyphenated)."""
    return "ng-" + re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def ref(target: str, text: str) -> str:
    """Return a ``{ref}`` role to ``target`` showing ``text``."""
    shown = re.sub(r"[<>`]", "", " ".join(text.split())) or target
    return f"{{ref}}`{shown} <{target}>`"


def heading(level: int, text: str, target: str | None = None) -> list[str]:
    """Return the lines of a heading (with an optional target above it)."""
    lines = [f"({target})=", ""] if target else []
    return [*lines, f"{'#' * level} {esc(text)}", ""]


def pipe_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Return a GitHub-style table; cells must already be Markdown (one line each)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [" ".join(c.split()) or " " for c in row]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def list_table(headers: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[int] | None = None) -> list[str]:
    """Return a ``list-table`` directive; cells may be multi-line Markdown (lists, paragraphs)."""
    out = ["```{list-table}", ":header-rows: 1"]
    out.append(f":widths: {' '.join(str(w) for w in widths)}" if widths else ":widths: auto")
    out.append("")
    for row in [list(headers), *(list(r) for r in rows)]:
        for i, cell in enumerate(row):
            lines = (cell or " ").splitlines() or [" "]
            lead = "* - " if i == 0 else "  - "
            out.append(lead + lines[0])
            out.extend(("    " + line) if line else "" for line in lines[1:])
    return [*out, "```", ""]


def display_quantity(q: Quantity) -> str:
    """Return a quantity for reading: ``16 mg/m²`` (serialized form: ``16 mg/m**2``)."""
    return format_quantity(q).replace("**2", "²").replace("**3", "³")


def fmt_value(value: object) -> str:
    """Render a parameter value for a table cell (Markdown, units kept)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_quantity(value):
        return esc(display_quantity(value))  # type: ignore[arg-type]
    if isinstance(value, m.Period):
        return esc(str(value))
    if isinstance(value, enum.Enum):
        return esc(value.value)
    if isinstance(value, float):
        return esc(f"{value:g}")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "; ".join(fmt_value(v) for v in value) if value else "—"
    return esc(value)


# -- targets and citations shared by every page generator ------------------------------------


def rule_page_path(gid: str, rid: str) -> str:
    """Return the generated path of a rule's page."""
    return f"rules/{gid}/{rid}.md"


def rule_label(gid: str, rid: str) -> str:
    """Return the cross-reference target of a rule's page."""
    return label("rule", gid, rid)


def cite_summary(g: m.Guideline, cite: m.Citation) -> str:
    """Return ``ADA 2026, Recommendation 12.17 (grade B; secondary)`` as Markdown."""
    try:
        short = g.source(cite.source).short()
    except KeyError:
        short = cite.source
    grade = f"grade {cite.grade}; " if cite.grade else ""
    return esc(f"{short}, {cite.locator} ({grade}{cite.verification.status.value})")
