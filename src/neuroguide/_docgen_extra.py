"""Catalogue-wide reference pages: neurotoxicity table, calculators, anomalies, schema, API.

Each function returns :class:`~neuroguide._docgen_md.Page` objects (MyST
Markdown) built from installed objects only (a Catalog, the calculators, the
vocabulary, the public API); :func:`extra_pages` collects them with any problem
the build must report.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

import neuroguide

from . import model as m
from ._docgen_codes import codes_page
from ._docgen_md import (
    DocProblem,
    Page,
    cite_summary,
    code,
    esc,
    esc_keep_spaces,
    fmt_value,
    heading,
    label,
    list_table,
    pipe_table,
    ref,
    rule_label,
)
from ._loading import Catalog
from .calculators import REGISTRY
from .patient import Patient
from .schema import patient_schema
from .units import format_quantity, is_quantity

__all__ = ["ExtraPages", "extra_pages"]


@attrs.frozen(kw_only=True)
class ExtraPages:
    """The catalogue-wide pages and the problems met while building them."""

    pages: tuple[Page, ...]
    problems: tuple[DocProblem, ...] = ()


def _latest(cat: Catalog) -> list[m.Guideline]:
    return [cat.versions(gid)[-1] for gid in cat.ids()]


def _rule_ref(g: m.Guideline, rule: m.Rule, text: str | None = None) -> str:
    return ref(rule_label(g.id, rule.id), text or rule.id)


# -- neurotoxicity ------------------------------------------------------------------------


def neurotoxicity_page(cat: Catalog) -> Page:
    """The drug-neurotoxicity table: one row per agent, from every guideline's latest version."""
    lines = heading(1, "Drug neurotoxicity table", label("neurotoxicity"))
    lines += [
        "Drugs that can cause or worsen peripheral neuropathy, as encoded (one rule per drug). "
        "{py:func}`neuroguide.neurotoxicity` looks an entry up by name, synonym or RxNorm code; `assess` flags a "
        "listed drug in the medication list and compares the exposure with the threshold.",
        "",
    ]
    rows = []
    notes = []
    for g in _latest(cat):
        for rule in g.rules:
            if not isinstance(rule, m.NeurotoxicityRule):
                continue
            agent = [_rule_ref(g, rule, rule.agent)]
            if rule.synonyms:
                agent.append("(" + esc(", ".join(rule.synonyms)) + ")")
            agent.append(f"RxNorm {esc(rule.rxnorm)}")
            if rule.status is not m.Status.APPROVED:
                agent.append(f"**{esc(rule.status.value)}**")
            thresholds = []
            if rule.cumulative_threshold is not None:
                thresholds.append(f"cumulative > {fmt_value(rule.cumulative_threshold)}")
            if rule.duration_threshold is not None:
                thresholds.append(f"duration > {fmt_value(rule.duration_threshold)}")
            rows.append(
                [
                    " ".join(agent),
                    esc(rule.drug_class),
                    esc(rule.phenotype) + f"\n\nRisk: {esc(rule.risk)}",
                    "; ".join(thresholds) or "none encoded",
                    esc(rule.onset),
                    esc(rule.reversibility),
                    "\n".join(f"- {cite_summary(g, c)}" for c in rule.citations),
                ]
            )
            if rule.disagreement:
                notes.append(f"- **{esc(rule.agent)}:** {esc(rule.disagreement)}")
    if not rows:
        lines += ["No neurotoxicity entries are encoded yet.", ""]
        return Page("neurotoxicity.md", "\n".join(lines))
    lines += list_table(
        ["Agent", "Class", "Phenotype", "Thresholds", "Onset", "Reversibility", "Source"],
        rows,
        [14, 12, 20, 12, 12, 12, 18],
    )
    if notes:
        lines += heading(2, "Where sources disagree")
        lines += [*notes, ""]
    return Page("neurotoxicity.md", "\n".join(lines))


# -- calculators --------------------------------------------------------------------------

# Formulas as HTML (Unicode symbols, <sub>/<sup>, a CSS fraction), transcribed from each calculator's
# docstring (which states the formula the code implements). No math engine and nothing fetched from a
# network: the pages must render on an offline hospital intranet. A calculator without an entry shows
# its docstring's summary only.


