"""End-to-end throughput: N Widgets, each reconcile applies a ConfigMap and writes a Ready
condition. The same control plane serves every run, each in its own namespace:

    floor  raw_widget_floor.py: list once, do the writes at the same concurrency
    ome    examples/widget_operator.py on the ome framework (on uvloop when installed)
    ome-asyncio  the same on asyncio's own event loop (OME_EVENT_LOOP=asyncio)
    cr     the same operator on controller-runtime (Go; bench/peers.py builds it)
    kopf   kopf_widget_operator.py (kopf from PyPI)

Each operator is a separate process started after its Widgets exist; its time runs from
the start of the process until every Widget reports Ready. Prints one JSON object per run
and, per round, the ratios the targets speak of (ome >= 0.8x the floor's throughput, >= 5x
kopf's; against controller-runtime: throughput >= 1.0x, CPU seconds <= 1.3x, peak RSS
<= 1.5x), then their medians over the rounds.

    .venv/bin/python bench/e2e_throughput.py [--objects 2000] [--workers 4]
                                            [--variants floor,ome,cr,kopf] [--rounds 1]
                                            [--warmup 1]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import peer

from ome.client import GVK, Client
from ome.runtime.loop import LOOP_ENV
from ome.testing import ControlPlane

ROOT = Path(__file__).resolve().parents[1]
WIDGET = GVK("example.ome.io", "v1", "Widget")
CREATE_CONCURRENCY = 32
LOGS = Path(tempfile.gettempdir()) / "ome-bench-e2e"


def compile_bytecode() -> None:
    """Compile the checkout's modules to bytecode, as the operator's image does when it is
    built: where PYTHONDONTWRITEBYTECODE is set, every operator process would otherwise
    compile them again at its start, which a Go peer, built ahead, never pays."""
    for directory in ("framework/src", "src", "examples", "bench"):
        compileall.compile_dir(ROOT / directory, quiet=1)


def command(variant: str, namespace: str, workers: int) -> list[str]:
    python = sys.executable
    if variant == "cr":
        return [
            str(peer("cr-widget")), "--namespace", namespace, "--workers", str(workers),
            "--metrics-address", "0", "--probe-address", "0",
        ]  # fmt: skip
    if variant == "floor":
        return [python, str(ROOT / "bench" / "raw_widget_floor.py"), namespace, str(workers)]
    if variant in ("ome", "ome-asyncio"):
        return [
            python, str(ROOT / "examples" / "widget_operator.py"), "--namespace", namespace,
            "--workers", str(workers), "--metrics-address", "0", "--probe-address", "0",
        ]  # fmt: skip
    return [
        python, "-m", "kopf", "run", "--standalone", "--namespace", namespace,
        str(ROOT / "bench" / "kopf_widget_operator.py"),
    ]  # fmt: skip


def peak_rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ready(widget: dict[str, Any]) -> bool:
    generation = widget["metadata"].get("generation")
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        and c.get("observedGeneration") == generation
        for c in widget.get("status", {}).get("conditions") or []
    )  # fmt: skip


async def create_widgets(client: Client, namespace: str, count: int) -> None:
    await client.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    widgets = await client.resource(WIDGET)
    limit = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create(i: int) -> None:
        async with limit:
            body = {"metadata": {"name": f"w{i:05d}", "namespace": namespace}, "spec": {"size": i}}
            await widgets.create(body)

    await asyncio.gather(*(create(i) for i in range(count)))


async def run_variant(
    plane: ControlPlane,
    client: Client,
    variant: str,
    *,
    count: int,
    workers: int,
    timeout: float,
    round_: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    namespace = f"bench-{variant}-{round_}"
    await create_widgets(client, namespace, count)
    widgets = await client.resource(WIDGET)
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "WIDGET_WORKERS": str(workers)}
    server_pids = [plane.processes[name].pid for name in ("kube-apiserver", "etcd")]
    server_cpu = sum(cpu_seconds(pid) for pid in server_pids)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "examples"), env.get("PYTHONPATH", "")])
    if variant == "ome-asyncio":
        env[LOOP_ENV] = "asyncio"
    started = time.monotonic()
    log = (LOGS / f"{variant}-{round_}.log").open("wb")
    argv = command(variant, namespace, workers)
    if profile is not None and variant != "cr":  # py-spy samples Python processes
        flame = profile / f"{variant}-{round_}.txt"
        argv = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--rate",
            "200",
            "--format",
            "raw",
            "-o",
            str(flame),
            "--",
            *argv,
        ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    rss = cpu = 0.0
    try:
        while True:
            rss = max(rss, peak_rss_mib(process.pid))
            cpu = max(cpu, cpu_seconds(process.pid))
            done = sum(ready(w) for w in await widgets.list(namespace))
            elapsed = time.monotonic() - started
            if done == count:
                break
            if elapsed > timeout:
                raise TimeoutError(f"{variant}: only {done}/{count} Ready after {timeout:.0f}s")
            await asyncio.sleep(0.25)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT if profile is not None else signal.SIGTERM)
        await process.wait()
        log.close()
    return {
        "case": "e2e_throughput",
        "variant": variant,
        "round": round_,
        "objects": count,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "objects_per_second": round(count / elapsed, 1),
        "peak_rss_mib": round(rss, 1),
        "operator_cpu_seconds": round(cpu, 2),
        "apiserver_and_etcd_cpu_seconds": round(
            sum(cpu_seconds(pid) for pid in server_pids) - server_cpu, 2
        ),
    }


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """One round's ratios, of the variants it ran."""
    found: dict[str, float] = {}
    rate = {name: r["objects_per_second"] for name, r in results.items()}
    if "ome" in rate:
        for other in ("floor", "kopf", "cr"):
            if other in rate:
                found[f"ome_vs_{other}_throughput"] = round(rate["ome"] / rate[other], 2)
        if "cr" in results:
            ome, cr = results["ome"], results["cr"]
            found["ome_vs_cr_cpu"] = round(
                ome["operator_cpu_seconds"] / cr["operator_cpu_seconds"], 2
            )
            found["ome_vs_cr_peak_rss"] = round(ome["peak_rss_mib"] / cr["peak_rss_mib"], 2)
        if "ome-asyncio" in results:
            ome, plain = results["ome"], results["ome-asyncio"]
            found["uvloop_vs_asyncio_throughput"] = round(rate["ome"] / rate["ome-asyncio"], 2)
            found["uvloop_vs_asyncio_cpu"] = round(
                ome["operator_cpu_seconds"] / plain["operator_cpu_seconds"], 2
            )
    return found


