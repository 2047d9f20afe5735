"""ome against upstream OME's own manager (github.com/sgl-project/ome v0.1.5, cmd/manager,
built by bench/peers.py): the same raw InferenceServices (default 1,000, the upstream
samples bench/isvc.py uses, repeated), reconciled by each operator as its users run it,
each run on a control plane of its own, the operator started after every object exists:

    upstream  manager --metrics-bind-address=0 --health-probe-addr=0, POD_NAMESPACE=ome
              (webhooks and leader election are off by default); upstream's CRDs
    ome       ome run --no-webhooks --no-leader-elect --operator-namespace ome; ome's CRDs

Two kinds of plane (--planes, default both):

    bare  etcd and kube-apiserver: nothing acts on the children, so the time until every
          child exists is the operator's own (polled each second by counting the child
          collections of the services' namespaces)
    full  also kube-controller-manager and kube-scheduler, whose clients may send 500
          requests a second (at their defaults, 20 and 50, the ReplicaSets, pods and
          bindings of a thousand services would set the pace, not the operators), and
          kwok with fake GPU nodes labelled model-ready for every model the services use
          (and with the instance types some runtimes require): the time until every
          service is Ready (polled each second), the operators' writes competing with
          the pods' for the two cores

Every plane holds the same catalogue (upstream's models and runtimes, each model's
metadata back-filled as a model agent would; upstream's own agent downloads from Hugging
Face and cannot run here) and upstream's inferenceservice-config ConfigMap in namespace
ome. With --unrelated N (default 10,000) each operator runs once more on a whole plane
also holding N objects that are none of its business (bench/isvc.py's: Deployments,
paused so that no controller acts on them, ConfigMaps, Secrets, and Pods that name a
scheduler nobody runs), to show what they cost its memory.

Each run reports, from the operator's start: seconds_to_children (the newest
creationTimestamp among the objects the services own: whole seconds), seconds_to_done
(every child on a bare plane, every service Ready on a whole one), the operator's CPU
seconds (utime + stime) and peak RSS (VmHWM) at that point, and its CPU over the --idle
seconds that follow. The summary gives, per kind of run, upstream's times over ome's
(how many times sooner ome gets there) and ome's CPU and RSS over upstream's.

    .venv/bin/python bench/isvc_upstream.py [--services 1000] [--unrelated 10000]
                                            [--planes bare,full] [--variants upstream,ome]
                                            [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # for tests.compat

from e2e_throughput import compile_bytecode, cpu_seconds, peak_rss_mib
from isvc import (
    INFERENCESERVICE_PATH,
    LOGS,
    SERVICE_RANGE,
    catalogue_objects,
    create_services,
    create_unrelated,
    expected_children,
    install_catalogue,
    installed_catalogue,
    memory_catalog,
    servable_samples,
    services,
)
from peers import peer
from serving import REFERENCE

from ome.api.v1beta1 import InferenceService
from ome.client import Client, NotFound
from ome.serving import MemoryCatalog, parse_config, plan_service, render_objects
from ome.serving.naming import model_ready_label
from ome.testing import ControlPlane, FakeNode
from ome.testing.nodes import INSTANCE_TYPE_LABEL

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("upstream", "ome")
OPERATOR_NAMESPACE = "ome"
CONFIGMAP = REFERENCE / "configmap" / "inferenceservice.yaml"
CRDS = {
    "upstream": sorted((REFERENCE / "crd" / "full").glob("ome.io_*.yaml")),
    "ome": sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")),
}
# Collections the services' children may be in, whichever operator writes them.
CHILD_COLLECTIONS = {
    "Deployment": "/apis/apps/v1/deployments",
    "Service": "/api/v1/services",
    "ConfigMap": "/api/v1/configmaps",
    "ServiceAccount": "/api/v1/serviceaccounts",
    "Role": "/apis/rbac.authorization.k8s.io/v1/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/horizontalpodautoscalers",
    "PodDisruptionBudget": "/apis/policy/v1/poddisruptionbudgets",
    "Ingress": "/apis/networking.k8s.io/v1/ingresses",
}
NODES = 20
NODES_PER_TYPE = 4
# kube-controller-manager's and kube-scheduler's clients: at their defaults (20 and 50
# requests a second) the ReplicaSets, pods and bindings of a thousand services, not the
# operators, would set the time to Ready.
CLIENT_QPS = 500
POLL_SECONDS = 1.0

Obj = dict[str, Any]


def required_instance_types(bodies: list[Obj], catalog: MemoryCatalog) -> set[str]:
    """The instance types the services' pods require (upstream's runtimes for some
    models ask for one, node.kubernetes.io/instance-type In [...]); the first of each."""
    config = parse_config(None)
    samples = {json.dumps(b["spec"], sort_keys=True): b for b in bodies}
    found = set()
    for body in samples.values():
        plan = plan_service(InferenceService.model_validate(body), catalog, config)
        for obj in render_objects(plan, set()):
            if obj["kind"] != "Deployment":
                continue
            affinity = obj["spec"]["template"]["spec"].get("affinity") or {}
            required = (affinity.get("nodeAffinity") or {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            ) or {}
            for term in required.get("nodeSelectorTerms") or []:
                for expression in term.get("matchExpressions") or []:
                    if expression["key"] == INSTANCE_TYPE_LABEL and expression["values"]:
                        found.add(expression["values"][0])
    return found


def fake_nodes(bodies: list[Obj], catalog: MemoryCatalog) -> list[FakeNode]:
    """Nodes enough for every service's pods many times over, labelled Ready for every
    model the services name (as the model agents would once they hold it): NODES of no
    particular instance type, and NODES_PER_TYPE of each type a runtime requires."""
    models = {b["spec"]["model"]["name"] for b in bodies}
    labels = {model_ready_label(model, None): "Ready" for model in sorted(models)}
    groups = [("", NODES)] + [
        (t, NODES_PER_TYPE) for t in sorted(required_instance_types(bodies, catalog))
    ]
    nodes = []
    for instance_type, count in groups:
        typed = {INSTANCE_TYPE_LABEL: instance_type} if instance_type else {}
        nodes += [
            FakeNode(
                f"bench-node-{len(nodes) + i}",
                gpus=1000,
                labels=labels | typed,
                cpu="100000",
                memory="1000Ti",
                pods=1000,
            )
            for i in range(count)
        ]
    return nodes


def operator_command(variant: str, kubeconfig: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "POD_NAMESPACE": OPERATOR_NAMESPACE}
    if variant == "upstream":
        return [str(peer("upstream-ome")), "--metrics-bind-address=0", "--health-probe-addr=0"], env
    ome = Path(sys.executable).parent / "ome"
    return [
        str(ome), "run", "--kubeconfig", str(kubeconfig), "--no-webhooks", "--no-leader-elect",
        "--operator-namespace", OPERATOR_NAMESPACE, "--metrics-address", "0",
        "--probe-address", "0", "--log-format", "json",
    ], env  # fmt: skip


def seconds_since(timestamp: str, started: float) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() - started


def ready_condition(service: Obj) -> Obj:
    for condition in (service.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


async def not_ready(client: Client) -> dict[str, str]:
    """The services whose Ready condition is not True, each with that condition's reason
    and message; from the watch cache (cheap for the server)."""
    listed = await client.get(INFERENCESERVICE_PATH, query={"resourceVersion": "0"})
    found = {}
    for service in listed["items"]:
        ready = ready_condition(service)
        if ready.get("status") != "True":
            meta = service["metadata"]
            why = f"{ready.get('reason', '-')}: {ready.get('message', 'no Ready condition')}"
            found[f"{meta['namespace']}/{meta['name']}"] = why
    return found


async def owned_children(client: Client, namespaces: set[str]) -> list[Obj]:
    """Every object in the services' namespaces that an InferenceService owns."""
    found = []
    for kind, collection in CHILD_COLLECTIONS.items():
        with contextlib.suppress(NotFound):
            for obj in (await client.get(collection))["items"]:
                obj["kind"] = kind  # list items carry none
                meta = obj["metadata"]
                owners = meta.get("ownerReferences") or []
                if meta.get("namespace") in namespaces and any(
                    o.get("kind") == "InferenceService" for o in owners
                ):
                    found.append(obj)
    return found


