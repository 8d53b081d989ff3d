"""Population scale: evaluate a cohort columnarly (optional extra ``cohort``; Dask with ``dask``).

The heavy dependencies (Polars, pyarrow, Dask) are imported only when a function here is called,
so ``import neuroguide`` and the command line stay fast without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import CohortResult
    from ._engine import Undetermined

__all__ = ["CohortResult", "Undetermined", "evaluate", "run", "summary_html", "synth"]


def evaluate(table: Any, *, as_of: Any, **options: Any) -> CohortResult:
    """Evaluate a cohort table; see :func:`neuroguide.cohort._api.evaluate`."""
    from ._api import evaluate as _evaluate

    return _evaluate(table, as_of=as_of, **options)


def run(source: Any, output: Any, *, as_of: Any, **options: Any) -> Any:
    """Evaluate a cohort file into a results file; see :func:`neuroguide.cohort._io.run`."""
    from ._io import run as _run

    return _run(source, output, as_of=as_of, **options)


def synth(n: int, *, seed: int = 0, as_of: Any = None) -> Any:
    """A seeded synthetic cohort as a wide table; see :func:`neuroguide.cohort._synth.synth`."""
    from ._synth import synth as _synth

    return _synth(n, seed=seed, as_of=as_of)


def summary_html(results: Any, **options: Any) -> str:
    """A self-contained HTML summary of a results table; see :func:`neuroguide.cohort._html.summary_html`."""
    from ._html import summary_html as _summary

    return _summary(results, **options)


def __getattr__(name: str) -> Any:
    if name == "CohortResult":
        from ._api import CohortResult

        return CohortResult
    if name == "Undetermined":
        from ._engine import Undetermined

        return Undetermined
    raise AttributeError(name)
