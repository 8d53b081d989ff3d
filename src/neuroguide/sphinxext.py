"""Sphinx extension: reference pages generated from the loaded guidelines.

Add ``"neuroguide.sphinxext"`` to ``extensions`` in ``conf.py``. On
``builder-inited`` it writes MyST pages into ``<srcdir>/_generated/`` (see
:mod:`neuroguide._docgen`): a page per guideline version and per rule, version
histories, the neurotoxicity table, the calculators, the known anomalies, the
patient schema and the API reference. It renders installed objects only and
reads nothing outside the package except the optional guideline folder.
Problems (a worked example that fails) are logged as warnings, so
``sphinx-build -W`` fails.

Other extensions add pages through the ``neuroguide-contribute`` event: a
handler ``(app, catalog)`` returns a :class:`neuroguide._docgen_md.Contribution`
(pages, problems, and the "Tests" section of each rule page). neuroguide's own
documentation uses it for the pages that read its repository (trace matrix,
conformance report, dependencies, changelog).

It also keeps intersphinx working without a network: it writes small fallback
inventories (``_generated/inventories/<name>.inv``) that ``conf.py`` lists as
the second location of each ``intersphinx_mapping`` entry. When the real
inventory cannot be fetched, intersphinx uses the fallback and only logs an
info message. Unresolved references to objects documented under another
public name (``neuroguide.model.Guideline`` for ``neuroguide.Guideline``) are
redirected.

Sphinx and the page generators are imported when a build starts (not to dodge an
import cycle): importing this module needs no docs toolchain and loads no guideline.

Configuration values (all optional):

``neuroguide_generated_dir``
    Folder for the generated pages, relative to the source dir (``_generated``).
``neuroguide_guidelines``
    A guideline folder (relative to the source dir) to document instead of the packaged catalog.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

__all__ = ["CONTRIBUTE_EVENT", "FALLBACK_INVENTORIES", "setup", "write_fallback_inventories", "write_pages"]

#: The Sphinx event other extensions connect to; see the module docstring.
CONTRIBUTE_EVENT = "neuroguide-contribute"

# Objects our pages and signatures refer to, per intersphinx project, with their
# location relative to the project's base URL. Used only when the real
# inventory cannot be fetched (offline builds, CI without network).
_PY_TYPES = ("str", "int", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset", "object", "type")
_PY_ERRORS = ("Exception", "BaseException", "ValueError", "LookupError", "TypeError", "KeyError", "OSError")
FALLBACK_INVENTORIES: dict[str, list[tuple[str, str, str]]] = {
    "python": [
        *(
            (name, "py:class", f"library/stdtypes.html#{name}")
            for name in _PY_TYPES
            if name not in ("int", "float", "bool", "object", "type")
        ),
        *((name, "py:class", f"library/functions.html#{name}") for name in ("int", "float", "bool", "object", "type")),
        *((name, "py:exception", f"library/exceptions.html#{name}") for name in _PY_ERRORS),
        ("None", "py:data", "library/constants.html#None"),
        ("True", "py:data", "library/constants.html#True"),
        ("False", "py:data", "library/constants.html#False"),
        ("datetime.date", "py:class", "library/datetime.html#datetime.date"),
        ("datetime.datetime", "py:class", "library/datetime.html#datetime.datetime"),
        ("decimal.Decimal", "py:class", "library/decimal.html#decimal.Decimal"),
        ("enum.Enum", "py:class", "library/enum.html#enum.Enum"),
        ("enum.StrEnum", "py:class", "library/enum.html#enum.StrEnum"),
        ("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
        ("typing.Any", "py:data", "library/typing.html#typing.Any"),
        ("typing.Literal", "py:data", "library/typing.html#typing.Literal"),
        ("typing.TypeAlias", "py:data", "library/typing.html#typing.TypeAlias"),
        *(
            (f"collections.abc.{name}", "py:class", f"library/collections.abc.html#collections.abc.{name}")
            for name in ("Mapping", "Sequence", "Iterable", "Iterator", "Callable", "Collection", "MutableMapping")
        ),
        (
            "importlib.resources.abc.Traversable",
            "py:class",
            "library/importlib.resources.abc.html#importlib.resources.abc.Traversable",
        ),
    ],
    "pint": [
        ("pint.Quantity", "py:class", "api/base.html#pint.Quantity"),
        ("pint.Unit", "py:class", "api/base.html#pint.Unit"),
        ("pint.UnitRegistry", "py:class", "api/base.html#pint.UnitRegistry"),
    ],
    "attrs": [
        ("attrs.frozen", "py:function", "api.html#attrs.frozen"),
        ("attrs.define", "py:function", "api.html#attrs.define"),
        ("attrs.field", "py:function", "api.html#attrs.field"),
        ("attrs.evolve", "py:function", "api.html#attrs.evolve"),
    ],
    "cattrs": [
        ("cattrs.Converter", "py:class", "cattrs.html#cattrs.Converter"),
        ("cattrs.structure", "py:function", "cattrs.html#cattrs.structure"),
        ("cattrs.unstructure", "py:function", "cattrs.html#cattrs.unstructure"),
    ],
}


def _inventory_bytes(project: str, entries: list[tuple[str, str, str]]) -> bytes:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    body = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in entries).encode()
    return header + zlib.compress(body)


def write_fallback_inventories(folder: Path) -> list[Path]:
    """Write one small intersphinx inventory per project of :data:`FALLBACK_INVENTORIES`.

    Args:
        folder: where to write ``<project>.inv`` (created if needed).

    Returns:
        The paths written (or already up to date).

    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for project, entries in FALLBACK_INVENTORIES.items():
        path = folder / f"{project}.inv"
        _write_if_changed(path, _inventory_bytes(project, entries))
        paths.append(path)
    return paths


