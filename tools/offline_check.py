"""Check built HTML pages load nothing from another host: no script, stylesheet, font, image or frame.

Links a reader may follow (``<a href="https://...">``) are fine; resources the browser fetches on its
own are not, because the docs and the sign-off packets must render on an offline hospital intranet.

Usage: ``python tools/offline_check.py docs/_build/html`` (exit 1 listing every outside resource).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["external_resources", "main", "scan"]

# Attributes through which a page makes the browser fetch something by itself.
_TAG = re.compile(r"<(script|link|img|iframe|source|embed|object|video|audio)\b([^>]*)>", re.I)
_ATTR = re.compile(r"""\b(src|href|data|srcset)\s*=\s*(["'])(.*?)\2""", re.I | re.S)
_CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]+)""", re.I)
_OUTSIDE = re.compile(r"^\s*(?:https?:)?//", re.I)


def external_resources(text: str) -> Iterator[str]:
    """Yield each outside resource a page (HTML or CSS text) would fetch."""
    for tag, attrs in _TAG.findall(text):
        for name, _, value in _ATTR.findall(attrs):
            if tag.lower() == "link" and name.lower() == "href" and not _fetches(attrs):
                continue  # <link rel="canonical"> and the like are not fetched
            for part in value.split(","):
                if _OUTSIDE.match(part):
                    yield f"<{tag} {name}={part.strip()}>"
    for url in _CSS_URL.findall(text):
        yield f"css url({url})"


def _fetches(attrs: str) -> bool:
    rel = re.search(r"""\brel\s*=\s*["']([^"']*)["']""", attrs, re.I)
    words = set(rel.group(1).lower().split()) if rel else set()
    return bool(words & {"stylesheet", "preload", "modulepreload", "icon", "prefetch", "manifest"})


def scan(files: Iterable[Path]) -> list[str]:
    """Return ``file: resource`` for every outside resource in ``files``."""
    return [f"{f}: {res}" for f in files for res in external_resources(f.read_text(encoding="utf-8", errors="replace"))]


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("docs/_build/html")
    files = sorted([*root.rglob("*.html"), *root.rglob("*.css")])
    if not files:
        print(f"offline check: no HTML under {root}", file=sys.stderr)
        return 1
    found = scan(files)
    for line in found:
        print(line)
    print(f"offline check: {len(files)} files, {len(found)} outside resources")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
