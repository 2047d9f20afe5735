"""Fake nodes' agents (simulating: no weights) back-fill upstream's catalogue models from
their metadata on a Hub on loopback; a source out of reach fails the model at once with
the URL tried and the remedy; a real download shows its progress rising in the model's
status and in ``ome status model``."""

from __future__ import annotations

import io
import json
import re
import socket
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ome.agent.metadata import format_parameter_count
from ome.agent.status import ModelRef, configmap_key
from ome.cli import status_model
from ome.cli.progress_bar import ProgressBars
from ome.client import Client, NotFound
from ome.controllers.kinds import BASEMODEL, CLUSTERBASEMODEL
from ome.testing.pytest_plugin import Cluster
from tests.catalogue.hub import catalogue_hub
from tests.catalogue.synthetic import Generated, catalogue_facts, parameter_count
from tests.compat.reference import needs_reference, reference_documents
from tests.integration.agent.fakehub import FakeHub, serve
from tests.integration.helpers import eventually
from tests.integration.models.support import (
    STATUS_NAMESPACE,
    fake_nodes,
    model_agents,
    model_controller,
    node_entry,
)

pytestmark = pytest.mark.integration

FACTS = {m.name: m for m in catalogue_facts()}
# One of each kind: text (sharded, and one small enough for a single file), a diffusers
# pipeline, an embedding model, a vision model, an fp8 one of 671B.
SUBSET = (
    "llama-3-1-8b-instruct",
    "smollm-135m",
    "qwen-image",
    "e5-mistral-7b-instruct",
    "llama-3-2-11b-vision-instruct",
    "deepseek-v3",
)
PIPELINE_EXTRAS = 7 * 10**9 + 127 * 10**6  # the text encoder and VAE of a synthesized pipeline


