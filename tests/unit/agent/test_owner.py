"""The node status ConfigMap's owner is the agent pod's controller (its DaemonSet)."""

from __future__ import annotations

from ome.agent.owner import controller_reference

DAEMONSET = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "name": "ome-model-agent-daemonset",
    "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "controller": True,
    "blockOwnerDeletion": True,
}


def pod(*owners: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": "agent-x", "ownerReferences": list(owners)}}


def test_the_controller_becomes_a_plain_owner_reference() -> None:
    # Not the ConfigMap's controller and not blocking the DaemonSet's deletion: only
    # the tie the garbage collector follows.
    assert controller_reference(pod(DAEMONSET)) == {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "name": "ome-model-agent-daemonset",
        "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    }


def test_only_the_controlling_owner_counts() -> None:
    other = {**DAEMONSET, "kind": "Node", "name": "n", "controller": False}
    assert controller_reference(pod(other, DAEMONSET))["kind"] == "DaemonSet"  # type: ignore[index]
    assert controller_reference(pod(other)) is None


def test_a_pod_without_owners_gives_none() -> None:
    assert controller_reference({"metadata": {"name": "agent-x"}}) is None
    assert controller_reference({}) is None
