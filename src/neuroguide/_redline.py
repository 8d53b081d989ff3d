"""Word-level redlines: what a reviewer reads when two versions of a text differ.

Pure string work (difflib over words and the spaces between them), shared by the
``audit diff --redline`` command, the docs' redline pages and the sign-off packet.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from typing import Literal

import attrs

__all__ = ["Segment", "as_html", "as_markdown_html", "as_text", "word_diff"]

_TOKENS = re.compile(r"\s+|[^\s]+")


@attrs.frozen
class Segment:
    """A run of text that is unchanged (``same``), removed (``del``) or added (``ins``)."""

    op: Literal["same", "del", "ins"]
    text: str


def word_diff(before: str | None, after: str | None) -> tuple[Segment, ...]:
    """Return the word-level changes from ``before`` to ``after``.

    Args:
        before: the earlier text (None for a field that did not exist).
        after: the later text (None for a field that was removed).

    Returns:
        Segments in reading order; joining the ``same`` and ``del`` texts gives
        ``before``, joining ``same`` and ``ins`` gives ``after``.

    """
    a = _TOKENS.findall(before or "")
    b = _TOKENS.findall(after or "")
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _add(out, "same", "".join(a[i1:i2]))
            continue
        if i2 > i1:
            _add(out, "del", "".join(a[i1:i2]))
        if j2 > j1:
            _add(out, "ins", "".join(b[j1:j2]))
    return _coalesce(out)


def _coalesce(segments: list[Segment]) -> tuple[Segment, ...]:
    """Read a change as one phrase: spaces alone between two changes join them, removed then added."""
    out: list[Segment] = []
    i = 0
    while i < len(segments):
        if segments[i].op == "same":
            out.append(segments[i])
            i += 1
            continue
        removed, added, j = "", "", i
        while j < len(segments):
            seg = segments[j]
            gap = seg.op == "same" and not seg.text.strip() and j + 1 < len(segments) and segments[j + 1].op != "same"
            if seg.op == "same" and not gap:
                break
            if seg.op != "ins":
                removed += seg.text
            if seg.op != "del":
                added += seg.text
            j += 1
        if removed:
            out.append(Segment("del", removed))
        if added:
            out.append(Segment("ins", added))
        i = j
    return tuple(out)


def _add(out: list[Segment], op: Literal["same", "del", "ins"], text: str) -> None:
    if not text:
        return
    if out and out[-1].op == op:
        out[-1] = Segment(op, out[-1].text + text)
    else:
        out.append(Segment(op, text))


def as_text(segments: Sequence[Segment]) -> str:
    """Plain-text redline: ``[-removed-]{+added+}`` (the convention of word-diff tools)."""
    marks = {"same": ("", ""), "del": ("[-", "-]"), "ins": ("{+", "+}")}
    return "".join(f"{marks[s.op][0]}{s.text}{marks[s.op][1]}" for s in segments)


def as_html(segments: Sequence[Segment]) -> str:
    """HTML redline: removed words in ``<del>``, added words in ``<ins>``, all text escaped."""
    parts = []
    previous = "same"
    for s in segments:
        text = html.escape(s.text)
        if s.op == "same":
            parts.append(text)
        else:
            # A thin space between a removal and its replacement, so the two never read as one word.
            gap = "\u2009" if previous == "del" and s.op == "ins" else ""
            parts.append(f'{gap}<{s.op} class="redline-{s.op}">{text}</{s.op}>')
        previous = s.op
    return "".join(parts)


def as_markdown_html(segments: Sequence[Segment]) -> str:
    """The HTML redline as one line for a Markdown page (newlines become ``<br>``)."""
    return as_html(segments).replace("\n", "<br>")
