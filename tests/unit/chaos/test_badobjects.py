"""How bad-objects judges the controller's verdicts, and counts reconciles in the logs."""

from __future__ import annotations

import json

from chaos.badobjects import NAMESPACE, Bad, catalogue, problem, reconciles, verdict


def ready(status: str, reason: str = "", message: str = "") -> dict[str, object]:
    condition = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {"status": {"conditions": [condition]}}


BAD = Bad("InferenceService", "isvc-no-model", {}, "no model", ("model",))
ODD = Bad("InferenceService", "isvc-odd", {}, "odd but servable")


def test_a_refusal_naming_the_field_passes() -> None:
    assert problem(BAD, verdict(ready("False", "ModelRefMissing", "no spec.model"), [])) is None


def test_a_warning_event_naming_the_field_passes() -> None:
    event = {"type": "Warning", "reason": "Failed", "message": "spec.model is missing"}
    assert problem(BAD, verdict(ready("Unknown"), [event])) is None


def test_no_verdict_or_another_field_fails() -> None:
    assert problem(BAD, verdict(None, [])) is not None
    assert problem(BAD, verdict(ready("False", "RuntimeNotFound", "no runtime"), [])) is not None
    assert problem(BAD, verdict(ready("True", "Ready", "model"), [])) is not None


def test_a_servable_oddity_must_become_ready() -> None:
    assert problem(ODD, verdict(ready("True"), [])) is None
    assert problem(ODD, verdict(ready("False", "X", "y"), [])) is not None


def test_garbage_conditions_are_no_verdict() -> None:
    assert verdict({"status": {"conditions": "all good"}}, []).ready is None


def test_reconciles_are_counted_by_name_and_namespace() -> None:
    lines = [
        f"... [info] inferenceservice not servable name=isvc-no-model namespace={NAMESPACE}",
        f"... [info] inferenceservice not servable name=isvc-no-model-2 namespace={NAMESPACE}",
        "... [info] inferenceservice not servable name=isvc-no-model namespace=chaos-0",
    ]
    assert reconciles(lines, "isvc-no-model") == 1


def test_the_catalogue_names_what_it_references_first_and_fits_a_request() -> None:
    bad = catalogue("model", "runtime")
    written: set[str] = set()
    for entry in bad:
        reference = (entry.spec.get("model") or {}).get("name")
        if reference and reference.startswith(("bm-", "cbm-")):
            assert reference in written
        written.add(entry.name)
        assert len(json.dumps(entry.body())) < 1_500_000
