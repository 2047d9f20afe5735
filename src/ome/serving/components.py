"""The components of an InferenceService (engine, decoder, router), each the runtime's
config for it strategically merged with the service's own (see :mod:`ome.serving.merge`).

A component exists only when the service declares it: a runtime's ``routerConfig`` or
``decoderConfig`` alone creates nothing (as upstream). Merged components are plain JSON
objects in the API's field names."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel as PydanticModel

from ome.api.v1beta1 import InferenceService, ServingRuntimeSpec
from ome.serving.merge import COMPONENT, merge

Spec = dict[str, Any]


class Component(StrEnum):
    ENGINE = "engine"
    DECODER = "decoder"
    ROUTER = "router"


def to_json(model: PydanticModel) -> Spec:
    """The fields as written (and set by this code), as the API server would store them."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def merge_components(
    service: InferenceService, runtime: ServingRuntimeSpec
) -> dict[Component, Spec]:
    """The declared components, in the order engine, decoder, router."""
    pairs = (
        (Component.ENGINE, service.spec.engine, runtime.engine_config),
        (Component.DECODER, service.spec.decoder, runtime.decoder_config),
        (Component.ROUTER, service.spec.router, runtime.router_config),
    )
    merged = {}
    for component, own, base in pairs:
        if own is not None:
            merged[component] = (
                merge(to_json(base), to_json(own), COMPONENT) if base else to_json(own)
            )
    return merged
