"""The ``neuroguide`` console script: answers ``--version`` before importing the command line."""

from __future__ import annotations

import sys

from . import _dist

__all__ = ["main"]


def main() -> int:
    """Run the command line (:func:`neuroguide.cli.main`); ``--version`` alone is answered here."""
    if sys.argv[1:] == ["--version"]:  # argparse, json and the parser definitions are not needed for this
        print(f"neuroguide {_dist.version()}")
        return 0
    from .cli import main as cli_main

    return cli_main()
