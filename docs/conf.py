"""Sphinx configuration for the neuroguide reference documentation.

Build with warnings as errors and nitpicky references (what `nox -s docs` runs):

    sphinx-build -W -n --keep-going -b html docs docs/_build/html
    sphinx-build -W -n --keep-going -b doctest docs docs/_build/doctest

The pages under `_generated/` are written at build time by `neuroguide.sphinxext` from the installed
package's guidelines, and by the repository-only extension `docs/_ext/neuroguide_repo` (trace matrix,
deviations, conformance, dependencies, changelog); they are not kept in git.
"""

from __future__ import annotations

import datetime as dt
import sys
from importlib.metadata import version as _version
from pathlib import Path

# The repository-only extension (docs/_ext) and the conformance runner (tools/) live in the checkout.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_ROOT / "docs" / "_ext"), str(_ROOT)]

# `evaluation` imports the site-overlay type only for type checking (start-up cost); give autodoc the name so the
# signatures that mention it resolve.
import neuroguide.evaluation  # noqa: E402
import neuroguide.site  # noqa: E402

neuroguide.evaluation.Site = neuroguide.site.Site  # type: ignore[attr-defined]

project = "neuroguide"
author = "neuroguide developers"
copyright = f"{dt.date.today().year}, {author}"
release = _version("neuroguide")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.doctest",
    "neuroguide.sphinxext",
    "neuroguide_repo",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "_generated/inventories", "_generated/snippets"]
nitpicky = True

# -- MyST -----------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- autodoc and napoleon (Google-style docstrings) ----------------------------------------------
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = False
autodoc_default_options = {"undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- intersphinx, offline-safe --------------------------------------------------------------------
# Each project lists the real inventory first and a small local fallback second (written by
# neuroguide.sphinxext before intersphinx loads). Without network the fetch fails, intersphinx
# falls back to the local file and logs only an info message, so -W builds stay green offline.
_FALLBACK = "_generated/inventories/{}.inv"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", (None, _FALLBACK.format("python"))),
    "attrs": ("https://www.attrs.org/en/stable", (None, _FALLBACK.format("attrs"))),
    "cattrs": ("https://catt.rs/en/stable", (None, _FALLBACK.format("cattrs"))),
    "pint": ("https://pint.readthedocs.io/en/stable", (None, _FALLBACK.format("pint"))),
}
intersphinx_timeout = 10

# -- doctest ----------------------------------------------------------------------------------------
doctest_global_setup = """
import datetime as dt
import neuroguide as ng
NO_DOSING_RULES = "drug-dosing" not in {g.id for g in ng.list_guidelines()}
"""

# -- offline -------------------------------------------------------------------------------------
# The pages must work on an offline hospital intranet: no script, stylesheet or font from elsewhere.
# Formulas are HTML (see neuroguide._docgen_extra.FORMULAS), so no math engine is loaded;
# `nox -s docs` scans the built pages for outside resources (tools/offline_check.py).

# -- HTML -------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"neuroguide {release}"
html_static_path: list[str] = ["_static"]
html_css_files = ["neuroguide.css"]
html_last_updated_fmt = None
smartquotes = False  # quotes from sources are verbatim: never curl them
