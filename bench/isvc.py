"""InferenceServices at scale: N raw services (default 1,000), 100 multi-node and 100
prefill/decode (PD) ones made from upstream's samples, against upstream's full catalogue
(../shared/ome-reference/config: every ClusterBaseModel and ClusterServingRuntime
installed, each model's metadata back-filled as the model agent would), reconciled until
every service's children exist and its status is written. Two variants in one run, each
on a control plane of its own (etcd and kube-apiserver with the LeaderWorkerSet CRD,
started by the script; no controller-manager, scheduler or LeaderWorkerSet controller,
since "children created" is the end point) holding the same catalogue and the same
services:

    floor  a raw client in a process of its own: the services' children and statuses
           rendered with ome.serving before the clock starts, then one list and, per
           service, the controller's writes (finalizer merge patch, server-side apply of
           each child with the controller's field manager and owner reference, status
           apply) at the same concurrency as the controller's workers
    ome    the InferenceService controller (ome.controllers.inferenceservice) on a
           Manager watching all namespaces, in a process of its own, its caches of
           services and children compact (JSON, decoded on read) as ``ome run`` keeps them
    ome-plain  the same with every cache plain (decoded objects), as
           ``ome run --no-compact-caches``; optional, to weigh the compact caches
    ome-crowded  ``ome`` on a control plane also holding --unrelated objects (default
           10,000: Deployments, ConfigMaps, Secrets and Pods, a quarter each, none of
           them the operator's); optional, to show what they cost its memory

The raw services are the upstream samples that plan against the catalogue as upstream
ships it (most catalogue models lack a modelFormat and wait for the model agent); each
renders 13 children (6 without a router). The multi-node ones are the samples whose
engine runs as a LeaderWorkerSet without a decoder (deepseek-r1: 4 children), the PD
ones those with a decoder (deepseek-v3-pd, kimi-k2-pd: 13 children, two of them
LeaderWorkerSets); both need the back-filled metadata. Each kind's samples are repeated
round-robin with unique names over a few namespaces; every service is labelled with its
kind.

Each variant's clock starts when its process, already started and prepared (imports and
the API models' validators; the floor also its rendering), is told to go, and stops when
the services listed all carry a status; the children are then counted (every one must
exist). The operator's time includes starting its manager and syncing its caches. Each
run's line gives its seconds, the process's CPU seconds in the timed region and peak RSS,
kube-apiserver + etcd CPU, and the writes the process sent (by resource). The summary
gives ratio = floor seconds / ome seconds (ome's throughput as a fraction of the floor's), the
same ratio of CPU, and the CPU time of selection + render (plan_service + render_objects)
per service (target <= 5 ms), for each kind and over all services: offline over the same
services against the same catalogue in memory (best of --repeats passes), and inside the
operator (thread CPU time of every plan_service + render_objects call its reconciles
made, per plan_service call).

By default each variant runs twice, in the order floor, ome, ome, floor: the load of a
shared machine drifts during a run, and a single pair favours whichever runs second
(by up to 25% in trials); the summary sums the runs of each variant.

    .venv/bin/python bench/isvc.py [--services 1000] [--multinode 100] [--pd 100]
                                   [--workers 4] [--namespaces 4]
                                   [--variants floor,ome,ome,floor]
                                   [--unrelated 10000]

The scaling curve: the operator alone on each number of raw services, each on a plane of
its own, and the least-squares line through seconds, CPU seconds and peak RSS against
the number of services (slope, intercept, R²):

    .venv/bin/python bench/isvc.py --scale 100,1000,5000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # for tests.compat

import structlog
from e2e_throughput import compile_bytecode, cpu_seconds, peak_rss_mib
from serving import REFERENCE, cpu_ms_per_item
from tests.compat.backfill import backfilled_catalogue

from ome.api.documents import manifest_files, read_documents
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import validate_object
from ome.cli import bootstrap
from ome.client import GVK, Client, load_configuration
from ome.controllers.inferenceservice import (
    CACHED_IN_QUANTITY,
    CONTROLLER_NAME,
    FIELD_MANAGER,
    FINALIZER,
    reconciler,
    setup,
)
from ome.controllers.inferenceservice.reconciler import rfc3339_now
from ome.runtime import Manager, ManagerOptions, set_controller_reference
from ome.runtime import loop as event_loop
from ome.serving import (
    Component,
    MemoryCatalog,
    ObjectRef,
    ServingConfig,
    ServingError,
    ServingPlan,
    compute_status,
    parse_config,
    plan_service,
    render_objects,
)
from ome.testing import ControlPlane, binaries, leaderworkerset

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 5.0
VARIANT_LABEL = "bench.ome.io/variant"
KIND_LABEL = "bench.ome.io/kind"
KINDS_OF_SERVICE = ("raw", "multinode", "pd")
VARIANTS = ("floor", "ome", "ome-plain", "ome-crowded")
OPERATOR_VARIANTS = ("ome", "ome-plain", "ome-crowded")
UNRELATED_NAMESPACE = "unrelated"
SERVICE_LABEL = "ome.io/inferenceservice"
CATALOGUE_KINDS = ("ClusterBaseModel", "ClusterServingRuntime")
INFERENCESERVICE = GVK("ome.io", "v1beta1", "InferenceService")
INFERENCESERVICE_PATH = "/apis/ome.io/v1beta1/inferenceservices"
CONFIG_NAMESPACE = "ome"  # holds no inferenceservice-config: the defaults apply
CREATE_CONCURRENCY = 32
POLL_SECONDS = 0.5
# The poll lists every service: spaced so that it reads at most this many a second, or
# at N services its cost to the API server would grow as N² (N lists over a run ∝ N).
POLLED_SERVICES_PER_SECOND = 2000
SERVICE_RANGE = "10.96.0.0/16"
LOGS = Path(tempfile.gettempdir()) / "ome-bench-isvc"

Obj = dict[str, Any]


# -- the catalogue and the services ------------------------------------------------------


def _documents(directory: Path) -> list[Obj]:
    return [
        d.content
        for f in manifest_files([directory])
        for d in read_documents(f.read_text(), str(f))
        if isinstance(d.content, dict)
    ]


def catalogue_objects() -> list[Obj]:
    """Every model and runtime, the last of a kind and name winning as a second apply
    would (upstream has a few names twice); installing these exact objects keeps the
    cluster's catalogue and the in-memory one the same."""
    found: dict[tuple[str, str], Obj] = {}
    for content in _documents(REFERENCE / "models") + _documents(REFERENCE / "runtimes"):
        if content.get("kind") in CATALOGUE_KINDS:
            found[content["kind"], content["metadata"]["name"]] = content
    return list(found.values())


