"""Catalogue-wide reference pages: neurotoxicity table, calculators, deviations, schema, API...

Each function returns :class:`~neuroguide._docgen_md.Page` objects (MyST
Markdown); :func:`extra_pages` collects them with any problem the build must
report.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from . import model as m
from ._docgen_md import _SPECIAL, DocProblem, Page, code, esc, fmt_value, heading, label, list_table, pipe_table, ref
from ._loading import Catalog
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
    from ._docgen import rule_label

    return ref(rule_label(g.id, rule.id), text or rule.id)


# -- neurotoxicity ------------------------------------------------------------------------


def neurotoxicity_page(cat: Catalog) -> Page:
    """The drug-neurotoxicity table: one row per agent, from every guideline's latest version."""
    from ._docgen import cite_summary

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

# Formulas as LaTeX, transcribed from each calculator's docstring (which states the formula
# the code implements); a calculator without an entry shows its docstring's summary only.
_CG = (
    r"\mathrm{CrCl}\ [\mathrm{mL/min}] = "
    r"\frac{(140 - \mathrm{age}) \times \mathrm{weight}\ [\mathrm{kg}]}{72 \times \mathrm{SCr}\ [\mathrm{mg/dL}]}"
    r" \times \begin{cases} 0.85 & \text{female} \\ 1 & \text{male} \end{cases}"
)
FORMULAS: dict[str, str] = {
    "cockcroft-gault": _CG,
    "creatinine-clearance": _CG,
    "bsa-mosteller": r"\mathrm{BSA}\ [\mathrm{m^2}] = "
    r"\sqrt{\frac{\mathrm{height}\ [\mathrm{cm}] \times \mathrm{weight}\ [\mathrm{kg}]}{3600}}",
    "bsa-dubois": r"\mathrm{BSA}\ [\mathrm{m^2}] = 0.007184 \times \mathrm{weight}\ [\mathrm{kg}]^{0.425}"
    r" \times \mathrm{height}\ [\mathrm{cm}]^{0.725}",
    "bmi": r"\mathrm{BMI}\ [\mathrm{kg/m^2}] = "
    r"\frac{\mathrm{weight}\ [\mathrm{kg}]}{(\mathrm{height}\ [\mathrm{m}])^2}",
    "ibw-devine": r"\mathrm{IBW}\ [\mathrm{kg}] = \begin{cases} 50 & \text{male} \\ 45.5 & \text{female} \end{cases}"
    r" + 2.3 \times (\mathrm{height}\ [\mathrm{in}] - 60)",
    "adjusted-body-weight": r"\mathrm{ABW} = \mathrm{IBW} + 0.4 \times (\mathrm{weight} - \mathrm{IBW})",
    "hba1c-to-ifcc": r"\mathrm{HbA1c}_{\mathrm{IFCC}}\ [\mathrm{mmol/mol}] = 10.93 \times "
    r"\mathrm{HbA1c}_{\mathrm{NGSP}}\ [\%] - 23.5",
    "hba1c-to-ngsp": r"\mathrm{HbA1c}_{\mathrm{NGSP}}\ [\%] = 0.0915 \times \mathrm{HbA1c}_{\mathrm{IFCC}}\ "
    r"[\mathrm{mmol/mol}] + 2.15",
    "eag-adag": r"\mathrm{eAG}\ [\mathrm{mg/dL}] = 28.7 \times \mathrm{A1C}\ [\%] - 46.7, \qquad "
    r"\mathrm{eAG}\ [\mathrm{mmol/L}] = \mathrm{eAG}\ [\mathrm{mg/dL}] / 18",
    "a1c-from-eag": r"\mathrm{A1C}\ [\%] = \frac{\mathrm{glucose}\ [\mathrm{mg/dL}] + 46.7}{28.7}",
    "glucose-conversion": r"c\ [\mathrm{mmol/L}] = \frac{c\ [\mathrm{mg/dL}] \times 10}{180.156\ \mathrm{g/mol}}",
    "b12-conversion": r"c\ [\mathrm{pmol/L}] = \frac{c\ [\mathrm{pg/mL}] \times 1000}{1355.37\ \mathrm{g/mol}}",
    "creatinine-conversion": r"c\ [\mathrm{\mu mol/L}] = "
    r"\frac{c\ [\mathrm{mg/dL}] \times 10^4}{113.12\ \mathrm{g/mol}}",
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
    return "".join(
        code(p[2:-2]) if p.startswith("``") and p.endswith("``") else _SPECIAL.sub(r"\\\1", p) for p in parts
    )


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
    from .calculators import REGISTRY

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
            lines += ["**Formula**", "", "```{math}", FORMULAS[name], "```", ""]
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


# -- deviations from the seed ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CuratedDeviation:
    """A seed error not tied to an encoded rule, with what the sources say and where."""

    seed: str
    governs: str
    sources: tuple[str, ...]
    notes: str


CURATED_DEVIATIONS: tuple[CuratedDeviation, ...] = (
    CuratedDeviation(
        seed="Small fibers constitute 70-90% of peripheral nerve fibers",
        governs=(
            "No source found for 70–90%. The closest verified statement is for one nerve: “The proportion of "
            "myelinated to unmyelinated fibers in the sural nerve is 1:4” (about 80% unmyelinated). Not encoded "
            "as a parameter."
        ),
        sources=(
            "Brazilian Academy of Neurology small-fibre neuropathy consensus. Arq Neuropsiquiatr 2018;76(3):200–208. "
            "doi:10.1590/0004-282X20180015 (primary, thieme-connect full text)",
        ),
        notes="research dossier clinical-sources.md §0 item 3 and §11",
    ),
    CuratedDeviation(
        seed="Nearly 41-48% of small fiber neuropathy cases remain idiopathic",
        governs=(
            "A misreading: “Forty-one (48%) cases were idiopathic” means 41 of 85 patients (48%) in one Hungarian "
            "centre, not a range. For all peripheral neuropathy, AAFP 2020 gives “idiopathic in 25% to 46% of "
            "cases”, a genuine range for a different population."
        ),
        sources=(
            "Pál E, Fülöp K, Tóth P, Deli G, Pfund Z, Janszky J, Komoly S. Small Fiber Neuropathy: "
            "Clinicopathological Correlations. Behav Neurol 2020;2020:8796519. doi:10.1155/2020/8796519 "
            "(primary, PMC7199601 abstract)",
        ),
        notes="research notes workup-redflags.md, sfn-idiopathic",
    ),
    CuratedDeviation(
        seed="CIDP occurs with two-fold increased risk in diabetes",
        governs=(
            "Inverted and overstated. Rajabally 2020's “twofold” is the prevalence of diabetes among people with "
            "CIDP relative to the general population (“RR: 2.09 … RR: 2.22”), not the risk of CIDP in diabetes. "
            "The population-based Olmsted study found “Only 1 of the 23 CIDP patients (4%) also had DM, whereas 14 "
            "of 115 age- and sex-matched controls (12%) had DM”, and a 2017 review states “Whether diabetes is a "
            "risk factor for CIDP remains under debate.” Encoded, if at all, as a contested association."
        ),
        sources=(
            "Rajabally YA, Peric S, Cobeljic M, et al. J Neurol Neurosurg Psychiatry 2020;91(10):1100–1104 "
            "(primary, jnnp.bmj.com abstract)",
            "Laughlin RS, Dyck PJ, Melton LJ 3rd, Leibson C, Ransom J, Dyck PJB. Incidence and prevalence of CIDP "
            "and the association of diabetes mellitus. Neurology 2009;73:39–45 (primary, scribd copy)",
            "Rajabally YA, Stettner M, Kieseier BC, Hartung HP, Malik RA. CIDP and other inflammatory neuropathies "
            "in diabetes — diagnosis and management (review, 2017; primary, research-test.aston.ac.uk abstract)",
        ),
        notes="research notes workup-redflags.md, cidp-diabetes",
    ),
    CuratedDeviation(
        seed="When appropriate oral supplementation fails, consider small intestinal bacterial overgrowth (SIBO)",
        governs=(
            "No primary source was found for this statement, so it is not encoded. Failure of oral B12 is handled "
            "through the NICE NG239 malabsorption regimen (at least 1 mg a day orally) and the intramuscular "
            "regimens of the drug-dosing guideline."
        ),
        sources=("No source found (research dossier clinical-sources.md §0 item 10)",),
        notes="not encoded; listed so reviewers know it was looked for",
    ),
    CuratedDeviation(
        seed="There is level II evidence for B12 in post-herpetic neuralgia and level III evidence for painful "
        "peripheral neuropathy",
        governs=(
            "No source was found for these evidence levels, so no B12 rule claims an analgesic effect. B12 rules "
            "cover testing and replacement of deficiency only."
        ),
        sources=("No source found (research dossier clinical-sources.md, 'Not verifiable')",),
        notes="not encoded",
    ),
    CuratedDeviation(
        seed="Up to 50% of cases may be asymptomatic (said of the causes of leg numbness in general)",
        governs=(
            "The source says this of diabetic peripheral neuropathies only: “Up to 50% of diabetic peripheral "
            "neuropathies may be asymptomatic.” It is why screening does not wait for symptoms (dpn-screening)."
        ),
        sources=(
            "Pop-Busui R, Boulton AJM, Feldman EL, et al. Diabetic Neuropathy: A Position Statement by the American "
            "Diabetes Association. Diabetes Care 2017;40:136–154. doi:10.2337/dc16-2042 (primary, abstract page)",
        ),
        notes="research dossier clinical-sources.md §0 item 11 and §2",
    ),
)


def deviations_page(cat: Catalog) -> Page:
    """Every ``deviations`` entry of every rule, plus the curated seed errors not tied to a rule."""
    from ._docgen import cite_summary

    lines = heading(1, "Deviations from the seed", label("deviations"))
    lines += [
        "The project started from a secondary summary article (the *seed*) that has known errors. Primary sources "
        "govern; where a rule departs from the seed it says so, and the entries are collected here.",
        "",
    ]
    lines += heading(2, "In encoded rules")
    seen: dict[tuple[str, str, str, str], list[str]] = {}
    where: dict[tuple[str, str, str, str], tuple[m.Guideline, m.Rule]] = {}
    for gid in cat.ids():
        for g in cat.versions(gid):
            for rule in g.rules:
                for d in rule.deviations:
                    key = (gid, rule.id, d.seed, d.governs)
                    seen.setdefault(key, []).append(g.version)
                    where[key] = (g, rule)
    if seen:
        rows = []
        for key, versions in seen.items():
            g, rule = where[key]
            rows.append(
                [
                    esc(key[2]),
                    esc(key[3]),
                    _rule_ref(g, rule) + f" ({esc(g.id)} {esc(', '.join(versions))})",
                    "\n".join(f"- {cite_summary(g, c)}" for c in rule.citations),
                ]
            )
        lines += list_table(["The seed says", "What governs", "Rule", "Source"], rows, [25, 35, 18, 22])
    else:
        lines += ["No encoded rule records a deviation yet.", ""]
    lines += heading(2, "Not tied to a rule")
    lines += list_table(
        ["The seed says", "What the sources say", "Sources"],
        [
            [
                esc(d.seed),
                esc(d.governs),
                "\n".join(f"- {esc(s)}" for s in d.sources) + f"\n\n(From the {esc(d.notes)}.)",
            ]
            for d in CURATED_DEVIATIONS
        ],
        [25, 40, 35],
    )
    return Page("deviations.md", "\n".join(lines))


# -- conformance -------------------------------------------------------------------------------


def _demote(markdown: str) -> str:
    """Push every Markdown heading one level down (the page keeps its own title)."""
    out, fence = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        out.append("#" + line if not fence and re.match(r"^#{1,5} ", line) else line)
    return "\n".join(out)


def conformance_page(folder: Path | None) -> tuple[Page, list[DocProblem]]:
    """Render ``neuroguide.conformance.run(folder).to_markdown()``, or say why not."""
    lines = heading(1, "Conformance against external decks", label("conformance"))
    lines += [
        "Test decks written outside this project (openEHR GDL2 vectors, UCUM examples, HbA1c anchor points, eCQM "
        "test cases) run against the package; every disagreement is listed with its explanation.",
        "",
    ]
    problems: list[DocProblem] = []
    try:
        module = importlib.import_module("neuroguide.conformance")
    except ModuleNotFoundError as exc:
        if exc.name != "neuroguide.conformance":
            raise
        lines += ["*The conformance runner (`neuroguide.conformance`) is not part of this build.*", ""]
        return Page("conformance.md", "\n".join(lines)), problems
    if folder is None or not folder.is_dir():
        shown = folder.as_posix() if folder is not None else "(not configured)"
        lines += [f"*The conformance decks folder {code(shown)} is not present in this checkout; nothing was run.*", ""]
        return Page("conformance.md", "\n".join(lines)), problems
    try:
        report = module.run(folder)
        body = str(report.to_markdown())
    except Exception as exc:  # the runner is another module's code: report, do not crash the build
        problems.append(DocProblem(f"conformance run failed: {type(exc).__name__}: {exc}", "conformance.md"))
        lines += [f"*The conformance run failed: {esc(exc)}*", ""]
        return Page("conformance.md", "\n".join(lines)), problems
    lines += [_demote(body), ""]
    return Page("conformance.md", "\n".join(lines)), problems


# -- dependencies ------------------------------------------------------------------------------

WHY: dict[str, str] = {
    "attrs": "Frozen, slotted value classes for the rule model, the patient input and every result: immutable "
    "objects keep evaluation deterministic.",
    "cattrs": "One configured converter structures guideline TOML into the typed model (reporting every error with "
    "its key path) and turns evaluation records into JSON and back for replay.",
    "pint": "Units at the boundary: parses and checks doses and laboratory values and converts them once to "
    "canonical units (declared molar masses per analyte; international units kept apart from mass).",
    "sphinx": "Builds this documentation with warnings as errors and nitpicky cross-references, and runs its doctests.",
    "furo": "The HTML theme of this documentation.",
    "myst-parser": "Markdown for the hand-written pages and for the pages generated from the guidelines.",
    "pytest": "Test runner. The `rule` marker ties each test to the rule it asserts (the traceability matrix reads "
    "it) and `--junitxml` records the outcomes the matrix shows.",
    "hypothesis": "Property-based tests: unit invariance, monotonicity, round-trips.",
    "pyyaml": "Reads the YAML conformance decks (openEHR GDL2 test fixtures) in the conformance tests.",
    "types-pyyaml": "Type stubs so mypy --strict can check the code that reads YAML.",
    "ruff": "Linting and formatting (the `lint` nox session).",
    "mypy": "Static type checking in strict mode (the `typecheck` nox session).",
    "nox": "Runs every check (lint, typecheck, tests against the built wheel, docs): the README's test command.",
    "uv": "Fast virtual-environment and package installs for the nox sessions.",
    "hatchling": "Build backend: builds the wheel with the guideline files inside it.",
    "build": "Builds the wheel and sdist in the nox sessions.",
}

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _requirements(repo: Path | None) -> list[tuple[str, str, str]]:
    """Return ``(group, name, specifier)`` from ``pyproject.toml`` (plus the CI tools)."""
    found: list[tuple[str, str, str]] = []
    pyproject = repo / "pyproject.toml" if repo is not None else None
    if pyproject is None or not pyproject.is_file():
        return [("runtime", n, "") for n in ("attrs", "cattrs", "pint")]
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    groups: list[tuple[str, list[Any]]] = [("runtime", data.get("project", {}).get("dependencies", []))]
    for extra, reqs in data.get("project", {}).get("optional-dependencies", {}).items():
        groups.append((f"extra [{extra}]", reqs))
    for group, reqs in data.get("dependency-groups", {}).items():
        groups.append((f"dev group {group}", reqs))
    groups.append(("build backend", data.get("build-system", {}).get("requires", [])))
    groups.append(("automation (.ci/run, noxfile.py)", ["nox", "uv", "build"]))
    seen: set[tuple[str, str]] = set()
    for group, reqs in groups:
        for req in reqs:
            if not isinstance(req, str):
                continue  # an {include-group = ...} table
            match = _REQ.match(req)
            if match and (group, match.group(1).lower()) not in seen:
                seen.add((group, match.group(1).lower()))
                found.append((group, match.group(1), match.group(3).strip()))
    return found


def dependencies_page(repo: Path | None) -> Page:
    """Every declared dependency, its version here, and why it is there."""
    from importlib.metadata import PackageNotFoundError, version

    lines = heading(1, "Dependencies", label("dependencies"))
    lines += [
        "The runtime needs three packages; everything else is for building, testing and documenting. Versions are "
        "those installed where these pages were built.",
        "",
    ]
    merged: dict[str, tuple[str, list[str], list[str]]] = {}
    for group, name, spec in _requirements(repo):
        _shown, groups, specs = merged.setdefault(name.lower(), (name, [], []))
        groups.append(group)
        if spec and spec not in specs:
            specs.append(spec)
    rows = []
    for key, (name, groups, specs) in merged.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed here"
        requirement = ", ".join(code(s) for s in specs) or "any"
        # WHY holds our own Markdown (code spans allowed), not data text.
        rows.append([code(name), esc("; ".join(groups)), requirement, esc(installed), WHY.get(key, "—")])
    lines += pipe_table(["Package", "Needed for", "Requirement", "Installed where built", "Why"], rows)
    return Page("dependencies.md", "\n".join(lines))


# -- known anomalies ---------------------------------------------------------------------------


def anomalies_page(cat: Catalog) -> Page:
    """Rules in review, source disagreements, integrity and version-chain oddities."""
    lines = heading(1, "Known anomalies", label("anomalies"))
    lines += [
        "Things a reviewer should know that are not errors of the code: rules held back from evaluation and why, "
        "places where sources disagree, and the state of the guideline files. Deviations from the seed are on "
        f"their own page ({ref(label('deviations'), 'deviations from the seed')}); disagreements with external "
        f"test decks on the {ref(label('conformance'), 'conformance page')}.",
        "",
    ]
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
    from .patient import Patient
    from .schema import patient_schema

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
        ("Assessment", "Recommendation", "MissingInput", "Section", "EvaluationRecord", "evaluation.GuidelineRef",
         "evaluation.RuleTrace", "ReplayReport"),
    ),
    (
        "Guidelines and rules",
        "Look-up of the versioned guidelines, their sources and citations.",
        ("list_guidelines", "load_guideline", "find_rule", "Guideline", "GuidelineInfo", "Catalog", "Source",
         "Citation", "Period", "Status"),
    ),
    (
        "Doses and neurotoxic drugs",
        "Dose checks with units, and the drug-neurotoxicity table.",
        ("check_dose", "DoseVerdict", "Verdict", "neurotoxicity", "neurotoxicity_table"),
    ),
    ("Units", "One lazily built pint registry; quantities are serialized as strings.", ("Quantity", "ureg", "Q_")),
    (
        "Errors",
        "Every error derives from `NeuroguideError` and from the builtin it resembles.",
        ("NeuroguideError", "InputError", "UnitError", "UnknownUnitError", "IncompatibleUnitsError",
         "GuidelineDataError", "IntegrityError", "NotFoundError", "UnknownGuidelineError", "UnknownRuleError",
         "UnknownAgentError"),
    ),
)  # fmt: skip

