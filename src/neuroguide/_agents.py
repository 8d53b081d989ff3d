"""Drug names: the one place that decides whether a medication name means a rule's drug.

Names compare after trimming and case-folding. A rule's names are its agent, its
synonyms (brand names, salts) and, for neurotoxicity entries, a verified numeric
RxNorm code. A medication name is first reduced to its ingredients
(:func:`ingredient_keys`): release and salt words and strengths are dropped
("metformin ER 500 mg" -> metformin), a known brand maps to its ingredient, and a
combination product ("Janumet", "sitagliptin/metformin") names each of its
ingredients. Verified RxNorm ingredient codes are turned into these names by the FHIR reader
(:func:`neuroguide.terminology.ingredient`), not here.
"""

from __future__ import annotations

import functools
import re

from . import model as m

__all__ = [
    "COMBINATIONS",
    "DROXIDOPA",
    "FOLIC_ACID",
    "GABAPENTINOIDS",
    "METFORMIN",
    "MIDODRINE",
    "RECOGNISED",
    "agent_names",
    "ingredient_keys",
    "is_combination",
    "is_modified_release",
    "key",
    "names_agent",
    "same_agent",
]


def key(name: str) -> str:
    """The comparison form of a drug name or code."""
    return name.strip().casefold()


def agent_names(rule: m.DosingRule | m.NeurotoxicityRule) -> frozenset[str]:
    """Every comparison-form name a medication list may use for the rule's drug."""
    hit = _AGENT_NAMES.get(id(rule))
    if hit is None or hit[0] is not rule:
        hit = (rule, _agent_names(rule))
        if len(_AGENT_NAMES) >= 4096:
            _AGENT_NAMES.clear()
        _AGENT_NAMES[id(rule)] = hit  # the rule is held with its names, so its id is not reused meanwhile
    return hit[1]


# Both name sets are asked for every medication by every medication rule of every assessment: kept (rules
# by identity: hashing a frozen rule costs more than deriving its names).
_AGENT_NAMES: dict[int, tuple[m.DosingRule | m.NeurotoxicityRule, frozenset[str]]] = {}


def _agent_names(rule: m.DosingRule | m.NeurotoxicityRule) -> frozenset[str]:
    names = {key(rule.agent), *(key(s) for s in rule.synonyms)}
    if isinstance(rule, m.NeurotoxicityRule) and rule.rxnorm.isdigit():
        names.add(rule.rxnorm)
    return frozenset(names)


# Words that name a release form, a salt or a dose form, not a different drug.
_FORM_WORDS = frozenset(
    {
        "er", "xr", "sr", "cr", "xl", "dr", "ir", "ec", "la",
        "extended-release", "extended", "release", "delayed-release", "delayed", "immediate-release",
        "immediate", "modified-release", "prolonged-release", "gastro-resistant",
        "hydrochloride", "hcl", "sodium", "phosphate",
        "tablet", "tablets", "capsule", "capsules", "oral", "solution", "film-coated", "coated",
        # RxNorm clinical-drug names give a release duration first: "24 HR Metformin hydrochloride 500 MG Extended
        # Release Oral Tablet" (the number is dropped as a strength, "hr" here)
        "hr",
    }
)  # fmt: skip
_STRENGTH = re.compile(r"^\d+([.,]\d+)?(mg|g|mcg|ug|µg|ml)?$|^(mg|g|mcg|ug|µg|ml)$")
_SPLIT = re.compile(r"\s*(?:/|\+|,|\band\b|\bwith\b)\s*")
# A concentration ("250 mg/5 mL", "5 mg/ml") names one drug's strength: its "/" does not join two ingredients.
_CONCENTRATION = re.compile(r"\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|ug|µg)\s*/\s*(?:\d+(?:[.,]\d+)?\s*)?(?:ml|l)\b")


def _parts(k: str) -> list[str]:
    """The ingredients a comparison-form name lists (one, unless it joins several)."""
    return [p for p in _SPLIT.split(_CONCENTRATION.sub(" ", k)) if p.strip()]


