"""One chaos run: start the system, create the services, then for each scenario churn
them, inject the fault a third of the way in, let the churn finish, wait until every
service has converged and check the invariants."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chaos.agent_scenarios import AGENT_SCENARIOS
from chaos.checker import Checker
from chaos.driver import Driver
from chaos.invariants import leak_problems
from chaos.report import ScenarioResult
from chaos.scenarios import SCENARIOS
from chaos.system import MODELS, RUNTIMES, System

NAMESPACES = ["chaos-0", "chaos-1"]
SHOWN = 10  # unconverged services listed per scenario


@dataclass(frozen=True)
class Options:
    workdir: Path
    services: int = 20
    duration: float = 60.0
    """Seconds of churn per scenario."""
    replicas: int = 3
    rate: float = 2.0
    """Service writes per second during the churn."""
    scenarios: Sequence[str] = tuple(SCENARIOS)
    settle_timeout: float = 240.0
    seed: int = 0


async def run(options: Options) -> list[ScenarioResult]:
    shutil.rmtree(options.workdir, ignore_errors=True)
    options.workdir.mkdir(parents=True)
    agents = any(name in AGENT_SCENARIOS for name in options.scenarios)
    system = System(options.workdir, options.replicas, agents=agents)
    try:
        await system.start()
        await system.until_ready()
        for namespace in NAMESPACES:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            await system.client.create("/api/v1/namespaces", body)
        driver = Driver(
            system.client,
            NAMESPACES,
            services=options.services,
            models=list(MODELS),
            runtimes=list(RUNTIMES),
            seed=options.seed,
        )
        checker = Checker(system, driver, NAMESPACES)
        await checker.make_user_objects()
        results = [await _setup(driver, checker, options)]
        _progress(results[-1])
        for name in options.scenarios:
            results.append(await _scenario(name, system, driver, checker, options))
            _progress(results[-1])
        results.append(
            ScenarioResult(
                "whole run",
                writes=driver.writes,
                violations=leak_problems(checker.samples),
                peak_rss_bytes=checker.peak_rss,
            )
        )
        return results
    finally:
        await system.stop()


def _progress(result: ScenarioResult) -> None:
    settle = "never" if result.settle_seconds is None else f"{result.settle_seconds:.1f} s"
    faults = "; ".join(result.faults) or "no fault"
    print(
        f"{result.name}: {faults}; {result.writes} writes; settled in {settle}; "
        f"{len(result.violations)} violations; slowest to converge: {result.slowest or '-'}",
        file=sys.stderr,
        flush=True,
    )


async def _setup(driver: Driver, checker: Checker, options: Options) -> ScenarioResult:
    result = ScenarioResult("create all")
    await driver.create_all()
    result.writes = driver.writes
    await _finish(result, checker, options, since=time.monotonic())
    return result


async def _scenario(
    name: str, system: System, driver: Driver, checker: Checker, options: Options
) -> ScenarioResult:
    result = ScenarioResult(name)
    checker.latencies = []
    checker.slowest = None
    checker.fault_end = 0.0
    checker.peak_rss = 0
    before = driver.writes
    watcher = asyncio.create_task(checker.watch())
    try:
        churn = asyncio.create_task(driver.run(options.rate, time.monotonic() + options.duration))
        await asyncio.sleep(options.duration / 3)
        try:
            result.faults = await SCENARIOS[name](system)
        except RuntimeError as err:
            result.violations.append(f"fault: {err}")
        if system.agents is not None:
            result.violations += system.agents.take_violations()
        checker.fault_end = time.monotonic()
        await churn
        churn_end = time.monotonic()
        result.writes = driver.writes - before
        # A replica restarted after the fault may still be starting: services converge
        # meanwhile, and the checker keeps timing them.
        try:
            await system.until_ready()
        except RuntimeError as err:
            result.violations.append(str(err).splitlines()[0])
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    await _finish(result, checker, options, since=churn_end)
    return result


async def _finish(result: ScenarioResult, checker: Checker, options: Options, since: float) -> None:
    """Settle (timed from ``since``, the end of the churn), then the end-state invariants
    and a sample of the processes."""
    if await checker.settle(options.settle_timeout) is not None:
        result.settle_seconds = time.monotonic() - since
    else:
        stuck = sorted(checker.problems.items())
        result.violations.append(
            f"{len(stuck)} services not converged within {options.settle_timeout:.0f} s"
        )
        result.violations += ["; ".join(problems) for _, problems in stuck[:SHOWN]]
    result.converge_seconds = list(checker.latencies)
    if checker.slowest is not None:
        result.slowest = f"{checker.slowest[1]} in {checker.slowest[0]:.1f} s"
    result.violations += await checker.end_state_problems()
    samples = await checker.sample_processes()
    result.peak_rss_bytes = max([checker.peak_rss, *(s.rss_bytes for s in samples)])
