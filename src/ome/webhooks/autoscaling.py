"""The autoscaler settings of an InferenceService (upstream's validating webhook):
``ome.io/autoscalerClass`` and the class's own settings, and
``ome.io/targetUtilizationPercentage``.

Each rule yields a :class:`~ome.webhooks.review.Cause` naming the annotation or spec
field at fault, so a refusal says exactly what to fix."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from ome.api.v1beta1 import InferenceService
from ome.api.v1beta1.component import KedaConfig
from ome.serving.metadata import AUTOSCALER_CLASS_ANNOTATION, TARGET_UTILIZATION_ANNOTATION
from ome.webhooks.review import Cause

METRICS_ANNOTATION = "ome.io/metrics"
KEDA_THRESHOLD_ANNOTATION = "autoscaling.keda.sh/threshold"
KEDA_OPERATOR_ANNOTATION = "autoscaling.keda.sh/operator"
KEDA_SERVER_ANNOTATION = "autoscaling.keda.sh/prometheus.serverAddress"

CLASSES = ("hpa", "keda", "external")
HPA_METRICS = ("cpu", "memory")
KEDA_OPERATORS = ("GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
KEDA_AUTH_MODES = ("basic", "tls", "bearer", "custom")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def annotation_field(key: str) -> str:
    return f"metadata.annotations[{key}]"


def autoscaler_causes(service: InferenceService) -> tuple[list[Cause], list[str]]:
    """Problems and warnings of the service's autoscaler settings."""
    annotations = service.metadata.annotations or {}
    causes = list(_target_utilization(annotations))
    warnings: list[str] = []
    if AUTOSCALER_CLASS_ANNOTATION not in annotations:
        return causes, warnings
    autoscaler = annotations[AUTOSCALER_CLASS_ANNOTATION]
    if autoscaler not in CLASSES:
        field = annotation_field(AUTOSCALER_CLASS_ANNOTATION)
        message = f"[{autoscaler}] is not a supported autoscaler class type ({', '.join(CLASSES)})"
        causes.append(Cause(field, message))
    elif autoscaler == "hpa" and METRICS_ANNOTATION in annotations:
        metric = annotations[METRICS_ANNOTATION]
        if metric not in HPA_METRICS:
            message = f"[{metric}] is not a supported metric ({', '.join(HPA_METRICS)})"
            causes.append(Cause(annotation_field(METRICS_ANNOTATION), message))
    elif autoscaler == "keda":
        causes += _keda(service, annotations, warnings)
    return causes, warnings


def _target_utilization(annotations: Mapping[str, str]) -> Iterator[Cause]:
    if TARGET_UTILIZATION_ANNOTATION not in annotations:
        return
    value = annotations[TARGET_UTILIZATION_ANNOTATION]
    # Go's strconv.Atoi: an optional sign and decimal digits, nothing else
    percent = int(value) if _INTEGER.fullmatch(value) else None
    if percent is None or not 1 <= percent <= 100:
        yield Cause(
            annotation_field(TARGET_UTILIZATION_ANNOTATION),
            f"the target utilization percentage should be a [1-100] integer (got {value!r})",
        )


def _keda(
    service: InferenceService, annotations: Mapping[str, str], warnings: list[str]
) -> list[Cause]:
    keda = service.spec.keda_config or KedaConfig()
    notes = annotations.get
    # (field, value, check) in upstream's order: spec first, then the annotation
    checks: list[tuple[str, str | None, str]] = [
        ("spec.kedaConfig.scalingOperator", keda.scaling_operator, "operator"),
        (annotation_field(KEDA_OPERATOR_ANNOTATION), notes(KEDA_OPERATOR_ANNOTATION), "operator"),
        ("spec.kedaConfig.scalingThreshold", keda.scaling_threshold, "number"),
        (
            annotation_field(KEDA_THRESHOLD_ANNOTATION),
            notes(KEDA_THRESHOLD_ANNOTATION),
            "number",
        ),
        ("spec.kedaConfig.promServerAddress", keda.prom_server_address, "server"),
        (annotation_field(KEDA_SERVER_ANNOTATION), notes(KEDA_SERVER_ANNOTATION), "server"),
        ("spec.kedaConfig.authModes", keda.auth_modes, "auth"),
    ]
    causes = []
    for field, value, check in checks:
        # spec fields count when non-empty; annotations whenever present
        if value is None or (value == "" and field.startswith("spec.")):
            continue
        problem = _KEDA_CHECKS[check](value)
        if problem:
            causes.append(Cause(field, problem))
    if keda.auth_modes and keda.authentication_ref is None:
        warnings.append(
            "KEDA authModes is specified but authenticationRef is not set; "
            "authModes will be ignored by KEDA"
        )
    return causes


def _operator(value: str) -> str | None:
    if value in KEDA_OPERATORS:
        return None
    return f"invalid KEDA scaling operator {value!r}, must be one of: {', '.join(KEDA_OPERATORS)}"


def _threshold(value: str) -> str | None:
    try:
        float(value)
        number = value == value.strip() and "_" not in value  # Go accepts neither
    except ValueError:
        number = False
    return None if number else f"invalid KEDA scaling threshold {value!r}: must be a valid number"


def _server(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError as err:
        return f"invalid KEDA Prometheus server address {value!r}: {err}"
    if parts.scheme not in ("http", "https"):
        return f"invalid KEDA Prometheus server address {value!r}: scheme must be http or https"
    if not parts.netloc:
        return f"invalid KEDA Prometheus server address {value!r}: host is required"
    return None


def _auth(value: str) -> str | None:
    for mode in (m.strip() for m in value.split(",")):
        if mode and mode not in KEDA_AUTH_MODES:
            modes = ", ".join(KEDA_AUTH_MODES)
            return f"invalid KEDA auth mode {mode!r}, must be one of: {modes}"
    return None


_KEDA_CHECKS = {"operator": _operator, "number": _threshold, "server": _server, "auth": _auth}