def _frac(top: str, bottom: str) -> str:
    return f'<span class="frac"><span class="num">{top}</span><span class="den">{bottom}</span></span>'


_SEX_CG = "× (0.85 if female; 1 if male)"
_CG = f"CrCl [mL/min] = {_frac('(140 − age) × weight [kg]', '72 × SCr [mg/dL]')} {_SEX_CG}"
FORMULAS: dict[str, str] = {
    "cockcroft-gault": _CG,
    "creatinine-clearance": _CG,
    "bsa-mosteller": f"BSA [m<sup>2</sup>] = √( {_frac('height [cm] × weight [kg]', '3600')} )",
    "bsa-dubois": "BSA [m<sup>2</sup>] = 0.007184 × weight [kg]<sup>0.425</sup> × height [cm]<sup>0.725</sup>",
    "bmi": f"BMI [kg/m<sup>2</sup>] = {_frac('weight [kg]', '(height [m])<sup>2</sup>')}",
    "ibw-devine": "IBW [kg] = (50 if male; 45.5 if female) + 2.3 × (height [in] − 60)",
    "adjusted-body-weight": "ABW = IBW + 0.4 × (weight − IBW)",
    "hba1c-to-ifcc": "HbA1c<sub>IFCC</sub> [mmol/mol] = 10.93 × HbA1c<sub>NGSP</sub> [%] − 23.5",
    "hba1c-to-ngsp": "HbA1c<sub>NGSP</sub> [%] = 0.0915 × HbA1c<sub>IFCC</sub> [mmol/mol] + 2.15",
    "eag-adag": "eAG [mg/dL] = 28.7 × A1C [%] − 46.7; &nbsp; eAG [mmol/L] = eAG [mg/dL] / 18",
    "a1c-from-eag": f"A1C [%] = {_frac('glucose [mg/dL] + 46.7', '28.7')}",
    "glucose-conversion": f"c [mmol/L] = {_frac('c [mg/dL] × 10', '180.156 g/mol')}",
    "b12-conversion": f"c [pmol/L] = {_frac('c [pg/mL] × 1000', '1355.37 g/mol')}",
    "creatinine-conversion": f"c [µmol/L] = {_frac('c [mg/dL] × 10<sup>4</sup>', '113.12 g/mol')}",
}


# One worked example per known calculator (run at build time). A calculator may
# also carry its own ``example`` attribute (a dict of keyword arguments).
EXAMPLES: dict[str, dict[str, Any]] = {
    "cockcroft-gault": {"age": 72, "weight": "72 kg", "serum_creatinine": "1.4 mg/dL", "sex": "female"},
    "glycemia-ada": {"hba1c": "6.8 %", "fasting_glucose": "131 mg/dL"},
    "iwgdf-category": {"lops": True, "pad": False, "deformity": True, "prior_ulcer": False},
    "abi": {"ankle_dp": "118 mmHg", "ankle_pt": "124 mmHg", "brachial_left": "136 mmHg", "brachial_right": "141 mmHg"},
    "creatinine-clearance": {
        "age": 72,
        "weight": "95 kg",
        "height": "165 cm",
        "serum_creatinine": "1.4 mg/dL",
        "sex": "female",
        "weight_convention": "adjusted",
        "rounding": "half-up",
    },
    "bsa-mosteller": {"height": "170 cm", "weight": "72 kg"},
    "bsa-dubois": {"height": "170 cm", "weight": "72 kg"},
    "bmi": {"weight": "72 kg", "height": "170 cm"},
    "ibw-devine": {"height": "170 cm", "sex": "male"},
    "adjusted-body-weight": {"weight": "95 kg", "height": "165 cm", "sex": "female"},
    "hba1c-to-ifcc": {"hba1c": "6.5 %"},
    "hba1c-to-ngsp": {"hba1c": "48 mmol/mol"},
    "eag-adag": {"hba1c": "7 %"},
    "a1c-from-eag": {"glucose": "154 mg/dL"},
    "glucose-conversion": {"value": "126 mg/dL"},
    "b12-conversion": {"value": "180 ng/L"},
    "creatinine-conversion": {"value": "1.0 mg/dL"},
    "mnsi-questionnaire": {"answers": {i: i in (1, 2, 5, 13) for i in range(1, 16)}},
    "mnsi-examination": {
        "right_appearance": "abnormal",
        "right_ulceration": False,
        "right_ankle_reflex": "present-with-reinforcement",
        "right_vibration": "decreased",
        "left_appearance": "normal",
        "left_ulceration": False,
        "left_ankle_reflex": "absent",
        "left_vibration": "decreased",
    },
    "tcss": {
        "foot_pain": True,
        "numbness": True,
        "tingling": False,
        "weakness": False,
        "ataxia": False,
        "upper_limb_symptoms": False,
        "pinprick": True,
        "temperature": False,
        "light_touch": False,
        "vibration": True,
        "position": False,
        "knee_right": "normal",
        "knee_left": "normal",
        "ankle_right": "reduced",
        "ankle_left": "absent",
    },
    "dn4": {
        "burning": True,
        "painful_cold": False,
        "electric_shocks": True,
        "tingling": True,
        "pins_and_needles": False,
        "numbness": True,
        "itching": False,
        "touch_hypoaesthesia": False,
        "pricking_hypoaesthesia": False,
        "brushing": False,
    },
}