def in_namespace(collection: str, namespace: str) -> str:
    """``/api/v1/services`` in ``namespace``: ``/api/v1/namespaces/{namespace}/services``."""
    group_version, plural = collection.rsplit("/", 1)
    return f"{group_version}/namespaces/{namespace}/{plural}"


async def children_count(client: Client, namespaces: set[str]) -> int:
    """How many objects the child collections hold in ``namespaces``, which on a plane
    without a controller-manager (no default ServiceAccount, no root CA ConfigMap) are
    the services' children alone: a list of one item each, whose remainingItemCount
    counts the rest."""
    found = 0
    for collection in CHILD_COLLECTIONS.values():
        for namespace in namespaces:
            page = await client.get(in_namespace(collection, namespace), query={"limit": 1})
            found += len(page["items"]) + int(page["metadata"].get("remainingItemCount") or 0)
    return found


@dataclass(frozen=True)
class Inputs:
    """What every run is given, made once: the services, the catalogue installed with
    them, the whole planes' nodes and the number of children the services render."""

    bodies: list[Obj]
    catalogue: list[Obj]
    nodes: list[FakeNode]
    expected: int


async def prepare(plane: ControlPlane, client: Client, variant: str, args: argparse.Namespace,
                  inputs: Inputs) -> None:  # fmt: skip
    await plane.install_crds(CRDS[variant])
    await install_catalogue(client, inputs.catalogue)
    await client.create("/api/v1/namespaces", {"metadata": {"name": OPERATOR_NAMESPACE}})
    (configmap,) = [d for d in yaml.safe_load_all(CONFIGMAP.read_text()) if d]
    await client.create(f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/configmaps", configmap)
    if args.crowded:
        await create_unrelated(client, args.unrelated)
    await create_services(client, inputs.bodies)


def control_plane(plane: str, nodes: list[FakeNode]) -> ControlPlane:
    if plane == "bare":
        return ControlPlane(service_cidr=SERVICE_RANGE)
    return ControlPlane(
        controller_manager=True,
        scheduler=True,
        nodes=nodes,
        service_cidr=SERVICE_RANGE,
        client_qps=CLIENT_QPS,
    )


async def run_variant(
    variant: str, plane_kind: str, inputs: Inputs, args: argparse.Namespace
) -> Obj:
    bodies, expected = inputs.bodies, inputs.expected
    async with (
        control_plane(plane_kind, inputs.nodes) as plane,
        await plane.client() as client,
    ):
        await prepare(plane, client, variant, args, inputs)
        namespaces = {b["metadata"]["namespace"] for b in bodies}

        async def waiting() -> dict[str, str]:
            if plane_kind == "full":
                return await not_ready(client)
            made = await children_count(client, namespaces)
            return {} if made >= expected else {"children": f"{made} of {expected}"}

        result = await measure(plane, client, variant, waiting, args)
        children = await owned_children(client, namespaces)
        started = result.pop("started_wall")
        newest = max(seconds_since(c["metadata"]["creationTimestamp"], started) for c in children)
        return {
            "case": "isvc_upstream",
            "variant": variant,
            "plane": plane_kind,
            "unrelated": args.unrelated if args.crowded else 0,
            "services": len(bodies),
            "children": len(children),
            "child_kinds": sorted({c["kind"] for c in children}),
            "seconds_to_children": round(max(newest, 0.0), 1),
            **result,
        }


async def measure(plane: ControlPlane, client: Client, variant: str,
                  waiting: Callable[[], Awaitable[dict[str, str]]],
                  args: argparse.Namespace) -> Obj:  # fmt: skip
    """Start the operator and poll until nothing is ``waiting``: its seconds, CPU and
    peak RSS then, and its CPU over the --idle seconds that follow."""
    argv, env = operator_command(variant, plane.kubeconfig)
    name = f"{variant}-{args.plane}{'-crowded' if args.crowded else ''}"
    log = (LOGS / f"{name}.log").open("wb")
    servers = [plane.processes[p].pid for p in ("kube-apiserver", "etcd")]
    servers_before = sum(map(cpu_seconds, servers))
    started_wall, started = time.time(), time.monotonic()
    process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=log, stderr=log)
    try:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{variant} exited; see {LOGS / (name + '.log')}")
            left = await waiting()
            elapsed = time.monotonic() - started
            if not left:
                break
            if elapsed > args.timeout:
                lines = "\n".join(f"  {k}: {why}" for k, why in sorted(left.items())[:20])
                raise TimeoutError(f"{name}: still waiting after {elapsed:.0f}s:\n{lines}")
            await asyncio.sleep(POLL_SECONDS)
        cpu, rss = cpu_seconds(process.pid), peak_rss_mib(process.pid)
        servers_cpu = sum(map(cpu_seconds, servers)) - servers_before
        await asyncio.sleep(args.idle)
        idle_cpu = cpu_seconds(process.pid) - cpu
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        log.close()
    return {
        "started_wall": started_wall,
        "seconds_to_done": round(elapsed, 1),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(rss, 1),
        f"idle_cpu_seconds_per_{args.idle:.0f}s": round(idle_cpu, 3),
        "apiserver_and_etcd_cpu_seconds": round(servers_cpu, 2),
    }


