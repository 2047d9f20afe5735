"""Admission webhooks for ome.io/v1beta1 (see docs/webhooks.md): InferenceService
defaulting and validation, ServingRuntime and ClusterServingRuntime validation, served
over HTTPS on every replica with certificates from cert-manager or made here.

The admission logic is pure (:mod:`~ome.webhooks.defaulting`,
:mod:`~ome.webhooks.inferenceservice`, :mod:`~ome.webhooks.servingruntime` behind
:class:`Admission`); :func:`setup` wires it to a Manager's caches and server."""

from ome.webhooks.admission import Admission
from ome.webhooks.configuration import (
    CERT_MANAGER_ANNOTATION,
    HOOKS,
    MUTATING_NAME,
    VALIDATING_NAME,
    ServiceRef,
    webhook_configurations,
)
from ome.webhooks.server import WebhookServer
from ome.webhooks.setup import DEFAULT_ADDRESS, SECRET_NAME, Webhooks, setup

__all__ = [
    "CERT_MANAGER_ANNOTATION",
    "DEFAULT_ADDRESS",
    "HOOKS",
    "MUTATING_NAME",
    "SECRET_NAME",
    "VALIDATING_NAME",
    "Admission",
    "ServiceRef",
    "WebhookServer",
    "Webhooks",
    "setup",
    "webhook_configurations",
]
