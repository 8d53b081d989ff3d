"""Drug names: the one place that decides whether a medication name means a rule's drug.

Names compare after trimming and case-folding. A rule's names are its agent, its
synonyms (brand names, salts) and, for neurotoxicity entries, a verified numeric
RxNorm code.
"""

from __future__ import annotations

from . import model as m

__all__ = ["DROXIDOPA", "METFORMIN", "MIDODRINE", "RECOGNISED", "agent_names", "key", "names_agent", "same_agent"]


def key(name: str) -> str:
    """The comparison form of a drug name or code."""
    return name.strip().casefold()


def agent_names(rule: m.DosingRule | m.NeurotoxicityRule) -> frozenset[str]:
    """Every comparison-form name a medication list may use for the rule's drug."""
    names = {key(rule.agent), *(key(s) for s in rule.synonyms)}
    if isinstance(rule, m.NeurotoxicityRule) and rule.rxnorm.isdigit():
        names.add(rule.rxnorm)
    return frozenset(names)


def names_agent(rule: m.DosingRule | m.NeurotoxicityRule, name: str) -> bool:
    """True if ``name`` names the rule's drug."""
    return key(name) in agent_names(rule)


def same_agent(a: m.DosingRule | m.NeurotoxicityRule, b: m.DosingRule | m.NeurotoxicityRule) -> bool:
    """True if two rules concern the same drug (they share a name)."""
    return not agent_names(a).isdisjoint(agent_names(b))


# Drugs that derived facts recognise (besides the agents of dosing and neurotoxicity rules).
METFORMIN = frozenset({"metformin", "metformin hydrochloride", "glucophage", "glucophage xr", "fortamet", "glumetza"})
MIDODRINE = frozenset({"midodrine", "midodrine hydrochloride", "proamatine", "orvaten"})
DROXIDOPA = frozenset({"droxidopa", "northera"})
RECOGNISED = METFORMIN | MIDODRINE | DROXIDOPA
