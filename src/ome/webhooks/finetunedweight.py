"""FineTunedWeight validation (upstream has no webhook for this kind).

On create and update, each refusal naming its field:

1. the object must be a valid FineTunedWeight of the API types;
2. ``spec.storage.storageUri`` must use a scheme OME knows (``hf://``, ``s3://``, …);
3. ``spec.configuration.merged_weights``, when given, is a boolean and
   ``spec.configuration.lora_rank`` a positive integer (the serving logic reads them).

A base model that does not exist is a warning: it may be created after the weight (the
weight's status then says what it waits for).

On delete, a weight that InferenceServices still name in ``spec.model.fineTunedWeights``
is refused, naming them: removing it would leave their pods without the adapter."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ome.api.v1beta1 import FineTunedWeight
from ome.serving import Catalog
from ome.serving.adapters import LORA_RANK_KEY, MERGED_WEIGHTS_KEY, base_model_ref, describe_model
from ome.webhooks.inferenceservice import schema_causes
from ome.webhooks.review import Cause

STORAGE_SCHEMES = ("hf", "s3", "local", "pvc", "oci", "gs", "az", "github", "vendor")
"""The ``storageUri`` schemes of upstream's ``pkg/utils/storage``."""
URI_FIELD = "spec.storage.storageUri"


def validate_fine_tuned_weight(obj: Any, catalog: Catalog) -> tuple[list[Cause], list[str]]:
    causes, weight = schema_causes(obj, FineTunedWeight.KIND)
    if weight is None:
        return causes, []
    assert isinstance(weight, FineTunedWeight)
    uri = weight.spec.storage.storage_uri
    scheme, separator, _ = uri.partition("://")
    if not separator or scheme not in STORAGE_SCHEMES:
        known = ", ".join(f"{s}://" for s in STORAGE_SCHEMES)
        causes.append(Cause(URI_FIELD, f"{uri!r} has no storage scheme OME knows ({known})"))
    configuration = weight.spec.configuration or {}
    merged = configuration.get(MERGED_WEIGHTS_KEY)
    if merged is not None and not isinstance(merged, bool):
        causes.append(
            Cause(f"spec.configuration.{MERGED_WEIGHTS_KEY}", f"must be true or false: {merged!r}")
        )
    rank = configuration.get(LORA_RANK_KEY)
    if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 1):
        causes.append(
            Cause(f"spec.configuration.{LORA_RANK_KEY}", f"must be a positive integer: {rank!r}")
        )
    return causes, _base_model_warnings(weight, catalog)


def _base_model_warnings(weight: FineTunedWeight, catalog: Catalog) -> list[str]:
    kind, name, namespace = base_model_ref(weight)
    found = (
        catalog.base_model(namespace, name)
        if namespace is not None
        else catalog.cluster_base_model(name)
    )
    if found is not None:
        return []
    return [
        f"spec.baseModelRef: no {describe_model(kind, name, namespace)}: the weight is not "
        "downloaded nor served until it exists"
    ]


def deletion_cause(name: str, users: Collection[str]) -> Cause | None:
    """Why the weight ``name`` may not be deleted: the services (namespace/name) using it."""
    if not users:
        return None
    listed = ", ".join(sorted(users))
    return Cause(
        "metadata.name",
        f"FineTunedWeight {name} is served by InferenceService {listed}: remove it from their "
        "spec.model.fineTunedWeights first",
    )
