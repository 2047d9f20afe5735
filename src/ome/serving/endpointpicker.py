"""The ``ome.io/inference-pool-endpoint-picker`` annotation: the opt-in to an
InferencePool (Gateway API Inference Extension) over a service's serving pods, naming the
endpoint picker (a Service in the service's namespace, ``name`` or ``name:port``) that
an InferencePool-aware gateway asks which pod takes each request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ome.api.names import label_problem
from ome.serving.problems import Reason, ServingError

ENDPOINT_PICKER_ANNOTATION = "ome.io/inference-pool-endpoint-picker"
DEFAULT_PICKER_PORT = 9002
"""The Inference Extension's endpoint picker serves its ext-proc gRPC API here."""


@dataclass(frozen=True)
class EndpointPicker:
    service: str
    port: int


def endpoint_picker(annotations: Mapping[str, str] | None) -> EndpointPicker | None:
    """The picker the annotation names; None without it; ``ServingError`` when it names
    none (an empty or malformed value)."""
    value = (annotations or {}).get(ENDPOINT_PICKER_ANNOTATION)
    if value is None:
        return None
    name, colon, port_text = value.strip().partition(":")
    port = int(port_text) if port_text.isdigit() else None
    if not name or label_problem(name) or (colon and (port is None or not 0 < port < 65536)):
        raise ServingError(
            Reason.INVALID_ENDPOINT_PICKER,
            f"{ENDPOINT_PICKER_ANNOTATION} must name the endpoint picker's Service as name "
            f"or name:port (port 1-65535, default {DEFAULT_PICKER_PORT}), got {value!r}",
        )
    return EndpointPicker(name, port if port is not None else DEFAULT_PICKER_PORT)
