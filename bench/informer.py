"""Informer benchmark on a real control plane, each figure beside a baseline measured in
the same run:

    memory   Python heap bytes per cached object, for N InferenceServices (made from the
             OME samples in ../shared/ome-reference) and N ConfigMaps with 4 KB of data,
             cached with the default transform (managedFields stripped), in the compact
             store (JSON, decoded on read), with no transform, and metadata-only. The
             default and compact caches' reads are timed too (get per key, list per
             object). Baselines: the object's JSON as the server sends it (and
             without managedFields), and a naive cache of the dicts json.loads makes of
             the same pages. Each case runs in a fresh process, traced (tracemalloc) from
             before the informer starts until it has synced. Targets: <= 2x the JSON
             bytes with managedFields stripped; compact <= 1x the JSON as served; <= 1 KB
             per object metadata-only.
    sync     seconds from start() to a synced cache of the N InferenceServices, by
             paginated list and by watch-list. Baseline: the same paginated list
             (limit 500, resourceVersion 0) read and decoded raw. 5 runs each,
             interleaved; best and median. Target: <= 1.3x.
    latency  create-to-handler delay of ConfigMaps created at 200/s, from just before
             each POST to the handler call. Baseline: a raw watch (client.stream) in the
             same process receiving the same creates at the same time. Target: p99 <= 20 ms.

Prints one JSON object per line per case, then a summary. About 1.5 minutes for 10k.

    .venv/bin/python bench/informer.py [--objects 10000] [--rate 200] [--seconds 10]
                                       [--cases memory,sync,latency]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import string
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ome.client import Client, Invalid, load_configuration
from ome.informers import ReflectorOptions, SharedInformerFactory, Store, object_key
from ome.informers import strip_managed_fields as strip
from ome.testing import ControlPlane

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "ome-reference" / "config"
ISVC_CRD = REFERENCE / "crd" / "full" / "ome.io_inferenceservices.yaml"
# kind -> (group, version, plural, namespace)
KINDS = {
    "isvc": ("ome.io", "v1beta1", "inferenceservices", "bench-isvc"),
    "cm": ("", "v1", "configmaps", "bench-cm"),
}
LATENCY_NAMESPACE = "bench-latency"
CREATE_CONCURRENCY = 32
REPEATS = 5  # sync runs of each kind; best and median reported
PAGE = 500
CONFIGMAP_DATA_BYTES = 4096


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def collection(kind: str) -> str:
    group, version, plural, namespace = KINDS[kind]
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{base}/namespaces/{namespace}/{plural}"


# -- objects --------------------------------------------------------------------------


def isvc_bodies(count: int) -> Iterator[dict[str, Any]]:
    samples = []
    for path in sorted((REFERENCE / "samples").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "InferenceService":
                document["metadata"].pop("namespace", None)
                samples.append(json.dumps(document))
    for i in range(count):
        body = json.loads(samples[i % len(samples)])
        body["metadata"]["name"] = f"{body['metadata']['name'][:50]}-{i}"
        yield body


def configmap_bodies(count: int, prefix: str = "cm") -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    for i in range(count):
        data = {
            f"part-{k}.conf": "".join(rng.choices(alphabet, k=CONFIGMAP_DATA_BYTES // 4))
            for k in range(4)
        }
        yield {"metadata": {"name": f"{prefix}-{i}"}, "data": data}


async def create_all(client: Client, path: str, bodies: Iterator[dict[str, Any]]) -> int:
    """Create every body, CREATE_CONCURRENCY at a time; returns how many the server took."""
    created = 0

    async def worker() -> None:
        nonlocal created
        for body in bodies:  # the workers share one iterator
            try:
                await client.create(path, body)
                created += 1
            except Invalid:
                pass  # a sample the CRD rejects: the samples include a malformed one

    await asyncio.gather(*(worker() for _ in range(CREATE_CONCURRENCY)))
    return created


async def populate(plane: ControlPlane, client: Client, count: int) -> dict[str, int]:
    await plane.install_crds([ISVC_CRD])
    for namespace in ("bench-isvc", "bench-cm", LATENCY_NAMESPACE):
        await client.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    started = time.perf_counter()
    created = {
        "isvc": await create_all(client, collection("isvc"), isvc_bodies(count)),
        "cm": await create_all(client, collection("cm"), configmap_bodies(count)),
    }
    emit(case="populate", created=created, seconds=round(time.perf_counter() - started, 1))
    return created


# -- baselines ------------------------------------------------------------------------


async def raw_list(client: Client, path: str) -> list[dict[str, Any]]:
    """The paginated list an informer makes first, decoded and nothing else."""
    items: list[dict[str, Any]] = []
    query: dict[str, str | int] = {"limit": PAGE, "resourceVersion": "0"}
    while True:
        page = await client.request("GET", path, query=query)
        items += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            return items
        query = {"limit": PAGE, "continue": token}


def json_bytes(obj: dict[str, Any]) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


async def json_sizes(client: Client, kind: str) -> dict[str, float]:
    items = await raw_list(client, collection(kind))
    served = statistics.fmean(json_bytes(item) for item in items)
    stripped = statistics.fmean(json_bytes(strip(item)) for item in items)
    return {"json_bytes": round(served), "json_bytes_stripped": round(stripped)}


# -- memory (in a child process per case) ---------------------------------------------

MEMORY_MODES = ("default", "compact", "no-transform", "metadata-only", "naive-dicts")
# Modes whose read cost is timed after the memory is: every key read once, then one list.
READ_TIMED = ("default", "compact")
READ_COSTS = ("get_us", "list_us_per_object")


async def measure_memory(kubeconfig: str, kind: str, mode: str) -> None:
    group, version, plural, namespace = KINDS[kind]
    async with Client(await load_configuration(kubeconfig), timeout=120) as client:
        await client.mapper.resource_for(group, version, plural)  # discovery: not cached
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        if mode == "naive-dicts":
            cache = {object_key(item): item for item in await raw_list(client, collection(kind))}
            count = len(cache)
        else:
            factory = SharedInformerFactory(
                client,
                namespace=namespace,
                transform=None if mode == "no-transform" else strip,
                compact_stores={plural} if mode == "compact" else (),
            )
            informer = factory.informer(
                group, version, plural, metadata_only=mode == "metadata-only"
            )
            await factory.start()
            await factory.wait_for_cache_sync(timeout=600)
            count = len(informer.store)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result = {"objects": count, "bytes_per_object": (after - before) / count}
        if mode in READ_TIMED:
            result.update(read_cost(informer.store))
        print(json.dumps(result))
        if mode != "naive-dicts":
            await factory.stop()


def read_cost(store: Store) -> dict[str, float]:
    """Microseconds per ``get`` (every key, best of 3 passes) and per object listed
    (``list``, best of 3)."""
    keys = store.list_keys()
    gets, lists = [], []
    for _ in range(3):
        started = time.perf_counter()
        for key in keys:
            store.get(key)
        gets.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.list()
        lists.append(time.perf_counter() - started)
    return {
        "get_us": min(gets) / len(keys) * 1e6,
        "list_us_per_object": min(lists) / len(keys) * 1e6,
    }


async def in_child(kubeconfig: Path, *arguments: str) -> Any:
    """Run this script with ``arguments`` in a fresh process; returns its last JSON line."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *arguments, "--kubeconfig", str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({child.returncode})")
    return json.loads(out.decode().strip().splitlines()[-1])