#: Brand names of single-ingredient products, as printed in the title of the label each dosing rule cites.
BRANDS: dict[str, str] = {
    "neurontin": "gabapentin",
    "lyrica": "pregabalin",
    "cymbalta": "duloxetine",
}
#: Combination products and their ingredients (label title checked on DailyMed: "JANUMET- sitagliptin and
#: metformin hydrochloride tablet, film coated", set id d19c7ed0-ad5c-426e-b2df-722508f97d67).
COMBINATIONS: dict[str, frozenset[str]] = {
    "janumet": frozenset({"sitagliptin", "metformin"}),
}


def _base(name: str) -> str:
    plain = _CONCENTRATION.sub(" ", name).replace("(", " ").replace(")", " ")
    words = [w for w in plain.split() if w not in _FORM_WORDS]
    words = [w for w in words if not _STRENGTH.match(w)]
    base = " ".join(words) or name
    return BRANDS.get(base, base)


@functools.lru_cache(maxsize=4096)
def ingredient_keys(name: str) -> frozenset[str]:
    """The comparison-form names a medication entry stands for: itself and each of its ingredients.

    >>> sorted(ingredient_keys("Metformin ER 500 mg"))
    ['metformin', 'metformin er 500 mg']
    >>> sorted(ingredient_keys("Janumet"))
    ['janumet', 'metformin', 'sitagliptin']
    """
    k = key(name)
    if k.isdigit():
        return frozenset({k})
    out = {k}
    base = _base(k)
    out.add(base)
    if base in COMBINATIONS:
        out |= COMBINATIONS[base]
    parts = _parts(k)
    if len(parts) > 1:
        for part in parts:
            b = _base(part)
            out.add(b)
            out |= COMBINATIONS.get(b, frozenset())
    return frozenset(out)


_MODIFIED_RELEASE = frozenset(
    {"er", "xr", "sr", "cr", "xl", "la", "extended-release", "extended", "modified-release", "prolonged-release"}
)


def is_modified_release(name: str) -> bool:
    """True if the entry names an extended/modified-release form (a regimen of its own)."""
    return not _MODIFIED_RELEASE.isdisjoint(key(name).replace("(", " ").replace(")", " ").split())


def is_combination(name: str) -> bool:
    """True if the entry is a combination product (its dose is not the dose of any one ingredient)."""
    k = key(name)
    return _base(k) in COMBINATIONS or len(_parts(k)) > 1


def names_agent(rule: m.DosingRule | m.NeurotoxicityRule, name: str) -> bool:
    """True if ``name`` names the rule's drug (directly, by brand, release form, or as an ingredient)."""
    return not agent_names(rule).isdisjoint(ingredient_keys(name))


def same_agent(a: m.DosingRule | m.NeurotoxicityRule, b: m.DosingRule | m.NeurotoxicityRule) -> bool:
    """True if two rules concern the same drug (they share a name)."""
    return not agent_names(a).isdisjoint(agent_names(b))


# Drugs that derived facts recognise (besides the agents of dosing and neurotoxicity rules).
METFORMIN = frozenset({"metformin", "metformin hydrochloride", "glucophage", "glucophage xr", "fortamet", "glumetza"})
MIDODRINE = frozenset({"midodrine", "midodrine hydrochloride", "proamatine", "orvaten"})
DROXIDOPA = frozenset({"droxidopa", "northera"})
#: Folic acid: recognised so that the caution "do not give folic acid alone before vitamin B12"
#: (b12-testing `folic-acid-not-before-b12`) can name it, and it is not listed as unrecognised.
FOLIC_ACID = frozenset({"folic acid"})
#: The gabapentinoids, as the rule that uses the class cites them (drug-dosing `gabapentinoid-combination`,
#: Ghayur 2021, abstract: "Gabapentinoids comprise the medications gabapentin and pregabalin.").
GABAPENTINOIDS = frozenset({"gabapentin", "pregabalin"})
RECOGNISED = METFORMIN | MIDODRINE | DROXIDOPA | FOLIC_ACID
