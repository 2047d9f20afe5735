"""The KEDA ScaledObject of a component with ``ome.io/autoscalerClass: keda`` (upstream
``reconcilers/keda``): one Prometheus trigger scaling the component's Deployment.

Each trigger setting is read from the component's annotation first, then from the
service's ``spec.kedaConfig``, then upstream's default; ``customPromQuery`` is a Go format
string given the Deployment's name, as upstream's ``fmt.Sprintf`` reads it."""

from __future__ import annotations

import json
import re

from ome.api.v1beta1.component import KedaConfig
from ome.serving.components import Spec

API_VERSION = "keda.sh/v1alpha1"
KIND = "ScaledObject"

THRESHOLD_ANNOTATION = "autoscaling.keda.sh/threshold"
OPERATOR_ANNOTATION = "autoscaling.keda.sh/operator"
SERVER_ANNOTATION = "autoscaling.keda.sh/prometheus.serverAddress"
QUERY_ANNOTATION = "autoscaling.keda.sh/prometheus.query"

DEFAULT_THRESHOLD = "10"
DEFAULT_OPERATOR = "LessThanOrEqual"
DEFAULT_SERVER = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
DEFAULT_METRIC = "tps"
DEFAULT_AUTH_KIND = "TriggerAuthentication"
_NAME_PREFIX = "scaledobject-"
_NAME_TAIL = 50
# a label that would keep Lens from opening the object's edit window (upstream drops it)
_DROPPED_LABEL = "k8slens-edit-resource-version"


def scaled_object_name(deployment: str) -> str:
    """``scaledobject-`` and the Deployment name's last 50 characters."""
    return _NAME_PREFIX + deployment[-_NAME_TAIL:]


def default_query(deployment: str) -> str:
    """Upstream's vLLM query: scale while token throughput is low under load. It selects
    on the Deployment's name, as upstream does."""
    return (
        "sum(\n"
        f'            avg_over_time(vllm:avg_generation_throughput_toks_per_s{{ome_io_inferenceservice="{deployment}"}}[5m]) < bool 10\n'  # noqa: E501
        "        )\n"
        "        *\n"
        "        sum(\n"
        f'            rate(vllm:request_success_total{{ome_io_inferenceservice="{deployment}"}}[1m]) > bool 0.50\n'  # noqa: E501
        "        )"
    )


def scaled_object(
    config: KedaConfig | None,
    *,
    deployment: str,
    namespace: str,
    spec: Spec,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> Spec:
    """The ScaledObject of the Deployment ``deployment``, whose merged component spec,
    labels and annotations are given; ``config`` is the service's ``spec.kedaConfig``."""
    minimum = spec.get("minReplicas")
    minimum = minimum if isinstance(minimum, int) and minimum > 0 else 1
    maximum = spec.get("maxReplicas", 0)
    maximum = maximum if isinstance(maximum, int) and maximum > minimum else minimum
    metadata: Spec = {
        "name": scaled_object_name(deployment),
        "namespace": namespace,
        "labels": {k: v for k, v in labels.items() if k != _DROPPED_LABEL},
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "maxReplicaCount": maximum,
            "minReplicaCount": minimum,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "triggers": [trigger(config, deployment, spec, annotations)],
        },
    }


def trigger(
    config: KedaConfig | None, deployment: str, spec: Spec, annotations: dict[str, str]
) -> Spec:
    """The Prometheus trigger; ``authenticationRef`` (and ``authModes``, which KEDA reads
    only with one) when ``spec.kedaConfig`` names a TriggerAuthentication."""

    def setting(annotation: str, configured: str | None, default: str) -> str:
        if annotation in annotations:
            return annotations[annotation]
        return configured or default

    custom = config.custom_prom_query if config is not None else None
    query = annotations.get(QUERY_ANNOTATION)
    if query is None:
        query = go_sprintf(custom, deployment) if custom else default_query(deployment)
    metric = spec.get("scaleMetric") or DEFAULT_METRIC
    metadata = {
        "serverAddress": setting(
            SERVER_ANNOTATION, config.prom_server_address if config else None, DEFAULT_SERVER
        ),
        "metricName": str(metric),
        "query": query,
        "threshold": setting(
            THRESHOLD_ANNOTATION, config.scaling_threshold if config else None, DEFAULT_THRESHOLD
        ),
        "operator": setting(
            OPERATOR_ANNOTATION, config.scaling_operator if config else None, DEFAULT_OPERATOR
        ),
    }
    result: Spec = {"type": "prometheus", "metadata": metadata}
    reference = config.authentication_ref if config is not None else None
    if reference is not None:
        result["authenticationRef"] = {
            "name": reference.name,
            "kind": reference.kind or DEFAULT_AUTH_KIND,
        }
        if config is not None and config.auth_modes:
            metadata["authModes"] = config.auth_modes
    return result


_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.)?", re.DOTALL)


def go_sprintf(template: str, argument: str) -> str:
    """Go's ``fmt.Sprintf(template, argument)`` for one string argument: ``%s``, ``%v``,
    ``%q``, ``%x``, ``%X`` (with width, precision and ``-``) and ``%%``; any other verb,
    a verb past the argument and an unused argument are written as Go writes such
    mistakes."""
    out: list[str] = []
    used = False
    position = 0
    for match in _VERB.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        flags, width, precision, verb = match.groups()
        if verb is None:
            out.append("%!(NOVERB)")
            continue
        if verb == "%":
            out.append("%")
            continue
        if used:
            out.append(f"%!{verb}(MISSING)")
            continue
        used = True
        text = argument[: int(precision or 0)] if precision is not None else argument
        if verb in "sv":
            pass
        elif verb == "q":
            text = json.dumps(text, ensure_ascii=False)
        elif verb in "xX":
            text = text.encode().hex()
            text = text.upper() if verb == "X" else text
        else:
            out.append(f"%!{verb}(string={argument})")
            continue
        pad = " " * max(int(width or 0) - len(text), 0)
        out.append(text + pad if "-" in flags else pad + text)
    out.append(template[position:])
    if not used:
        out.append(f"%!(EXTRA string={argument})")
    return "".join(out)
