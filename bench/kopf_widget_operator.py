"""The example Widget operator written with kopf, the way kopf's documentation shows:
handlers for create/update/resume that write the ConfigMap and report status through
kopf's patch. Used only as a comparison in e2e_throughput.py."""

from __future__ import annotations

import os
from typing import Any

import kopf
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

WORKERS = int(os.environ.get("WIDGET_WORKERS", "4"))


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.batching.worker_limit = WORKERS
    # An idle per-object worker keeps its slot for idle_timeout (5 s by default), which
    # with a worker limit stalls every other object: free slots promptly instead.
    settings.batching.idle_timeout = 0.2
    settings.posting.enabled = False
    await kube_config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    memo.api = CoreV1Api(ApiClient())


@kopf.on.resume("example.ome.io", "v1", "widgets")
@kopf.on.create("example.ome.io", "v1", "widgets")
@kopf.on.update("example.ome.io", "v1", "widgets")
async def reconcile(*, body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    api: CoreV1Api = memo.api
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-widget", "namespace": namespace},
        "data": {"size": str(body.get("spec", {}).get("size", 0))},
    }
    kopf.adopt(configmap, owner=body)
    try:
        await api.create_namespaced_config_map(namespace, configmap)
    except ApiException as err:
        if err.status != 409:
            raise
        await api.replace_namespaced_config_map(f"{name}-widget", namespace, configmap)
    generation = body["metadata"].get("generation", 0)
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ConfigMapApplied",
            "message": f"ConfigMap {name}-widget is up to date",
            "observedGeneration": generation,
        }
    ]