def installed_catalogue() -> list[Obj]:
    """The catalogue the cluster holds: upstream's, each model without a format filled in
    as the model agent would from its config.json (the multi-node samples' models,
    DeepSeek-R1, DeepSeek-V3 and Kimi-K2, are among them). Models that carry their
    format are as upstream ships them, so the raw services plan as against
    :func:`catalogue_objects`."""
    return [o for o in backfilled_catalogue() if o.get("kind") in CATALOGUE_KINDS]


def memory_catalog(objects: list[Obj]) -> MemoryCatalog:
    validated = (validate_object(o, KINDS).model for o in objects)
    return MemoryCatalog.of(m for m in validated if m is not None)


def service_body(sample: Obj, index: int, variant: str, namespaces: int, kind: str) -> Obj:
    """Copy ``index`` of an upstream sample: a unique name, one of the variant's
    namespaces, and labels telling the variants and the kinds of service apart."""
    name = f"{sample['metadata']['name'][:36].rstrip('-')}-{index:04d}"
    return {
        "apiVersion": INFERENCESERVICE.api_version,
        "kind": INFERENCESERVICE.kind,
        "metadata": {
            "name": name,
            "namespace": f"isvc-{variant}-{index % namespaces}",
            "labels": {VARIANT_LABEL: variant, KIND_LABEL: kind},
        },
        "spec": copy.deepcopy(sample["spec"]),
    }


def service_kind(plan: ServingPlan) -> str:
    """``pd`` with a decoder (prefill/decode disaggregated), ``multinode`` with a
    LeaderWorkerSet but no decoder, else ``raw``."""
    if plan.workload(Component.DECODER) is not None:
        return "pd"
    return "multinode" if any(w.multi_node for w in plan.workloads) else "raw"


def kind_of(service: InferenceService) -> str:
    return (service.metadata.labels or {}).get(KIND_LABEL, "raw")


