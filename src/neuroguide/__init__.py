"""neuroguide: computable, cited, versioned guidance for numbness and tingling in the legs.

Importing the package is cheap: nothing heavy (pint, the unit registry, the
guideline files) is loaded until first used. Every public name is listed once,
in ``_WHERE`` (name -> module); ``__all__`` is made from it.
"""

from __future__ import annotations

import importlib

# Not imported from typing: the command line's `--version` must not pay for it.
TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers and IDEs (explicit re-exports); at run time names load on first use
    from typing import Any

    from . import calculators as calculators
    from . import classify as classify
    from . import formulas as formulas
    from ._loading import Catalog as Catalog
    from ._loading import GuidelineInfo as GuidelineInfo
    from .api import find_rule as find_rule
    from .api import list_guidelines as list_guidelines
    from .api import load_guideline as load_guideline
    from .dosing import DoseVerdict as DoseVerdict
    from .dosing import Verdict as Verdict
    from .dosing import check_dose as check_dose
    from .evaluation import assess as assess
    from .evaluation import replay as replay
    from .exceptions import GuidelineDataError as GuidelineDataError
    from .exceptions import IncompatibleUnitsError as IncompatibleUnitsError
    from .exceptions import InputError as InputError
    from .exceptions import InputProblemsError as InputProblemsError
    from .exceptions import IntegrityError as IntegrityError
    from .exceptions import NeuroguideError as NeuroguideError
    from .exceptions import NotFoundError as NotFoundError
    from .exceptions import NotInEffectError as NotInEffectError
    from .exceptions import SiteDataError as SiteDataError
    from .exceptions import UnitError as UnitError
    from .exceptions import UnknownAgentError as UnknownAgentError
    from .exceptions import UnknownGuidelineError as UnknownGuidelineError
    from .exceptions import UnknownRuleError as UnknownRuleError
    from .exceptions import UnknownUnitError as UnknownUnitError
    from .model import Citation as Citation
    from .model import Guideline as Guideline
    from .model import Period as Period
    from .model import Source as Source
    from .model import Status as Status
    from .model import Urgency as Urgency
    from .neurotox import neurotoxicity as neurotoxicity
    from .neurotox import neurotoxicity_table as neurotoxicity_table
    from .patient import Diabetes as Diabetes
    from .patient import Flag as Flag
    from .patient import FlagKind as FlagKind
    from .patient import Medication as Medication
    from .patient import Patient as Patient
    from .plain import PlainItem as PlainItem
    from .plain import plain_language as plain_language
    from .results import Assessment as Assessment
    from .results import Difference as Difference
    from .results import DifferenceKind as DifferenceKind
    from .results import EvaluationRecord as EvaluationRecord
    from .results import MissingInput as MissingInput
    from .results import Recommendation as Recommendation
    from .results import RecommendationStatus as RecommendationStatus
    from .results import ReplayReport as ReplayReport
    from .results import RuleOutcome as RuleOutcome
    from .results import Section as Section
    from .site import Site as Site
    from .site import load_site as load_site
    from .units import Quantity as Quantity

# Public name -> the module that defines it ("" for a sub-package of that name).
_WHERE = {
    "Catalog": "_loading",
    "GuidelineInfo": "_loading",
    "find_rule": "api",
    "list_guidelines": "api",
    "load_guideline": "api",
    "calculators": "",
    "classify": "",
    "formulas": "",
    "DoseVerdict": "dosing",
    "Verdict": "dosing",
    "check_dose": "dosing",
    "assess": "evaluation",
    "replay": "evaluation",
    "GuidelineDataError": "exceptions",
    "IncompatibleUnitsError": "exceptions",
    "InputError": "exceptions",
    "InputProblemsError": "exceptions",
    "IntegrityError": "exceptions",
    "NeuroguideError": "exceptions",
    "NotFoundError": "exceptions",
    "NotInEffectError": "exceptions",
    "UnitError": "exceptions",
    "UnknownAgentError": "exceptions",
    "UnknownGuidelineError": "exceptions",
    "UnknownRuleError": "exceptions",
    "UnknownUnitError": "exceptions",
    "SiteDataError": "exceptions",
    "Citation": "model",
    "Guideline": "model",
    "Period": "model",
    "Source": "model",
    "Status": "model",
    "Urgency": "model",
    "neurotoxicity": "neurotox",
    "neurotoxicity_table": "neurotox",
    "PlainItem": "plain",
    "plain_language": "plain",
    "Diabetes": "patient",
    "Flag": "patient",
    "FlagKind": "patient",
    "Medication": "patient",
    "Patient": "patient",
    "Assessment": "results",
    "Difference": "results",
    "DifferenceKind": "results",
    "EvaluationRecord": "results",
    "MissingInput": "results",
    "Recommendation": "results",
    "RecommendationStatus": "results",
    "ReplayReport": "results",
    "RuleOutcome": "results",
    "Section": "results",
    "Quantity": "units",
    "Site": "site",
    "load_site": "site",
}

__all__ = sorted([*_WHERE, "Q_", "__version__", "ureg"])


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed .dist-info, without importlib.metadata
        return importlib.import_module("._dist", __name__).version()
    if name in ("ureg", "Q_"):
        registry = importlib.import_module(".units", __name__).get_registry()
        return registry if name == "ureg" else registry.Quantity
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroguide' has no attribute {name!r}")
    value = importlib.import_module(f".{module or name}", __name__)
    if module:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
