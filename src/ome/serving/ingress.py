"""How a service is reached (upstream ``reconcilers/ingress`` and
``reconcilers/external_service``).

With ingress creation disabled (the shipped default) a Service named after the
InferenceService fronts the router, else the engine, on the port of that component's
Service; ``IngressReady`` is True at once and the URL is the Service's cluster address.
Otherwise a ``networking.k8s.io/v1`` Ingress is made once the entry component (router,
else decoder, else engine) is ready, with one host per component from the domain template.
Gateway API routes are not supported yet."""

from __future__ import annotations

from collections.abc import Mapping

from ome.api.names import label_problem, subdomain_problem
from ome.serving.config import IngressConfig
from ome.serving.naming import truncate_name
from ome.serving.problems import Reason, ServingError
from ome.serving.templates import Values

CLUSTER_DOMAIN = "svc.cluster.local"
SERVICE_PORT = 8080
EXTERNAL_SERVICE_COMPONENT = "external-service"
# Service annotations of the InferenceService that its external Service carries.
_SERVICE_ANNOTATION_PREFIXES = (
    "service.beta.kubernetes.io/",
    "cloud.google.com/",
    "service.kubernetes.io/",
)


def component_host(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    config: IngressConfig,
) -> str:
    """The domain template rendered for an object; :class:`ServingError` unless it is a
    fully qualified domain name."""
    effective = config.for_service(annotations)
    values = Values(
        {
            "Name": truncate_name(name),
            "Namespace": namespace,
            "IngressDomain": effective.ingress_domain,
        },
        {"Labels": labels, "Annotations": annotations},
    )
    host = values.render(effective.domain_template)
    problem = _fqdn_problem(host)
    if problem:
        raise ServingError(
            Reason.INVALID_INGRESS_DOMAIN,
            f"domain template {effective.domain_template!r} gives {host!r}: {problem}",
        )
    return host


def _fqdn_problem(host: str) -> str | None:
    name = host.removesuffix(".")
    if "." not in name:
        return "a domain needs at least two dot-separated labels"
    return subdomain_problem(name) or next(filter(None, map(label_problem, name.split("."))), None)


def cluster_host(service_name: str, namespace: str) -> str:
    return f"{service_name}.{namespace}.{CLUSTER_DOMAIN}"


def service_annotations_for_external(annotations: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in sorted(annotations.items())
        if any(k.startswith(p) and len(k) > len(p) for p in _SERVICE_ANNOTATION_PREFIXES)
    }


def ingress_rule(host: str, backend: str) -> dict[str, object]:
    """A rule sending every path of ``host`` to port 8080 of Service ``backend``."""
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": backend, "port": {"number": SERVICE_PORT}}},
    }
    return {"host": host, "http": {"paths": [path]}}
