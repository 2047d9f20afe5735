from __future__ import annotations

import json
from typing import Any

from ome.controllers.basemodel.reports import (
    NodeReport,
    failure_summary,
    model_status,
    pending_cleanup,
    reports,
)
from ome.serving.naming import model_status_key

KEY = model_status_key("llama", "team")


def configmap(node: str, status: str | None, message: str | None = None) -> dict[str, Any]:
    data = {}
    if status is not None:
        entry = {"name": "llama", "status": status, **({"message": message} if message else {})}
        data[KEY] = json.dumps(entry)
    return {"metadata": {"name": node, "namespace": "ome", "labels": {"node": node}}, "data": data}


def test_keys_are_upstreams() -> None:
    assert model_status_key("llama", None) == "clusterbasemodel.llama"
    assert KEY == "team.basemodel.llama"


def test_reports_of_deleted_nodes_are_ignored() -> None:
    found = reports(KEY, [configmap("a", "Ready"), configmap("gone", "Failed")], ["a", "b"])
    assert found == [NodeReport("a", "Ready")]


def test_unreadable_entries_count_as_unknown() -> None:
    broken = configmap("a", None)
    broken["data"][KEY] = "{not json"
    (report,) = reports(KEY, [broken], ["a"])
    assert report.status == ""
    assert "unreadable" in report.message


def test_state_rules() -> None:
    ready = reports(KEY, [configmap("b", "Ready"), configmap("a", "Failed", "404")], ["a", "b"])
    assert model_status(ready) == {"state": "Ready", "nodesReady": ["b"], "nodesFailed": ["a"]}
    failed = reports(KEY, [configmap("a", "Failed", "404")], ["a"])
    assert model_status(failed)["state"] == "Failed"
    assert failure_summary(failed) == "a: 404"
    updating = reports(KEY, [configmap("a", "Updating")], ["a"])
    assert model_status(updating) == {
        "state": "In_Transit",
        "nodesReady": None,
        "nodesFailed": None,
    }
    assert model_status([])["state"] == "In_Transit"


def test_deletion_waits_for_every_entry_but_deleted_ones() -> None:
    found = reports(
        KEY, [configmap("a", "Deleted"), configmap("b", "Ready"), configmap("c", None)], "abc"
    )
    assert pending_cleanup(found) == ["b"]