# Typical adult values by parameter name, for calculators without a curated example.
_TYPICAL: dict[str, Any] = {
    "age": 60,
    "weight": "72 kg",
    "height": "170 cm",
    "serum_creatinine": "1.0 mg/dL",
    "sex": "female",
    "hba1c": "7 %",
    "glucose": "126 mg/dL",
}


def _example_for(name: str, fn: Callable[..., Any]) -> tuple[dict[str, Any] | None, bool]:
    """Return example keyword arguments and whether they are documented (not guessed)."""
    own = getattr(fn, "example", None)
    if isinstance(own, Mapping):
        return dict(own), True
    if name in EXAMPLES:
        return dict(EXAMPLES[name]), True
    kwargs: dict[str, Any] = {}
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: guess from names only
        hints = {}
    flip = True
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        hint = hints.get(param.name)
        if param.name in _TYPICAL:
            kwargs[param.name] = _TYPICAL[param.name]
        elif param.default is not param.empty:
            continue
        elif hint is bool:
            kwargs[param.name] = flip
            flip = not flip
        elif typing.get_origin(hint) is typing.Literal:
            kwargs[param.name] = typing.get_args(hint)[0]
        else:
            return None, False
    return kwargs, False


_ROLE = re.compile(r":[a-z:]+:`~?([^`]+)`")


def _rst_to_md(text: str) -> str:
    """Make a docstring fragment readable as Markdown: roles become code, ``x`` stays code."""
    text = _ROLE.sub(lambda mt: f"``{mt.group(1)}``", " ".join(text.split()))
    parts = re.split(r"(``[^`]+``)", text)
    return "".join(code(p[2:-2]) if p.startswith("``") and p.endswith("``") else esc_keep_spaces(p) for p in parts)


def docstring_sections(doc: str) -> tuple[str, dict[str, list[tuple[str, str]]]]:
    """Split a Google-style docstring into its description and its named sections.

    Returns:
        ``(description, {"Args": [(name, text), ...], "Returns": [("", text)], ...})``.

    """
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    sections: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    for line in lines:
        header = re.match(r"^(Args|Arguments|Returns|Raises|Yields|Example|Examples|Note|Notes):\s*$", line)
        if header:
            current = header.group(1)
            sections[current] = []
            continue
        if current is None:
            description.append(line)
            continue
        entry = re.match(r"^ {4}(\*{0,2}[A-Za-z_][\w.]*)\s*(\([^)]*\))?:\s*(.*)$", line)
        if entry and current in ("Args", "Arguments", "Raises"):
            sections[current].append((entry.group(1), entry.group(3)))
        elif line.strip() and sections[current]:
            name, text = sections[current][-1]
            sections[current][-1] = (name, f"{text} {line.strip()}")
        elif line.strip():
            sections[current].append(("", line.strip()))
    return "\n".join(description).strip(), sections


