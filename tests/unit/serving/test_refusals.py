"""The API server's refusals of a child that the service's owner must see: a full service
IP range becomes Ready=False with ServiceIPRangeExhausted, without blaming the spec."""

from __future__ import annotations

from ome.serving import Reason, ServingError, compute_status, failed_status
from ome.serving.problems import apply_refusal
from tests.unit.serving.helpers import plan, service
from tests.unit.serving.test_status import T0, T1, conditions, deployment, with_status

# kube-apiserver's answer, as built in k8s.io/kubernetes v1.37.2
# pkg/registry/core/service/storage/alloc.go (allocIPs: NewInternalError wrapping
# "failed to allocate a serviceIP for Service %q: %w") around ipallocator.ErrFull
# ("range is full", pkg/registry/core/service/ipallocator/interfaces.go).
RANGE_FULL = (
    'Internal error occurred: failed to allocate a serviceIP for Service "chat-engine": '
    "range is full"
)


def test_a_full_service_ip_range_is_named_with_the_service_and_the_cause() -> None:
    problem = apply_refusal("Service", "chat-engine", RANGE_FULL)
    assert problem is not None
    assert problem.reason is Reason.SERVICE_IP_RANGE_EXHAUSTED
    assert str(problem.reason) == "ServiceIPRangeExhausted"
    assert problem.message.startswith("Service chat-engine gets no ClusterIP")
    assert "service IP range is full" in problem.message
    assert RANGE_FULL in problem.message


def test_other_refusals_are_not_mapped() -> None:
    assert apply_refusal("Service", "chat-engine", "Internal error occurred: etcd timeout") is None
    assert apply_refusal("Service", "x", "failed to allocate a nodePort: range is full") is None
    assert apply_refusal("Deployment", "chat-engine", RANGE_FULL) is None


def test_an_exhausted_range_does_not_mark_the_model_as_an_invalid_spec() -> None:
    previous = compute_status(plan(), {"chat-engine": deployment("True")}, [], T0)
    svc = with_status(service(), previous)
    problem = apply_refusal("Service", "chat-engine", RANGE_FULL)
    assert isinstance(problem, ServingError)
    status = failed_status(svc, problem, T1)
    assert conditions(status)["Ready"] == ("False", "ServiceIPRangeExhausted")
    assert status["modelStatus"] == previous["modelStatus"]