def servable_samples(catalog: MemoryCatalog, config: ServingConfig) -> dict[str, list[Obj]]:
    """The upstream samples that plan against the catalogue (placed in a bench
    namespace, as the benchmark will place them), by kind of service."""
    found: dict[str, list[Obj]] = {kind: [] for kind in KINDS_OF_SERVICE}
    for content in _documents(REFERENCE / "samples" / "isvc"):
        if content.get("kind") != INFERENCESERVICE.kind:
            continue
        service = validate_object(service_body(content, 0, "probe", 1, "probe"), KINDS).model
        if not isinstance(service, InferenceService):
            continue
        try:
            plan = plan_service(service, catalog, config)
        except ServingError:
            continue
        found[service_kind(plan)].append(content)
    return found


def services(
    samples: dict[str, list[Obj]], counts: dict[str, int], variant: str, namespaces: int
) -> list[Obj]:
    """``counts[kind]`` copies of each kind's samples, round-robin, numbered across
    kinds."""
    bodies: list[Obj] = []
    for kind in KINDS_OF_SERVICE:
        chosen = samples[kind]
        if counts[kind] and not chosen:
            raise RuntimeError(f"no upstream sample plans as a {kind} service")
        bodies += [
            service_body(chosen[i % len(chosen)], len(bodies) + i, variant, namespaces, kind)
            for i in range(counts[kind])
        ]
    return bodies


# -- the two variants' processes ---------------------------------------------------------
#
# Each runs this file with --role; it prints "ready" once prepared, starts on a line from
# the parent, and on the next one prints its figures as one JSON line and exits. Logs go
# to stderr (a file), so that stdout carries only these lines.

WRITES: Counter[str] = Counter()


def resource_of(path: str) -> str:
    """``deployments`` or ``inferenceservices/status`` from an object's path."""
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    if "namespaces" not in parts[:-1]:
        return parts[-1]
    return "/".join(parts[parts.index("namespaces") + 2 :: 2])


def count_writes() -> None:
    """Count every request but reads, by method and resource; the same wrapper in both
    processes."""
    request = Client.request

    async def counted(self: Client, method: str, path: str, **kwargs: Any) -> Any:
        if method not in ("GET", "HEAD"):
            WRITES[f"{method} {resource_of(path)}"] += 1
        return await request(self, method, path, **kwargs)

    Client.request = counted  # type: ignore[method-assign]


async def read_line() -> str:
    return await asyncio.to_thread(sys.stdin.readline)


def say(message: Obj | str) -> None:
    print(message if isinstance(message, str) else json.dumps(message), flush=True)


