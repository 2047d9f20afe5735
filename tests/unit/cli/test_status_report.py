"""`ome status isvc`: the report from plain API objects, and the command's failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ome.cli.main import main
from ome.cli.status import Unavailable, observe, report
from ome.client import NotFound

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NS = "team"
FORMAT = {
    "modelFormat": {"name": "safetensors", "version": "1.0.0"},
    "modelFramework": {"name": "transformers", "version": "4.42.3"},
    "modelArchitecture": "LlamaForCausalLM",
}


def model_spec() -> dict[str, Any]:
    storage = {"storageUri": "hf://meta/llama", "path": "/raid/models/llama"}
    return FORMAT | {"modelParameterSize": "8B", "storage": storage}


def format_entry(**facts: Any) -> dict[str, Any]:
    return FORMAT | {"autoSelect": True} | facts


def runtime_spec(*formats: dict[str, Any], **fields: Any) -> dict[str, Any]:
    runner = {"name": "ome-container", "image": "sglang:1"}
    return {
        "supportedModelFormats": list(formats) or [format_entry()],
        "modelSizeRange": {"min": "7B", "max": "9B"},
        "engineConfig": {"runner": runner},
    } | fields


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def model(name: str = "llama", **status: Any) -> dict[str, Any]:
    obj = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": name},
        "spec": model_spec(),
    }
    return obj | ({"status": status} if status else {})


def runtime(name: str, *formats: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": name},
        "spec": runtime_spec(*formats, **fields),
    }


def service(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "chat", "namespace": NS, "generation": 1},
        "spec": {"model": {"name": "llama"}, "engine": {"minReplicas": 1}} | spec,
    }
    return obj | ({"status": status} if status is not None else {})


def condition(
    kind: str, status: str, reason: str = "", message: str = "", age: float = 60
) -> dict[str, Any]:
    found = {"type": kind, "status": status, "lastTransitionTime": ago(age)}
    return found | {k: v for k, v in (("reason", reason), ("message", message)) if v}


READY_STATUS = {
    "observedGeneration": 1,
    "url": "http://chat.team.svc.cluster.local:8080",
    "conditions": [
        condition("EngineReady", "True", "MinimumReplicasAvailable", "Deployment has minimum"),
        condition("IngressReady", "True", "IngressDisabled"),
        condition("Ready", "True", age=300),
    ],
    "modelStatus": {
        "transitionStatus": "UpToDate",
        "modelRevisionStates": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
        "modelCopies": {"failedCopies": 0, "totalCopies": 2},
    },
}


def deployment(
    component: str, runtime_name: str, replicas: int = 2, ready: int = 2
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"chat-{component}",
            "labels": {"component": component, "ome.io/inferenceservice": "chat"},
            "annotations": {"ome.io/serving-runtime": runtime_name},
        },
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready, "updatedReplicas": replicas, "availableReplicas": ready},
    }


def pod(name: str, component: str, *, node: str | None = "gpu-0", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"component": component},
            "creationTimestamp": ago(7200),
        },
        "spec": {"containers": [{"name": "ome-container"}]} | ({"nodeName": node} if node else {}),
        "status": {"phase": "Running"} | status,
    }


def event(
    reason: str, age: float, kind: str = "InferenceService", name: str = "chat", **extra: Any
) -> dict[str, Any]:
    return {
        "metadata": {"uid": f"{reason}-{age}", "creationTimestamp": ago(age)},
        "eventTime": ago(age).replace("Z", ".000000Z"),
        "type": extra.pop("type", "Normal"),
        "reason": reason,
        "note": extra.pop("note", f"{reason} happened"),
        "regarding": {"kind": kind, "name": name},
        **extra,
    }


def observed(svc: dict[str, Any], **parts: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "catalogue": [model(state="Ready", nodesReady=["gpu-0", "gpu-1"]), runtime("srt")],
        "workloads": [],
        "pods": [],
        "events": [],
        "notes": [],
    }
    return {"service": svc} | defaults | parts


def section(text: str, title: str) -> list[str]:
    """The lines of a section: its title line and the indented lines under it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return lines[start:end]


