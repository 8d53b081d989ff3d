"""Build the sample CDS Hooks request examples/cds-hooks/patient-view.json from an example FHIR Bundle.

The request is a ``patient-view`` call whose prefetch is the Bundle examples/fhir/t2d-metformin.json split the way
a CDS Client fills the service's prefetch templates: the Patient under ``patient`` and one searchset Bundle per
resource type (``null`` when the chart has none). Run ``python -m tools.cds_hooks`` from the repository root to
rewrite the file; ``tests/test_cds_hooks_example.py`` checks that the file on disk is what this builds.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tools.fhir import EXAMPLES, ROOT

OUT = EXAMPLES / "cds-hooks" / "patient-view.json"
EXAMPLE = "t2d-metformin"
# Prefetch key of each resource type, as in the service's prefetch templates (discovery lists them).
KEYS = {
    "Condition": "conditions",
    "Observation": "observations",
    "Procedure": "procedures",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
}


def prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle's resources under the service's prefetch keys."""
    out: dict[str, Any] = {"patient": None}
    searches: dict[str, list[dict[str, Any]]] = {key: [] for key in KEYS.values()}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Patient":
            out["patient"] = resource
        elif kind in KEYS:
            searches[KEYS[kind]].append({"fullUrl": entry["fullUrl"], "resource": resource})
        else:
            raise ValueError(f"{kind} has no prefetch key in the service's templates")
    for key, entries in searches.items():
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    return out


def request(name: str = EXAMPLE) -> dict[str, Any]:
    """A ``patient-view`` request for the example patient ``name``."""
    bundle = json.loads((EXAMPLES / "fhir" / f"{name}.json").read_text(encoding="utf-8"))
    return {
        "hook": "patient-view",
        # A fixed id, so the file is reproducible; a CDS Client sends a new UUID for every call.
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"neuroguide-example/patient-view/{name}")),
        "context": {"userId": "Practitioner/example", "patientId": name},
        "prefetch": prefetch(bundle),
    }


def render(name: str = EXAMPLE) -> str:
    """The request as the JSON text written to examples/cds-hooks/."""
    return json.dumps(request(name), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
