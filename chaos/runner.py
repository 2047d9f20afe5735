"""One chaos run: start the system, create the services, then for each scenario churn
them, inject the fault a third of the way in, let the churn finish, wait until every
service has converged and check the invariants."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chaos import soak
from chaos.agent_scenarios import AGENT_SCENARIOS
from chaos.checker import Checker
from chaos.driver import Driver
from chaos.invariants import leak_problems
from chaos.report import ScenarioResult
from chaos.scenarios import SCENARIOS
from chaos.system import MODELS, RUNTIMES, System
from chaos.webhook_faults import Violated

NAMESPACES = ["chaos-0", "chaos-1"]
SHOWN = 10  # unconverged services listed per scenario
AFTERMATH = timedelta(seconds=15)
"""After a fault, how long reconcile errors are still expected: the API server's caches,
the replicas' watches and the Lease coming back."""


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
    soak: float = 0.0
    """Seconds of soak (0: none): the scenarios in a cycle, the processes sampled."""


SOAK_CSV = "soak.csv"


async def run(
    options: Options, soaked: list[soak.SoakSample] | None = None
) -> list[ScenarioResult]:
    """Every scenario once, or in a cycle for ``options.soak`` seconds while the replica
    processes are sampled (into ``soak.csv`` in the workdir, and ``soaked``)."""
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
        if options.soak:
            into = [] if soaked is None else soaked
            results += await _soak(system, driver, checker, options, into)
        else:
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


async def _soak(
    system: System,
    driver: Driver,
    checker: Checker,
    options: Options,
    soaked: list[soak.SoakSample],
) -> list[ScenarioResult]:
    """The scenarios in a cycle until ``options.soak`` seconds have passed (the one
    under way then finishes), the processes sampled meanwhile."""
    results = []
    sampler = asyncio.create_task(soak.record(system, options.workdir / SOAK_CSV, soaked))
    end = time.monotonic() + options.soak
    try:
        for name in itertools.cycle(options.scenarios):
            if time.monotonic() >= end:
                break
            results.append(await _scenario(name, system, driver, checker, options))
            _progress(results[-1])
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    return results


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
        fault_start = datetime.now(UTC)
        try:
            result.faults = await SCENARIOS[name](system)
        except Violated as err:
            result.faults = err.faults
            result.violations += err.problems
        except RuntimeError as err:
            result.violations.append(f"fault: {err}")
        if system.agents is not None:
            result.violations += system.agents.take_violations()
        checker.fault_end = time.monotonic()
        if result.faults:
            checker.quiet.append((fault_start, datetime.now(UTC) + AFTERMATH))
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