async def run_operator(workers: int, *, compact: bool) -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    count_writes()
    # Selection + render CPU inside the reconciles, by kind of service: the thread CPU
    # time of each call the reconciler makes (thread time, so that work on other threads
    # is not counted).
    spent = Counter[str]()
    calls = Counter[str]()

    def timed(
        function: Callable[..., Any], service_of: Callable[[Any], InferenceService], *, call: bool
    ) -> Callable[..., Any]:
        def wrapper(first: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return function(first, *args, **kwargs)
            finally:
                kind = kind_of(service_of(first))
                spent[kind] += time.thread_time() - start
                calls[kind] += call

        return wrapper

    reconciler.plan_service = timed(reconciler.plan_service, lambda s: s, call=True)  # type: ignore[attr-defined]
    reconciler.render_objects = timed(reconciler.render_objects, lambda p: p.service, call=False)  # type: ignore[attr-defined]
    options = ManagerOptions(
        namespace=None,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        handle_signals=False,
        compact_kinds=CACHED_IN_QUANTITY if compact else frozenset(),
    )
    manager = Manager(Client(await load_configuration(os.environ["KUBECONFIG"])), options)
    # The plane serves the LeaderWorkerSet API alone of the optional ones, as the floor
    # writes no ScaledObject, HTTPRoute, InferencePool or Knative Service: informers of APIs
    # the server does not know would never sync (ome run turns them off the same way, by
    # discovery).
    setup(
        manager,
        config_namespace=CONFIG_NAMESPACE,
        workers=workers,
        watch_scaledobjects=False,
        watch_httproutes=False,
        watch_inferencepools=False,
        watch_knativeservices=False,
    )
    # pydantic builds a model's validator when it is first used; the floor's rendering
    # builds them before its clock, so the operator's preparation does too
    for model in KINDS.values():
        model.model_rebuild(force=True)
    say("ready")
    await read_line()
    task = asyncio.create_task(manager.run())
    await read_line()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    reconciles = sum(
        manager.registry.get_sample_value(
            "controller_runtime_reconcile_total", {"controller": CONTROLLER_NAME, "result": r}
        )
        or 0.0
        for r in ("success", "error", "requeue", "requeue_after", "terminal", "timeout")
    )
    say(
        {
            "writes": dict(WRITES),
            "reconciles": int(reconciles),
            "plan_render_calls": dict(calls),
            "plan_render_cpu_seconds": {k: round(v, 4) for k, v in spent.items()},
        }
    )


def workloads_of(plan: ServingPlan, objects: list[Obj]) -> dict[str, Obj]:
    """The rendered Deployments and LeaderWorkerSets that run the plan's components, as
    ``compute_status`` takes them (no status yet: nothing runs their pods)."""
    refs = {w.object_ref for w in plan.workloads}
    return {
        o["metadata"]["name"]: o
        for o in objects
        if ObjectRef(o["apiVersion"], o["kind"], o["metadata"]["name"]) in refs
    }


async def run_floor(workers: int, variant: str) -> None:
    count_writes()
    async with Client(await load_configuration(os.environ["KUBECONFIG"])) as client:
        # Before the clock: the catalogue as the cluster holds it, every service's plan,
        # children and status, and the resource clients (discovery).
        installed: list[Obj] = []
        for kind in CATALOGUE_KINDS:
            installed += await (await client.resource(GVK("ome.io", "v1beta1", kind))).list()
        catalog = memory_catalog(installed)
        config = parse_config(None)
        resources = await client.resource(INFERENCESERVICE)
        selector = f"{VARIANT_LABEL}={variant}"
        desired: dict[str, tuple[list[Obj], Obj]] = {}
        for raw in await resources.list(label_selector=selector):
            plan = plan_service(InferenceService.model_validate(raw), catalog, config)
            objects = render_objects(plan, set())
            # what the controller settles on once it sees its children and no pod runs (a
            # LeaderWorkerSet's component then reports its groups: 0 of N ready)
            status = compute_status(plan, workloads_of(plan, objects), [], rfc3339_now())
            meta = raw["metadata"]
            desired[f"{meta['namespace']}/{meta['name']}"] = (objects, status)
        kinds = {(o["apiVersion"], o["kind"]) for objects, _ in desired.values() for o in objects}
        clients = {kind: await client.resource(GVK.parse(*kind)) for kind in kinds}
        limit = asyncio.Semaphore(workers)
        say("ready")
        await read_line()

        async def reconcile(raw: Obj) -> None:
            meta = raw["metadata"]
            objects, status = desired[f"{meta['namespace']}/{meta['name']}"]
            async with limit:
                finalizers = [*(meta.get("finalizers") or []), FINALIZER]
                patch = {
                    "metadata": {
                        "finalizers": finalizers,
                        "resourceVersion": meta["resourceVersion"],
                    }
                }
                await resources.patch(meta["name"], patch, meta["namespace"])
                for obj in objects:
                    set_controller_reference(raw, obj)
                    await clients[obj["apiVersion"], obj["kind"]].apply(
                        obj, field_manager=FIELD_MANAGER, force=True
                    )
                body = {
                    "apiVersion": INFERENCESERVICE.api_version,
                    "kind": INFERENCESERVICE.kind,
                    "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                    "status": status,
                }
                await resources.apply_status(body, field_manager=FIELD_MANAGER, force=True)

        listed = await resources.list(label_selector=selector)
        await asyncio.gather(*(reconcile(raw) for raw in listed))
        await read_line()
    say({"writes": dict(WRITES)})


# -- the parent ----------------------------------------------------------------------------


async def gather_limited(jobs: list[Callable[[], Awaitable[object]]], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[object]]) -> None:
        async with semaphore:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


async def install_catalogue(client: Client, objects: list[Obj]) -> None:
    refused = await bootstrap.install_catalog(client, objects)
    if refused:
        raise RuntimeError("catalogue refused by the API server:\n" + "\n".join(refused))


