"""A FineTunedWeight's status from the agents' node reports and its base model."""

from __future__ import annotations

from typing import Any

from ome.controllers.basemodel.reports import NodeReport
from ome.controllers.finetunedweight.reconciler import weight_status

NOW = "2026-01-01T00:00:00Z"


def weight(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "sql", "generation": 3},
        "spec": {"baseModelRef": {"name": "llama"}},
        "status": status,
    }


def ready_condition(status: dict[str, Any]) -> dict[str, Any]:
    (condition,) = status["conditions"]
    assert condition["type"] == "Ready"
    return dict(condition)


def test_ready_on_the_nodes_that_have_it() -> None:
    found = [NodeReport("a", "Ready"), NodeReport("b", "Updating")]
    status = weight_status(weight(), found, base_model_exists=True, now=NOW)
    assert (status["state"], status["nodesReady"], status["observedGeneration"]) == (
        "Ready",
        ["a"],
        3,
    )
    condition = ready_condition(status)
    assert (condition["status"], condition["reason"]) == ("True", "Ready")
    assert condition["message"] == "ready on node(s) a"


def test_a_missing_base_model_is_the_reason() -> None:
    status = weight_status(weight(), [], base_model_exists=False, now=NOW)
    assert status["state"] == "Failed"
    condition = ready_condition(status)
    assert (condition["status"], condition["reason"]) == ("False", "BaseModelNotFound")
    assert condition["message"] == "no ClusterBaseModel llama: the weight waits for it"


def test_failures_name_each_node_and_cause() -> None:
    found = [NodeReport("a", "Failed", "no adapter_config.json in /m/sql")]
    status = weight_status(weight(), found, base_model_exists=True, now=NOW)
    assert status["nodesFailed"] == ["a"]
    condition = ready_condition(status)
    assert condition["reason"] == "DownloadFailed"
    assert condition["message"] == "a: no adapter_config.json in /m/sql"


def test_waiting_and_downloading_say_so() -> None:
    waiting = ready_condition(weight_status(weight(), [], base_model_exists=True, now=NOW))
    assert waiting["reason"] == "WaitingForNodes"
    found = [NodeReport("a", "Updating")]
    downloading = ready_condition(weight_status(weight(), found, base_model_exists=True, now=NOW))
    assert downloading["reason"] == "Downloading"


def test_the_transition_time_stays_while_the_condition_status_does() -> None:
    earlier = {
        "type": "Ready",
        "status": "False",
        "reason": "Downloading",
        "message": "",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    before = weight(conditions=[earlier])
    still = weight_status(before, [NodeReport("a", "Failed")], base_model_exists=True, now=NOW)
    assert ready_condition(still)["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    now_ready = weight_status(before, [NodeReport("a", "Ready")], base_model_exists=True, now=NOW)
    assert ready_condition(now_ready)["lastTransitionTime"] == NOW