def test_a_ready_service() -> None:
    text = report(
        observed(
            service(READY_STATUS),
            catalogue=[
                model(state="Ready", nodesReady=["gpu-0", "gpu-1"]),
                runtime("srt"),
                runtime("srt-big", modelSizeRange={"min": "30B", "max": "70B"}),
                runtime("vllm", format_entry(autoSelect=False)),
            ],
            workloads=[deployment("router", "srt", 1, 1), deployment("engine", "srt")],
            pods=[
                pod(
                    "chat-engine-b",
                    "engine",
                    containerStatuses=[{"ready": True, "restartCount": 3}],
                ),
                pod("chat-engine-a", "engine", containerStatuses=[{"ready": True}]),
            ],
            events=[event("InferenceServiceReady", 300)],
        ),
        NOW,
    )
    lines = text.splitlines()
    assert lines[0] == "InferenceService team/chat"
    assert lines[1] == "Ready:       True, for 5m"
    assert lines[2] == "URL:         http://chat.team.svc.cluster.local:8080"
    assert section(text, "Conditions:") == [
        "Conditions:",
        "  TYPE          STATUS  REASON                    AGE  MESSAGE",
        "  Ready         True                              5m",
        "  EngineReady   True    MinimumReplicasAvailable  60s  Deployment has minimum",
        "  IngressReady  True    IngressDisabled           60s",
    ]
    assert section(text, "Model:") == [
        "Model:       ClusterBaseModel llama (mt:safetensors:1.0.0:LlamaForCausalLM:transformers"
        ":4.42.3, 8B); state: Ready, ready on 2 nodes",
        "  loading: Loaded (UpToDate); copies: 2 (0 failed)",
    ]
    assert section(text, "Runtime:") == [
        "Runtime:     ClusterServingRuntime srt (auto-selected)",
        "  candidates (3):",
        "    + ClusterServingRuntime srt: selected: score 2",
        "    - ClusterServingRuntime vllm: runtime does not have auto-select enabled for any "
        "supported format",
        "    - ClusterServingRuntime srt-big: model size 8B is outside supported range [30B, 70B]",
    ]
    assert section(text, "Components:") == [
        "Components:",
        "  COMPONENT  WORKLOAD     DESIRED  READY  UP-TO-DATE  AVAILABLE",
        "  engine     chat-engine  2        2      2           2",
        "  router     chat-router  1        1      1           1",
    ]
    assert section(text, "Pods:") == [
        "Pods:",
        "  NAME           COMPONENT  STATUS   READY  RESTARTS  NODE   AGE",
        "  chat-engine-a  engine     Running  1/1    0         gpu-0  2h",
        "  chat-engine-b  engine     Running  1/1    3         gpu-0  2h",
    ]
    assert section(text, "Events:") == [
        "Events:",
        "  LAST SEEN  TYPE    REASON                 OBJECT                 MESSAGE",
        "  5m         Normal  InferenceServiceReady  InferenceService/chat  "
        "InferenceServiceReady happened",
    ]


def test_a_service_whose_model_is_missing() -> None:
    message = "no ClusterBaseModel 'llama'"
    status = {
        "observedGeneration": 1,
        "conditions": [condition("Ready", "False", "BaseModelNotFound", message, age=30)],
        "modelStatus": {
            "transitionStatus": "InvalidSpec",
            "modelRevisionStates": {"targetModelState": "FailedToLoad"},
            "lastFailureInfo": {"reason": "BaseModelNotFound", "message": message},
        },
    }
    warning = event("BaseModelNotFound", 30, type="Warning", note=message)
    text = report(observed(service(status), catalogue=[runtime("srt")], events=[warning]), NOW)
    assert f"Ready:       False (BaseModelNotFound: {message}), for 30s" in text
    assert f"Model:       ClusterBaseModel llama: BaseModelNotFound: {message}" in text
    assert "  loading: FailedToLoad (InvalidSpec)" in text
    assert f"  last failure: BaseModelNotFound: {message}" in text
    assert "Runtime:     not selected without a model\n" in text
    assert "URL:         <none>" in text
    assert "Components:  <none>" in text
    assert "Pods:        <none>" in text
    assert f"  30s        Warning  BaseModelNotFound  InferenceService/chat  {message}" in text


def test_a_service_without_status_and_a_named_runtime_that_is_gone() -> None:
    svc = service(runtime={"name": "gone"})
    text = report(observed(svc, workloads=[deployment("engine", "gone")]), NOW)
    assert "Ready:       Unknown: no status yet (is the controller running?)" in text
    assert "Conditions:  <none>" in text
    assert (
        "Runtime:     none: RuntimeNotFound: runtime 'gone' not found in namespace 'team' or at "
        "cluster scope (the Deployments run gone)" in text
    )


def test_no_runtime_lists_every_verdict() -> None:
    catalogue = [model(), runtime("tiny", modelSizeRange={"min": "1B", "max": "2B"})]
    text = report(observed(service(), catalogue=catalogue), NOW)
    assert "Model:       ClusterBaseModel llama (" in text
    assert "; state: <none>" in text
    assert "Runtime:     none: NoSupportingRuntime: no runtime supports model 'llama'" in text
    assert (
        "    - ClusterServingRuntime tiny: model size 8B is outside supported range [1B, 2B]"
        in text
    )


