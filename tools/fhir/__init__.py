"""Build the FHIR R4 Bundle of each example patient (examples/fhir/) from its JSON input.

Standard codes are used wherever :mod:`neuroguide.terminology` holds a verified one (the first code listed for the
fact, in the resource the data file names: laboratory values and vital signs as Observations, diagnoses as
Conditions, the foot examination and chemotherapy as Procedures; UCUM units; a medication's verified RxNorm ingredient
code next to its name); every other fact is sent under
neuroguide's own code system (``urn:neuroguide:fact``), exactly as an EHR would have to until a binding is verified.
A finding answered "no" is a Condition with verificationStatus ``refuted`` when refuting its code says the finding is
absent (not when the code names only one kind of it, such as an ischaemic foot ulcer); a procedure finding answered
"no" has no procedure to record. Those stay neuroguide-coded Observations.

Run ``python -m tools.fhir`` from the repository root to rewrite the files; ``tests/test_fhir_examples.py`` checks
that the files on disk are what this builds and that each gives the same assessment as its JSON.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from neuroguide import terminology as t
from neuroguide.fhir import CUMULATIVE_DOSE_URL

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OUT = EXAMPLES / "fhir"
RECORDED = "2026-11-23"  # the examples' evaluation date: findings and measurements are recorded at that visit

_UCUM = "http://unitsofmeasure.org"
_TO_UCUM = {"week": "wk", "day": "d", "month": "mo", "year": "a", "mmHg": "mm[Hg]", "IU": "[IU]"}
_DIABETES = {"type-1": ("snomed", "46635009"), "type-2": ("snomed", "44054006"), "other": ("icd10cm", "E13.9")}
_FOOT = ("401191002", "134388005", "91161007")
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _code(system_key: str, code: str) -> dict[str, Any]:
    system = t.code_systems()[system_key]
    for binding in t.bindings().values():
        for c in binding.codes:
            if c.system.key == system_key and c.code == code:
                return {"system": system.uri, "code": code, "display": c.display}
    raise KeyError(f"{system_key} {code} is not a verified code")  # never send an unverified code


def _local(fact: str) -> dict[str, Any]:
    return {"coding": [{"system": t.LOCAL_SYSTEM, "code": fact}], "text": fact}


def _concept(fact: str) -> dict[str, Any]:
    """The fact's verified standard code if it has one, else its neuroguide code."""
    code = t.preferred(fact)
    return _local(fact) if code is None else {"coding": [_code(code.system.key, code.code)]}


def _measured(fact: str, quantity: dict[str, Any]) -> dict[str, Any]:
    """The fact's first verified code whose property fits the unit (mass or molar concentration), else its own code.

    A result in pmol/L is never sent under a [Mass/volume] code, nor one in ng/L under a [Moles/volume] code; a unit in
    moles goes only under a code whose display says [Moles/...] (HbA1c in mmol/mol is not sent under the NGSP
    percentage codes, whose displays name no property).
    """
    binding = t.bindings().get(fact)
    molar = "mol" in str(quantity.get("code", ""))
    for c in binding.codes if binding else ():
        if (c.concentration == "molar") != molar:
            continue
        return {"coding": [_code(c.system.key, c.code)]}
    return _local(fact)


def _finding(fact: str, flag: bool, subject: dict[str, Any]) -> dict[str, Any]:
    """A yes/no finding as an EHR records it: a Condition or Procedure when the fact has a standard code."""
    binding = t.bindings().get(fact)
    code = t.preferred(fact)
    resource = binding.resource if binding is not None and code is not None else None
    if not flag and code is not None and not t.refutes(fact, code.code):
        resource = None  # refuting a code that names one kind of the finding would not say "no": send the answer
    if resource is t.Resource.CONDITION:
        condition: dict[str, Any] = {"resourceType": "Condition"}
        if flag:
            condition["clinicalStatus"] = {"coding": [{"system": _CLINICAL, "code": "active"}]}
        status = "confirmed" if flag else "refuted"
        condition["verificationStatus"] = {"coding": [{"system": _VERIFICATION, "code": status}]}
        return {**condition, "code": _concept(fact), "subject": subject, "recordedDate": RECORDED}
    if resource is t.Resource.PROCEDURE and flag:
        return {
            "resourceType": "Procedure",
            "status": "completed",
            "code": _concept(fact),
            "subject": subject,
            "performedDateTime": RECORDED,
        }
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": _local(fact),
        "subject": subject,
        "effectiveDateTime": RECORDED,
        "valueBoolean": flag,
    }


