"""Reads the cluster while the chaos runs: which services have converged to their last
spec (and how long after their write), the end-state invariants at each quiet point,
and the replicas' memory and asyncio tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from chaos import invariants
from chaos.driver import INFERENCESERVICE, Driver
from chaos.invariants import ProcessSample
from chaos.system import CATALOGUE, System
from ome.cli.operator import LEASE_NAME
from ome.client import GVK, ApiError
from ome.controllers.inferenceservice import CONTROLLER_NAME
from ome.controllers.kinds import CHILD_KINDS, DEPLOYMENT, SERVICE

CONFIGMAP = GVK("", "v1", "ConfigMap")
EVENT = GVK("events.k8s.io", "v1", "Event")
USER_LABEL = "chaos.ome.io/user-owned"
READ_ERRORS = (ApiError, aiohttp.ClientError, OSError, TimeoutError)


class Checker:
    def __init__(self, system: System, driver: Driver, namespaces: list[str]) -> None:
        self.system = system
        self.driver = driver
        self.namespaces = namespaces
        self.problems: dict[str, list[str]] = {}
        """The last observation: key -> why it has not converged (absent: converged)."""
        self.latencies: list[float] = []
        self.slowest: tuple[float, str] | None = None
        """The longest of ``latencies`` and its service, to know where to look."""
        self.fault_end = 0.0
        """Monotonic time the last fault ended: latencies count from then at the earliest."""
        self._counted: dict[str, float] = {}
        self.samples: list[ProcessSample] = []
        self.user_objects: dict[str, tuple[str, Mapping[str, Any]]] = {}
        self._leader_problems: set[str] = set()
        self.peak_rss = 0
        self.quiet: list[tuple[datetime, datetime]] = []
        """Wall-clock windows of faults: reconcile errors within them are expected."""
        self.shown: dict[str, datetime] = {}
        """Per service, the last time it was seen telling why it is not ready."""
        self._log_read: dict[str, int] = {}

    async def observe(self) -> None:
        """One look at every service and its children; a service converged since its last
        write adds a latency sample."""
        started = time.monotonic()
        client = self.system.client
        services: dict[str, Mapping[str, Any]] = {}
        deployments: dict[str, list[dict[str, Any]]] = {}
        endpoints: dict[str, list[dict[str, Any]]] = {}
        isvcs = await client.resource(INFERENCESERVICE)
        labelled = {kind: await client.resource(kind) for kind in (DEPLOYMENT, SERVICE)}
        for namespace in self.namespaces:
            for obj in await isvcs.list(namespace):
                services[f"{namespace}/{obj['metadata']['name']}"] = obj
            for kind, into in ((DEPLOYMENT, deployments), (SERVICE, endpoints)):
                for obj in await labelled[kind].list(
                    namespace, label_selector=invariants.SERVICE_LABEL
                ):
                    owner = obj["metadata"]["labels"][invariants.SERVICE_LABEL]
                    into.setdefault(f"{namespace}/{owner}", []).append({**obj, "kind": kind.kind})
        now = time.monotonic()
        wall = datetime.now(UTC)
        for key, service in services.items():
            if invariants.shows_failure(service):
                self.shown[key] = wall
        problems = {}
        for key, desired in self.driver.desired.items():
            found = invariants.convergence_problems(
                desired,
                key,
                service=services.get(key),
                deployments=deployments.get(key, []),
                services=endpoints.get(key, []),
                catalogue=CATALOGUE,
            )
            written = self.driver.written.get(key, 0.0)
            if found:
                problems[key] = found
            elif written < started and self._counted.get(key) != written:
                self._counted[key] = written
                latency = now - max(written, self.fault_end)
                self.latencies.append(latency)
                self.slowest = max(self.slowest or (latency, key), (latency, key))
        self.problems = problems

    async def watch(self, interval: float = 2.0) -> None:
        """Observe until cancelled; an API server that does not answer is a fault under
        way, not a finding."""
        while True:
            for replica in self.system.replicas:
                if replica.alive():
                    self.peak_rss = max(self.peak_rss, replica.rss_bytes())
            with contextlib.suppress(*READ_ERRORS):
                await self.observe()
            await asyncio.sleep(interval)

    async def settle(self, timeout: float) -> float | None:
        """Seconds until every service has converged (None: not within ``timeout``)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                await self.observe()
            except READ_ERRORS:
                await asyncio.sleep(1.0)
                continue
            if not self.problems:
                return time.monotonic() - started
            await asyncio.sleep(1.0)
        return None

    async def end_state_problems(self) -> list[str]:
        """At a quiet point: orphans and duplicates, user objects, deposed leaders."""
        client = self.system.client
        services = []
        children = []
        isvcs = await client.resource(INFERENCESERVICE)
        for namespace in self.namespaces:
            services += await isvcs.list(namespace)
            for kind in CHILD_KINDS:
                try:
                    resource = await client.resource(kind)
                except ApiError:
                    continue  # an add-on API this cluster does not serve
                for obj in await resource.list(namespace, label_selector=invariants.SERVICE_LABEL):
                    children.append({**obj, "kind": kind.kind})
        problems = invariants.structure_problems(services, children)
        problems += invariants.user_object_problems(self.user_objects, await self._user_found())
        live = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": s for s in services}
        for key, uid in self.driver.uids.items():
            if key in live and live[key]["metadata"]["uid"] != uid:
                problems.append(f"user object deleted and recreated: InferenceService {key}")
        problems += [f"write refused: {r}" for r in self.driver.refused]
        self.driver.refused.clear()
        problems += self.new_leader_problems()
        problems += await self.invisible_errors(live)
        return problems

    async def invisible_errors(self, live: Mapping[str, Any]) -> list[str]:
        """Reconcile errors logged since the last check, outside the faults, of services
        that never showed them (a Ready=False reason or a Warning Event)."""
        errors = []
        for replica in self.system.replicas:
            errors += invariants.reconcile_errors(
                self._new_lines(replica.log), CONTROLLER_NAME, self.quiet
            )
        if not errors:
            return []
        shown = dict(self.shown)
        events = await self.system.client.resource(EVENT)
        for namespace in self.namespaces:
            warned = invariants.warning_events_shown(
                await events.list(namespace), "InferenceService"
            )
            for key, at in warned.items():
                shown[key] = max(shown.get(key, at), at)
        return invariants.invisible_error_problems(errors, live, shown)

    def _new_lines(self, log: Path) -> list[str]:
        """The lines of ``log`` written since the last call (it is only appended to)."""
        if not log.exists():
            return []
        with log.open("rb") as stream:
            stream.seek(self._log_read.get(str(log), 0))
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits
        self._log_read[str(log)] = self._log_read.get(str(log), 0) + len(complete)
        return complete.decode(errors="replace").splitlines()

    def new_leader_problems(self) -> list[str]:
        """Writes by a replica not holding the lease, not reported before."""
        found = invariants.leader_writes_problems(read_audit(self.system.audit_log), LEASE_NAME)
        new = [p for p in found if p not in self._leader_problems]
        self._leader_problems.update(new)
        return new

    async def make_user_objects(self) -> None:
        """A ConfigMap of the user's in each namespace, next to the operator's children:
        it must survive every fault untouched."""
        configmaps = await self.system.client.resource(CONFIGMAP)
        for namespace in self.namespaces:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "user-notes",
                    "namespace": namespace,
                    "labels": {USER_LABEL: "true"},
                },
                "data": {"owner": "a user", "namespace": namespace},
            }
            created = await configmaps.create(body)
            self.user_objects[f"ConfigMap {namespace}/user-notes"] = (
                created["metadata"]["uid"],
                created["data"],
            )

    async def _user_found(self) -> dict[str, tuple[str, Mapping[str, Any]]]:
        configmaps = await self.system.client.resource(CONFIGMAP)
        found = {}
        for namespace in self.namespaces:
            for obj in await configmaps.list(namespace, label_selector=USER_LABEL):
                key = f"ConfigMap {namespace}/{obj['metadata']['name']}"
                found[key] = (obj["metadata"]["uid"], obj.get("data") or {})
        return found

    async def sample_processes(self) -> list[ProcessSample]:
        taken = []
        for replica in self.system.replicas:
            if not replica.alive() or replica.stopped:
                continue
            tasks = await replica.metric("python_asyncio_tasks")
            if tasks is None:  # not serving yet (just restarted): its start is no baseline
                continue
            taken.append(
                ProcessSample(
                    replica.name, replica.pid, replica.rss_bytes(), int(tasks), replica.fds()
                )
            )
        self.samples += taken
        return taken


def read_audit(path: Path) -> list[dict[str, Any]]:
    """The events of the audit log ``path`` and of the backups the API server rotated it
    into (``audit-<time>.log`` beside it, once it reached its maximum size), oldest
    first: a check reading only the current file would lose the lease's history up to
    the rotation, and take the writes after it for writes while nobody led."""
    backups = sorted(path.parent.glob(f"{path.stem}-*{path.suffix}"))
    events = []
    for log in (*backups, path):
        if not log.exists():
            continue
        with log.open() as lines:
            for line in lines:
                if line.strip():
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut short by the API server's restart
    return events
