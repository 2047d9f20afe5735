"""A complete small operator on the ome framework: every Widget gets a ConfigMap holding
its size, and a Ready condition once that ConfigMap is in place.

    kubectl apply --server-side -f examples/widget-crd.yaml
    python examples/widget_operator.py --kubeconfig .ome/local/kubeconfig
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ome.client import GVK, Client, KubeObject, load_configuration
from ome.runtime import (
    Controller,
    LeaderElectionConfig,
    LeaderElectionLost,
    Manager,
    ManagerOptions,
    Request,
    controller_managed_by,
    set_controller_reference,
    set_status_condition,
)
from ome.runtime.loop import run
from ome.runtime.predicates import generation_changed

WIDGET = GVK("example.ome.io", "v1", "Widget")
CONFIGMAP = GVK("", "v1", "ConfigMap")
FIELD_MANAGER = "widget-operator"


def desired_configmap(widget: KubeObject) -> dict[str, Any]:
    meta = widget["metadata"]
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{meta['name']}-widget", "namespace": meta["namespace"]},
        "data": {"size": str(widget.get("spec", {}).get("size", 0))},
    }
    set_controller_reference(widget, configmap)
    return configmap


def ready_status(widget: KubeObject) -> dict[str, Any]:
    """The status to apply: Ready=True for the generation just acted on."""
    meta = widget["metadata"]
    generation = meta.get("generation", 0)
    conditions = [dict(c) for c in widget.get("status", {}).get("conditions", [])]
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "ConfigMapApplied",
        "message": f"ConfigMap {meta['name']}-widget is up to date",
        "observedGeneration": generation,
    }
    set_status_condition(conditions, ready)
    return {
        "apiVersion": WIDGET.api_version,
        "kind": WIDGET.kind,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "status": {"observedGeneration": generation, "conditions": conditions},
    }


def up_to_date(current: KubeObject | None, desired: KubeObject) -> bool:
    if current is None:
        return False
    owners = current["metadata"].get("ownerReferences")
    return (
        current.get("data") == desired["data"] and owners == desired["metadata"]["ownerReferences"]
    )


async def build(manager: Manager, workers: int = 4) -> Controller:
    widget_cache = manager.informer(WIDGET)
    configmap_cache = manager.informer(CONFIGMAP)
    widgets = await manager.client.resource(WIDGET)
    configmaps = await manager.client.resource(CONFIGMAP)
    # The generation each Widget (by uid) was last marked Ready for: the cache may not show
    # that write yet when the ConfigMap's event wakes the Widget again, so remember it.
    written: dict[Request, tuple[str, int]] = {}

    async def reconcile(request: Request) -> None:
        widget = widget_cache.store.get(str(request))
        if widget is None:
            written.pop(request, None)
            return  # deleted: the garbage collector removes its ConfigMap
        configmap = desired_configmap(widget)
        cached = configmap_cache.store.get(f"{request.namespace}/{configmap['metadata']['name']}")
        if not up_to_date(cached, configmap):  # write only what differs from the cache
            await configmaps.apply(configmap, field_manager=FIELD_MANAGER, force=True)
        status = ready_status(widget)
        done = (widget["metadata"]["uid"], widget["metadata"].get("generation", 0))
        if status["status"] != widget.get("status") and written.get(request) != done:
            await widgets.apply_status(status, field_manager=FIELD_MANAGER, force=True)
            written[request] = done

    return (
        controller_managed_by(manager)
        .for_(widget_cache, generation_changed())  # our own status writes wake nothing
        .owns(configmap_cache)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconcile)
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig")
    parser.add_argument("--namespace", help="watch one namespace (default: all)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--metrics-address", default=":8080")
    parser.add_argument("--probe-address", default=":8081")
    parser.add_argument("--leader-elect", metavar="IDENTITY", help="compete for a Lease")
    args = parser.parse_args()
    election = None
    if args.leader_elect:
        election = LeaderElectionConfig(
            name="widget-operator",
            namespace="default",
            identity=args.leader_elect,
            release_on_cancel=True,
        )
    options = ManagerOptions(
        namespace=args.namespace,
        leader_election=election,
        metrics_address=args.metrics_address,
        probe_address=args.probe_address,
    )
    manager = Manager(Client(await load_configuration(args.kubeconfig)), options)
    await build(manager, args.workers)
    try:
        await manager.run()
    except LeaderElectionLost as lost:
        print(f"exiting: {lost}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(main()))