def test_deployments_still_on_another_runtime_are_pointed_out() -> None:
    text = report(observed(service(READY_STATUS), workloads=[deployment("engine", "old")]), NOW)
    assert "Runtime:     ClusterServingRuntime srt (auto-selected)" in text
    assert "the Deployments run old: a serving service is selected again only when" in text


def test_named_runtime() -> None:
    text = report(observed(service(runtime={"name": "srt"})), NOW)
    assert "Runtime:     ClusterServingRuntime srt (named in spec.runtime)" in text
    assert "    + ClusterServingRuntime srt: named in spec.runtime; compatible" in text


def test_pod_states_name_what_is_stuck() -> None:
    crashing = pod(
        "a",
        "engine",
        containerStatuses=[
            {
                "ready": False,
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    )
    unscheduled = pod(
        "b",
        "engine",
        node=None,
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    )
    loading = pod(
        "c",
        "engine",
        phase="Pending",
        initContainerStatuses=[{"state": {"running": {}}}],
        containerStatuses=[{"state": {"waiting": {"reason": "PodInitializing"}}}],
    )
    gone = pod("d", "engine")
    gone["metadata"]["deletionTimestamp"] = ago(1)
    text = report(observed(service(), pods=[crashing, unscheduled, loading, gone]), NOW)
    rows = section(text, "Pods:")[2:]
    assert [row.split()[2] for row in rows] == [
        "CrashLoopBackOff",
        "Unschedulable",
        "Pending",
        "Terminating",
    ]
    assert rows[0].split()[4] == "7"
    assert rows[1].split()[5] == "<none>"


def test_only_the_latest_events_in_time_order() -> None:
    events = [event(f"R{i}", age=100 - i) for i in range(15)]
    events.append(
        event("Repeated", 200, series={"count": 4, "lastObservedTime": ago(2).replace("Z", ".5Z")})
    )
    text = report(observed(service(), events=events), NOW)
    rows = section(text, "Events (last 10 of 16):")[2:]
    assert [row.split()[2] for row in rows] == [*(f"R{i}" for i in range(6, 15)), "Repeated"]
    assert rows[-1].startswith("  1s ")
    assert rows[-1].endswith("Repeated happened (x4)")


def test_ages() -> None:
    for seconds, shown in ((5, "5s"), (119, "119s"), (120, "2m"), (7199, "119m"), (7200, "2h")):
        assert f"Ready:       True, for {shown}" in report(
            observed(service({"conditions": [condition("Ready", "True", age=seconds)]})), NOW
        )
    assert "Ready:       True, for 3d" in report(
        observed(service({"conditions": [condition("Ready", "True", age=3 * 86400)]})), NOW
    )


def test_a_status_behind_the_spec_and_notes() -> None:
    svc = service(READY_STATUS)
    svc["metadata"]["generation"] = 3
    text = report(observed(svc, notes=["clusterservingruntimes not listed (Forbidden)"]), NOW)
    assert "Generation:  3, status written for 1 (the controller has not caught up)" in text
    assert text.endswith("Note: clusterservingruntimes not listed (Forbidden)\n")


def test_an_invalid_service_is_reported_not_raised() -> None:
    svc = service(READY_STATUS)
    svc["spec"]["engine"] = {"minReplicas": "one"}
    text = report(observed(svc), NOW)
    assert "Runtime:     not checked: the service is invalid (1 errors)" in text


def test_a_missing_kubeconfig_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "kubeconfig"
    assert main(["status", "isvc", "chat", "--kubeconfig", str(missing)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: no such kubeconfig file\n"


def test_an_unreachable_cluster_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
current-context: x
"""
    )
    assert main(["status", "isvc", "chat", "--kubeconfig", str(kubeconfig)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: cannot reach the API server at https://127.0.0.1:1: ")


class FakeResource:
    def __init__(self, kind: str, items: list[dict[str, Any]], calls: list[Any]) -> None:
        self.kind, self.items, self.calls = kind, items, calls

    async def get(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        for item in self.items:
            if item["metadata"]["name"] == name:
                return item
        raise NotFound(404, "NotFound", f"{self.kind} {name} not found")

    async def list(
        self,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        self.calls.append((self.kind, namespace, label_selector, field_selector))
        if field_selector:
            wanted = field_selector.removeprefix("regarding.name=")
            return [e for e in self.items if e["regarding"]["name"] == wanted]
        return self.items


class FakeClient:
    """Answers like Client.resource, from lists of objects by kind; kinds left out are
    not served (as a cluster without the CRDs)."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects = objects
        self.calls: list[Any] = []

    async def resource(self, gvk: Any) -> FakeResource:
        if gvk.kind not in self.objects:
            raise NotFound(404, "NotFound", f"the server does not serve {gvk.kind!r}")
        return FakeResource(gvk.kind, self.objects[gvk.kind], self.calls)


async def test_observe_reads_what_the_report_needs() -> None:
    engine = deployment("engine", "srt")
    pods = [pod("chat-engine-a", "engine")]
    events = [
        event("InferenceServiceReady", 5),
        event("ScalingReplicaSet", 9, kind="Deployment", name="chat-engine"),
        event("Scheduled", 8, kind="Pod", name="chat-engine-a"),
        event("Unrelated", 7, kind="Pod", name="other"),
    ]
    client = FakeClient(
        {
            "InferenceService": [service(READY_STATUS)],
            "Deployment": [engine],
            "Pod": pods,
            "Event": events,
            "BaseModel": [],
            "ClusterBaseModel": [model()],
            "ServingRuntime": [],
            "ClusterServingRuntime": [runtime("srt")],
            "FineTunedWeight": [],
        }
    )
    found = await observe(client, NS, "chat")  # type: ignore[arg-type]
    assert found["service"]["metadata"]["name"] == "chat"
    assert found["workloads"] == [engine]
    assert found["pods"] == pods
    assert sorted(e["reason"] for e in found["events"]) == [
        "InferenceServiceReady",
        "ScalingReplicaSet",
        "Scheduled",
    ]
    assert [o["metadata"]["name"] for o in found["catalogue"]] == ["llama", "srt"]
    assert found["notes"] == []
    selector = "ome.io/inferenceservice=chat"
    assert ("Deployment", NS, selector, None) in client.calls
    assert ("ClusterServingRuntime", None, None, None) in client.calls
    assert ("ServingRuntime", NS, None, None) in client.calls


async def test_observe_without_the_service_or_its_crd() -> None:
    with pytest.raises(Unavailable, match="InferenceService 'chat' not found in namespace 'team'"):
        await observe(FakeClient({"InferenceService": []}), NS, "chat")  # type: ignore[arg-type]
    with pytest.raises(Unavailable, match="the cluster does not serve InferenceServices"):
        await observe(FakeClient({}), NS, "chat")  # type: ignore[arg-type]


async def test_kinds_that_cannot_be_listed_become_notes() -> None:
    client = FakeClient({"InferenceService": [service()], "Deployment": [], "Pod": [], "Event": []})
    found = await observe(client, NS, "chat")  # type: ignore[arg-type]
    assert found["catalogue"] == []
    assert "basemodels not listed (NotFound): the verdicts may be incomplete" in found["notes"]


def weight(name: str, base: str = "llama", **status: Any) -> dict[str, Any]:
    obj = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "FineTunedWeight",
        "metadata": {"name": name},
        "spec": {
            "baseModelRef": {"name": base},
            "modelType": "LoRA",
            "hyperParameters": {"strategy": "lora"},
            "storage": {"storageUri": f"hf://team/{name}", "path": f"/raid/{name}"},
        },
    }
    return obj | ({"status": status} if status else {})


def test_adapters_are_listed_with_their_state() -> None:
    catalogue = [
        model(state="Ready", nodesReady=["gpu-0"]),
        runtime("srt"),
        weight("sql", state="Ready", nodesReady=["gpu-0"]),
        weight("chat"),
    ]
    svc = service(model={"name": "llama", "fineTunedWeights": ["sql", "chat"]})
    text = report(observed(svc, catalogue=catalogue), NOW)
    assert section(text, "Adapters:") == [
        "Adapters:",
        "  sql; state: Ready, ready on 1 nodes",
        "  chat; state: <none>",
    ]


def test_an_adapter_of_another_model_is_the_reason() -> None:
    catalogue = [model(state="Ready"), runtime("srt"), weight("sql", base="mistral")]
    svc = service(model={"name": "llama", "fineTunedWeights": ["sql"]})
    text = report(observed(svc, catalogue=catalogue), NOW)
    assert "Adapters:    sql: FineTunedWeightBaseModelMismatch: FineTunedWeight 'sql'" in text


def test_leader_worker_sets_are_listed_with_their_group_size() -> None:
    group = deployment("engine", "srt", replicas=2, ready=1) | {"kind": "LeaderWorkerSet"}
    group["metadata"] = group["metadata"] | {"name": "lws-chat-engine"}
    group["spec"] = {"replicas": 2, "leaderWorkerTemplate": {"size": 4}}
    text = report(observed(service(READY_STATUS), workloads=[group]), NOW)
    assert section(text, "Components:") == [
        "Components:",
        "  COMPONENT  WORKLOAD                                        DESIRED  READY  "
        "UP-TO-DATE  AVAILABLE",
        "  engine     lws-chat-engine (LeaderWorkerSet, groups of 4)  2        1      2           "
        "1",
    ]