async def create_services(client: Client, bodies: list[Obj]) -> None:
    for namespace in sorted({b["metadata"]["namespace"] for b in bodies}):
        await client.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    resource = await client.resource(INFERENCESERVICE)
    await gather_limited([lambda b=b: resource.create(b) for b in bodies], CREATE_CONCURRENCY)


def unrelated_objects(count: int) -> list[tuple[str, Obj]]:
    """``count`` objects no controller of the operator's owns, as a busy cluster holds
    them: (collection path, body), a quarter each Deployments, ConfigMaps, Secrets and
    Pods. On a plane with a controller-manager and a scheduler they stay as written: the
    Deployments are paused (no ReplicaSet is made for them) and the Pods name a scheduler
    that does not run."""
    base = f"/api/v1/namespaces/{UNRELATED_NAMESPACE}"
    container = {
        "name": "app",
        "image": "registry.example.com/team/app:1.2.3",
        "env": [{"name": f"SETTING_{i}", "value": f"value-{i}"} for i in range(4)],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    unscheduled_pod = {"schedulerName": "bench-unscheduled", "containers": [container]}
    objects: list[tuple[str, Obj]] = []
    for i in range(count):
        name, labels = f"unrelated-{i}", {"app": f"app-{i % 50}", "team": f"team-{i % 7}"}
        metadata = {"name": name, "labels": labels}
        match i % 4:
            case 0:
                pod_template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
                spec = {
                    "replicas": 1,
                    "paused": True,
                    "selector": {"matchLabels": labels},
                    "template": pod_template,
                }
                body = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec}
                objects.append(
                    (
                        f"/apis/apps/v1/namespaces/{UNRELATED_NAMESPACE}/deployments",
                        {**body, "metadata": metadata},
                    )
                )
            case 1:
                data = {f"key-{k}": "x" * 200 for k in range(4)}
                objects.append((f"{base}/configmaps", {"metadata": metadata, "data": data}))
            case 2:
                data = {"token": "dG9rZW5z" * 40}  # "tokens" base64-encoded, repeated
                objects.append((f"{base}/secrets", {"metadata": metadata, "data": data}))
            case _:
                objects.append((f"{base}/pods", {"metadata": metadata, "spec": unscheduled_pod}))
    return objects


async def create_unrelated(client: Client, count: int) -> None:
    await client.create("/api/v1/namespaces", {"metadata": {"name": UNRELATED_NAMESPACE}})
    writes = [lambda p=p, b=b: client.create(p, b) for p, b in unrelated_objects(count)]
    await gather_limited(writes, CREATE_CONCURRENCY)


async def with_status(client: Client, variant: str) -> int:
    """Services of the variant that carry a status (written after their children, by
    the controller and the floor alike). From the watch cache: cheap for the server."""
    listed = await client.get(
        INFERENCESERVICE_PATH,
        query={"labelSelector": f"{VARIANT_LABEL}={variant}", "resourceVersion": "0"},
    )
    return sum(bool((s.get("status") or {}).get("conditions")) for s in listed["items"])


async def children(client: Client, kinds: set[tuple[str, str]], variant: str) -> int:
    found = 0
    for kind in kinds:
        resource = await client.resource(GVK.parse(*kind))
        for obj in await resource.list(label_selector=SERVICE_LABEL):
            found += obj["metadata"]["namespace"].startswith(f"isvc-{variant}-")
    return found


