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
    assert model_status(ready) == {
        "state": "Ready",
        "nodesReady": ["b"],
        "nodesFailed": ["a"],
        "progress": None,
    }
    failed = reports(KEY, [configmap("a", "Failed", "404")], ["a"])
    assert model_status(failed)["state"] == "Failed"
    assert failure_summary(failed) == "a: 404"
    updating = reports(KEY, [configmap("a", "Updating")], ["a"])
    assert model_status(updating) == {
        "state": "In_Transit",
        "nodesReady": None,
        "nodesFailed": None,
        "progress": None,
    }
    assert model_status([])["state"] == "In_Transit"


def downloading(node: str, done: int, total: int) -> dict[str, Any]:
    found = configmap(node, "Updating")
    entry = json.loads(found["data"][KEY])
    entry["progress"] = {"phase": "Downloading", "completedBytes": done, "totalBytes": total}
    found["data"][KEY] = json.dumps(entry)
    return found


def test_progress_sums_the_downloads_under_way() -> None:
    found = reports(
        KEY,
        [downloading("a", 30, 100), downloading("b", 100, 100), configmap("c", "Ready")],
        ["a", "b", "c"],
    )
    assert model_status(found)["progress"] == {
        "completedBytes": 130,
        "totalBytes": 200,
        "percent": 65,
        "nodes": 2,
    }
    # A size not known yet (scanning) and a finished model count for nothing.
    scanning = reports(KEY, [downloading("a", 0, 0)], ["a"])
    assert model_status(scanning)["progress"] is None
    # A report over its total is capped, so the sum never passes 100%.
    assert model_status(reports(KEY, [downloading("a", 150, 100)], ["a"]))["progress"] == {
        "completedBytes": 100,
        "totalBytes": 100,
        "percent": 100,
        "nodes": 1,
    }


def test_deletion_waits_for_every_entry_but_deleted_ones() -> None:
    found = reports(
        KEY, [configmap("a", "Deleted"), configmap("b", "Ready"), configmap("c", None)], "abc"
    )
    assert pending_cleanup(found) == ["b"]
