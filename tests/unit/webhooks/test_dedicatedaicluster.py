"""DedicatedAICluster admission: a missing or disabled profile, a count of no units and
a count below what the workloads hold are refused, each naming its field."""

from __future__ import annotations

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