def next_flame(directory: Path, variant: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{variant}-{len(list(directory.glob(f'{variant}-[0-9]*.txt')))}.txt"


@contextlib.asynccontextmanager
async def profiling(directory: Path | None, variant: str, pid: int) -> AsyncIterator[None]:
    """With a ``directory``, py-spy samples the process ``pid`` meanwhile, into the next
    free ``<variant>-<n>.txt`` there."""
    if directory is None:
        yield
        return
    flame = next_flame(directory, variant)
    py_spy = str(Path(sys.executable).parent / "py-spy")
    profiler = await asyncio.create_subprocess_exec(
        *(py_spy, "record", "--rate", "200", "--format", "raw", "-o", str(flame)),
        *("--pid", str(pid)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        profiler.send_signal(signal.SIGINT)
        await profiler.wait()


async def run_variant(
    plane: ControlPlane,
    client: Client,
    *,
    variant: str,
    bodies: list[Obj],
    expected: tuple[set[tuple[str, str]], int],
    args: argparse.Namespace,
) -> Obj:
    if variant == "ome-crowded":
        await create_unrelated(client, args.unrelated)
    await create_services(client, bodies)
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    argv = [sys.executable, __file__, "--role", variant, "--workers", str(args.workers)]
    log = (LOGS / f"{variant}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
    )
    assert process.stdin is not None
    assert process.stdout is not None

    async def tell() -> None:
        assert process.stdin is not None
        process.stdin.write(b"\n")
        await process.stdin.drain()

    try:
        if (await process.stdout.readline()).strip() != b"ready":
            raise RuntimeError(f"{variant} did not start; see {LOGS / (variant + '.log')}")
        async with profiling(args.profile, variant, process.pid):
            servers = [plane.processes[name].pid for name in ("kube-apiserver", "etcd")]
            server_cpu, own_cpu = sum(map(cpu_seconds, servers)), cpu_seconds(process.pid)
            started = time.monotonic()
            await tell()
            kinds, count = expected
            rss = 0.0
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"{variant} exited; see {LOGS / (variant + '.log')}")
                rss = max(rss, peak_rss_mib(process.pid))
                done = await with_status(client, variant)
                elapsed = time.monotonic() - started
                if done == len(bodies):
                    cpu = cpu_seconds(process.pid) - own_cpu
                    servers_cpu = sum(map(cpu_seconds, servers)) - server_cpu
                    # untimed from here: the count of children, which must be complete
                    made = await children(client, kinds, variant)
                    if made == count:
                        break
                    print(f"{variant}: {made}/{count} children with every status", file=sys.stderr)
                if elapsed > args.timeout:
                    raise TimeoutError(f"{variant}: {done}/{len(bodies)} after {args.timeout:.0f}s")
                await asyncio.sleep(max(POLL_SECONDS, len(bodies) / POLLED_SERVICES_PER_SECOND))
        await tell()
        figures = json.loads(await process.stdout.readline())
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        log.close()
    return {
        "case": "isvc",
        "variant": variant,
        "services": len(bodies),
        "children": made,
        "workers": args.workers,
        "seconds": round(elapsed, 2),
        "services_per_second": round(len(bodies) / elapsed, 1),
        "process_cpu_seconds": round(cpu, 2),
        "process_cpu_ms_per_service": round(cpu / len(bodies) * 1000, 2),
        "peak_rss_mib": round(rss, 1),
        "apiserver_and_etcd_cpu_seconds": round(servers_cpu, 2),
        **figures,
    }


def summed(runs: list[Obj]) -> dict[str, float]:
    keys = ("seconds", "process_cpu_seconds", "apiserver_and_etcd_cpu_seconds")
    return {k: sum(r[k] for r in runs) for k in keys}


def max_of(runs: list[Obj], key: str) -> float:
    return max(float(r[key]) for r in runs)


def mean_of(runs: list[Obj], key: str) -> float:
    return statistics.fmean(float(r[key]) for r in runs)


def total_cpu(result: Obj) -> float:
    return float(result["process_cpu_seconds"] + result["apiserver_and_etcd_cpu_seconds"])


def offline_cpu_ms(
    models: list[InferenceService], catalog: MemoryCatalog, config: ServingConfig, repeats: int
) -> dict[str, float]:
    """Selection + render CPU per service, by kind of service and over all of them."""

    def work(model: InferenceService) -> None:
        render_objects(plan_service(model, catalog, config), set())

    by_kind = {k: [m for m in models if kind_of(m) == k] for k in KINDS_OF_SERVICE}
    found = {k: round(cpu_ms_per_item(work, ms, repeats), 3) for k, ms in by_kind.items() if ms}
    return {**found, "all": round(cpu_ms_per_item(work, models, repeats), 3)}


def in_operator_cpu_ms(runs: list[Obj]) -> dict[str, float]:
    """Selection + render CPU per plan_service call inside the operator's reconciles, by
    kind of service and over all of them, from the runs' sums."""
    seconds, calls = Counter[str](), Counter[str]()
    for run in runs:
        seconds.update(run["plan_render_cpu_seconds"])
        calls.update(run["plan_render_calls"])
    found = {k: round(seconds[k] / calls[k] * 1000, 3) for k in KINDS_OF_SERVICE if calls[k]}
    return {**found, "all": round(sum(seconds.values()) / max(calls.total(), 1) * 1000, 3)}


def expected_children(
    models: list[InferenceService], catalog: MemoryCatalog, config: ServingConfig
) -> tuple[set[tuple[str, str]], int]:
    """The (apiVersion, kind) pairs the services render, and how many children in all."""
    rendered = [render_objects(plan_service(m, catalog, config), set()) for m in models]
    return {(o["apiVersion"], o["kind"]) for r in rendered for o in r}, sum(map(len, rendered))


async def run_on_own_plane(
    catalogue: list[Obj],
    *,
    variant: str,
    bodies: list[Obj],
    expected: tuple[set[tuple[str, str]], int],
    args: argparse.Namespace,
) -> Obj:
    """One run on a control plane of its own: neither variant pays for the other's objects
    in etcd, and the operator, which watches every namespace, sees only its own services.
    Each InferenceService renders up to three Services: the test control plane's /24 of
    ClusterIPs would run out after about 85 of them."""
    lws_crds = leaderworkerset.crds_dir(binaries.bin_dir() / binaries.LWS_DIR)
    async with ControlPlane(
        apiserver_args=[f"--service-cluster-ip-range={SERVICE_RANGE}"]
    ) as plane:
        # The LeaderWorkerSet CRD without its controller: as with the Deployments, for
        # which no controller-manager runs, the end point is the objects written, and a
        # controller turning them into StatefulSets would load both variants' API server
        # alike with work that is not theirs.
        await plane.install_crds(
            [*sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")), lws_crds]
        )
        async with await plane.client() as client:
            await install_catalogue(client, catalogue)
            return await run_variant(
                plane, client, variant=variant, bodies=bodies, expected=expected, args=args
            )


async def main(args: argparse.Namespace) -> None:
    objects = installed_catalogue()
    catalog, config = memory_catalog(objects), parse_config(None)
    # The raw services are the samples that plan against the catalogue as upstream ships
    # it (as in the figures before multi-node serving); multi-node and PD ones need the
    # back-filled metadata.
    samples = {
        **servable_samples(catalog, config),
        "raw": servable_samples(memory_catalog(catalogue_objects()), config)["raw"],
    }
    counts = {"raw": args.services, "multinode": args.multinode, "pd": args.pd}
    per_variant = {v: services(samples, counts, v, args.namespaces) for v in VARIANTS}
    # Offline, before the control plane starts: selection + render per service.
    models = [InferenceService.model_validate(b) for b in per_variant["ome"]]
    expected = expected_children(models, catalog, config)
    offline_ms = offline_cpu_ms(models, catalog, config, args.repeats)
    print(
        json.dumps(
            {
                "case": "isvc_plan_render_offline",
                "services": counts,
                "samples": {k: len(v) for k, v in samples.items()},
                "catalogue_objects": len(objects),
                "children": expected[1],
                "cpu_ms_per_service": offline_ms,
            }
        ),
        flush=True,
    )
    LOGS.mkdir(exist_ok=True)
    results: dict[str, list[Obj]] = {v: [] for v in VARIANTS}
    for variant in args.variants.split(","):
        result = await run_on_own_plane(
            objects, variant=variant, bodies=per_variant[variant], expected=expected, args=args
        )
        results[variant].append(result)
        print(json.dumps(result), flush=True)
    if not (results["ome"] and results["floor"]):
        return
    # Repeated variants (e.g. floor,ome,ome,floor) are summed: with the machine's load
    # drifting during a run, an ABBA order cancels the drift that favours whichever
    # variant runs later.
    ome, floor = (summed(results[v]) for v in ("ome", "floor"))
    in_operator = in_operator_cpu_ms(results["ome"])
    summary = {
        "case": "isvc_summary",
        "services": counts,
        "runs": {v: len(r) for v, r in results.items()},
        "ratio_floor_seconds_over_ome_seconds": round(floor["seconds"] / ome["seconds"], 2),
        # the same ratio of CPU spent (the process's, kube-apiserver's and etcd's): less at
        # the mercy of whatever else the machine runs than the wall time
        "ratio_floor_cpu_over_ome_cpu": round(total_cpu(floor) / total_cpu(ome), 2),
        "seconds_per_run": {v: [r["seconds"] for r in results[v]] for v in results},
        "process_cpu_seconds_per_run": {
            v: [r["process_cpu_seconds"] for r in results[v]] for v in results
        },
        "plan_render_cpu_ms_per_service": {"offline": offline_ms, "in_operator": in_operator},
        "target_ms": TARGET_MS,
        "met": max(*offline_ms.values(), *in_operator.values()) <= TARGET_MS,
    }
    # each figure: the first variant's runs over the second's, when both ran
    for figure, first, second in (
        ("compact_over_plain", "ome", "ome-plain"),
        ("crowded_over_ome", "ome-crowded", "ome"),
    ):
        if results[first] and results[second]:
            summary[figure] = {
                "peak_rss": round(
                    max_of(results[first], "peak_rss_mib")
                    / max_of(results[second], "peak_rss_mib"),
                    2,
                ),
                "process_cpu_per_run": round(
                    mean_of(results[first], "process_cpu_seconds")
                    / mean_of(results[second], "process_cpu_seconds"),
                    2,
                ),
            }
    print(json.dumps(summary), flush=True)


async def scaling(args: argparse.Namespace) -> None:
    """The operator alone on N raw services for each N of --scale, each on a plane of its
    own; then a least-squares line through seconds, CPU seconds and peak RSS against N."""
    objects = installed_catalogue()
    catalog, config = memory_catalog(objects), parse_config(None)
    raw = servable_samples(memory_catalog(catalogue_objects()), config)["raw"]
    LOGS.mkdir(exist_ok=True)
    runs = []
    for size in (int(n) for n in args.scale.split(",")):
        counts = {"raw": size, "multinode": 0, "pd": 0}
        bodies = services({"raw": raw, "multinode": [], "pd": []}, counts, "ome", args.namespaces)
        models = [InferenceService.model_validate(b) for b in bodies]
        result = await run_on_own_plane(
            objects,
            variant="ome",
            bodies=bodies,
            expected=expected_children(models, catalog, config),
            args=args,
        )
        print(json.dumps(result), flush=True)
        runs.append(result)
    sizes = [float(r["services"]) for r in runs]
    fits = {
        figure: line_fit(sizes, [float(r[figure]) for r in runs])
        for figure in ("seconds", "process_cpu_seconds", "peak_rss_mib")
    }
    print(json.dumps({"case": "isvc_scaling", "services": sizes, "fit": fits}), flush=True)


def line_fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Slope, intercept and R² of the least-squares line through the points."""
    slope, intercept = statistics.linear_regression(xs, ys)
    mean = statistics.fmean(ys)
    total = sum((y - mean) ** 2 for y in ys)
    residual = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    return {
        "slope_per_service": round(slope, 5),
        "intercept": round(intercept, 2),
        "r_squared": round(1 - residual / total, 4) if total else 1.0,
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=1000, help="raw (single-node) ones")
    parser.add_argument("--multinode", type=int, default=100, help="multi-node engine, no decoder")
    parser.add_argument("--pd", type=int, default=100, help="prefill/decode disaggregated")
    parser.add_argument("--workers", type=int, default=4, help="the controller's, the floor's")
    parser.add_argument("--namespaces", type=int, default=4, help="per variant")
    parser.add_argument("--repeats", type=int, default=3, help="offline selection + render")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--unrelated", type=int, default=10_000, help="objects on the ome-crowded plane"
    )
    parser.add_argument(
        "--variants", default="floor,ome,ome,floor", help="which, in which order; repeats allowed"
    )
    parser.add_argument(
        "--scale",
        metavar="N,N,...",
        help="instead of the variants: the operator alone on each number of raw services, "
        "and the line through the runs",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each variant's process with py-spy (pip install -e '.[bench]') into DIR",
    )
    parser.add_argument("--role", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale is not None and len(set(args.scale.split(","))) < 2:
        parser.error(f"--scale {args.scale}: a line needs at least two sizes")
    return args


if __name__ == "__main__":
    options = arguments()
    if options.role in OPERATOR_VARIANTS:
        event_loop.run(run_operator(options.workers, compact=options.role != "ome-plain"))
    elif options.role == "floor":
        event_loop.run(run_floor(options.workers, "floor"))
    else:
        compile_bytecode()
        asyncio.run(scaling(options) if options.scale else main(options))