def node_names(namespace: str, count: int) -> list[str]:
    return [f"{namespace}-md-{i}"[:63] for i in range(count)]


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def upstream_models(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Upstream's manifests of these models, unchanged."""
    found = {
        d.content["metadata"]["name"]: d.content
        for d in reference_documents()
        if d.where.startswith("models/") and d.content.get("kind") == "ClusterBaseModel"
    }
    return [found[name] for name in names]


async def get(client: Client, kind: Any, name: str, namespace: str | None = None) -> Any:
    try:
        return await (await client.resource(kind)).get(name, namespace)
    except NotFound:
        return None


@needs_reference
async def test_simulating_agents_backfill_catalogue_models_from_a_hub(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    nodes = node_names(namespace, 2)
    models = await admin.resource(CLUSTERBASEMODEL)
    async with (
        catalogue_hub([FACTS[n] for n in SUBSET]) as hub,
        fake_nodes(admin, nodes),
        model_agents(models_cluster, nodes, tmp_path, hub_url=hub.url, simulate=True),
        model_controller(models_cluster),
    ):
        for manifest in upstream_models(SUBSET):
            await models.apply(manifest, field_manager="test", force=True)
        try:

            async def all_ready() -> bool:
                found = [await get(admin, CLUSTERBASEMODEL, name) for name in SUBSET]
                return all(((m or {}).get("status") or {}).get("state") == "Ready" for m in found)

            await eventually(all_ready, timeout=90)
            for name in SUBSET:
                facts, spec = FACTS[name], (await get(admin, CLUSTERBASEMODEL, name))["spec"]
                extra = PIPELINE_EXTRAS if facts.kind == "diffusers" else 0
                count = parameter_count(facts.parameters) + extra
                assert spec["modelArchitecture"] == facts.architecture, name
                assert spec["modelParameterSize"] == format_parameter_count(count), name
                expected_format = "diffusers" if facts.kind == "diffusers" else "safetensors"
                assert spec["modelFormat"]["name"] == expected_format, name
            assert (await get(admin, CLUSTERBASEMODEL, "deepseek-v3"))["spec"]["quantization"] == (
                "fp8"
            )
            entry = await node_entry(admin, nodes[0], configmap_key(ModelRef("smollm-135m")))
            assert entry is not None
            assert entry["status"] == "Ready"
            assert entry["config"]["modelArchitecture"] == "LlamaForCausalLM"
        finally:
            for name in SUBSET:
                await models.delete(name)


def basemodel(name: str, namespace: str, uri: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BaseModel",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"storage": {"storageUri": uri}, **spec},
    }


async def test_metadata_out_of_reach_names_the_url_and_the_remedy(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    (node,) = node_names(namespace, 1)
    url = dead_url()
    supplied = tmp_path / "supplied" / "supplied-llama"
    supplied.mkdir(parents=True)
    (supplied / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    # No retry within the test: whatever it says, it says after one attempt.
    async with (
        fake_nodes(admin, [node]),
        model_agents(
            models_cluster,
            [node],
            tmp_path,
            hub_url=url,
            simulate=True,
            model_metadata=supplied.parent,
            retry_interval=600,
        ),
        model_controller(models_cluster),
    ):
        models = await admin.resource(BASEMODEL)
        await models.create(basemodel("bare", namespace, "hf://acme/bare"))
        described = {"modelFormat": {"name": "safetensors"}, "modelArchitecture": "X"}
        await models.create(basemodel("described", namespace, "hf://acme/described", **described))
        await models.create(basemodel("supplied-llama", namespace, "hf://acme/llama"))

        async def settled() -> bool:
            states = [
                ((await get(admin, BASEMODEL, n, namespace) or {}).get("status") or {}).get("state")
                for n in ("bare", "described", "supplied-llama")
            ]
            return states == ["Failed", "Ready", "Ready"]

        await eventually(settled, timeout=60)
        entry = await node_entry(admin, node, configmap_key(ModelRef("bare", namespace)))
        assert entry is not None
        message = entry["message"]
        assert f"{url}/api/models/acme/bare/revision/main" in message
        assert "--model-metadata DIR" in message
        assert "DIR/bare/config.json" in message
        # A spec that names what serving needs is served anyway, the problem noted.
        entry = await node_entry(admin, node, configmap_key(ModelRef("described", namespace)))
        assert entry is not None
        assert entry["status"] == "Ready"
        assert url in entry["message"]
        spec = (await get(admin, BASEMODEL, "supplied-llama", namespace))["spec"]
        assert spec["modelArchitecture"] == "LlamaForCausalLM"


BIG = 300 * 1024 * 1024


def big_model() -> dict[str, bytes | Generated]:
    """A one-tensor model of 300 MiB, made on the fly."""
    count = BIG // 2
    header = json.dumps({"w": {"dtype": "BF16", "shape": [count], "data_offsets": [0, BIG]}})
    head = struct.pack("<Q", len(header)) + header.encode()
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    return {
        "config.json": json.dumps(config).encode(),
        "model.safetensors": Generated(head, len(head) + BIG),
    }


async def test_a_real_download_shows_its_progress_rising(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    (node,) = node_names(namespace, 1)
    hub = FakeHub(pace=40 * 1024 * 1024)
    hub.add_files("acme/big", big_model(), checksums=True)
    seen: list[int] = []
    reported: list[str] = []
    terminal = io.StringIO()
    bars = ProgressBars(terminal, columns=lambda: 200)
    async with (
        serve(hub),
        fake_nodes(admin, [node]),
        model_agents(models_cluster, [node], tmp_path, hub_url=hub.url, progress_display=bars),
        model_controller(models_cluster),
    ):
        await (await admin.resource(BASEMODEL)).create(basemodel("big", namespace, "hf://acme/big"))

        async def done() -> bool:
            status = (await get(admin, BASEMODEL, "big", namespace) or {}).get("status") or {}
            progress = status.get("progress")
            if progress is not None:
                assert progress["totalBytes"] >= BIG
                if not seen or seen[-1] != progress["percent"]:
                    seen.append(progress["percent"])
                if not reported:
                    observed = await status_model.observe(admin, namespace, "big", STATUS_NAMESPACE)
                    reported.append(status_model.report(observed, datetime.now(UTC)))
            return status.get("state") == "Ready"

        await eventually(done, timeout=180)
        final = (await get(admin, BASEMODEL, "big", namespace))["status"]
    assert "progress" not in final
    below_complete = [p for p in seen if p < 100]
    assert len(below_complete) >= 2, seen
    assert seen == sorted(seen), seen
    (text,) = reported
    assert "Progress:" in text
    assert "downloading" in text
    assert node in text
    # other tests' models may be downloading beside it, each on a line of its own
    screen = re.sub(r"\x1b\[\d*[A-Z]", "", terminal.getvalue())
    big_lines = [line for line in screen.splitlines() if line.startswith(f"{namespace}/big ")]
    drawn = [re.search(r"\] +(\d+)%", line) for line in big_lines]
    shares = [int(match.group(1)) for match in drawn if match]
    assert len(set(shares)) >= 3, shares
    assert shares == sorted(shares), shares
    assert shares[-1] == 100, "the bar's last line says the download is complete"