async def memory_case(kubeconfig: Path, kind: str, mode: str) -> dict[str, Any]:
    result: dict[str, Any] = await in_child(kubeconfig, "--memory", kind, mode)
    return result


async def memory(client: Client, kubeconfig: Path) -> dict[str, dict[str, float]]:
    summary = {}
    for kind in KINDS:
        sizes = await json_sizes(client, kind)
        cases = {m: await memory_case(kubeconfig, kind, m) for m in MEMORY_MODES}
        per_mode = {m: case["bytes_per_object"] for m, case in cases.items()}
        default, compact = cases["default"], cases["compact"]
        row = {
            **sizes,
            **{f"{m}_bytes": round(b) for m, b in per_mode.items()},
            "default_vs_json_stripped": round(
                per_mode["default"] / sizes["json_bytes_stripped"], 2
            ),
            "default_vs_json": round(per_mode["default"] / sizes["json_bytes"], 2),
            "compact_vs_json": round(per_mode["compact"] / sizes["json_bytes"], 2),
            **{f"{m}_{cost}": round(cases[m][cost], 3) for m in READ_TIMED for cost in READ_COSTS},
            **{
                f"compact_vs_default_{cost}": round(compact[cost] / default[cost], 1)
                for cost in READ_COSTS
            },
            "no_transform_vs_json": round(per_mode["no-transform"] / sizes["json_bytes"], 2),
            "naive_vs_json": round(per_mode["naive-dicts"] / sizes["json_bytes"], 2),
        }
        emit(
            case="memory",
            kind=kind,
            **row,
            targets={
                "default_vs_json_stripped": "<= 2",
                "metadata-only_bytes": "<= 1024",
                "compact_vs_json": "<= 1",
            },
        )
        summary[kind] = row
    return summary


