"""The MutatingWebhookConfiguration and ValidatingWebhookConfiguration that send ome.io
objects and the pods of InferenceServices to the webhook server, as plain dicts (for
``ome manifests``, ``ome run --local`` and the tests).

Every webhook fails closed (``failurePolicy: Fail``: nothing is admitted unchecked while
the server is down), has no side effects (so dry-run requests reach it) and speaks
AdmissionReview v1. The server is reached through a Service (in the cluster) or a URL
(a server outside it, e.g. ``https://127.0.0.1:9443``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MUTATING_NAME = "ome-mutating-webhook-configuration"
VALIDATING_NAME = "ome-validating-webhook-configuration"
CERT_MANAGER_ANNOTATION = "cert-manager.io/inject-ca-from"

MUTATE_INFERENCESERVICE = "/mutate-ome-io-v1beta1-inferenceservice"
MUTATE_POD = "/mutate-pods"
POD_OBJECT_SELECTOR = {
    "matchExpressions": [{"key": "ome.io/inferenceservice", "operator": "Exists"}]
}
"""Only the pods of an InferenceService reach the pod webhook: while the server is down,
failing closed blocks those alone."""
POD_NAMESPACE_SELECTOR = {
    "matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]
}
"""Namespaces labelled ``control-plane`` (the operator's own, in upstream's install) are
left out, so the operator's pods never wait for its own webhook."""
VALIDATE_INFERENCESERVICE = "/validate-ome-io-v1beta1-inferenceservice"
VALIDATE_SERVINGRUNTIME = "/validate-ome-io-v1beta1-servingruntime"
VALIDATE_CLUSTERSERVINGRUNTIME = "/validate-ome-io-v1beta1-clusterservingruntime"
VALIDATE_FINETUNEDWEIGHT = "/validate-ome-io-v1beta1-finetunedweight"
VALIDATE_BENCHMARKJOB = "/validate-ome-io-v1beta1-benchmarkjob"
VALIDATE_DEDICATEDAICLUSTER = "/validate-ome-io-v1beta1-dedicatedaicluster"
MUTATE_DAC_POD = "/mutate-v1-pod-dedicatedaicluster"
DAC_POD_CONDITION = {
    "name": "joins-a-dedicated-ai-cluster",
    "expression": "has(object.metadata.annotations) && "
    "'ome.io/dedicated-ai-cluster' in object.metadata.annotations",
}
"""Only pods with the annotation reach the webhook: the API server checks it itself."""


@dataclass(frozen=True)
class Hook:
    """One webhook: its upstream name, path, resource and scope."""

    name: str
    path: str
    resource: str
    scope: str
    object_selector: Mapping[str, Any] | None = None
    namespace_selector: Mapping[str, Any] | None = None
    """Selectors of this hook alone, narrowing the configuration-wide ones."""
    reinvocation_policy: str = "Never"
    mutating: bool = False
    operations: tuple[str, ...] = ("CREATE", "UPDATE")
    group: str = "ome.io"
    version: str = "v1beta1"
    match_conditions: tuple[Mapping[str, str], ...] = ()


HOOKS = (
    Hook(
        "inferenceservice.ome-webhook-server.pod-mutator",
        MUTATE_POD,
        "pods",
        "Namespaced",
        object_selector=POD_OBJECT_SELECTOR,
        namespace_selector=POD_NAMESPACE_SELECTOR,
        # called again when a later webhook changes the pod: it adds nothing twice
        reinvocation_policy="IfNeeded",
        mutating=True,
        operations=("CREATE",),
        group="",
        version="v1",
    ),
    Hook(
        "inferenceservice.ome-webhook-server.defaulter",
        MUTATE_INFERENCESERVICE,
        "inferenceservices",
        "Namespaced",
        mutating=True,
    ),
    Hook(
        "pod.dedicatedaicluster.ome-webhook-server.defaulter",
        MUTATE_DAC_POD,
        "pods",
        "Namespaced",
        mutating=True,
        operations=("CREATE",),
        group="",
        version="v1",
        match_conditions=(DAC_POD_CONDITION,),
    ),
    Hook(
        "inferenceservice.ome-webhook-server.validator",
        VALIDATE_INFERENCESERVICE,
        "inferenceservices",
        "Namespaced",
    ),
    Hook(
        "servingruntime.ome-webhook-server.validator",
        VALIDATE_SERVINGRUNTIME,
        "servingruntimes",
        "Namespaced",
    ),
    Hook(
        "clusterservingruntime.ome-webhook-server.validator",
        VALIDATE_CLUSTERSERVINGRUNTIME,
        "clusterservingruntimes",
        "Cluster",
    ),
    Hook(
        "finetunedweight.ome-webhook-server.validator",
        VALIDATE_FINETUNEDWEIGHT,
        "finetunedweights",
        "Cluster",
        operations=("CREATE", "UPDATE", "DELETE"),
    ),
    Hook(
        "benchmarkjob.ome-webhook-server.validator",
        VALIDATE_BENCHMARKJOB,
        "benchmarkjobs",
        "Namespaced",
    ),
    Hook(
        "dedicatedaicluster.ome-webhook-server.validator",
        VALIDATE_DEDICATEDAICLUSTER,
        "dedicatedaiclusters",
        "Cluster",
    ),
)


