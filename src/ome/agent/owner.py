"""Who owns the node status ConfigMaps: the agent's DaemonSet, found through the agent's
own pod. With it as their owner, deleting the install (``helm uninstall``,
``kubectl delete -k``) takes the ConfigMaps with it through the garbage collector; an
agent that runs outside a pod (``ome run --local``, a development machine) has no owner
to give them, and they stay until deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from ome.client import ApiError, Client
from ome.controllers.kinds import POD

log = structlog.get_logger("ome.agent")


def controller_reference(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod's controller (its DaemonSet) as a plain owner reference: not a controller
    reference of the ConfigMap and not blocking the owner's deletion, only the tie the
    garbage collector follows."""
    for reference in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return {k: reference[k] for k in ("apiVersion", "kind", "name", "uid")}
    return None


async def find_owner(client: Client, pod_name: str, namespace: str) -> dict[str, Any] | None:
    """The owner reference for this agent's ConfigMaps; None (and a warning) when the pod
    cannot be read or has no controller."""
    try:
        pod = await (await client.resource(POD)).get(pod_name, namespace)
    except ApiError as err:
        log.warning("cannot read this agent's pod", pod=f"{namespace}/{pod_name}", error=str(err))
        return None
    owner = controller_reference(pod)
    if owner is None:
        log.warning("this agent's pod has no controller", pod=f"{namespace}/{pod_name}")
    return owner
