"""The installed distribution's version and RECORD, read straight from its ``.dist-info`` folder.

``importlib.metadata`` costs tens of milliseconds to import (it pulls in the ``email`` package),
more than the rest of ``neuroguide --version``. A wheel installs the package and its
``neuroguide-<version>.dist-info`` folder side by side, so both are read from there; any
other layout (an editable install, a zip) falls back to ``importlib.metadata``.
"""

from __future__ import annotations

import functools
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["package_files", "recorded_hashes", "version"]

_PACKAGE = os.path.dirname(os.path.realpath(__file__))
_UNKNOWN = "0+unknown"


def package_files() -> Traversable:
    """The package's folder, as ``importlib.resources.files("neuroguide")`` gives it.

    Installed as files (a wheel, an editable install) that is the folder of this module, a
    :class:`pathlib.Path`; found here without ``importlib.resources``, whose import (with ``tempfile``
    and, on first use, ``zipfile``) costs every start-up more than half a bare interpreter. Any other
    loader (a zip archive) is asked through ``importlib.resources``.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isfile(os.path.join(here, "__init__.py")):
        from pathlib import Path

        return Path(here)
    from importlib import resources  # pragma: no cover - not a layout the package is tested in

    return resources.files("neuroguide")  # pragma: no cover


@functools.cache
def _dist_info() -> str | None:
    """The ``.dist-info`` folder installed next to this package, if exactly one is there with a RECORD."""
    try:
        found = [
            e.path
            for e in os.scandir(os.path.dirname(_PACKAGE))
            if e.name.startswith("neuroguide-") and e.name.endswith(".dist-info") and e.is_dir()
        ]
    except OSError:
        return None
    return found[0] if len(found) == 1 and os.path.isfile(os.path.join(found[0], "RECORD")) else None


@functools.cache
def version() -> str:
    """Return neuroguide's installed version (``0+unknown`` from an uninstalled tree)."""
    info = _dist_info()
    if info is not None:
        try:
            with open(os.path.join(info, "METADATA"), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.partition(":")[2].strip()
                    if not line.strip():  # the headers end at the first blank line
                        break
        except OSError:
            pass
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as metadata_version

    try:
        return metadata_version("neuroguide")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return _UNKNOWN


def recorded_hashes(prefix: str) -> dict[str, tuple[str, str]]:
    """Return ``{path relative to prefix: (hash mode, value)}`` for the installed files under ``prefix``.

    Values are the installer's RECORD entries (``sha256`` and an unpadded urlsafe base64 digest).
    Empty when there is no record (a source checkout); an editable install records no package files.
    """
    info = _dist_info()
    rows: list[tuple[str, str]] = []
    if info is not None:
        import csv  # here, not at the top: `neuroguide --version` does not read the record

        try:
            with open(os.path.join(info, "RECORD"), encoding="utf-8", newline="") as fh:
                rows = [(row[0], row[1]) for row in csv.reader(fh) if len(row) >= 2]
        except OSError:
            rows = []
    else:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            files = distribution("neuroguide").files or []
        except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
            files = []
        rows = [(str(f), f"{f.hash.mode}={f.hash.value}") for f in files if f.hash is not None]
    out: dict[str, tuple[str, str]] = {}
    for path, digest in rows:
        mode, sep, value = digest.partition("=")
        if path.startswith(prefix) and sep and value:
            out[path.removeprefix(prefix)] = (mode, value)
    return out