@dataclass(frozen=True)
class ServiceRef:
    """The Service in front of the webhook server (its port, not the pod's)."""

    namespace: str
    name: str
    port: int = 443


def client_config(
    hook: Hook,
    *,
    service: ServiceRef | None = None,
    url: str | None = None,
    ca_bundle: bytes | None = None,
) -> dict[str, Any]:
    """How the API server reaches ``hook``: exactly one of ``service`` and ``url`` (the
    server's base, the hook's path is appended)."""
    if (service is None) == (url is None):
        raise ValueError("give exactly one of service and url")
    config: dict[str, Any]
    if service is not None:
        config = {
            "service": {
                "namespace": service.namespace,
                "name": service.name,
                "path": hook.path,
                "port": service.port,
            }
        }
    else:
        assert url is not None
        config = {"url": url.rstrip("/") + hook.path}
    if ca_bundle:
        config["caBundle"] = base64.b64encode(ca_bundle).decode()
    return config


def webhook_configurations(
    *,
    service: ServiceRef | None = None,
    url: str | None = None,
    ca_bundle: bytes | None = None,
    mutating_name: str = MUTATING_NAME,
    validating_name: str = VALIDATING_NAME,
    namespace_selector: Mapping[str, Any] | None = None,
    object_selector: Mapping[str, Any] | None = None,
    timeout_seconds: int = 10,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (mutating, validating) configurations for all of :data:`HOOKS`.

    ``namespace_selector`` limits the namespaced hooks to some namespaces (it has no
    effect on cluster-scoped objects); ``object_selector`` limits every hook to objects
    with matching labels. ``ca_bundle`` (PEM) is left out for cert-manager to inject, in
    which case ``annotations`` should carry :data:`CERT_MANAGER_ANNOTATION`."""
    mutating: list[dict[str, Any]] = []
    validating: list[dict[str, Any]] = []
    for hook in HOOKS:
        webhook: dict[str, Any] = {
            "name": hook.name,
            "clientConfig": client_config(hook, service=service, url=url, ca_bundle=ca_bundle),
            "rules": [
                {
                    "apiGroups": [hook.group],
                    "apiVersions": [hook.version],
                    "operations": list(hook.operations),
                    "resources": [hook.resource],
                    "scope": hook.scope,
                }
            ],
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": timeout_seconds,
        }
        namespaces = _all_of(
            hook.namespace_selector, namespace_selector if hook.scope == "Namespaced" else None
        )
        if namespaces is not None:
            webhook["namespaceSelector"] = namespaces
        objects = _all_of(hook.object_selector, object_selector)
        if objects is not None:
            webhook["objectSelector"] = objects
        if hook.match_conditions:
            webhook["matchConditions"] = [dict(c) for c in hook.match_conditions]
        if hook.mutating:
            webhook["reinvocationPolicy"] = hook.reinvocation_policy
            mutating.append(webhook)
        else:
            validating.append(webhook)
    return (
        _configuration(
            "MutatingWebhookConfiguration", mutating_name, mutating, labels, annotations
        ),
        _configuration(
            "ValidatingWebhookConfiguration", validating_name, validating, labels, annotations
        ),
    )


def _all_of(*selectors: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One label selector matching what every one of ``selectors`` matches (None: no
    selector given). A label required with two values stays two requirements."""
    given = [s for s in selectors if s is not None]
    if not given:
        return None
    labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for selector in given:
        for key, value in (selector.get("matchLabels") or {}).items():
            if labels.setdefault(key, value) != value:
                expressions.append({"key": key, "operator": "In", "values": [value]})
        expressions += [dict(e) for e in selector.get("matchExpressions") or []]
    combined: dict[str, Any] = {}
    if labels:
        combined["matchLabels"] = labels
    if expressions:
        combined["matchExpressions"] = expressions
    return combined


def _configuration(
    kind: str,
    name: str,
    webhooks: list[dict[str, Any]],
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "webhooks": webhooks,
    }
