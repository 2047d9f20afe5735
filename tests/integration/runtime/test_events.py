"""Events are written to the API and repeats fold into one Event's series."""

from __future__ import annotations

import pytest

from ome.client import Client
from ome.runtime.events import WARNING, EventRecorder
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


async def test_repeats_fold_into_a_series(client: Client, namespace: str) -> None:
    owner = await client.create(
        f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "subject"}}
    )
    owner |= {"apiVersion": "v1", "kind": "ConfigMap"}
    recorder = EventRecorder(client, "ome.io/test-controller", "test-instance")
    for _ in range(5):
        recorder.event(owner, WARNING, "RuntimeNotFound", "no runtime matches")
    recorder.event(owner, WARNING, "ModelNotFound", "no such model")
    await recorder.flush()

    async def folded() -> bool:
        events = (await client.get(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"))[
            "items"
        ]
        by_reason = {e["reason"]: e for e in events}
        runtime = by_reason.get("RuntimeNotFound", {})
        return len(events) == 2 and runtime.get("series", {}).get("count") == 5

    await eventually(folded, timeout=10)
    events = (await client.get(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"))["items"]
    event = next(e for e in events if e["reason"] == "RuntimeNotFound")
    assert event["regarding"]["uid"] == owner["metadata"]["uid"]
    assert event["reportingController"] == "ome.io/test-controller"
    assert event["type"] == "Warning"


def test_event_type_is_checked(client: Client) -> None:
    recorder = EventRecorder(client, "c", "i")
    with pytest.raises(ValueError, match="Normal or Warning"):
        recorder.event({"metadata": {}}, "Error", "Reason", "note")
