"""OwnWrites: the watch event carrying exactly what a controller wrote is dropped once;
everything else passes."""

from __future__ import annotations

from typing import Any

from ome.runtime import OwnWrites
from ome.runtime.kinds import GVK

DEPLOYMENT = GVK("apps", "v1", "Deployment")
SERVICE = GVK("", "v1", "Service")


def obj(name: str, version: str, namespace: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": version}}


def test_the_echo_of_a_write_is_dropped_once() -> None:
    writes = OwnWrites()
    echoes = writes.not_echoes(DEPLOYMENT)
    writes.record(DEPLOYMENT, obj("engine", "7"))
    assert not echoes.create(obj("engine", "7"))
    # a relist replaying the same version afterwards is news to no one, but is passed on:
    # the memory of a write answers once
    assert echoes.update(obj("engine", "7"), obj("engine", "7"))
    assert len(writes) == 0


def test_other_versions_names_namespaces_and_kinds_pass() -> None:
    writes = OwnWrites()
    writes.record(DEPLOYMENT, obj("engine", "7"))
    deployments, services = writes.not_echoes(DEPLOYMENT), writes.not_echoes(SERVICE)
    assert deployments.update(obj("engine", "6"), obj("engine", "8"))  # someone else's
    assert deployments.create(obj("router", "7"))
    assert deployments.create(obj("engine", "7", namespace="other"))
    assert services.create(obj("engine", "7"))
    assert not deployments.update(obj("engine", "6"), obj("engine", "7"))


def test_a_newer_write_replaces_the_older_and_a_deletion_forgets() -> None:
    writes = OwnWrites()
    echoes = writes.not_echoes(DEPLOYMENT)
    writes.record(DEPLOYMENT, obj("engine", "7"))
    writes.record(DEPLOYMENT, obj("engine", "9"))
    assert echoes.update(obj("engine", "6"), obj("engine", "7"))
    assert not echoes.update(obj("engine", "7"), obj("engine", "9"))
    writes.record(DEPLOYMENT, obj("engine", "10"))
    assert echoes.delete(obj("engine", "10"))
    assert len(writes) == 0


def test_an_answer_without_a_version_is_not_remembered() -> None:
    writes = OwnWrites()
    writes.record(DEPLOYMENT, {"metadata": {"name": "engine", "namespace": "team"}})
    assert len(writes) == 0
    assert writes.not_echoes(DEPLOYMENT).create({"metadata": {"name": "engine"}})