def _write_if_changed(path: Path, data: bytes) -> None:
    # Rewriting identical files would make Sphinx re-read every page on each build.
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def write_pages(out: Path, docs: Any) -> list[Path]:
    """Write a :class:`neuroguide._docgen.DocSet` into ``out`` and delete stale generated pages.

    Only ``.md`` and ``.json`` files this function would write are managed; other
    files in ``out`` (a JUnit report, the fallback inventories) are left alone.

    Returns:
        The paths of the pages written or kept.

    """
    out.mkdir(parents=True, exist_ok=True)
    keep = set()
    for page in docs.pages:
        path = out / page.path
        _write_if_changed(path, page.text.encode("utf-8"))
        keep.add(path.resolve())
    for stale in [*out.rglob("*.md"), *out.rglob("*.schema.json")]:
        if stale.resolve() not in keep:
            stale.unlink()
    return sorted(keep)


def _srcdir(app: Sphinx) -> Path:
    return Path(app.srcdir)


def _catalog(app: Sphinx) -> Any:
    from ._loading import Catalog, catalog

    folder = app.config.neuroguide_guidelines
    # The docs show lock mismatches themselves, so an unlocked folder still builds.
    return Catalog(_srcdir(app) / folder, allow_unlocked=True) if folder else catalog()


def _on_config_inited(app: Sphinx, config: Config) -> None:
    write_fallback_inventories(_srcdir(app) / config.neuroguide_generated_dir / "inventories")


def _on_builder_inited(app: Sphinx) -> None:
    from sphinx.util import logging

    from ._docgen import generate
    from ._docgen_md import Contribution

    logger = logging.getLogger(__name__)
    folder = app.config.neuroguide_generated_dir.strip("/")
    out = _srcdir(app) / folder
    cat = _catalog(app)
    contributions = [c for c in app.emit(CONTRIBUTE_EVENT, cat) if isinstance(c, Contribution)]
    docs = generate(cat, contributions)
    write_pages(out, docs)
    for problem in docs.problems:
        docname = f"{folder}/{problem.location}".removesuffix(".md")
        logger.warning(problem.message, location=(docname, None), type="neuroguide", subtype="reference")


def _on_missing_reference(app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Any) -> Any:
    """Resolve what neither the Python domain nor intersphinx found, where the intent is clear.

    - ``neuroguide.<module>.Name`` (or a bare or module-aliased ``Name``, e.g. ``m.Guideline``) is
      resolved to its documented public name (``neuroguide.Name``, ``neuroguide.model.Name``...).
    - ``pint.<module>.Name`` (the defining module of pint's classes) is resolved as ``pint.Name``.
    - A module constant (``ALL_CAPS``) that exists but is not documented is shown as code, unlinked.
    """
    if node.get("refdomain") != "py":
        return None
    target = str(node.get("reftarget", ""))
    if not target:
        return None
    tail = target.rsplit(".", 1)[-1]
    if target.startswith("pint.") and target.count(".") > 1:
        from sphinx.ext.intersphinx import missing_reference

        alias = node.deepcopy()
        alias["reftarget"] = f"pint.{tail}"
        return missing_reference(app, env, alias, contnode)
    if not (target.startswith("neuroguide.") or target.count(".") <= 1):
        return None
    domain: Any = env.domains["py"]
    candidates = [f"neuroguide.{tail}", f"neuroguide.model.{tail}", f"neuroguide.calculators.{tail}"]
    for candidate in candidates:
        if candidate == target:
            continue
        for role in dict.fromkeys((str(node.get("reftype", "obj")), "obj")):
            resolved = domain.resolve_xref(env, node.get("refdoc", ""), app.builder, role, candidate, node, contnode)
            if resolved is not None:
                return resolved
    if tail.isupper() and _is_constant(tail):
        return contnode
    return None


def _is_constant(name: str) -> bool:
    """True if a loaded ``neuroguide`` module defines ``name`` (a documented-in-prose constant)."""
    import sys

    return any(
        mod_name.startswith("neuroguide") and hasattr(module, name)
        for mod_name, module in list(sys.modules.items())
        if module is not None
    )


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension with Sphinx.

    Returns:
        Extension metadata: the package version and parallel read/write safety.

    """
    from .results import package_version

    app.add_config_value("neuroguide_generated_dir", "_generated", "env", types=[str])
    app.add_config_value("neuroguide_guidelines", None, "env")
    app.add_event(CONTRIBUTE_EVENT)
    # Before intersphinx (priority 800 validates, builder-inited loads): the fallbacks must exist.
    app.connect("config-inited", _on_config_inited, priority=100)
    app.connect("builder-inited", _on_builder_inited, priority=400)
    # After intersphinx's own handler (priority 500): only what it could not resolve.
    app.connect("missing-reference", _on_missing_reference, priority=900)
    return {"version": package_version(), "parallel_read_safe": True, "parallel_write_safe": True}
