"""Metadata without the weights: the config files and safetensors headers fetched from a
Hub on loopback serving the synthesized catalogue, from S3 (moto), from a supplied folder;
a source out of reach names the URL tried."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from ome.agent.download import S3Settings
from ome.agent.metadata import read_model_metadata
from ome.agent.remote_metadata import (
    COMPLETE_MARKER,
    MetadataSources,
    MetadataUnavailable,
    model_metadata,
    uri_folder,
)
from tests.catalogue.hub import catalogue_hub
from tests.catalogue.synthetic import catalogue_facts
from tests.integration.agent.fakehub import FakeHub, serve
from tests.integration.agent.s3server import BUCKET, KEYS, PREFIX, s3_server
from tests.unit.agent.helpers import MINILM

FACTS = {m.name: m for m in catalogue_facts()}
SAMPLE = ("llama-3-1-8b-instruct", "qwen-image", "deepseek-v3", "smollm-135m", "bge-large-en-v1-5")


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_catalogue_models_are_read_from_their_configs_and_headers(tmp_path: Path) -> None:
    async with catalogue_hub([FACTS[n] for n in SAMPLE]) as hub:
        sources = MetadataSources(hub.url)
        for name in SAMPLE:
            facts = FACTS[name]
            metadata = await asyncio.to_thread(
                model_metadata, name, facts.storage_uri, tmp_path, sources
            )
            assert metadata.model_architecture == facts.architecture
            assert metadata.model_parameter_size is not None
        # Only headers were fetched: every shard on disk is a few hundred bytes.
        fetched = tmp_path / uri_folder(FACTS["deepseek-v3"].storage_uri)
        shards = sorted(fetched.glob("*.safetensors"))
        assert len(shards) == 2
        assert all(shard.stat().st_size < 1000 for shard in shards)
        assert (fetched / COMPLETE_MARKER).is_file()
        served = set(hub.downloads)
        assert "model.safetensors.index.json" in served


async def test_a_cached_fetch_is_reused_only_when_asked(tmp_path: Path) -> None:
    facts = FACTS["smollm-135m"]
    async with catalogue_hub([facts]) as hub:
        sources = MetadataSources(hub.url)
        await asyncio.to_thread(model_metadata, facts.name, facts.storage_uri, tmp_path, sources)
        served = len(hub.downloads)
    # The Hub is gone: the cache answers.
    gone = MetadataSources(dead_url())
    cached = await asyncio.to_thread(
        model_metadata, facts.name, facts.storage_uri, tmp_path, gone, reuse=True
    )
    assert cached.model_architecture == "LlamaForCausalLM"
    assert served > 0
    with pytest.raises(MetadataUnavailable):
        await asyncio.to_thread(model_metadata, facts.name, facts.storage_uri, tmp_path, gone)


async def test_an_unreachable_hub_names_the_url_tried(tmp_path: Path) -> None:
    url = dead_url()
    with pytest.raises(MetadataUnavailable) as caught:
        await asyncio.to_thread(
            model_metadata, "llama", "hf://meta-llama/Llama-3.1-8B-Instruct", tmp_path,
            MetadataSources(url),
        )  # fmt: skip
    assert caught.value.url == f"{url}/api/models/meta-llama/Llama-3.1-8B-Instruct/revision/main"
    assert "unreachable" in str(caught.value)
    assert not any(tmp_path.rglob("*.json"))  # nothing half-fetched is left


async def test_a_private_repo_needs_its_token(tmp_path: Path) -> None:
    hub = FakeHub()
    hub.add_repo("acme/private", MINILM, token="hf_reader")
    async with serve(hub):
        sources = MetadataSources(hub.url)
        with pytest.raises(MetadataUnavailable) as caught:
            await asyncio.to_thread(model_metadata, "p", "hf://acme/private", tmp_path, sources)
        assert "HTTP 401" in str(caught.value)
        assert "token" in str(caught.value)
        metadata = await asyncio.to_thread(
            model_metadata, "p", "hf://acme/private", tmp_path, sources, token="hf_reader"
        )
    assert metadata.model_architecture == "BertModel"
    assert metadata.model_parameter_size == "22.71M"  # from the header, as after a download


async def test_s3_models_are_read_with_ranged_gets(tmp_path: Path) -> None:
    with s3_server() as s3:
        sources = MetadataSources(s3=S3Settings(endpoint=s3.url))
        metadata = await asyncio.to_thread(
            model_metadata, "m", f"s3://{BUCKET}/{PREFIX}", tmp_path, sources, secret=KEYS
        )
    assert metadata.model_architecture == "BertModel"
    assert metadata.model_parameter_size == "22.71M"
    header = tmp_path / uri_folder(f"s3://{BUCKET}/{PREFIX}") / "model.safetensors"
    assert header.stat().st_size < (MINILM / "model.safetensors").stat().st_size // 100


async def test_supplied_metadata_wins_by_name_or_by_uri(tmp_path: Path) -> None:
    supplied = tmp_path / "supplied"
    by_name = supplied / "my-llama"
    by_uri = supplied / "hf" / "org" / "other"
    for folder, architecture in ((by_name, "LlamaForCausalLM"), (by_uri, "MistralForCausalLM")):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    sources = MetadataSources(dead_url(), supplied=supplied)
    cache = tmp_path / "cache"
    named = await asyncio.to_thread(model_metadata, "my-llama", "hf://org/x", cache, sources)
    assert named.model_architecture == "LlamaForCausalLM"
    found = await asyncio.to_thread(model_metadata, "any", "hf://org/other@v2", cache, sources)
    assert found.model_architecture == "MistralForCausalLM"


def test_local_models_are_read_in_place(tmp_path: Path) -> None:
    sources = MetadataSources()
    metadata = model_metadata("m", f"local://{MINILM}", tmp_path, sources)
    assert metadata == read_model_metadata(MINILM)
    with pytest.raises(MetadataUnavailable, match="no such directory"):
        model_metadata("m", "local:///nowhere/at/all", tmp_path, sources)
    with pytest.raises(MetadataUnavailable, match="only after a download"):
        model_metadata("m", "pvc://claim/models/m", tmp_path, sources)