def compared(upstream: Obj, ome: Obj) -> Obj:
    """How many times sooner ome gets there; its CPU and peak RSS over upstream's."""
    return {
        "children_sooner": round(upstream["seconds_to_children"] / ome["seconds_to_children"], 2),
        "done_sooner": round(upstream["seconds_to_done"] / ome["seconds_to_done"], 2),
        "cpu_ome_over_upstream": round(ome["cpu_seconds"] / upstream["cpu_seconds"], 2),
        "peak_rss_ome_over_upstream": round(ome["peak_rss_mib"] / upstream["peak_rss_mib"], 2),
    }


def runs(planes: list[str], unrelated: int) -> list[tuple[str, bool]]:
    """(plane, crowded) in order: the crowded run on whole planes only, where the pods
    the operators cache are there too."""
    return [(plane, False) for plane in planes] + [
        ("full", True) for plane in planes if plane == "full" and unrelated
    ]


async def main(args: argparse.Namespace) -> None:
    config = parse_config(None)
    raw = servable_samples(memory_catalog(catalogue_objects()), config)["raw"]
    counts = {"raw": args.services, "multinode": 0, "pd": 0}
    bodies = services({"raw": raw, "multinode": [], "pd": []}, counts, "vs", args.namespaces)
    models = [InferenceService.model_validate(b) for b in bodies]
    catalogue = installed_catalogue()
    catalog = memory_catalog(catalogue)
    _, expected = expected_children(models, catalog, config)
    inputs = Inputs(bodies, catalogue, fake_nodes(bodies, catalog), expected)
    variants = args.variants.split(",")
    if "upstream" in variants:
        peer("upstream-ome")  # built before any clock starts
    LOGS.mkdir(exist_ok=True)
    results: dict[tuple[str, str, bool], Obj] = {}
    for plane, crowded in runs(args.planes.split(","), args.unrelated):
        args.plane, args.crowded = plane, crowded
        for variant in variants:
            result = await run_variant(variant, plane, inputs, args)
            results[variant, plane, crowded] = result
            print(json.dumps(result), flush=True)
    if not all(v in variants for v in VARIANTS):
        return
    summary: Obj = {"case": "isvc_upstream_summary", "services": args.services}
    for plane, crowded in runs(args.planes.split(","), args.unrelated):
        name = f"{plane}{'_crowded' if crowded else ''}"
        summary[name] = compared(*(results[v, plane, crowded] for v in VARIANTS))
    if ("ome", "full", True) in results:
        summary["rss_growth_with_unrelated"] = {
            v: round(
                results[v, "full", True]["peak_rss_mib"] / results[v, "full", False]["peak_rss_mib"]
                - 1,
                3,
            )
            for v in VARIANTS
        }
    print(json.dumps(summary), flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument("--unrelated", type=int, default=10_000, help="0: no crowded runs")
    parser.add_argument("--variants", default="upstream,ome", help="which, in which order")
    parser.add_argument(
        "--planes", default="bare,full", help="bare: time to children; full: time to Ready"
    )
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured")
    parser.add_argument("--timeout", type=float, default=1800)
    return parser.parse_args()


if __name__ == "__main__":
    compile_bytecode()
    asyncio.run(main(arguments()))