# -- sync time ------------------------------------------------------------------------


async def informer_sync(client: Client, kind: str, *, watch_list: bool) -> float:
    group, version, plural, namespace = KINDS[kind]
    factory = SharedInformerFactory(
        client, namespace=namespace, options=ReflectorOptions(watch_list=watch_list)
    )
    informer = factory.informer(group, version, plural)
    started = time.perf_counter()
    await factory.start()
    while not informer.has_synced:
        if informer.last_error is not None:
            raise RuntimeError(f"informer failed: {informer.last_error}")
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    await factory.stop()
    return elapsed


async def raw_sync(client: Client, kind: str) -> float:
    started = time.perf_counter()
    await raw_list(client, collection(kind))
    return time.perf_counter() - started


async def sync(client: Client) -> dict[str, Any]:
    group, version, plural, _ = KINDS["isvc"]
    await client.mapper.resource_for(group, version, plural)
    runs: dict[str, list[float]] = {"raw_list": [], "informer_list": [], "informer_watch_list": []}
    for _ in range(REPEATS):
        runs["raw_list"].append(await raw_sync(client, "isvc"))
        runs["informer_list"].append(await informer_sync(client, "isvc", watch_list=False))
        runs["informer_watch_list"].append(await informer_sync(client, "isvc", watch_list=True))
    row: dict[str, Any] = {}
    for statistic, pick in (("best", min), ("median", statistics.median)):
        value = {name: pick(times) for name, times in runs.items()}
        row[statistic] = {
            **{f"{name}_s": round(seconds, 3) for name, seconds in value.items()},
            "list_vs_raw": round(value["informer_list"] / value["raw_list"], 2),
            "watch_list_vs_raw": round(value["informer_watch_list"] / value["raw_list"], 2),
        }
    emit(case="sync", kind="isvc", **row, target="<= 1.3x raw_list")
    return row


# -- latency --------------------------------------------------------------------------


async def paced_creates(kubeconfig: str, rate: float, seconds: float) -> None:
    """Create ConfigMaps at ``rate`` per second; prints name -> time just before each POST
    (perf_counter: the system's monotonic clock, comparable between processes)."""
    path = f"/api/v1/namespaces/{LATENCY_NAMESPACE}/configmaps"
    sent: dict[str, float] = {}
    async with Client(await load_configuration(kubeconfig)) as client:
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            name = f"latency-{i}"
            sent[name] = time.perf_counter()
            body = {"metadata": {"name": name}, "data": {"n": str(i)}}
            tasks.append(asyncio.create_task(client.create(path, body)))
        await asyncio.gather(*tasks)
    print(json.dumps(sent))


