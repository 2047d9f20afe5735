"""``--samples``: a folder of manifests applied with the namespaces they name created first
(upstream's samples name namespaces they do not declare); declared namespaces are applied
as written, and an object the cluster does not serve is reported, not fatal."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from pathlib import Path

import pytest
import yaml

from ome.cli.samples import apply_samples, read_samples
from ome.client import GVK, Client, NotFound
from ome.controllers.kinds import INFERENCESERVICE
from ome.testing.pytest_plugin import Cluster
from tests.compat.reference import CONFIG

pytestmark = pytest.mark.integration

NAMESPACE = GVK("", "v1", "Namespace")
CONFIGMAP = GVK("", "v1", "ConfigMap")
UPSTREAM_SAMPLE = CONFIG / "samples" / "isvc" / "Qwen" / "Qwen1.5-7B-Chat.yaml"


def _configmap(name: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
        }
    )


async def test_samples_are_applied_with_their_namespaces(
    cluster: Cluster, client: Client, tmp_path: Path
) -> None:
    suffix = secrets.token_hex(3)
    named, declared = f"named-{suffix}", f"declared-{suffix}"
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "named.yaml").write_text(_configmap("settings", named))
    (tmp_path / "declared.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\n"
        f"metadata: {{name: {declared}, labels: {{team: search}}}}\n---\n"
        + _configmap("settings", declared)
    )
    (tmp_path / "unknown.yaml").write_text(
        "apiVersion: example.invalid/v1\nkind: Nothing\nmetadata: {name: n, namespace: x}\n"
    )
    sample = yaml.safe_load(UPSTREAM_SAMPLE.read_text()) if UPSTREAM_SAMPLE.is_file() else None
    if sample is not None:  # upstream's own, unchanged: it names a namespace it does not declare
        await cluster.install_crds(sorted(cluster.manifests.joinpath("crds").glob("ome.io_*")))
        shutil.copy(UPSTREAM_SAMPLE, tmp_path / "a" / "upstream.yaml")
    found = read_samples([tmp_path])
    try:
        refused = await apply_samples(client, found.objects)
        assert refused == [
            "Nothing x/n: 404 NotFound: the server does not serve 'Nothing' in "
            "example.invalid/v1 (is its CRD installed?)"
        ]
        configmaps = await client.resource(CONFIGMAP)
        for namespace in (named, declared):
            assert (await configmaps.get("settings", namespace))["metadata"]["name"]
        namespaces = await client.resource(NAMESPACE)
        assert (await namespaces.get(declared))["metadata"]["labels"]["team"] == "search"
        if sample is not None:
            services = await client.resource(INFERENCESERVICE)
            meta = sample["metadata"]
            applied = await services.get(meta["name"], meta["namespace"])
            assert applied["spec"]["model"]["name"] == sample["spec"]["model"]["name"]
    finally:
        namespaces = await client.resource(NAMESPACE)
        created = [named, declared] + ([sample["metadata"]["namespace"]] if sample else [])
        for namespace in created:
            with contextlib.suppress(NotFound):
                await namespaces.delete(namespace)