def _shown(value: Any) -> str:
    if is_quantity(value):
        return format_quantity(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def calculators_page() -> tuple[Page, list[DocProblem]]:
    """The calculators: formula, inputs and ranges, conventions, a worked example run now, source."""
    problems: list[DocProblem] = []
    lines = heading(1, "Calculators", label("calculators"))
    lines += [
        'Every calculator takes pint quantities (or strings such as `"72 kg"`) at the boundary, converts them once '
        "to canonical units, computes on floats and returns a {py:class}`~neuroguide.calculators.CalcResult` with "
        "the value, an interpretation, the normalized inputs, the intermediate steps and the citation. Inputs "
        "outside the plausible range are refused with {py:class}`~neuroguide.InputError`. The worked examples "
        "below were computed by the installed package when these pages were built.",
        "",
    ]
    lines += pipe_table(
        ["Calculator", "Function", "Summary"],
        [
            [ref(label("calc", name), name), code(f"{fn.__name__}()"), _rst_to_md((fn.__doc__ or "").split("\n")[0])]
            for name, fn in REGISTRY.items()
        ],
    )
    for name, fn in REGISTRY.items():
        description, sections = docstring_sections(fn.__doc__ or "")
        lines += heading(2, name, label("calc", name))
        lines += [f"{code('neuroguide.calculators.' + fn.__name__)} (CLI: {code('neuroguide calc ' + name)})", ""]
        for para in description.split("\n\n"):
            lines += [_rst_to_md(para), ""]
        if name in FORMULAS:
            lines += ["**Formula**", "", "```{raw} html", f'<div class="formula">{FORMULAS[name]}</div>', "```", ""]
        args = sections.get("Args") or sections.get("Arguments") or []
        signature = inspect.signature(fn)
        if args:
            lines += ["**Inputs and plausible ranges**", ""]
            rows = []
            for arg, text in args:
                param = signature.parameters.get(arg.lstrip("*"))
                default = "required"
                if param is not None and param.default is not param.empty:
                    default = code(repr(param.default))
                rows.append([code(arg), default, _rst_to_md(text)])
            lines += pipe_table(["Input", "Default", "Meaning, units and accepted range"], rows)
        for section in ("Returns", "Raises"):
            if sections.get(section):
                text = " ".join((f"{n}: " if n else "") + t for n, t in sections[section])
                lines += [f"**{section}.** {_rst_to_md(text)}", ""]
        example, documented = _example_for(name, fn)
        if example is None:
            lines += ["*No worked example: the calculator has inputs with no documented example value.*", ""]
            continue
        try:
            result = fn(**example)
        except Exception as exc:
            if documented:  # a documented example that fails means the docs and the code disagree
                problems.append(
                    DocProblem(f"calculator {name!r}: worked example {example!r} failed: {exc}", "calculators.md")
                )
            lines += [f"*No worked example: the example inputs {esc(example)} were refused ({esc(exc)}).*", ""]
            continue
        call = ", ".join(f"{k}={v!r}" for k, v in example.items())
        lines += ["**Worked example**", "", "```python", f"{fn.__name__}({call})", "```", ""]
        steps = [[esc(s.label), esc(s.value)] for s in result.steps]
        lines += pipe_table(["Step", "Value"], steps) if steps else []
        lines += [f"Result: **{esc(_shown(result.value))}**. {esc(result.interpretation)}", ""]
        if result.conventions:
            lines += ["**Conventions**", ""] + [f"- {esc(c)}" for c in result.conventions] + [""]
        lines += [f"**Source.** {esc(result.citation)}", ""]
    return Page("calculators.md", "\n".join(lines)), problems


# -- known anomalies ---------------------------------------------------------------------------


def anomalies_page(cat: Catalog, present: Collection[str] = ()) -> Page:
    """Rules in review, source disagreements, integrity and version-chain oddities.

    ``present`` holds the paths of the other generated pages: the deviations and
    conformance pages are linked only when they exist.
    """
    lines = heading(1, "Known anomalies", label("anomalies"))
    intro = (
        "Things a reviewer should know that are not errors of the code: rules held back from evaluation and why, "
        "places where sources disagree, and the state of the guideline files."
    )
    if "deviations.md" in present:
        deviations = ref(label("deviations"), "deviations from the seed")
        intro += f" Deviations from the seed are on their own page ({deviations})."
    if "conformance.md" in present:
        intro += f" Disagreements with external test decks are on the {ref(label('conformance'), 'conformance page')}."
    lines += [intro, ""]
    review = []
    disagree = []
    off_label = []
    for g in _latest(cat):
        for rule in g.rules:
            if rule.status is not m.Status.APPROVED:
                review.append([_rule_ref(g, rule), esc(g.id), esc(rule.status.value), esc(rule.review_note or "—")])
            text = getattr(rule, "disagreement", None)
            if text:
                disagree.append([_rule_ref(g, rule), esc(text)])
            if isinstance(rule, m.DosingRule) and rule.labelled is False:
                off_label.append([_rule_ref(g, rule), esc(rule.agent), esc(rule.label_note or "—")])
    lines += heading(2, "Rules not evaluated by default")
    if review:
        lines += ["These rules are encoded but not approved (usually: the quote is not yet verified).", ""]
        lines += pipe_table(["Rule", "Guideline", "Status", "Why"], review)
    else:
        lines += ["Every rule in the latest versions is approved.", ""]
    lines += heading(2, "Where sources disagree")
    lines += pipe_table(["Rule", "Disagreement"], disagree) if disagree else ["None recorded.", ""]
    lines += heading(2, "Regimens outside the product label")
    lines += pipe_table(["Rule", "Agent", "Label note"], off_label) if off_label else ["None recorded.", ""]
    lines += heading(2, "Guideline files")
    items = []
    for gid in cat.ids():
        versions = cat.versions(gid)
        known = {g.version for g in versions}
        for g in versions:
            if g.supersedes and g.supersedes not in known:
                items.append(
                    f"{code(gid)} {esc(g.version)} supersedes {esc(g.supersedes)}, which is not in the catalog."
                )
    try:
        mismatches = cat.verify()
    except OSError as exc:
        mismatches = []
        items.append(f"The lock file could not be checked: {esc(exc)}")
    for name, expected, actual in mismatches:
        items.append(
            f"{code(name)} differs from the lock file (expected {code(expected[:16])}, found {code(actual[:16])})."
        )
    lines += (
        [f"- {i}" for i in items] if items else ["Every file matches the lock file; every version chain is complete."]
    )
    lines += [""]
    return Page("anomalies.md", "\n".join(lines))


# -- patient schema -------------------------------------------------------------------------------

SCHEMA_FILE = "patient.schema.json"
_EXAMPLE = {
    "id": "example-1",
    "birth_date": "1956-04-02",
    "sex": "female",
    "diabetes": {"type": "type-2", "diagnosed": "2015-06-01"},
    "findings": {"numbness": True, "monofilament-abnormal": False},
    "measurements": {"weight": "72 kg", "serum-creatinine": "88 umol/L"},
    "last": {"neuropathy-exam": "2025-10-01"},
    "medications": [{"agent": "metformin", "dose": "2000 mg", "per": "day", "started": "2016-01-10"}],
}


def _how(description: str, title: str) -> str:
    return description.removeprefix(title + ".").strip().removeprefix("How to obtain:").strip()


def schema_pages() -> tuple[list[Page], list[DocProblem]]:
    """The patient-input JSON Schema page and the downloadable schema file."""
    schema = patient_schema()
    problems: list[DocProblem] = []
    try:
        Patient.from_dict(_EXAMPLE)
    except Exception as exc:  # the example must stay valid input
        problems.append(DocProblem(f"the schema page's example patient is refused: {exc}", "schema.md"))
    props = schema["properties"]
    lines = heading(1, "Patient input (JSON Schema)", label("schema"))
    lines += [
        "The patient input that {py:func}`neuroguide.assess`, {py:meth}`neuroguide.Patient.from_dict` and "
        "`neuroguide assess FILE` accept, as a JSON Schema (draft 2020-12) generated by "
        "{py:func}`neuroguide.schema.patient_schema` from the fact vocabulary.",
        "",
        f"Download: {{download}}`{SCHEMA_FILE} <{SCHEMA_FILE}>`",
        "",
        "Anything not given is unknown, never assumed normal; `null` means explicitly unknown. Unknown keys are "
        "refused everywhere. The parser does more than the schema can say: it converts each quantity to its "
        "canonical unit (`x-unit`) and refuses values outside the accepted range (`x-range`), unknown or "
        "case-mangled units, and dates after the evaluation date.",
        "",
    ]
    lines += heading(2, "Example")
    lines += ["```json", json.dumps(_EXAMPLE, indent=2, ensure_ascii=False), "```", ""]
    lines += heading(2, "Top-level fields")
    lines += pipe_table(
        ["Field", "Type", "Description"],
        [
            [code(k), code(json.dumps(v.get("type", v.get("enum", "object")))), esc(v.get("description", ""))]
            for k, v in props.items()
        ],
    )
    lines += heading(2, "Findings (true / false / null)")
    lines += pipe_table(
        ["Name", "Finding", "How to obtain"],
        [
            [code(k), esc(v["title"]), esc(_how(v["description"], v["title"]))]
            for k, v in props["findings"]["properties"].items()
        ],
    )
    lines += heading(2, "Measurements")
    rows = []
    for k, v in props["measurements"]["properties"].items():
        if "x-unit" in v:
            unit = esc(v["x-unit"])
            span = esc(f"{v['x-range'][0]:g} to {v['x-range'][1]:g}") if "x-range" in v else "—"
            form = f"quantity string, e.g. {code('… ' + v['x-unit'])}"
        else:
            unit, form = "—", "number"
            span = esc(f"{v.get('minimum', '—')} to {v.get('maximum', '—')}")
        rows.append([code(k), esc(v["title"]), form, unit, span])
    lines += pipe_table(["Name", "Measurement", "Form", "Canonical unit", "Accepted range"], rows)
    lines += heading(2, "Last assessments (dates)")
    lines += pipe_table(
        ["Name", "Date of"], [[code(k), esc(v["title"])] for k, v in props["last"]["properties"].items()]
    )
    lines += heading(2, "The schema")
    lines += [f"```{{literalinclude}} {SCHEMA_FILE}", ":language: json", "```", ""]
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return [Page("schema.md", "\n".join(lines)), Page(SCHEMA_FILE, text)], problems


# -- API reference ---------------------------------------------------------------------------------

API_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Assessing a patient",
        "The entry points: evaluate the guidelines in effect for a patient on a date, and replay a record.",
        ("assess", "replay", "Patient", "Diabetes", "Medication"),
    ),
    (
        "Results and the evaluation record",
        "What `assess` returns. The record serializes to JSON and `replay` re-derives the same result.",
        ("Assessment", "Recommendation", "MissingInput", "Section", "results.PossibleFlag", "results.Note",
         "results.NoteKind", "EvaluationRecord",
         "evaluation.GuidelineRef", "evaluation.RuleTrace", "ReplayReport"),
    ),
    (
        "Guidelines and rules",
        "Look-up of the versioned guidelines, their sources and citations.",
        ("list_guidelines", "load_guideline", "find_rule", "Guideline", "GuidelineInfo", "Catalog", "Source",
         "Citation", "Period", "Status"),
    ),
    (
        "Site governance",
        "A site's own sign-off of guideline versions and rules (the package ships none): `assess(..., site=...)` "
        "applies it and stamps the record with its sha256.",
        ("load_site", "Site", "site.SiteInfo", "site.Decision", "site.DecisionKind", "results.SiteStamp",
         "site.SignoffReport", "site.SignoffRow", "site.ReviewState"),
    ),
    (
        "Doses and neurotoxic drugs",
        "Dose checks with units, and the drug-neurotoxicity table.",
        ("check_dose", "DoseVerdict", "Verdict", "neurotoxicity", "neurotoxicity_table"),
    ),
    (
        "Units",
        "Common units from a table of factors (no pint); one lazily built pint registry for the rest; quantities "
        "are serialized as strings.",
        ("Quantity", "ureg", "Q_"),
    ),
    (
        "Errors",
        "Every error derives from `NeuroguideError` and from the builtin it resembles.",
        ("NeuroguideError", "InputError", "UnitError", "UnknownUnitError", "IncompatibleUnitsError",
         "GuidelineDataError", "SiteDataError", "IntegrityError", "NotFoundError", "UnknownGuidelineError",
         "UnknownRuleError", "UnknownAgentError"),
    ),
)  # fmt: skip

