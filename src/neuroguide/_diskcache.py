"""A small on-disk cache of validated knowledge (the compiled knowledge base).

Parsing and validating the guideline files and the fact vocabulary is most of a cold
start; the result depends only on those files' bytes and on the code that reads them.
So it is stored once, under a key made of the package version, the code's fingerprint
and the SHA-256 of every source file, and reused while the key matches.

The cache fails closed. A file is used only if its header names the expected key and
the SHA-256 of key and payload matches; the payload is then read by an unpickler that
can build only the classes the caller lists (anything else, e.g. a function of ``os``,
is refused). Any doubt means "not cached": the caller rebuilds from the source files,
which are verified against the lock as always. Writing is atomic (a temporary file then
``os.replace``) and best effort: an unwritable folder just means no cache, silently.

Where: ``NEUROGUIDE_CACHE_DIR`` if set, else the user cache folder
(``$XDG_CACHE_HOME/neuroguide``, ``~/.cache/neuroguide``; ``~/Library/Caches/neuroguide``
on macOS; ``%LOCALAPPDATA%/neuroguide/Cache`` on Windows). ``NEUROGUIDE_CACHE=off``
turns it off.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from . import _dist

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_ENV",
    "cache_dir",
    "code_fingerprint",
    "enabled",
    "key_of",
    "load",
    "package_version",
    "path_of",
    "store",
    "through",
]

CACHE_ENV = "NEUROGUIDE_CACHE"
CACHE_DIR_ENV = "NEUROGUIDE_CACHE_DIR"
FORMAT = b"neuroguide-kb 1\n"
_OFF = ("off", "0", "no", "false")
_PROTOCOL = 5
# Entries not rewritten for this long are removed when a new entry of the same kind is written.
_STALE_SECONDS = 30 * 24 * 3600

Reducer = Callable[[object], Any]
T = TypeVar("T")


def enabled() -> bool:
    """False when ``NEUROGUIDE_CACHE`` turns the cache off."""
    return os.environ.get(CACHE_ENV, "").strip().lower() not in _OFF


def cache_dir() -> Path:
    """The folder cache entries live in (it may not exist yet)."""
    named = os.environ.get(CACHE_DIR_ENV)
    if named:
        return Path(named)
    if sys.platform == "win32":  # pragma: no cover - not the CI platform
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "neuroguide" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - not the CI platform
        return Path.home() / "Library" / "Caches" / "neuroguide"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "neuroguide"


def package_version() -> str:
    """The package version that is part of every key (a new release never reads an old entry)."""
    return _dist.version()


_fingerprint: str | None = None


def code_fingerprint() -> str:
    """Name, size and modification time of every top-level module of the package (those that read the files).

    Part of every key, so changed code (an editable install keeps its version number)
    never reads an entry written by other code.
    """
    global _fingerprint
    if _fingerprint is None:
        here = Path(__file__).resolve().parent
        h = hashlib.sha256()
        try:
            entries = sorted((e.name, e.stat()) for e in os.scandir(here) if e.name.endswith(".py"))
        except OSError:
            entries = []
        for name, st in entries:
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        _fingerprint = h.hexdigest()
    return _fingerprint


def key_of(kind: str, parts: Iterable[tuple[str, str]]) -> str:
    """Return the key of an entry: ``kind``, the format, Python, package version, code and the given parts."""
    h = hashlib.sha256()
    head = (FORMAT.decode().strip(), kind, sys.implementation.cache_tag or "", package_version(), code_fingerprint())
    for item in head:
        h.update(item.encode() + b"\0")
    for name, digest in parts:
        h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()


def path_of(kind: str, key: str) -> Path:
    """The file an entry of ``kind`` with ``key`` is stored in."""
    return cache_dir() / f"{kind}-{key[:32]}.bin"


def _digest(key: str, payload: bytes) -> str:
    return hashlib.sha256(key.encode() + b"\0" + payload).hexdigest()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, reduce: Reducer) -> None:
        super().__init__(file, protocol=_PROTOCOL)
        self._reduce = reduce

    def reducer_override(self, obj: object) -> Any:
        return self._reduce(obj)


class _Unpickler(pickle.Unpickler):
    """Builds only the listed classes and functions: a tampered payload cannot run code."""

    def __init__(self, data: bytes, allowed: Mapping[tuple[str, str], object]) -> None:
        super().__init__(io.BytesIO(data))
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the knowledge-base cache")
        return found


def load(kind: str, key: str, allowed: Mapping[tuple[str, str], object]) -> object | None:
    """Return the stored value of ``kind`` for ``key``, or None when absent, off, or not trusted."""
    if not enabled():
        return None
    path = path_of(kind, key)
    try:
        with path.open("rb") as fh:
            if not _owned(fh.fileno()):
                return None
            data = fh.read()
    except OSError:
        return None
    head = FORMAT + key.encode() + b"\n"
    # header, key, digest line (64 hex + newline), then the payload
    if not data.startswith(head) or len(data) < len(head) + 65:
        return None
    digest, payload = data[len(head) : len(head) + 64], data[len(head) + 65 :]
    if data[len(head) + 64 : len(head) + 65] != b"\n" or digest.decode("ascii", "replace") != _digest(key, payload):
        return None
    # Thousands of objects are made at once and none is garbage: collecting meanwhile is wasted time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        value: object = _Unpickler(payload, allowed).load()
    except Exception:  # a payload that does not read back is simply not used
        return None
    finally:
        if collecting:
            gc.enable()
    return value


def through(
    kind: str,
    parts: Iterable[tuple[str, str]],
    allowed: Mapping[tuple[str, str], object],
    build: Callable[[], T],
    valid: Callable[[object], bool],
) -> T:
    """The stored value of ``kind`` for ``parts`` if trusted and ``valid``, else ``build()`` (then stored)."""
    key = key_of(kind, parts) if enabled() else None
    if key is not None:
        found = load(kind, key, allowed)
        if found is not None and valid(found):
            return cast(T, found)
    value = build()
    if key is not None:
        store(kind, key, value)
    return value


def _owned(fd: int) -> bool:
    """On POSIX, trust only a file of this user that nobody else can write."""
    if os.name != "posix":  # pragma: no cover - not the CI platform
        return True
    st = os.fstat(fd)
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def store(kind: str, key: str, value: object, reduce: Reducer | None = None) -> bool:
    """Write ``value`` for ``key`` atomically; return False (silently) if it cannot be written.

    ``reduce(obj)`` may return a pickle reduction for objects that need one
    (or ``NotImplemented`` to pickle them as usual).
    """
    if not enabled():
        return False
    import tempfile  # here: a start that finds its entries writes nothing

    folder = cache_dir()
    try:
        buffer = io.BytesIO()
        (_Pickler(buffer, reduce) if reduce is not None else pickle.Pickler(buffer, protocol=_PROTOCOL)).dump(value)
        payload = buffer.getvalue()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(FORMAT + key.encode() + b"\n" + _digest(key, payload).encode() + b"\n" + payload)
            os.replace(tmp, path_of(kind, key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except Exception:  # the cache is an optimisation: no cache is always correct
        return False
    _prune(folder, kind, keep=path_of(kind, key))
    return True


def _prune(folder: Path, kind: str, keep: Path) -> None:
    """Remove this kind's entries (and stray temporary files) not written for a month."""
    cutoff = time.time() - _STALE_SECONDS
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith((f"{kind}-", f".{kind}-")) and entry.path != str(keep):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
