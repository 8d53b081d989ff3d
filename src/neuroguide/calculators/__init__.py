"""Validated clinical calculators: pint quantities in, a :class:`CalcResult` out.

Each calculator states its formula, source, conventions and plausible input
ranges, and returns the normalized inputs and intermediate steps. ``REGISTRY``
maps each calculator's name to its function, for the CLI and the docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._body import bsa_mosteller
from ._renal import cockcroft_gault, crcl_from_floats
from ._result import CalcResult, Step

__all__ = ["REGISTRY", "CalcResult", "Step", "bsa_mosteller", "cockcroft_gault", "crcl_from_floats"]

REGISTRY: dict[str, Callable[..., CalcResult]] = {
    "cockcroft-gault": cockcroft_gault,
    "bsa-mosteller": bsa_mosteller,
}


def register(name: str, fn: Callable[..., Any]) -> None:
    """Add a calculator to :data:`REGISTRY` (module import time only)."""
    REGISTRY[name] = fn


# -- calculator modules --
# glycaemic status by the ADA criteria (issue 4)
from ._glycemia import classify_glycemia  # noqa: E402

register("glycemia-ada", classify_glycemia)
__all__ += ["classify_glycemia"]
# calculators, conversions and scores (issue 6)
from ._body import adjusted_body_weight, bmi, bsa_dubois, ibw_devine  # noqa: E402
from ._conversions import (  # noqa: E402
    a1c_from_eag,
    b12_convert,
    creatinine_convert,
    eag,
    glucose_convert,
    hba1c_to_ifcc,
    hba1c_to_ngsp,
)
from ._renal import creatinine_clearance  # noqa: E402
from ._scores import dn4, mnsi_examination, mnsi_questionnaire, tcss  # noqa: E402

register("creatinine-clearance", creatinine_clearance)
register("bsa-dubois", bsa_dubois)
register("bmi", bmi)
register("ibw-devine", ibw_devine)
register("adjusted-body-weight", adjusted_body_weight)
register("hba1c-to-ifcc", hba1c_to_ifcc)
register("hba1c-to-ngsp", hba1c_to_ngsp)
register("eag-adag", eag)
register("a1c-from-eag", a1c_from_eag)
register("glucose-conversion", glucose_convert)
register("b12-conversion", b12_convert)
register("creatinine-conversion", creatinine_convert)
register("mnsi-questionnaire", mnsi_questionnaire)
register("mnsi-examination", mnsi_examination)
register("tcss", tcss)
register("dn4", dn4)
__all__ += [
    "a1c_from_eag",
    "adjusted_body_weight",
    "b12_convert",
    "bmi",
    "bsa_dubois",
    "creatinine_clearance",
    "creatinine_convert",
    "dn4",
    "eag",
    "glucose_convert",
    "hba1c_to_ifcc",
    "hba1c_to_ngsp",
    "ibw_devine",
    "mnsi_examination",
    "mnsi_questionnaire",
    "tcss",
]
# IWGDF foot risk category and ankle-brachial index (issue 3)
from ._foot import abi, classify_abi, iwgdf_category  # noqa: E402

register("iwgdf-category", iwgdf_category)
register("abi", abi)
__all__ += ["abi", "classify_abi", "iwgdf_category"]