_DATA_DOCS = {
    "ureg": "The package's one :class:`pint.UnitRegistry`, built on first use (never mix registries).",
    "Q_": 'Shorthand for ``ureg.Quantity``: ``neuroguide.Q_(72, "kg")`` or ``neuroguide.Q_("350 ug")``.',
    "__version__": "The installed package version (from the distribution metadata).",
    "Quantity": (
        'neuroguide\'s quantity (``Quantity(350, "ug")``): a number and a unit from the unit table; what else a pint '
        "quantity offers is answered by an equal pint quantity built on first use. :data:`neuroguide.Q_` builds a "
        "pint quantity, accepted wherever a quantity is."
    ),
}


def _api_entry(name: str) -> list[str]:
    if "." in name:  # a supporting class named by its module, e.g. "evaluation.GuidelineRef"
        return ["```{eval-rst}", f".. autoclass:: neuroguide.{name}", "   :members:", "```", ""]
    if name in _DATA_DOCS:
        return ["```{eval-rst}", f".. py:data:: neuroguide.{name}", "", f"   {_DATA_DOCS[name]}", "```", ""]
    if name == "calculators":
        return []
    obj = getattr(neuroguide, name)
    if inspect.isclass(obj):
        directive = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        options = [":members:", ":show-inheritance:"] if directive == "autoclass" else [":show-inheritance:"]
        if issubclass(obj, BaseException):
            options.append(":members:")
    elif callable(obj):
        directive, options = "autofunction", []
    else:
        return ["```{eval-rst}", f".. py:data:: neuroguide.{name}", "```", ""]
    return ["```{eval-rst}", f".. {directive}:: neuroguide.{name}", *[f"   {o}" for o in options], "```", ""]