_DATA_DOCS = {
    "ureg": "The package's one :class:`pint.UnitRegistry`, built on first use (never mix registries).",
    "Q_": 'Shorthand for ``ureg.Quantity``: ``neuroguide.Q_(72, "kg")`` or ``neuroguide.Q_("350 ug")``.',
    "__version__": "The installed package version (from the distribution metadata).",
    "Quantity": "The pint quantity type used throughout (``pint.Quantity``); build one with :data:`neuroguide.Q_`.",
}


def _api_entry(name: str) -> list[str]:
    import neuroguide

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
    import types

    from . import model

    public = {"Citation", "Guideline", "Period", "Source", "Status"}  # documented above as neuroguide.<Name>
    aliases = [n for n in model.__all__ if isinstance(getattr(model, n), types.UnionType)]
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
        members = ", ".join(f":class:`{t.__name__}`" for t in typing.get_args(getattr(model, name)))
        lines += [f".. py:data:: neuroguide.model.{name}", "", f"   Type alias: one of {members}.", ""]
    return [*lines, "```", ""]


def api_page() -> Page:
    """A curated autodoc page over ``neuroguide.__all__`` (names not grouped land in "Other")."""
    import neuroguide

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


# -- changelog -------------------------------------------------------------------------------------


def changelog_page(repo: Path | None) -> Page:
    """Include the repository's CHANGELOG.md (or say it is missing)."""
    path = repo / "CHANGELOG.md" if repo is not None else None
    if path is None or not path.is_file():
        lines = heading(1, "Changelog", label("changelog"))
        lines += ["*No CHANGELOG.md in this checkout.*", ""]
        return Page("changelog.md", "\n".join(lines))
    first = next((ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()), "")
    lines = [f"({label('changelog')})=", ""]
    if not first.startswith("# "):
        lines += ["# Changelog", ""]
    lines += ["```{include} ../../CHANGELOG.md", "```", ""]
    return Page("changelog.md", "\n".join(lines))


def extra_pages(settings: Any) -> ExtraPages:
    """Build every catalogue-wide page for ``settings`` (a ``neuroguide._docgen.Settings``)."""
    cat: Catalog = settings.catalog
    problems: list[DocProblem] = []
    pages = [neurotoxicity_page(cat)]
    calc, calc_problems = calculators_page()
    pages.append(calc)
    problems += calc_problems
    pages.append(deviations_page(cat))
    conf, conf_problems = conformance_page(settings.conformance_dir)
    pages.append(conf)
    problems += conf_problems
    pages.append(dependencies_page(settings.repo_root))
    pages.append(anomalies_page(cat))
    schema, schema_problems = schema_pages()
    pages += schema
    problems += schema_problems
    pages.append(api_page())
    pages.append(changelog_page(settings.repo_root))
    return ExtraPages(pages=tuple(pages), problems=tuple(problems))
