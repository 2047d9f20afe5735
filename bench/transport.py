"""The client's HTTP transport against aiohttp's client: N server-side applies of
ConfigMaps, `--concurrency` at a time, against one API server, each client in a process of
its own (on uvloop, as the operator runs), rounds alternating. Reports the CPU each client
process spent per apply over the timed loop, the wall time, and their ratios.

    ome      ome.client.Client.apply (ome.client.transport)
    aiohttp  aiohttp.ClientSession sending the same request: same path, query, headers
             and JSON body (orjson), TLS settings from the same kubeconfig

    .venv/bin/python bench/transport.py [--requests 4000] [--concurrency 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ome.client import Client, codec, load_configuration
from ome.client.media import APPLY_PATCH, JSON
from ome.runtime.loop import run
from ome.testing import ControlPlane

VARIANTS = ("ome", "aiohttp")


def configmap(namespace: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i}", "namespace": namespace},
        "data": {"size": str(i)},
    }


async def apply_with_aiohttp(namespace: str) -> tuple[Callable[[int], Awaitable[None]], Any]:
    import aiohttp  # noqa: PLC0415 - only this variant pays for its import

    configuration = await load_configuration(None)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=configuration.ssl_context()), trust_env=False
    )
    headers = {"Accept": JSON, "Content-Type": APPLY_PATCH, "User-Agent": "ome-framework"}
    if authorization := await configuration.authorization():
        headers["Authorization"] = authorization

    async def apply(i: int) -> None:
        async with session.patch(
            f"{configuration.host}/api/v1/namespaces/{namespace}/configmaps/cm-{i}",
            params={"fieldManager": "bench", "force": "true"},
            data=codec.dumps(configmap(namespace, i)),
            headers=headers,
        ) as response:
            response.raise_for_status()
            codec.loads(await response.read())

    return apply, session


async def apply_with_ome(namespace: str) -> tuple[Callable[[int], Awaitable[None]], Any]:
    client = Client(await load_configuration(None))

    async def apply(i: int) -> None:
        await client.apply(
            f"/api/v1/namespaces/{namespace}/configmaps/cm-{i}",
            configmap(namespace, i),
            field_manager="bench",
            force=True,
        )

    return apply, client


async def client_process(variant: str, namespace: str, requests: int, concurrency: int) -> None:
    setup = apply_with_ome if variant == "ome" else apply_with_aiohttp
    apply, closable = await setup(namespace)
    await apply(-1)  # the connection and TLS handshake, outside the timed loop
    pending = iter(range(requests))

    async def worker() -> None:
        for i in pending:
            await apply(i)

    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    await closable.close()
    print(json.dumps({"cpu_seconds": cpu, "wall_seconds": wall}))


async def measure(plane: ControlPlane, args: argparse.Namespace) -> None:
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    found: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    async with await plane.client() as admin:
        for round_ in range(args.rounds):
            for variant in VARIANTS:
                namespace = f"transport-{variant}-{round_}"
                namespace_object = {"metadata": {"name": namespace}}
                await admin.create("/api/v1/namespaces", namespace_object)
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--client",
                    variant,
                    namespace,
                    str(args.requests),
                    str(args.concurrency),
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await process.communicate()
                if process.returncode:
                    raise SystemExit(f"{variant}: the client process failed")
                result = json.loads(out.decode().strip().splitlines()[-1])
                found[variant].append(result)
                print(
                    json.dumps(
                        {
                            "case": "transport",
                            "variant": variant,
                            "round": round_,
                            "requests": args.requests,
                            "concurrency": args.concurrency,
                            "cpu_us_per_request": round(
                                1e6 * result["cpu_seconds"] / args.requests
                            ),
                            "wall_seconds": round(result["wall_seconds"], 2),
                        }
                    )
                )

    def median(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in found[variant])

    print(
        json.dumps(
            {
                "case": "transport_summary",
                "rounds": args.rounds,
                "ome_vs_aiohttp_cpu": round(
                    median("ome", "cpu_seconds") / median("aiohttp", "cpu_seconds"), 2
                ),
                "ome_vs_aiohttp_wall": round(
                    median("ome", "wall_seconds") / median("aiohttp", "wall_seconds"), 2
                ),
            }
        )
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    async with ControlPlane() as plane:
        await measure(plane, args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        variant, namespace, requests, concurrency = sys.argv[2:6]
        run(client_process(variant, namespace, int(requests), int(concurrency)))
    else:
        asyncio.run(main())
