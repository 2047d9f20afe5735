"""FineTunedWeight admission: storage scheme and configuration checked, a missing base
model warned about, and deleting a weight that services still serve refused."""

from __future__ import annotations

from typing import Any

from ome.serving import MemoryCatalog
from ome.webhooks import Admission
from ome.webhooks.review import Request, Verdict
from tests.unit.webhooks.support import cluster_model, request


def weight(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModelRef": {"name": "llama"},
        "modelType": "LoRA",
        "hyperParameters": {"strategy": "lora"},
        "storage": {"storageUri": "hf://team/sql"},
    }
    body.update(spec)
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "FineTunedWeight",
        "metadata": {"name": "sql"},
        "spec": body,
    }


def validate(obj: dict[str, Any], *objects: Any, users: tuple[str, ...] = ()) -> Verdict:
    admission = Admission(MemoryCatalog.of(objects), weight_users=lambda _: users)
    return admission.validate_fine_tuned_weight(request(obj))


def test_a_weight_of_an_existing_model_is_admitted_quietly() -> None:
    verdict = validate(weight(), cluster_model())
    assert verdict.allowed
    assert verdict.warnings == ()


def test_a_missing_base_model_is_a_warning_naming_it() -> None:
    verdict = validate(weight(baseModelRef={"name": "llama", "namespace": "team"}))
    assert verdict.allowed
    assert verdict.warnings == (
        "spec.baseModelRef: no BaseModel team/llama: the weight is not downloaded nor served "
        "until it exists",
    )


def test_a_wrong_scheme_is_refused_naming_the_field_and_the_schemes() -> None:
    verdict = validate(weight(storage={"storageUri": "ftp://host/sql"}), cluster_model())
    assert not verdict.allowed
    (cause,) = verdict.causes
    assert cause.field == "spec.storage.storageUri"
    assert "'ftp://host/sql' has no storage scheme OME knows (hf://, s3://" in cause.message


def test_configuration_values_the_serving_logic_reads_are_checked() -> None:
    verdict = validate(weight(configuration={"merged_weights": "yes", "lora_rank": 0}))
    assert {c.field for c in verdict.causes} == {
        "spec.configuration.merged_weights",
        "spec.configuration.lora_rank",
    }


def test_deleting_a_weight_in_use_is_refused_naming_the_services() -> None:
    admission = Admission(MemoryCatalog(), weight_users=lambda _: ["team/chat", "ml/code"])
    deletion = Request("1", "DELETE", "FineTunedWeight", None, "sql", None, weight())
    verdict = admission.validate_fine_tuned_weight(deletion)
    assert not verdict.allowed
    assert "FineTunedWeight sql is served by InferenceService ml/code, team/chat" in (
        verdict.message
    )


def test_deleting_an_unused_weight_is_admitted() -> None:
    admission = Admission(MemoryCatalog(), weight_users=lambda _: [])
    deletion = Request("1", "DELETE", "FineTunedWeight", None, "sql", None, weight())
    assert admission.validate_fine_tuned_weight(deletion).allowed
