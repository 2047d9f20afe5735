"""DedicatedAICluster admission: a missing or disabled profile, a count of no units and
a count below what the workloads hold are refused, each naming its field."""

from __future__ import annotations

import copy
from typing import Any

from ome.serving import MemoryCatalog
from ome.webhooks import Admission
from ome.webhooks.review import Verdict
from tests.unit.webhooks.support import request

GPU8 = {"limits": {"nvidia.com/gpu": "8"}}
PROFILES = {
    "h100": {"metadata": {"name": "h100"}, "spec": {"count": 1, "resources": GPU8}},
    "off": {"metadata": {"name": "off"}, "spec": {"disabled": True, "resources": GPU8}},
}


def dac(count: Any = 2, profile: str = "h100", allocated: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "DedicatedAICluster",
        "metadata": {"name": "team"},
        "spec": {"profile": profile, "count": count},
    }
    if allocated is not None:
        body["status"] = {"allocatedGpu": allocated}
    return body


def validate(obj: dict[str, Any], old: dict[str, Any] | None = None) -> Verdict:
    admission = Admission(MemoryCatalog.of(()), dac_profiles=PROFILES.get)
    operation = "UPDATE" if old is not None else "CREATE"
    return admission.validate_dedicated_ai_cluster(request(obj, operation, old))


def causes(verdict: Verdict) -> list[tuple[str, str]]:
    assert not verdict.allowed
    return [(c.field, c.message) for c in verdict.causes]


def test_a_dac_of_a_usable_profile_is_admitted() -> None:
    assert validate(dac()).allowed


def test_missing_and_disabled_profiles_are_refused_by_name() -> None:
    assert causes(validate(dac(profile="nope"))) == [
        ("spec.profile", "DedicatedAIClusterProfile nope does not exist")
    ]
    assert causes(validate(dac(profile="off"))) == [
        ("spec.profile", "DedicatedAIClusterProfile off is disabled")
    ]


def test_no_units_is_refused() -> None:
    for count in (0, -1):
        ((field, message),) = causes(validate(dac(count)))
        assert field == "spec.count"
        assert str(count) in message


def test_lowering_count_below_the_allocation_is_refused_with_the_numbers() -> None:
    old = dac(2, allocated=9)
    ((field, message),) = causes(validate(dac(1), old))
    assert field == "spec.count"
    assert "1 unit(s) hold 8 GPUs" in message
    assert "hold 9" in message
    assert "count >= 2" in message
    assert validate(dac(3), old).allowed


def test_status_writes_are_never_refused() -> None:
    old = dac(profile="nope")
    assert validate(dac(profile="nope", allocated=0), old).allowed


def joined(pod: dict[str, Any], dacs: dict[str, Any]) -> tuple[dict[str, Any], Verdict]:
    admission = Admission(MemoryCatalog.of(()), dac_profiles=PROFILES.get, dacs=dacs.get)
    verdict = admission.mutate_dac_pod(request(pod))
    assert verdict.allowed
    return jsonpatch_apply(pod, verdict), verdict


def jsonpatch_apply(pod: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    result = copy.deepcopy(pod)
    for op in verdict.patch or []:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]
        ]
        target = result
        for part in parents:
            target = target[part]
        assert op["op"] in ("add", "replace")
        target[last] = op["value"]
    return result


def trainer(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "t", "annotations": {"ome.io/dedicated-ai-cluster": "team"}},
        "spec": {"containers": [{"name": "main", "image": "trainer"}], **spec},
    }


def test_an_annotated_pod_joins_the_dac() -> None:
    tolerations = [{"key": "gpu", "operator": "Exists"}]
    profile = {
        "metadata": {"name": "h100"},
        "spec": {"resources": GPU8, "tolerations": tolerations},
    }
    PROFILES["tainted"] = profile
    try:
        pod, verdict = joined(trainer(), {"team": dac(profile="tainted")})
    finally:
        del PROFILES["tainted"]
    assert verdict.warnings == ()
    assert pod["metadata"]["labels"] == {"ome.io/dedicated-ai-cluster": "team"}
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"ome.io/dedicated-ai-cluster": "team"}
    assert (spec["priorityClassName"], spec["priority"]) == ("ome-dac-workload", 1_000_001)
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == tolerations


def test_a_pod_keeps_its_own_class_and_a_missing_dac_is_a_warning() -> None:
    pod, verdict = joined(trainer(priorityClassName="mine", priority=7), {})
    assert pod["spec"]["priorityClassName"] == "mine"
    assert pod["spec"]["priority"] == 7
    assert verdict.warnings == (
        "DedicatedAICluster team does not exist: the pod waits for its nodes",
    )
