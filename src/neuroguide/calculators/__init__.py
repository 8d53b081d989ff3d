"""Every clinical calculator, by name: the pure formulas and the guideline-backed classifiers.

Each calculator states its formula, source, conventions and plausible input
ranges, and returns the normalized inputs and intermediate steps. ``REGISTRY``
maps each calculator's name to its function, for the CLI and the docs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..classify import abi, classify_abi, classify_glycemia, iwgdf_category
from ..formulas import (
    CalcResult,
    Step,
    a1c_from_eag,
    adjusted_body_weight,
    b12_convert,
    bmi,
    bsa_dubois,
    bsa_mosteller,
    cockcroft_gault,
    crcl_from_floats,
    creatinine_clearance,
    creatinine_convert,
    dn4,
    eag,
    glucose_convert,
    hba1c_to_ifcc,
    hba1c_to_ngsp,
    ibw_devine,
    mnsi_examination,
    mnsi_questionnaire,
    tcss,
)

__all__ = [
    "REGISTRY",
    "CalcResult",
    "Step",
    "a1c_from_eag",
    "abi",
    "adjusted_body_weight",
    "b12_convert",
    "bmi",
    "bsa_dubois",
    "bsa_mosteller",
    "classify_abi",
    "classify_glycemia",
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
    "iwgdf_category",
    "mnsi_examination",
    "mnsi_questionnaire",
    "tcss",
]

REGISTRY: Mapping[str, Callable[..., CalcResult]] = MappingProxyType(
    {
        "cockcroft-gault": cockcroft_gault,
        "bsa-mosteller": bsa_mosteller,
        "glycemia-ada": classify_glycemia,
        "creatinine-clearance": creatinine_clearance,
        "bsa-dubois": bsa_dubois,
        "bmi": bmi,
        "ibw-devine": ibw_devine,
        "adjusted-body-weight": adjusted_body_weight,
        "hba1c-to-ifcc": hba1c_to_ifcc,
        "hba1c-to-ngsp": hba1c_to_ngsp,
        "eag-adag": eag,
        "a1c-from-eag": a1c_from_eag,
        "glucose-conversion": glucose_convert,
        "b12-conversion": b12_convert,
        "creatinine-conversion": creatinine_convert,
        "mnsi-questionnaire": mnsi_questionnaire,
        "mnsi-examination": mnsi_examination,
        "tcss": tcss,
        "dn4": dn4,
        "iwgdf-category": iwgdf_category,
        "abi": abi,
    }
)
