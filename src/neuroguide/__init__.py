"""neuroguide: computable, cited, versioned guidance for numbness and tingling in the legs.

Importing the package is cheap: nothing heavy (pint, the unit registry, the
guideline files) is loaded until first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import calculators
    from ._loading import Catalog, GuidelineInfo
    from .api import find_rule, list_guidelines, load_guideline
    from .dosing import DoseVerdict, Verdict, check_dose
    from .evaluation import (
        Assessment,
        EvaluationRecord,
        MissingInput,
        Recommendation,
        ReplayReport,
        Section,
        assess,
        replay,
    )
    from .exceptions import (
        GuidelineDataError,
        IncompatibleUnitsError,
        InputError,
        IntegrityError,
        NeuroguideError,
        NotFoundError,
        NotInEffectError,
        UnitError,
        UnknownAgentError,
        UnknownGuidelineError,
        UnknownRuleError,
        UnknownUnitError,
    )
    from .model import Citation, Guideline, Period, Source, Status
    from .neurotox import neurotoxicity, neurotoxicity_table
    from .patient import Diabetes, Medication, Patient
    from .units import Quantity

__all__ = [
    "Q_",
    "Assessment",
    "Catalog",
    "Citation",
    "Diabetes",
    "DoseVerdict",
    "EvaluationRecord",
    "Guideline",
    "GuidelineDataError",
    "GuidelineInfo",
    "IncompatibleUnitsError",
    "InputError",
    "IntegrityError",
    "Medication",
    "MissingInput",
    "NeuroguideError",
    "NotFoundError",
    "NotInEffectError",
    "Patient",
    "Period",
    "Quantity",
    "Recommendation",
    "ReplayReport",
    "Section",
    "Source",
    "Status",
    "UnitError",
    "UnknownAgentError",
    "UnknownGuidelineError",
    "UnknownRuleError",
    "UnknownUnitError",
    "Verdict",
    "__version__",
    "assess",
    "calculators",
    "check_dose",
    "find_rule",
    "list_guidelines",
    "load_guideline",
    "neurotoxicity",
    "neurotoxicity_table",
    "replay",
    "ureg",
]

_WHERE = {
    "Catalog": "_loading",
    "GuidelineInfo": "_loading",
    "DoseVerdict": "dosing",
    "Verdict": "dosing",
    "check_dose": "dosing",
    "Assessment": "evaluation",
    "EvaluationRecord": "evaluation",
    "MissingInput": "evaluation",
    "Recommendation": "evaluation",
    "ReplayReport": "evaluation",
    "Section": "evaluation",
    "assess": "evaluation",
    "replay": "evaluation",
    "Citation": "model",
    "Guideline": "model",
    "Period": "model",
    "Source": "model",
    "Status": "model",
    "neurotoxicity": "neurotox",
    "neurotoxicity_table": "neurotox",
    "Diabetes": "patient",
    "Medication": "patient",
    "Patient": "patient",
    "Quantity": "units",
    "list_guidelines": "api",
    "load_guideline": "api",
    "find_rule": "api",
}
_EXCEPTIONS = {
    "GuidelineDataError",
    "IncompatibleUnitsError",
    "InputError",
    "IntegrityError",
    "NeuroguideError",
    "NotFoundError",
    "NotInEffectError",
    "UnitError",
    "UnknownAgentError",
    "UnknownGuidelineError",
    "UnknownRuleError",
    "UnknownUnitError",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("neuroguide")
    if name == "ureg":
        from .units import get_registry

        return get_registry()
    if name == "Q_":
        from .units import get_registry

        return get_registry().Quantity
    if name == "calculators":
        return importlib.import_module(".calculators", __name__)
    module = "exceptions" if name in _EXCEPTIONS else _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroguide' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
