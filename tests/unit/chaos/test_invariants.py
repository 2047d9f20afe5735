"""The chaos runner's invariants, on hand-made observations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.checker import read_audit
from chaos.invariants import (
    Catalogue,
    Desired,
    ProcessSample,
    convergence_problems,
    leader_writes_problems,
    leak_problems,
    structure_problems,
    user_object_problems,
)

CATALOGUE = Catalogue(images={"rt": "engine:1", "rt2": "engine:2"}, model_paths={"m": "/models/m"})
WANT = Desired("ns", "svc", "m", "rt", 2)
UID = "uid-1"


def owned(kind: str, name: str, uid: str = UID, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "ns",
            "labels": {"ome.io/inferenceservice": "svc", "component": "engine"},
            "ownerReferences": [{"uid": uid, "controller": True}],
        },
        **extra,
    }


def deployment(replicas: int = 2, image: str = "engine:1") -> dict[str, Any]:
    pod = {"containers": [{"image": image}], "volumes": [{"hostPath": {"path": "/models/m"}}]}
    return owned("Deployment", "svc-engine", spec={"replicas": replicas, "template": {"spec": pod}})


def service(ready: bool = True) -> dict[str, Any]:
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return {"metadata": {"name": "svc", "namespace": "ns", "uid": UID}, "status": status}


ENDPOINTS = [owned("Service", "svc"), owned("Service", "svc-engine")]


def problems(**changes: Any) -> list[str]:
    observed: dict[str, Any] = {
        "service": service(),
        "deployments": [deployment()],
        "services": ENDPOINTS,
        **changes,
    }
    return convergence_problems(WANT, "ns/svc", catalogue=CATALOGUE, **observed)


def test_a_service_as_its_spec_asks_has_converged() -> None:
    assert problems() == []


def test_what_keeps_a_service_from_having_converged() -> None:
    assert problems(service=None) == ["ns/svc: missing"]
    assert problems(service=service(ready=False)) == ["ns/svc: not Ready"]
    assert problems(deployments=[]) == ["ns/svc: 0 Deployments, want 1"]
    assert "1 replicas, want 2" in problems(deployments=[deployment(replicas=1)])[0]
    assert "want engine:1" in problems(deployments=[deployment(image="engine:2")])[0]
    assert "Services ['svc'], want" in problems(services=ENDPOINTS[:1])[0]
    stranger = [owned("Service", "svc", uid="old"), ENDPOINTS[1]]
    assert problems(services=stranger) == ["ns/svc: Service/svc not controlled by it"]


def test_a_deleted_service_has_converged_once_nothing_is_left() -> None:
    gone = convergence_problems(
        None, "ns/svc", service=None, deployments=[], services=[], catalogue=CATALOGUE
    )
    assert gone == []
    left = convergence_problems(
        None, "ns/svc", service=None, deployments=[deployment()], services=[], catalogue=CATALOGUE
    )
    assert left == ["ns/svc: deleted, but Deployment/svc-engine still there"]


def test_orphans_and_duplicates() -> None:
    live = [service()]
    assert structure_problems(live, [deployment(), *ENDPOINTS]) == []
    orphan = owned("Service", "svc-old", uid="gone")
    assert structure_problems(live, [orphan]) == ["orphan: Service ns/svc-old (labelled for 'svc')"]
    twin = owned("Deployment", "svc-engine-2")
    assert structure_problems(live, [deployment(), twin]) == [
        "duplicate: 2 Deployments for ns/svc engine"
    ]
    collected = owned("Service", "svc-old", uid="gone")
    collected["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert structure_problems(live, [collected]) == []


def lease(user: str, at: str, holder: str | None = None, seconds: int = 15) -> dict[str, Any]:
    return {
        "verb": "update",
        "user": {"username": user},
        "objectRef": {"resource": "leases", "name": "lease", "namespace": "ome"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": at,
        "stageTimestamp": at,
        "requestObject": {
            "spec": {
                "holderIdentity": user if holder is None else holder,
                "leaseDurationSeconds": seconds,
            }
        },
    }


def write(user: str, at: str, resource: str = "deployments", code: int = 201) -> dict[str, Any]:
    return {
        "verb": "create",
        "user": {"username": user},
        "objectRef": {"resource": resource, "name": "svc-engine", "namespace": "ns"},
        "responseStatus": {"code": code},
        "requestReceivedTimestamp": at,
        "stageTimestamp": at,
    }


def late(verb: str, body: Any, code: int = 200) -> dict[str, Any]:
    """A write by the deposed leader ``a``, received after ``b`` took the lease."""
    event = {**write("a", t(21), code=code), "verb": verb}
    if body is not None:
        event["requestObject"] = body
    return event


def deposed(event: dict[str, Any]) -> list[str]:
    return leader_writes_problems([lease("a", t(0)), lease("b", t(20)), event], "lease")


def t(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}.000000Z"


def test_only_the_holder_of_the_lease_writes() -> None:
    events = [
        lease("a", t(0)),
        write("a", t(1)),
        lease("a", t(10)),
        write("a", t(11)),
        lease("b", t(30)),
        write("b", t(31)),
        write("b", t(32), resource="secrets"),  # any replica may: the webhook certificate
        write("a", t(33), code=409),  # refused: no harm done
    ]
    assert leader_writes_problems(events, "lease") == []


def test_a_deposed_leaders_write_is_found() -> None:
    events = [lease("a", t(0)), lease("b", t(20)), write("a", t(21))]
    found = leader_writes_problems(events, "lease")
    assert len(found) == 1
    assert "by a while b held the lease" in found[0]


def test_a_followers_write_and_a_write_past_expiry_are_found() -> None:
    assert "while nobody held" in leader_writes_problems([write("c", t(1))], "lease")[0]
    late = leader_writes_problems([lease("a", t(0), seconds=5), write("a", t(6))], "lease")
    assert "after its lease expired" in late[0]
    released = leader_writes_problems(
        [lease("a", t(0)), lease("a", t(1), ""), write("a", t(2))], "lease"
    )
    assert "while nobody held" in released[0]


def test_a_deposed_leaders_fenced_write_is_allowed() -> None:
    """The API server checked it against the object as it then was: nothing newer was
    overwritten."""
    over = {"metadata": {"name": "svc-engine", "resourceVersion": "41"}}
    owned = {"metadata": {"ownerReferences": [{"kind": "InferenceService", "uid": UID}]}}
    assert deposed(late("patch", over)) == []  # an apply, or a merge patch
    assert deposed(late("update", over)) == []
    assert deposed(late("delete", {"preconditions": {"uid": UID, "resourceVersion": "41"}})) == []
    assert deposed(late("create", owned, code=201)) == []
    assert deposed(late("patch", owned, code=201)) == []  # an apply that created


def test_a_deposed_leaders_unfenced_write_is_found() -> None:
    bare = {"metadata": {"name": "svc-engine"}}
    owned = {"metadata": {"ownerReferences": [{"kind": "InferenceService", "uid": UID}]}}
    for event in (
        late("patch", bare),
        late("update", bare),
        late("patch", owned),  # applied over an existing object: the owner proves nothing
        late("delete", {"preconditions": {"uid": UID}}),  # the same object, maybe changed
        late("create", bare, code=201),
        late("patch", [{"op": "replace", "path": "/spec"}]),
        late("patch", None),  # logged without its body
    ):
        assert len(deposed(event)) == 1, event


def test_a_fenced_write_by_a_replica_that_never_led_is_found() -> None:
    fenced = late("patch", {"metadata": {"resourceVersion": "41"}})
    found = leader_writes_problems([lease("b", t(20)), fenced], "lease")
    assert "by a while b held the lease" in found[0]


def test_user_objects_must_stay_as_made() -> None:
    expected = {"ConfigMap ns/notes": ("u1", {"k": "v"})}
    assert user_object_problems(expected, {"ConfigMap ns/notes": ("u1", {"k": "v"})}) == []
    assert user_object_problems(expected, {}) == ["user object deleted: ConfigMap ns/notes"]
    assert user_object_problems(expected, {"ConfigMap ns/notes": ("u2", {"k": "v"})}) == [
        "user object deleted and recreated: ConfigMap ns/notes"
    ]
    assert user_object_problems(expected, {"ConfigMap ns/notes": ("u1", {})}) == [
        "user object overwritten: ConfigMap ns/notes"
    ]


def test_memory_tasks_and_fds_must_stay_flat_per_process() -> None:
    mib = 1 << 20
    flat = [ProcessSample("r0", 1, 100 * mib, 50, 30), ProcessSample("r0", 1, 130 * mib, 60, 60)]
    assert leak_problems(flat) == []
    grown = [ProcessSample("r0", 1, 100 * mib, 50, 30), ProcessSample("r0", 1, 200 * mib, 200, 80)]
    assert leak_problems(grown) == [
        "r0 (pid 1): RSS grew from 100 MiB to 200 MiB",
        "r0 (pid 1): asyncio tasks grew from 50 to 200",
        "r0 (pid 1): open file descriptors grew from 30 to 80",
    ]
    # a restarted process starts a series of its own
    restarted = [
        ProcessSample("r0", 1, 100 * mib, 50, 30),
        ProcessSample("r0", 2, 400 * mib, 500, 900),
    ]
    assert leak_problems(restarted) == []


def test_the_audit_log_is_read_with_the_backups_it_was_rotated_into(tmp_path: Path) -> None:
    """The API server rotates its audit log at its maximum size (100 MB by default):
    the lease's history before the rotation is in the backup, and without it the
    leader's writes after the rotation look like writes while nobody led."""
    current = tmp_path / "audit.log"
    backup = tmp_path / "audit-2026-12-07T02-25-49.185.log"
    backup.write_text(json.dumps(lease("a", t(0))) + "\n" + json.dumps(write("a", t(1))) + "\n")
    current.write_text(json.dumps(write("a", t(5))) + "\n" + '{"cut short')
    assert leader_writes_problems(read_audit(current), "lease") == []
    assert read_audit(current)[-1]["requestReceivedTimestamp"] == t(5)
    alone = [json.loads(current.read_text().splitlines()[0])]
    assert "while nobody held" in leader_writes_problems(alone, "lease")[0]
