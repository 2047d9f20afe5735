"""Model agents (one per fake node) and the model controller against a real control
plane: the real MiniLM model becomes Ready where it is meant to be, with its spec
back-filled; Hub failures are reported per node and recover once fixed; deletion removes
files, labels and entries, and a node that disappears does not hold it up."""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from pathlib import Path
from typing import Any

import pytest

from ome.agent.status import ModelRef, configmap_key, node_label_key
from ome.client import Client, NotFound
from ome.controllers.kinds import BASEMODEL, NODE, SECRET
from ome.testing.pytest_plugin import Cluster
from tests.integration.agent.fakehub import FakeHub
from tests.integration.agent.s3server import BUCKET as S3_BUCKET
from tests.integration.agent.s3server import KEYS as S3_KEYS
from tests.integration.agent.s3server import PREFIX as S3_PREFIX
from tests.integration.agent.s3server import s3_server
from tests.integration.helpers import eventually
from tests.integration.models.conftest import PUBLIC
from tests.integration.models.support import (
    fake_nodes,
    model_agents,
    model_controller,
    node_entry,
    node_labels,
)
from tests.unit.agent.helpers import MINILM

pytestmark = pytest.mark.integration

WEIGHTS = "model.safetensors"


def basemodel(name: str, namespace: str, uri: str, **storage: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BaseModel",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"storage": {"storageUri": uri, **storage}},
    }


def node_names(namespace: str, count: int) -> list[str]:
    return [f"{namespace}-node-{i}"[:63] for i in range(count)]


async def get_or_none(client: Client, name: str, namespace: str) -> Any:
    try:
        return await (await client.resource(BASEMODEL)).get(name, namespace)
    except NotFound:
        return None


async def state_of(client: Client, name: str, namespace: str) -> dict[str, Any]:
    model = await get_or_none(client, name, namespace)
    return dict((model or {}).get("status") or {})


async def delete_and_wait(client: Client, name: str, namespace: str) -> None:
    await (await client.resource(BASEMODEL)).delete(name, namespace)

    async def gone() -> bool:
        return await get_or_none(client, name, namespace) is None

    await eventually(gone, timeout=60)


async def one_ready_one_failed(
    admin: Client, namespace: str, node: str, *, ready: str, failed: str, words: str
) -> None:
    """Wait until model ``ready`` is Ready and ``failed`` Failed with ``words`` in the
    node's entry; the Ready one has its spec back-filled."""

    async def reported() -> bool:
        good = await state_of(admin, ready, namespace)
        bad = await state_of(admin, failed, namespace)
        return good.get("state") == "Ready" and bad.get("state") == "Failed"

    await eventually(reported, timeout=60)
    spec = (await get_or_none(admin, ready, namespace))["spec"]
    assert spec["modelArchitecture"] == "BertModel"
    entry = await node_entry(admin, node, configmap_key(ModelRef(failed, namespace)))
    assert entry is not None
    assert words in entry["message"]


