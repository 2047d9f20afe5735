"""Every synthesized model of the catalogue yields, through the agent's own metadata
reader, the facts it was made from: what a back-fill in a cluster would write."""

from __future__ import annotations

from pathlib import Path

import pytest

from ome.agent.metadata import format_parameter_count, read_model_metadata
from tests.catalogue.synthetic import (
    Generated,
    ModelFacts,
    catalogue_facts,
    parameter_count,
    repo_files,
    write_repo,
)
from tests.compat.reference import CONFIG, needs_reference, reference_documents

PIPELINE_EXTRAS = 7 * 10**9 + 127 * 10**6
"""A pipeline's text encoder and VAE (tests.catalogue.synthetic._pipeline)."""


def expected_size(model: ModelFacts) -> str:
    count = parameter_count(model.parameters)
    return format_parameter_count(count + (PIPELINE_EXTRAS if model.kind == "diffusers" else 0))


@pytest.mark.parametrize("model", catalogue_facts(), ids=lambda m: m.name)
def test_each_model_yields_its_facts(model: ModelFacts, tmp_path: Path) -> None:
    metadata = read_model_metadata(write_repo(repo_files(model), tmp_path))
    assert metadata.model_architecture == model.architecture
    assert metadata.model_parameter_size == expected_size(model)
    assert metadata.model_format is not None
    if model.kind == "diffusers":
        assert metadata.model_format.name == "diffusers"
        assert metadata.model_format.version == model.diffusers
        assert metadata.diffusion_pipeline is not None
        return
    assert (metadata.model_format.name, metadata.model_format.version) == ("safetensors", "1.0.0")
    assert metadata.model_framework is not None
    assert metadata.model_framework.version == model.transformers
    method = (model.quant_method or "").lower()
    assert metadata.quantization == ("fp8" if "fp8" in method else None)
    capabilities = set(metadata.model_capabilities)
    if model.kind == "embedding":
        assert capabilities == {"EMBEDDING"}
    elif model.kind == "vision":
        assert capabilities == {"IMAGE_TEXT_TO_TEXT"}


@needs_reference
def test_the_facts_cover_the_whole_catalogue() -> None:
    models = {
        d.content["metadata"]["name"]: d.content["spec"]["storage"]["storageUri"]
        for d in reference_documents()
        if d.where.startswith("models/") and d.content.get("kind") == "ClusterBaseModel"
    }
    assert len(models) == 207, CONFIG
    assert {m.name: m.storage_uri for m in catalogue_facts()} == models


def test_a_large_model_costs_only_its_header() -> None:
    kimi = next(m for m in catalogue_facts() if m.parameters == "1T")
    shard = repo_files(kimi)["model-00001-of-00002.safetensors"]
    assert isinstance(shard, Generated)
    assert shard.size > 10**12
    assert len(shard.head) < 1000
    assert shard.read(shard.size - 4, 10) == bytes(4)
