"""Status computed from the plan and the observed children."""

from __future__ import annotations

from typing import Any

from ome.api.v1beta1 import InferenceService
from ome.serving import Reason, ServingError, compute_status, failed_status, is_ready
from ome.serving.config import IngressConfig, ServingConfig
from tests.unit.serving.helpers import RUNNER, cluster_model, cluster_runtime, plan, service

T0, T1 = "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"


def deployment(available: str | None, revision: str = "3", reason: str = "Min") -> dict[str, Any]:
    conditions = [{"type": "Progressing", "status": "True"}]
    if available is not None:
        conditions.append(
            {"type": "Available", "status": available, "reason": reason, "message": "m"}
        )
    return {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": revision}},
        "status": {"conditions": conditions},
    }


def pod(name: str, app: str = "chat-engine", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": app}}, "status": status}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status["conditions"]}


def with_status(svc: InferenceService, status: dict[str, Any]) -> InferenceService:
    return InferenceService.model_validate(svc.model_dump(by_alias=True) | {"status": status})


def test_a_new_service_is_initializing() -> None:
    status = compute_status(plan(), {}, [], T0)
    assert conditions(status) == {
        "EngineReady": ("False", "Initializing"),
        "IngressReady": ("True", "IngressDisabled"),
        "Ready": ("False", "Initializing"),
    }
    assert status["url"] == "http://chat.team.svc.cluster.local:8080"
    assert status["address"] == {"url": "http://chat.team.svc.cluster.local:8080"}
    assert status["components"] == {"engine": {}}
    assert status["modelStatus"] == {
        "modelRevisionStates": {"activeModelState": "Pending", "targetModelState": "Pending"},
        "transitionStatus": "InProgress",
    }
    assert {c["lastTransitionTime"] for c in status["conditions"]} == {T0}
    assert not is_ready(status)


def test_available_engine_and_router_make_the_service_ready() -> None:
    svc = service(router={})
    pods = [pod("e-1"), pod("e-2"), pod("r-1", app="chat-router")]
    status = compute_status(
        plan(svc),
        {"chat-engine": deployment("True"), "chat-router": deployment("True")},
        pods,
        T0,
    )
    assert conditions(status) == {
        "EngineReady": ("True", "Min"),
        "IngressReady": ("True", "IngressDisabled"),
        "Ready": ("True", ""),
        "RouterReady": ("True", "Min"),
    }
    assert status["components"] == {
        "engine": {
            "latestCreatedRevision": "3",
            "url": "http://chat-engine.team.svc.cluster.local",
        },
        "router": {
            "latestCreatedRevision": "3",
            "url": "http://chat-router.team.svc.cluster.local",
        },
    }
    assert status["url"] == "http://chat.team.svc.cluster.local:8000"
    assert status["modelStatus"]["modelCopies"] == {"failedCopies": 0, "totalCopies": 2}
    assert status["modelStatus"]["modelRevisionStates"] == {
        "activeModelState": "Loaded",
        "targetModelState": "Loaded",
    }
    assert is_ready(status)


def test_a_router_down_keeps_the_service_unready() -> None:
    """Upstream's Ready waits for the engine alone; a service whose router is down
    answers nothing."""
    svc = service(router={})
    status = compute_status(
        plan(svc),
        {"chat-engine": deployment("True"), "chat-router": deployment("False", reason="Down")},
        [pod("e-1"), pod("r-1", app="chat-router")],
        T0,
    )
    assert conditions(status)["Ready"] == ("False", "Down")
    assert conditions(status)["RouterReady"] == ("False", "Down")
    assert not is_ready(status)


def test_transition_times_move_only_on_change() -> None:
    first = compute_status(plan(), {"chat-engine": deployment("False")}, [], T0)
    svc = with_status(service(), first)
    again = compute_status(plan(svc), {"chat-engine": deployment("False")}, [], T1)
    assert {c["lastTransitionTime"] for c in again["conditions"]} == {T0}
    ready = compute_status(plan(svc), {"chat-engine": deployment("True")}, [], T1)
    times = {c["type"]: c["lastTransitionTime"] for c in ready["conditions"]}
    assert times == {"EngineReady": T1, "IngressReady": T0, "Ready": T1}


def test_conditions_of_removed_components_are_dropped() -> None:
    previous = compute_status(plan(service(router={})), {}, [], T0)
    svc = with_status(service(), previous)
    status = compute_status(plan(svc), {}, [], T1)
    assert "RouterReady" not in conditions(status)
    assert list(status["components"]) == ["engine"]


def test_observed_generation_is_the_services() -> None:
    svc = service()
    svc.metadata.generation = 7
    assert compute_status(plan(svc), {}, [], T0)["observedGeneration"] == 7


class TestIngressEnabled:
    CONFIG = ServingConfig(
        ingress=IngressConfig(ingress_gateway="g", ingress_service="s", url_scheme="https")
    )

    def test_not_ready_until_the_entry_component_is(self) -> None:
        status = compute_status(plan(service(), config=self.CONFIG), {}, [], T0)
        assert conditions(status)["IngressReady"] == ("False", "ComponentNotReady")
        assert conditions(status)["Ready"] == ("False", "Initializing")
        assert "url" not in status

    def test_urls_once_ready(self) -> None:
        status = compute_status(
            plan(service(), config=self.CONFIG), {"chat-engine": deployment("True")}, [], T0
        )
        assert conditions(status)["Ready"] == ("True", "")
        assert status["url"] == "https://chat.team.example.com:8080"
        assert status["address"] == {"url": "https://chat.team.svc.cluster.local:8080"}

    def test_the_router_gates_and_addresses(self) -> None:
        planned = plan(service(router={}), config=self.CONFIG)
        engine_only = compute_status(planned, {"chat-engine": deployment("True")}, [], T0)
        assert conditions(engine_only)["IngressReady"] == ("False", "ComponentNotReady")
        assert conditions(engine_only)["Ready"] == ("False", "Initializing")
        both = {"chat-engine": deployment("True"), "chat-router": deployment("True")}
        status = compute_status(planned, both, [], T0)
        assert status["address"] == {"url": "https://chat-router.team.svc.cluster.local:8000"}


def test_cluster_local_services_are_addressed_through_the_entry_service() -> None:
    svc = service(labels={"networking.knative.dev/visibility": "cluster-local"})
    assert (
        compute_status(plan(svc), {}, [], T0)["url"]
        == "http://chat-engine.team.svc.cluster.local:8080"
    )


class TestModelStatus:
    def model(
        self, *pods: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        svc = service(router={})
        if previous:
            svc = with_status(svc, {"modelStatus": previous})
        status: dict[str, Any] = compute_status(plan(svc), {}, list(pods), T0)["modelStatus"]
        return status

    def test_loading_while_the_storage_initializer_runs(self) -> None:
        running = {"name": "storage-initializer", "state": {"running": {}}}
        status = self.model(pod("e-1", initContainerStatuses=[running]))
        assert status["modelRevisionStates"]["targetModelState"] == "Loading"
        assert status["transitionStatus"] == "InProgress"

    def test_a_failed_main_container(self) -> None:
        failed = {
            "name": "ome-container",
            "state": {"terminated": {"reason": "Error", "exitCode": 3, "message": "oom"}},
        }
        status = self.model(pod("e-1"), pod("e-2", containerStatuses=[failed]))
        assert status["transitionStatus"] == "BlockedByFailedLoad"
        assert status["modelRevisionStates"]["targetModelState"] == "FailedToLoad"
        assert status["lastFailureInfo"] == {
            "exitCode": 3,
            "message": "oom",
            "reason": "ModelLoadFailed",
        }

    def test_a_crash_looping_main_container(self) -> None:
        looping = {
            "name": "ome-container",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
        }
        status = self.model(pod("e-1", containerStatuses=[looping]))
        assert status["lastFailureInfo"] == {"exitCode": 1, "reason": "ModelLoadFailed"}

    def test_router_pods_do_not_count(self) -> None:
        failed = {
            "name": "ome-container",
            "state": {"terminated": {"reason": "Error", "exitCode": 3}},
        }
        status = self.model(pod("r-1", app="chat-router", containerStatuses=[failed]))
        assert status["modelRevisionStates"]["targetModelState"] == "Pending"

    def test_a_loaded_model_stays_active_while_pods_roll(self) -> None:
        previous = {
            "modelRevisionStates": {"activeModelState": "Loaded", "targetModelState": "Loaded"}
        }
        status = self.model(pod("e-3"), previous=previous)
        assert status["modelRevisionStates"] == {
            "activeModelState": "Loaded",
            "targetModelState": "Pending",
        }


def test_failed_status() -> None:
    previous = compute_status(plan(), {"chat-engine": deployment("True")}, [], T0)
    svc = with_status(service(), previous)
    svc.metadata.generation = 2
    error = ServingError(Reason.NO_SUPPORTING_RUNTIME, "no runtime supports model 'llama'")
    status = failed_status(svc, error, T1)
    assert conditions(status) == {
        "EngineReady": ("True", "Min"),
        "IngressReady": ("True", "IngressDisabled"),
        "Ready": ("False", "NoSupportingRuntime"),
    }
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready == {
        "type": "Ready",
        "status": "False",
        "reason": "NoSupportingRuntime",
        "message": "no runtime supports model 'llama'",
        "lastTransitionTime": T1,
    }
    assert status["modelStatus"]["transitionStatus"] == "InvalidSpec"
    assert status["modelStatus"]["lastFailureInfo"] == {
        "message": "no runtime supports model 'llama'",
        "reason": "NoSupportingRuntime",
    }
    assert status["observedGeneration"] == 2
    assert status["url"] == previous["url"]
    InferenceService.model_validate(svc.model_dump(by_alias=True) | {"status": status})


def test_statuses_validate_against_the_api() -> None:
    runtime = cluster_runtime("srt-llama", decoderConfig={"runner": dict(RUNNER)})
    planned = plan(service(router={}, decoder={}), cluster_model(), runtime)
    status = compute_status(planned, {"chat-engine": deployment("True")}, [pod("e-1")], T0)
    checked = InferenceService.model_validate(
        planned.service.model_dump(by_alias=True) | {"status": status}
    )
    assert checked.status is not None
    assert checked.status.components is not None
    assert set(checked.status.components) == {"engine", "decoder", "router"}