async def test_local_model_is_ready_on_eligible_nodes_only_with_its_spec_filled(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    chosen, other = node_names(namespace, 2)
    ref = ModelRef("minilm", namespace)
    async with (
        fake_nodes(admin, [chosen, other]),
        model_agents(models_cluster, [chosen, other], tmp_path),
        model_controller(models_cluster),
    ):
        # Eligible by label: the node gets it once labelled (a node label change wakes it).
        await (await admin.resource(NODE)).patch(
            chosen, {"metadata": {"labels": {"models.test/minilm": "yes"}}}
        )
        model = basemodel(
            "minilm", namespace, f"local://{MINILM}", nodeSelector={"models.test/minilm": "yes"}
        )
        await (await admin.resource(BASEMODEL)).create(model)

        async def ready() -> bool:
            status = await state_of(admin, "minilm", namespace)
            return status.get("state") == "Ready"

        await eventually(ready, timeout=60)
        found = await get_or_none(admin, "minilm", namespace)
        assert found["status"]["nodesReady"] == [chosen]
        assert "nodesFailed" not in found["status"]
        assert found["metadata"]["finalizers"] == ["basemodels.ome.io/finalizer"]
        spec = found["spec"]
        assert spec["modelArchitecture"] == "BertModel"
        assert spec["modelType"] == "bert"
        assert spec["modelParameterSize"] == "22.71M"
        assert spec["modelCapabilities"] == ["EMBEDDING"]
        assert spec["maxTokens"] == 512
        assert (spec["modelFormat"]["name"], spec["modelFormat"]["version"]) == (
            "safetensors",
            "1.0.0",
        )
        assert spec["modelFramework"]["name"] == "transformers"

        assert (await node_labels(admin, chosen))[node_label_key(ref)] == "Ready"
        assert node_label_key(ref) not in await node_labels(admin, other)
        entry = await node_entry(admin, chosen, configmap_key(ref))
        assert entry is not None
        assert entry["status"] == "Ready"
        assert entry["config"]["modelArchitecture"] == "BertModel"
        assert await node_entry(admin, other, configmap_key(ref)) is None

        await delete_and_wait(admin, "minilm", namespace)
        assert node_label_key(ref) not in await node_labels(admin, chosen)
        assert await node_entry(admin, chosen, configmap_key(ref)) is None
        assert (MINILM / WEIGHTS).is_file()  # local:// files are never removed


async def test_hub_failures_are_reported_per_node_and_recover_once_fixed(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path, hub: FakeHub
) -> None:
    (node,) = node_names(namespace, 1)
    private = f"acme/private-{secrets.token_hex(3)}"
    right_token = "hf_right"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hub-token", "namespace": namespace},
        "data": {"token": base64.b64encode(b"hf_wrong").decode()},
    }
    hub.add_repo(private, MINILM, token=right_token)
    hub.truncated[WEIGHTS] = 1000
    async with (
        fake_nodes(admin, [node]),
        model_agents(models_cluster, [node], tmp_path, hub_url=hub.url),
        model_controller(models_cluster),
    ):
        secrets_ = await admin.resource(SECRET)
        await secrets_.create(secret)
        models = await admin.resource(BASEMODEL)
        await models.create(basemodel("missing", namespace, "hf://acme/not-yet-there"))
        await models.create(basemodel("private", namespace, f"hf://{private}", key="hub-token"))
        await models.create(basemodel("truncated", namespace, f"hf://{PUBLIC}"))

        async def failed(name: str, words: str) -> bool:
            # Each retry reports Updating again, so all three are read in one poll.
            ref = ModelRef(name, namespace)
            entry = await node_entry(admin, node, configmap_key(ref))
            status = await state_of(admin, name, namespace)
            label = (await node_labels(admin, node)).get(node_label_key(ref))
            return (
                entry is not None
                and entry["status"] == "Failed"
                and words in entry.get("message", "")
                and status.get("state") == "Failed"
                and status.get("nodesFailed") == [node]
                and label == "Failed"
            )

        await eventually(lambda: failed("missing", "not found"), timeout=60)
        await eventually(lambda: failed("private", "token"), timeout=60)
        await eventually(lambda: failed("truncated", "truncated download"), timeout=60)

        hub.add_repo("acme/not-yet-there", MINILM)
        await secrets_.patch(
            "hub-token",
            {"data": {"token": base64.b64encode(right_token.encode()).decode()}},
            namespace,
        )
        hub.truncated.clear()

        async def all_ready() -> bool:
            states = [
                (await state_of(admin, name, namespace)).get("state")
                for name in ("missing", "private", "truncated")
            ]
            return states == ["Ready"] * 3

        await eventually(all_ready, timeout=90)
        root = tmp_path / f"models-{node}"
        for repo in ("acme/not-yet-there", private, PUBLIC):
            assert (root / repo / WEIGHTS).stat().st_size == (MINILM / WEIGHTS).stat().st_size
        for name in ("missing", "private", "truncated"):
            await delete_and_wait(admin, name, namespace)
        for repo in ("acme/not-yet-there", private, PUBLIC):
            assert not (root / repo).exists()


async def test_deletion_cleans_every_node_and_a_vanished_node_does_not_block_it(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path, hub: FakeHub
) -> None:
    first, second, doomed = node_names(namespace, 3)
    ref = ModelRef("minilm", namespace)
    async with (
        fake_nodes(admin, [first, second, doomed]),
        model_agents(models_cluster, [first, second], tmp_path, hub_url=hub.url),
        model_controller(models_cluster),
    ):
        # The doomed node's agent stalls on the weights until its node is gone.
        stall = hub.stalls[WEIGHTS] = asyncio.Event()
        async with model_agents(models_cluster, [doomed], tmp_path / "doomed", hub_url=hub.url):
            await (await admin.resource(BASEMODEL)).create(
                basemodel("minilm", namespace, f"hf://{PUBLIC}")
            )

            async def updating_on_doomed() -> bool:
                entry = await node_entry(admin, doomed, configmap_key(ref))
                return entry is not None and entry["status"] == "Updating"

            await eventually(updating_on_doomed, timeout=60)
        # Its agent is gone mid-download, and so is the node.
        await (await admin.resource(NODE)).delete(doomed)
        stall.set()

        async def ready_on_the_others() -> bool:
            status = await state_of(admin, "minilm", namespace)
            return status.get("nodesReady") == sorted([first, second])

        await eventually(ready_on_the_others, timeout=60)
        for node in (first, second):
            assert (tmp_path / f"models-{node}" / PUBLIC / WEIGHTS).is_file()

        await delete_and_wait(admin, "minilm", namespace)
        for node in (first, second):
            assert not (tmp_path / f"models-{node}" / PUBLIC).exists()
            assert node_label_key(ref) not in await node_labels(admin, node)
            assert await node_entry(admin, node, configmap_key(ref)) is None

        async def doomed_status_removed() -> bool:
            return await node_entry(admin, doomed, configmap_key(ref)) is None

        await eventually(doomed_status_removed, timeout=30)
    hub.stalls.clear()


