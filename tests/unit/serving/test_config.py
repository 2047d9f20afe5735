"""The inferenceservice-config ConfigMap."""

from __future__ import annotations

import json

import pytest

from ome.serving import DeploymentMode, Reason, ServingError, parse_config
from ome.serving.config import SHIPPED_INGRESS, IngressConfig

GATEWAYS = {"ingressGateway": "knative-serving/gw", "ingressService": "istio.svc"}


def test_without_a_configmap_the_shipped_values_apply() -> None:
    config = parse_config(None)
    assert config.ingress == SHIPPED_INGRESS
    assert config.ingress.disable_ingress_creation
    assert config.ingress.ingress_domain == "svc.cluster.local"
    assert config.default_deployment_mode is DeploymentMode.RAW_DEPLOYMENT


def test_a_present_ingress_key_takes_upstreams_code_defaults() -> None:
    config = parse_config({"ingress": json.dumps(GATEWAYS | {"domainTemplate": ""})})
    assert config.ingress == IngressConfig(
        ingress_gateway="knative-serving/gw", ingress_service="istio.svc"
    )
    assert config.ingress.ingress_domain == "example.com"
    assert not config.ingress.disable_ingress_creation


def test_the_shipped_document_reads_as_shipped() -> None:
    document = {
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "ingressService": "istio-ingressgateway.istio-system.svc.cluster.local",
        "localGateway": "knative-serving/knative-local-gateway",
        "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
        "knativeLocalGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
        "omeIngressGateway": "",
        "ingressDomain": "svc.cluster.local",
        "ingressClassName": "istio",
        "additionalIngressDomains": None,
        "domainTemplate": "{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}",
        "urlScheme": "http",
        "disableIstioVirtualHost": False,
        "pathTemplate": "",
        "disableIngressCreation": True,
        "enableGatewayAPI": False,
        "someFutureField": 1,
    }
    config = parse_config(
        {"ingress": json.dumps(document), "deploy": '{"defaultDeploymentMode": "RawDeployment"}'}
    )
    assert config.ingress == SHIPPED_INGRESS


@pytest.mark.parametrize(
    "data",
    [
        {"ingress": "{"},
        {"ingress": "[]"},
        {"ingress": json.dumps({"ingressService": "x"})},
        {"ingress": json.dumps(GATEWAYS | {"disableIngressCreation": "yes"})},
        {"ingress": json.dumps(GATEWAYS | {"pathTemplate": "/{{ .Name }}"})},
        {"deploy": "{}"},
        {"deploy": '{"defaultDeploymentMode": "MultiNode"}'},
    ],
)
def test_documents_upstream_refuses_are_refused(data: dict[str, str]) -> None:
    with pytest.raises(ServingError) as caught:
        parse_config(data)
    assert caught.value.reason is Reason.INVALID_CONFIG


def test_serverless_may_be_the_default() -> None:
    config = parse_config({"deploy": '{"defaultDeploymentMode": "Serverless"}'})
    assert config.default_deployment_mode is DeploymentMode.SERVERLESS


def test_service_annotations_override_ingress_settings() -> None:
    annotations = {
        "ome.io/ingress-domain": "example.org",
        "ome.io/ingress-domain-template": "{{ .Name }}.{{ .IngressDomain }}",
        "ome.io/ingress-url-scheme": "https",
        "ome.io/ingress-additional-domains": "a.org, b.org",
        "ome.io/ingress-disable-creation": "false",
        "ome.io/ingress-path-template": "",
    }
    resolved = SHIPPED_INGRESS.for_service(annotations)
    assert resolved.ingress_domain == "example.org"
    assert resolved.domain_template == "{{ .Name }}.{{ .IngressDomain }}"
    assert resolved.url_scheme == "https"
    assert resolved.additional_ingress_domains == ("a.org", "b.org")
    assert not resolved.disable_ingress_creation
    assert SHIPPED_INGRESS.for_service({"ome.io/ingress-domain": ""}) == SHIPPED_INGRESS