async def all_received(sent: dict[str, float], received: dict[str, float]) -> None:
    """Wait until every create was seen (or 30 s passed: the missing ones are reported)."""
    deadline = time.monotonic() + 30
    while not received.keys() >= sent.keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def delays_ms(sent: dict[str, float], received: dict[str, float]) -> dict[str, float]:
    delays = [(received[n] - sent[n]) * 1000 for n in sent if n in received]
    return {
        "events": len(delays),
        "missed": len(sent) - len(delays),
        "p50_ms": round(percentile(delays, 0.5), 2),
        "p99_ms": round(percentile(delays, 0.99), 2),
    }


class GcPauses:
    """The garbage collector's pauses while in the block: they delay every consumer."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def summary(self) -> dict[str, float]:
        return {
            "count": len(self.pauses_ms),
            "longest_ms": round(max(self.pauses_ms, default=0.0), 1),
            "total_ms": round(sum(self.pauses_ms), 1),
        }


async def raw_watch(client: Client, path: str, version: str, received: dict[str, float]) -> None:
    query = {"watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true"}
    async with client.stream(path, query=query) as events:
        async for event in events:
            if event["type"] == "ADDED":
                received.setdefault(event["object"]["metadata"]["name"], time.perf_counter())


async def latency(client: Client, kubeconfig: Path, rate: float, seconds: float) -> dict[str, Any]:
    """An informer and a raw watch receive the same creates side by side, so both see
    the same server, machine noise and garbage-collector pauses; the creates come from
    another process, whose work would otherwise hold up this one's event loop."""
    by_informer: dict[str, float] = {}
    by_watch: dict[str, float] = {}
    factory = SharedInformerFactory(client, namespace=LATENCY_NAMESPACE)
    informer = factory.informer("", "v1", "configmaps")

    def on_add(obj: dict[str, Any]) -> None:
        by_informer.setdefault(obj["metadata"]["name"], time.perf_counter())

    informer.add_event_handler(on_add=on_add)
    await factory.start()
    await factory.wait_for_cache_sync(timeout=60)
    path = f"/api/v1/namespaces/{LATENCY_NAMESPACE}/configmaps"
    version = (await client.get(path, query={"limit": 1}))["metadata"]["resourceVersion"]
    watcher = asyncio.create_task(raw_watch(client, path, version, by_watch))
    with GcPauses() as pauses:
        sent = await in_child(kubeconfig, "--create", str(rate), str(seconds))
        await all_received(sent, by_informer)
        await all_received(sent, by_watch)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    await factory.stop()
    row = {
        "rate_per_s": rate,
        "informer": delays_ms(sent, by_informer),
        "raw_watch": delays_ms(sent, by_watch),
        "gc_pauses": pauses.summary(),
    }
    emit(case="latency", **row, target="informer p99 <= 20 ms")
    return row


# -- main -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    async with ControlPlane() as plane, await plane.client(timeout=120) as client:
        await populate(plane, client, args.objects)
        cases = {
            "memory": lambda: memory(client, plane.kubeconfig),
            "sync": lambda: sync(client),
            "latency": lambda: latency(client, plane.kubeconfig, args.rate, args.seconds),
        }
        results = {name: await cases[name]() for name in args.cases.split(",")}
    emit(case="summary", **results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cases", default="memory,sync,latency", help="comma-separated")
    parser.add_argument("--memory", nargs=2, metavar=("KIND", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--create", nargs=2, type=float, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        asyncio.run(measure_memory(args.kubeconfig, *args.memory))
    elif args.create:
        asyncio.run(paced_creates(args.kubeconfig, *args.create))
    else:
        asyncio.run(main(args))