async def test_pvc_model_is_read_where_the_claim_is_mounted(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    """Upstream leaves pvc:// models In_Transit forever; an agent with the claim mounted
    reads and reports them like the others, and never deletes their files."""
    (node,) = node_names(namespace, 1)
    pvc_root = tmp_path / "claims"
    mounted = pvc_root / namespace / "weights" / "minilm"
    mounted.parent.mkdir(parents=True)
    mounted.symlink_to(MINILM, target_is_directory=True)
    async with (
        fake_nodes(admin, [node]),
        model_agents(models_cluster, [node], tmp_path, pvc_root=pvc_root),
        model_controller(models_cluster),
    ):
        models = await admin.resource(BASEMODEL)
        await models.create(basemodel("on-claim", namespace, "pvc://weights/minilm"))
        await models.create(basemodel("elsewhere", namespace, "pvc://absent/minilm"))

        await one_ready_one_failed(
            admin, namespace, node, ready="on-claim", failed="elsewhere", words="absent/minilm"
        )
        for name in ("on-claim", "elsewhere"):
            await delete_and_wait(admin, name, namespace)
        assert (MINILM / WEIGHTS).is_file()


async def test_s3_model_is_fetched_with_the_secrets_key_pair(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    """Upstream's agent cannot download s3:// models; ours fetches them with the key pair
    of the Secret named by storage.key, and removes them with the model."""
    (node,) = node_names(namespace, 1)
    keys = {key: base64.b64encode(value.encode()).decode() for key, value in S3_KEYS.items()}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s3-keys", "namespace": namespace},
        "data": keys,
    }
    with s3_server() as s3:
        async with (
            fake_nodes(admin, [node]),
            model_agents(models_cluster, [node], tmp_path, s3_url=s3.url),
            model_controller(models_cluster),
        ):
            await (await admin.resource(SECRET)).create(secret)
            models = await admin.resource(BASEMODEL)
            await models.create(
                basemodel("on-s3", namespace, f"s3://{S3_BUCKET}/{S3_PREFIX}", key="s3-keys")
            )
            await models.create(
                basemodel("absent", namespace, f"s3://{S3_BUCKET}/absent", key="s3-keys")
            )

            await one_ready_one_failed(
                admin, namespace, node, ready="on-s3", failed="absent", words="no objects under"
            )
            (copy,) = (tmp_path / f"models-{node}" / "s3").iterdir()
            assert (copy / WEIGHTS).read_bytes() == (MINILM / WEIGHTS).read_bytes()

            for name in ("on-s3", "absent"):
                await delete_and_wait(admin, name, namespace)
            assert not copy.exists()


async def test_a_node_waits_out_the_hubs_retry_after_before_trying_a_failed_model_again(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path, hub: FakeHub
) -> None:
    """The agent's retry of a Failed model (here every half second) yields to a longer
    Retry-After, as the download's own retries do."""
    (node,) = node_names(namespace, 1)
    wait = 3
    start = len(hub.answers)
    hub.refusing = (429, wait)
    try:
        async with (
            fake_nodes(admin, [node]),
            model_agents(models_cluster, [node], tmp_path, hub_url=hub.url, retry_interval=0.5),
            model_controller(models_cluster),
        ):
            models = await admin.resource(BASEMODEL)
            await models.create(basemodel("limited", namespace, f"hf://{PUBLIC}"))
            ref = ModelRef("limited", namespace)

            async def refused_after_failing() -> bool:
                entry = await node_entry(admin, node, configmap_key(ref))
                # the download's three tries, then at least one retry of the Failed model
                return (
                    entry is not None
                    and "HTTP 429" in entry.get("message", "")
                    and len(hub.answers) - start >= 4
                )

            await eventually(refused_after_failing, timeout=60)
            hub.refusing = None
            times = [at for at, status in hub.answers[start:] if status == 429]
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert gaps
            assert min(gaps) >= wait - 0.25, gaps

            async def ready() -> bool:
                return (await state_of(admin, "limited", namespace)).get("state") == "Ready"

            await eventually(ready, timeout=60)
            await delete_and_wait(admin, "limited", namespace)
    finally:
        hub.refusing = None
