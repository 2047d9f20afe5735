"""The operator's ``inferenceservice-config`` ConfigMap: the keys the InferenceService
controller reads (``ingress`` and ``deploy``), each a JSON document.

A key that is present is read as upstream reads it: fields it leaves out take upstream's
code defaults (ingress domain ``example.com``, ingress creation enabled, …), and the same
documents are refused. A missing ConfigMap or key, which makes every upstream reconcile
fail, takes the values of the ConfigMap upstream ships instead (ingress creation disabled,
domain ``svc.cluster.local``, RawDeployment by default). Keys read by other parts of the
operator (``modelInit``, ``metricsAggregator``, …) are left to them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ome.serving.deployment_mode import DeploymentMode
from ome.serving.problems import Reason, ServingError

CONFIGMAP_NAME = "inferenceservice-config"
DEFAULT_DOMAIN_TEMPLATE = "{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}"

# Per-service overrides of the ingress settings.
DOMAIN_TEMPLATE_ANNOTATION = "ome.io/ingress-domain-template"
DOMAIN_ANNOTATION = "ome.io/ingress-domain"
ADDITIONAL_DOMAINS_ANNOTATION = "ome.io/ingress-additional-domains"
URL_SCHEME_ANNOTATION = "ome.io/ingress-url-scheme"
PATH_TEMPLATE_ANNOTATION = "ome.io/ingress-path-template"
DISABLE_ISTIO_VIRTUAL_HOST_ANNOTATION = "ome.io/ingress-disable-istio-virtualhost"
DISABLE_CREATION_ANNOTATION = "ome.io/ingress-disable-creation"


@dataclass(frozen=True)
class IngressConfig:
    """How services are reached from outside; the defaults are upstream's code defaults."""

    ingress_gateway: str = ""
    ingress_service: str = ""
    local_gateway: str = ""
    local_gateway_service: str = ""
    knative_local_gateway_service: str = ""
    ome_ingress_gateway: str = ""
    ingress_domain: str = "example.com"
    ingress_class_name: str | None = None
    additional_ingress_domains: tuple[str, ...] | None = None
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    url_scheme: str = "http"
    disable_istio_virtual_host: bool = False
    path_template: str = ""
    disable_ingress_creation: bool = False
    enable_gateway_api: bool = False

    def for_service(self, annotations: Mapping[str, str] | None) -> IngressConfig:
        """These settings with the service's ``ome.io/ingress-*`` overrides applied."""
        notes = annotations or {}
        changes: dict[str, Any] = {}
        for annotation, name in (
            (DOMAIN_TEMPLATE_ANNOTATION, "domain_template"),
            (DOMAIN_ANNOTATION, "ingress_domain"),
            (URL_SCHEME_ANNOTATION, "url_scheme"),
        ):
            if notes.get(annotation):
                changes[name] = notes[annotation]
        if PATH_TEMPLATE_ANNOTATION in notes:
            changes["path_template"] = notes[PATH_TEMPLATE_ANNOTATION]
        if notes.get(ADDITIONAL_DOMAINS_ANNOTATION):
            domains = notes[ADDITIONAL_DOMAINS_ANNOTATION].split(",")
            changes["additional_ingress_domains"] = tuple(d.strip() for d in domains)
        for annotation, name in (
            (DISABLE_ISTIO_VIRTUAL_HOST_ANNOTATION, "disable_istio_virtual_host"),
            (DISABLE_CREATION_ANNOTATION, "disable_ingress_creation"),
        ):
            if annotation in notes:
                changes[name] = notes[annotation] == "true"
        return replace(self, **changes) if changes else self


SHIPPED_INGRESS = IngressConfig(
    ingress_gateway="knative-serving/knative-ingress-gateway",
    ingress_service="istio-ingressgateway.istio-system.svc.cluster.local",
    local_gateway="knative-serving/knative-local-gateway",
    local_gateway_service="knative-local-gateway.istio-system.svc.cluster.local",
    knative_local_gateway_service="knative-local-gateway.istio-system.svc.cluster.local",
    ingress_domain="svc.cluster.local",
    ingress_class_name="istio",
    disable_ingress_creation=True,
)
"""The ``ingress`` key of the ConfigMap upstream ships."""

