"""Types several ome.io kinds share: model format and framework matching, diffusion
pipelines, model storage, and the base of every ome.io/v1beta1 kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ome.api import k8s
from ome.api.meta import ApiObject
from ome.api.types import ATOMIC_MAP, Int64, KubeModel

GROUP = "ome.io"
VERSION = "v1beta1"


class OmeObject(ApiObject):
    API_VERSION = f"{GROUP}/{VERSION}"


class ModelFormat(KubeModel):
    """A model format (e.g. safetensors) and how a runtime's version requirement compares."""

    name: str
    version: str | None = Field(default=None, description='"major[.minor[.patch]]"')
    operator: str | None = Field(
        default="Equal",
        description="How versions compare: Equal, GreaterThan or GreaterThanOrEqual.",
    )
    weight: Int64 | None = Field(default=1, description="Weight of this match in scoring.")


class ModelFrameworkSpec(ModelFormat):
    """A model framework (e.g. transformers 4.42.3), matched like a format."""


class DiffusionComponent(KubeModel):
    """A component of a diffusers pipeline (model_index.json)."""

    library: str | None = None
    type: str | None = None


class DiffusionPipelineSpec(KubeModel):
    """The diffusers pipeline of a model, as in its model_index.json."""

    additional_components: Annotated[dict[str, DiffusionComponent], ATOMIC_MAP] | None = Field(
        default=None, alias="additionalComponents"
    )
    class_name: str | None = Field(default=None, alias="className")
    scheduler: DiffusionComponent | None = None
    text_encoder: DiffusionComponent | None = Field(default=None, alias="textEncoder")
    tokenizer: DiffusionComponent | None = None
    transformer: DiffusionComponent | None = None
    vae: DiffusionComponent | None = None


class StorageSpec(KubeModel):
    """Where a model (or data set, or result) is stored and where nodes keep their copy."""

    download_policy: Literal["AlwaysDownload", "ReuseIfExists"] | None = Field(
        default=None, alias="downloadPolicy"
    )
    key: str | None = Field(default=None, description="Name of the Secret with credentials.")
    node_affinity: k8s.NodeAffinity | None = Field(
        default=None, alias="nodeAffinity", description="Nodes that should hold a copy."
    )
    node_selector: Annotated[dict[str, str], ATOMIC_MAP] | None = Field(
        default=None, alias="nodeSelector", description="Nodes that should hold a copy."
    )
    parameters: dict[str, str] | None = Field(
        default=None, description="Storage options and credentials (region, auth, ...)."
    )
    path: str | None = Field(default=None, description="Node path of the local copy.")
    schema_path: str | None = Field(default=None, alias="schemaPath")
    storage_uri: str = Field(
        alias="storageUri", description="oci://, hf://, pvc://, s3://, az://, gs://, local://, ..."
    )


class ObjectReference(KubeModel):
    """A reference to an object by name (and namespace, for namespaced kinds)."""

    name: str
    namespace: str | None = None


FreeForm = dict[str, Any]
"""Arbitrary JSON (a Go RawExtension): stored as given."""