def _quantity(text: str) -> dict[str, Any]:
    value, unit = text.split(" ", 1)
    code = _TO_UCUM.get(unit, unit)
    assert t.ucum_unit(code) == unit, f"{unit!r} has no verified UCUM code"
    number = float(value)
    return {"value": int(number) if number.is_integer() else number, "unit": code, "system": _UCUM, "code": code}


def bundle(example: dict[str, Any]) -> dict[str, Any]:
    """The FHIR Bundle (type collection) holding the same facts as one example's JSON input."""
    pid = example["id"]
    subject = {"reference": f"Patient/{pid}"}
    resources: list[dict[str, Any]] = []

    def add(resource: dict[str, Any]) -> None:
        resource["id"] = f"{pid}-{len(resources)}" if resource["resourceType"] != "Patient" else pid
        resources.append(resource)

    add({"resourceType": "Patient", "birthDate": example["birth_date"], "gender": example["sex"]})
    diabetes = example.get("diabetes")
    if diabetes:
        system, code = _DIABETES[diabetes["type"]]
        add(
            {
                "resourceType": "Condition",
                "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": "active"}]},
                "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]},
                "code": {"coding": [_code(system, code)]},
                "subject": subject,
                "onsetDateTime": diabetes["diagnosed"],
            }
        )
    for fact, flag in example.get("findings", {}).items():
        add(_finding(fact, flag, subject))
    for fact, value in example.get("measurements", {}).items():
        quantity = {"value": value} if isinstance(value, int | float) else _quantity(value)
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": _measured(fact, quantity),
            "subject": subject,
            "effectiveDateTime": RECORDED,
            "valueQuantity": quantity,
        }
        add(obs)
    for name, date in example.get("last", {}).items():
        codes = [{"coding": [_code("snomed", c)]} for c in _FOOT] if name == "foot-exam" else [_local(f"last-{name}")]
        for concept in codes:
            add(
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": concept,
                    "subject": subject,
                    "performedDateTime": date,
                }
            )
    for med in example.get("medications", []):
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "completed" if med.get("stopped") else "active",
            "medicationCodeableConcept": _medication(med["agent"]),
            "subject": subject,
        }
        if med.get("cumulative"):
            statement["extension"] = [{"url": CUMULATIVE_DOSE_URL, "valueQuantity": _quantity(med["cumulative"])}]
        period = {k: med[s] for k, s in (("start", "started"), ("end", "stopped")) if med.get(s)}
        if period:
            statement["effectivePeriod"] = period
        if med.get("indication"):
            statement["reasonCode"] = [{"text": med["indication"]}]
        dosage: dict[str, Any] = {}
        if med.get("dose"):
            unit = {"day": "d", "week": "wk", "month": "mo"}[med["per"]]
            dosage["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": unit}}
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(med["dose"])}]
        if med.get("route"):
            dosage["route"] = {"text": med["route"]}
        if dosage:
            statement["dosage"] = [dosage]
        add(statement)
    entries = [{"fullUrl": f"urn:uuid:{_uuid(r['id'])}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "id": f"{pid}-bundle", "type": "collection", "entry": entries}


def _uuid(resource_id: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "neuroguide-example/" + resource_id)  # stable across runs


def render(example_path: Path) -> str:
    """The Bundle of one example as the JSON text written to examples/fhir/."""
    example = json.loads(example_path.read_text(encoding="utf-8"))
    return json.dumps(bundle(example), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for path in sorted(EXAMPLES.glob("*.json")):
        (OUT / path.name).write_text(render(path), encoding="utf-8")
        print(f"wrote {(OUT / path.name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()


def _medication(agent: str) -> dict[str, Any]:
    """The medication's name, with its verified RxNorm ingredient code when the name is that ingredient."""
    concept: dict[str, Any] = {"text": agent}
    found = [i for i in t.ingredients().values() if i.ingredient.casefold() == agent.strip().casefold()]
    if found:
        (drug,) = found
        system = t.code_systems()["rxnorm"].uri
        concept["coding"] = [{"system": system, "code": drug.code, "display": drug.display}]
    return concept