_INGRESS_FIELDS: dict[str, tuple[str, type[Any]]] = {
    "ingressGateway": ("ingress_gateway", str),
    "ingressService": ("ingress_service", str),
    "localGateway": ("local_gateway", str),
    "localGatewayService": ("local_gateway_service", str),
    "knativeLocalGatewayService": ("knative_local_gateway_service", str),
    "omeIngressGateway": ("ome_ingress_gateway", str),
    "ingressDomain": ("ingress_domain", str),
    "ingressClassName": ("ingress_class_name", str),
    "additionalIngressDomains": ("additional_ingress_domains", list),
    "domainTemplate": ("domain_template", str),
    "urlScheme": ("url_scheme", str),
    "disableIstioVirtualHost": ("disable_istio_virtual_host", bool),
    "pathTemplate": ("path_template", str),
    "disableIngressCreation": ("disable_ingress_creation", bool),
    "enableGatewayAPI": ("enable_gateway_api", bool),
}


@dataclass(frozen=True)
class GatewayRef:
    """The Gateway that a service's HTTPRoutes attach to."""

    namespace: str
    name: str


def gateway_ref(config: IngressConfig) -> GatewayRef:
    """``omeIngressGateway`` as ``namespace/name``; ``ServingError`` when it is not one
    (upstream indexes the split text and fails on anything else)."""
    text = config.ome_ingress_gateway
    namespace, _, name = text.partition("/")
    if not namespace or not name or "/" in name:
        raise ServingError(
            Reason.INVALID_INGRESS_GATEWAY,
            f"enableGatewayAPI needs omeIngressGateway in {CONFIGMAP_NAME}'s ingress as "
            f"namespace/name of the Gateway the routes attach to (got {text!r})",
        )
    return GatewayRef(namespace, name)


def uses_gateway_api(config: IngressConfig) -> bool:
    """Whether ingress goes through Gateway API routes rather than an Ingress."""
    return config.enable_gateway_api and not config.disable_ingress_creation


@dataclass(frozen=True)
class ServingConfig:
    ingress: IngressConfig = SHIPPED_INGRESS
    default_deployment_mode: DeploymentMode = DeploymentMode.RAW_DEPLOYMENT


def parse_config(data: Mapping[str, str] | None) -> ServingConfig:
    """The settings in the ConfigMap's ``data`` (None: no ConfigMap); :class:`ServingError`
    with reason ``InvalidConfig`` for a document upstream would refuse."""
    data = data or {}
    config = ServingConfig()
    if "ingress" in data:
        config = replace(config, ingress=_ingress(_document(data, "ingress")))
    if "deploy" in data:
        mode = _document(data, "deploy").get("defaultDeploymentMode")
        allowed = (DeploymentMode.RAW_DEPLOYMENT, DeploymentMode.SERVERLESS)
        if mode not in allowed:
            raise _invalid("deploy", f"defaultDeploymentMode must be one of {', '.join(allowed)}")
        config = replace(config, default_deployment_mode=DeploymentMode(mode))
    return config


def _document(data: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        document = json.loads(data[key])
    except json.JSONDecodeError as err:
        raise _invalid(key, f"not JSON: {err}") from None
    if not isinstance(document, dict):
        raise _invalid(key, "not a JSON object")
    return document


def _ingress(document: Mapping[str, Any]) -> IngressConfig:
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _INGRESS_FIELDS or value is None:
            continue  # Go's decoder skips unknown fields and nulls
        name, kind = _INGRESS_FIELDS[key]
        if not isinstance(value, kind) or (
            kind is list and not all(isinstance(v, str) for v in value)
        ):
            raise _invalid("ingress", f"{key} must be a {kind.__name__}")
        values[name] = tuple(value) if kind is list else value
    # Go leaves "" in place and then applies these defaults; an empty class name is kept.
    for name in ("ingress_domain", "domain_template", "url_scheme"):
        if not values.get(name):
            values.pop(name, None)
    config = IngressConfig(**values)
    if not config.ingress_gateway or not config.ingress_service:
        raise _invalid("ingress", "ingressGateway and ingressService are required")
    if config.path_template and "ingress_domain" not in values:
        raise _invalid("ingress", "ingressDomain is required when pathTemplate is given")
    return config


def _invalid(key: str, problem: str) -> ServingError:
    return ServingError(Reason.INVALID_CONFIG, f"{CONFIGMAP_NAME} key {key!r}: {problem}")
