"""Pure clinical formulas: numbers and quantities in, a :class:`CalcResult` out.

Nothing here reads a guideline or a patient: every input is an argument, so each
formula can be tested and reused on its own. Guideline-backed classifiers live in
:mod:`neuroguide.classify`; :mod:`neuroguide.calculators` lists both.
"""

from __future__ import annotations

from ._body import ABW_FACTOR, adjusted_body_weight, bmi, bsa_dubois, bsa_mosteller, ibw_devine, ibw_kg
from ._conversions import (
    a1c_from_eag,
    b12_convert,
    creatinine_convert,
    eag,
    glucose_convert,
    hba1c_to_ifcc,
    hba1c_to_ngsp,
)
from ._iwgdf import iwgdf_category_from
from ._renal import cockcroft_gault, crcl_from_floats, creatinine_clearance
from ._result import CalcResult, Step
from ._scores import dn4, mnsi_examination, mnsi_questionnaire, tcss

__all__ = [
    "ABW_FACTOR",
    "CalcResult",
    "Step",
    "a1c_from_eag",
    "adjusted_body_weight",
    "b12_convert",
    "bmi",
    "bsa_dubois",
    "bsa_mosteller",
    "cockcroft_gault",
    "crcl_from_floats",
    "creatinine_clearance",
    "creatinine_convert",
    "dn4",
    "eag",
    "glucose_convert",
    "hba1c_to_ifcc",
    "hba1c_to_ngsp",
    "ibw_devine",
    "ibw_kg",
    "iwgdf_category_from",
    "mnsi_examination",
    "mnsi_questionnaire",
    "tcss",
]