TARGETS = {
    "ome_vs_floor_throughput": ">= 0.8",
    "ome_vs_kopf_throughput": ">= 5",
    "ome_vs_cr_throughput": ">= 1.0",
    "ome_vs_cr_cpu": "<= 1.3",
    "ome_vs_cr_peak_rss": "<= 1.5",
    "uvloop_vs_asyncio_throughput": "-",
    "uvloop_vs_asyncio_cpu": "-",
}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--variants", default="floor,ome,cr,kopf")
    parser.add_argument("--rounds", type=int, default=1, help="each ratio is from one round")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs of the first variant before the rounds: the first run on a "
        "fresh API server is up to 30%% slower, which would count against whichever "
        "variant comes first",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the Python operators with py-spy (pip install py-spy) into "
        "DIR/VARIANT-ROUND.txt, collapsed stacks for a flame graph (the run's CPU and "
        "RSS figures are then py-spy's own)",
    )
    args = parser.parse_args()
    compile_bytecode()
    LOGS.mkdir(exist_ok=True)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    variants = args.variants.split(",")
    if "cr" in variants:
        peer("cr-widget")  # built before any clock starts
    per_round: list[dict[str, float]] = []
    async with ControlPlane() as plane:
        await plane.install_crds([ROOT / "examples" / "widget-crd.yaml"])
        async with await plane.client() as client:
            for warmup in range(args.warmup):
                result = await run_variant(
                    plane,
                    client,
                    variants[0],
                    count=args.objects,
                    workers=args.workers,
                    timeout=args.timeout,
                    round_=-1 - warmup,
                )
                print(json.dumps({**result, "case": "e2e_warmup"}), flush=True)
            for round_ in range(args.rounds):
                results = {}
                for variant in variants:
                    result = await run_variant(
                        plane,
                        client,
                        variant,
                        count=args.objects,
                        workers=args.workers,
                        timeout=args.timeout,
                        round_=round_,
                        profile=args.profile,
                    )
                    results[variant] = result
                    print(json.dumps(result), flush=True)
                per_round.append(ratios(results))
                print(json.dumps({"case": "e2e_round", "round": round_, **per_round[-1]}))
    names = per_round[0].keys() if per_round else []
    summary = {
        "case": "e2e_throughput_summary",
        "rounds": args.rounds,
        "median": {n: statistics.median(r[n] for r in per_round) for n in names},
        "targets": {n: TARGETS[n] for n in names},
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