def _model_section() -> list[str]:
    """The rule model: its classes by autodoc, its type aliases spelled out (they carry no docstring)."""
    public = {"Citation", "Guideline", "Period", "Source", "Status"}  # documented above as neuroguide.<Name>
    aliases = [n for n in m.__all__ if isinstance(getattr(m, n), types.UnionType)]
    lines = [
        "The typed, frozen classes a guideline file is structured into (one class per rule kind).",
        "",
        "```{eval-rst}",
        ".. automodule:: neuroguide.model",
        "   :members:",
        f"   :exclude-members: {', '.join(sorted(public | set(aliases)))}",
        "",
        ".. autoclass:: neuroguide.model.RuleBase",
        "   :members:",
        "",
    ]
    for name in aliases:
        members = ", ".join(f":class:`{t.__name__}`" for t in typing.get_args(getattr(m, name)))
        lines += [f".. py:data:: neuroguide.model.{name}", "", f"   Type alias: one of {members}.", ""]
    return [*lines, "```", ""]


def api_page() -> Page:
    """A curated autodoc page over ``neuroguide.__all__`` (names not grouped land in "Other")."""
    public = list(neuroguide.__all__)
    lines = heading(1, "API reference", label("api"))
    lines += [
        "Everything importable from `neuroguide` (its `__all__`), grouped by task. Importing the package is cheap: "
        "the unit registry and the guideline files load on first use.",
        "",
    ]
    placed: set[str] = set()
    for title, intro, names in API_GROUPS:
        present = [n for n in names if n in public or "." in n]
        if not present:
            continue
        lines += [*heading(2, title), intro, ""]
        for name in present:
            lines += _api_entry(name)
            placed.add(name)
    rest = [n for n in public if n not in placed and n not in ("calculators", "__version__")]
    if rest:
        lines += heading(2, "Other")
        for name in rest:
            lines += _api_entry(name)
    if "__version__" in public:
        lines += _api_entry("__version__")
    lines += heading(2, "Calculators")
    lines += [
        f"Each calculator is also described, with its formula and a worked example, on the "
        f"{ref(label('calculators'), 'calculators page')}.",
        "",
        "```{eval-rst}",
        ".. automodule:: neuroguide.calculators",
        "   :members:",
        "```",
        "",
    ]
    lines += heading(2, "Rule model")
    lines += _model_section()
    lines += heading(2, "Patient-input schema")
    lines += ["```{eval-rst}", ".. autofunction:: neuroguide.schema.patient_schema", "```", ""]
    return Page("api.md", "\n".join(lines))


def extra_pages(cat: Catalog, present: Collection[str] = ()) -> ExtraPages:
    """Build every catalogue-wide page for ``cat`` (``present``: paths of pages contributed elsewhere)."""
    problems: list[DocProblem] = []
    pages = [neurotoxicity_page(cat)]
    calc, calc_problems = calculators_page()
    pages.append(calc)
    problems += calc_problems
    pages.append(anomalies_page(cat, present))
    schema, schema_problems = schema_pages()
    pages += schema
    problems += schema_problems
    pages.append(api_page())
    pages.append(codes_page())
    return ExtraPages(pages=tuple(pages), problems=tuple(problems))
