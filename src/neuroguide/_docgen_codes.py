"""The "Standard codes" page: each fact's verified codes, the RxNorm ingredient codes and the UCUM units accepted."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from . import terminology as t
from ._docgen_md import Page, code, esc, heading, label, pipe_table
from ._vocabulary import vocabulary

__all__ = ["UNCODED_EXAMPLES", "codes_page"]

# One resource of each kind an EHR sends for a fact with no verified standard code, shown on the page and read back
# by the tests through neuroguide.fhir.read.
UNCODED_EXAMPLES: dict[str, dict[str, Any]] = {
    "A finding (yes or no): an Observation with valueBoolean": {
        "resourceType": "Observation",
        "id": "numbness-1",
        "status": "final",
        "code": {"coding": [{"system": t.LOCAL_SYSTEM, "code": "numbness"}], "text": "numbness"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-02",
        "valueBoolean": True,
    },
    "A measurement: an Observation with valueQuantity, its unit as a UCUM code": {
        "resourceType": "Observation",
        "id": "holotc-1",
        "status": "final",
        "code": {"coding": [{"system": t.LOCAL_SYSTEM, "code": "b12-active"}], "text": "active vitamin B12"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-02",
        "valueQuantity": {"value": 52, "unit": "pmol/L", "system": "http://unitsofmeasure.org", "code": "pmol/L"},
    },
    "The date of a last examination or test (a last-* fact): a completed Procedure with performedDateTime": {
        "resourceType": "Procedure",
        "id": "b12-test-1",
        "status": "completed",
        "code": {"coding": [{"system": t.LOCAL_SYSTEM, "code": "last-b12-test"}], "text": "vitamin B12 test"},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2026-11-02",
    },
}


def codes_page() -> Page:
    """Every fact with its verified codes (or the statement that it has none), the value sets and the UCUM units."""
    bindings = t.bindings()
    vocab = vocabulary()
    lines = heading(1, "Standard codes (LOINC, SNOMED CT, ICD-10-CM, RxNorm, UCUM)", label("codes"))
    lines += [
        "The codes an EHR sends for each fact, as read by {py:mod}`neuroguide.fhir`. A code is listed only when it "
        "was checked against the code system's own publication or a published code list (the VSAC value sets of the "
        "CMS quality measures, the measures' own test cases, HL7 FHIR and US Core value sets), whose rows are "
        "vendored in the repository, and each says how. Every other fact says why it has no code yet: until a "
        "terminologist verifies one, send it under "
        f"neuroguide's own code system {code(t.LOCAL_SYSTEM)} (the code is the fact name). A standard code the reader "
        'does not know is never guessed: it is listed as not recognised and shown under "What is missing". One code '
        "stands for one fact; a few codes also name a second finding in their own wording (see below).",
        "",
    ]
    bound = sum(1 for f in vocab if f in bindings)
    lines += [f"{bound} of {len(vocab)} facts have verified standard codes in this release.", ""]
    lines += heading(2, "Where the codes were checked")
    lines += pipe_table(
        ["Source", "Publisher", "Where", "Licence"],
        [[esc(s.title), esc(s.publisher), esc(s.where), esc(s.licence)] for s in t.sources().values()],
    )
    lines += heading(2, "Code systems")
    lines += pipe_table(
        ["Code system", "URI (FHIR Coding.system)"], [[esc(s.name), code(s.uri)] for s in t.code_systems().values()]
    )
    lines += heading(2, "Codes by fact")
    rows = []
    for name, spec in vocab.items():
        binding = bindings.get(name)
        if binding is None:
            reason = t.unbound_reason(name)
            text = "No verified standard code." + (f" {esc(reason)}" if reason else "")
            rows.append([code(name), esc(spec.label), _uncoded_resource(name), text, "—"])
            continue
        shown = [f"{esc(c.system.name)} {code(c.code)} {esc(c.display)} ({esc(c.version)})" for c in binding.codes]
        if binding.value_set is not None:
            members = t.value_set(binding.value_set)
            count = Counter(m.system.name for m in members.values())
            sizes = ", ".join(f"{n} {esc(s)}" for s, n in sorted(count.items()))
            shown.append(f"every code of the value set {esc(binding.value_set)} ({sizes})")
        # one line per distinct check: codes read from the same list share one
        checks = list(dict.fromkeys(esc(c.verification) for c in binding.codes)) or ["See the value set below."]
        if binding.note:
            checks.append(esc(binding.note))
        resource = esc(binding.resource.value) if binding.resource is not None else "—"
        rows.append([code(name), esc(spec.label), resource, "<br>".join(shown), "<br>".join(checks)])
    lines += pipe_table(
        ["Fact", "Meaning", "Recorded in", "Codes (system, code, display, version)", "How verified"], rows
    )
    lines += heading(2, "Sending a fact without a standard code")
    lines += [
        f"Code the resource with neuroguide's own code system {code(t.LOCAL_SYSTEM)}, the code being the fact name "
        'from the table above, in the resource its "Recorded in" column names. A finding may also be a Condition '
        "under the same code (present while current; see below for refuted and past Conditions).",
        "",
    ]
    for title, snippet in UNCODED_EXAMPLES.items():
        lines += [f"{title}:", "", "```json", json.dumps(snippet, indent=2), "```", ""]
    lines += heading(2, "Codes that name a second fact")
    lines += [
        "A few verified codes also name a second finding in their own wording (for example type 2 diabetes with "
        "diabetic polyneuropathy). The reader reads such a code as its own fact and also sets the second finding to "
        "true while the Condition is current and not refuted; it never sets it to false.",
        "",
    ]
    lines += pipe_table(
        ["Also sets", "Code system", "Codes", "How verified"],
        [[code(r.fact), esc(r.system.name), esc(_ranges(r.codes)), esc(r.verification)] for r in t.implications()],
    )
    lines += heading(2, "A past finding that sets a history fact")
    past_facts = ", ".join(code(f) for f, b in bindings.items() if b.history)
    lines += [
        "A Condition whose clinicalStatus is resolved, inactive or in remission is not read as a current finding, "
        f"except for the facts that are themselves about the past ({past_facts}), which it still sets. When a "
        "current finding has a history fact of its own (a healed foot ulcer is a history of foot ulcer), the reader "
        "sets that history fact to true instead; a refuted or entered-in-error Condition sets neither. An "
        "abatement (abatementDateTime, abatementPeriod.end, abatementAge, abatementString, or abatementBoolean true) "
        "on or before the evaluation date makes the Condition past whatever its clinicalStatus (an active status "
        "with a past abatement is reported as a conflict); an abatement after the evaluation date leaves it current "
        "at that date. A Condition with no clinicalStatus and no abatement is read as active, with a note saying so, "
        "so that a red flag is not hidden.",
        "",
    ]
    lines += pipe_table(
        ["Sets", "From a past", "How verified"],
        [[code(h.fact), ", ".join(code(f) for f in h.of), esc(h.verification)] for h in t.histories()],
    )
    lines += heading(2, "Refuted and unconfirmed Conditions")
    lines += [
        "A refuted Condition reads its fact as absent only when its code stands for the whole finding. Where the data "
        "lists the codes whose refutation means absent (`foot-ulcer`: none; `claudication`: intermittent "
        "claudication), refuting any narrower code (one kind of ulcer) leaves the fact unknown, and a refutation "
        "never outweighs another record that gives the finding as present (the reader reports the conflict). A "
        f"refuted Condition never sets a history fact ({past_facts}) to false: ruling out a cancer now says nothing "
        "about a cancer treated years ago. A Condition that is unconfirmed, provisional or a differential diagnosis "
        "is read as present (or, when past, as its history fact), with a note saying so, so that an urgent finding "
        "is shown rather than hidden; such notes are listed apart from the data that could not be used.",
        "",
    ]
    lines += heading(2, "Medications")
    lines += [
        "A MedicationStatement or MedicationRequest coded with one of these RxNorm drug-substance (ingredient) codes "
        "is read as that drug. A name (text or display) that says more, such as a release form, is kept when it "
        "names the same drug; a name that names another drug is reported as a conflict and the code is used. Any "
        "other RxNorm code (for example a clinical drug with its strength and form) is not read as a drug: the "
        "medication is then matched by its name, and the reader says so.",
        "",
    ]
    lines += pipe_table(
        ["RxNorm code", "Display", "Read as", "Version", "How verified"],
        [
            [code(i.code), esc(i.display), esc(i.ingredient), esc(i.version), esc(i.verification)]
            for i in sorted(t.ingredients().values(), key=lambda i: i.ingredient.casefold())
        ],
    )
    lines += [esc(t.unbound_reason("medications") or ""), ""]
    lines += heading(2, "Value sets")
    lines += [
        'Diabetes and Amputation are packaged from the CMS123v7 "Diabetes: Foot Exam" value sets (VSAC). The '
        "diabetes type is read from each code's own display: 'type 1' or 'type 2' gives that type; any other member "
        "is read as type 'other' and the reader says so. Cancer is the VSAC value set 'All Primary and Secondary "
        "Cancer' without the members that are not a diagnosis of invasive cancer (see `known-cancer` above).",
        "",
    ]
    vs_rows = []
    for name in ("Diabetes", "Amputation", "Cancer"):
        members = t.value_set(name)
        by_set = Counter((m.value_set, m.oid, m.system.name, m.version) for m in members.values())
        for (vs, oid, system, version), n in sorted(by_set.items()):
            vs_rows.append([esc(name), esc(vs), code(oid), esc(system), esc(version), str(n)])
    lines += pipe_table(["Used as", "Value set", "OID", "Code system", "Version", "Codes"], vs_rows)
    lines += heading(2, "UCUM units")
    lines += [
        "A FHIR quantity must give its unit as a UCUM code (`system` http://unitsofmeasure.org). Each accepted code "
        "was checked against the UCUM Table of Example UCUM Codes for Electronic Messaging, version 1.5 (row given), "
        "and is then read with the same unit allow-list as the JSON input. Any other unit is not recognised.",
        "",
        "UCUM is case-sensitive (`mg` is the milligram, `Mg` the megagram) but defines the litre twice, as `l` and "
        "as `L` (both metric, so `ml`, `dl` and `ul` are as valid as `mL`, `dL` and `uL`). A code that spells the "
        "litre `l` is therefore read as the code in the table that spells it `L` (`pg/ml` as `pg/mL`, `umol/l` as "
        "`umol/L`); no other letter changes case. Verified in UCUM's own table, `ucum-essence.xml` version 2.2 "
        '(revision date 2024-06-17), entries `<unit Code="l" CODE="L" isMetric="yes" class="iso1000">` and '
        '`<unit Code="L" CODE="L" isMetric="yes" class="iso1000">` (both `liter`, the second defined as 1 `l`), in the '
        "repository ucum-org/ucum at commit d060c6d3dfe3b0deb196c190b8024d95385e0b92.",
        "",
    ]
    lines += pipe_table(
        ["UCUM code", "Read as", "Row of the UCUM table"],
        [[code(c), code(u), str(t.ucum_row(c))] for c, u in t.ucum_units().items()],
    )
    lines += heading(2, "Python API")
    for module in ("neuroguide.fhir", "neuroguide.terminology"):
        lines += ["```{eval-rst}", f".. automodule:: {module}", "   :members:", "```", ""]
    return Page("codes.md", "\n".join(lines))


def _ranges(codes: tuple[str, ...]) -> str:
    """A short list of codes: all of them when few, else the count with the first and the last."""
    if len(codes) <= 6:
        return ", ".join(codes)
    return f"{len(codes)} codes, {codes[0]} to {codes[-1]}"


def _uncoded_resource(name: str) -> str:
    """The FHIR resource an EHR records a fact without a standard code in, under neuroguide's code system."""
    spec = vocabulary()[name]
    if name == "sex":
        return "Patient (gender)"
    if name == "age":
        return "Patient (birthDate)"
    if name == "diabetes-diagnosed":
        return "Condition (diabetes, onsetDateTime)"
    if not spec.is_input:
        return "— (derived, not sent)"
    if spec.type == "boolean":
        return "Observation (valueBoolean), or Condition"
    if spec.type == "number":
        return "Observation (valueQuantity without a unit, or UCUM `1`; or valueInteger)"
    if spec.type == "quantity":
        ucum = {unit: c for c, unit in t.ucum_units().items()}.get(spec.unit or "")
        unit = code(ucum) if ucum is not None else esc(spec.unit or "")
        return f"Observation (valueQuantity in {unit}, as a UCUM code)"
    if spec.type == "date" and name.startswith("last-"):
        return "Procedure (status completed, performedDateTime)"
    return "—"
