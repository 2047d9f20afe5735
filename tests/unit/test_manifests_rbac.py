"""The shipped manifests, read as YAML: least-privilege RBAC and hardened workloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.cli.main import build_parser
from ome.cli.operator import LEASE_NAME
from ome.serving.config import parse_config
from ome.serving.dedicated import RESERVATION_CLASS, WORKLOAD_CLASS
from ome.serving.deployment_mode import DeploymentMode
from ome.webhooks.configuration import (
    MUTATING_NAME,
    VALIDATING_NAME,
    ServiceRef,
    webhook_configurations,
)
from ome.webhooks.setup import SECRET_NAME

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
OWN = [path for path in sorted(MANIFESTS.rglob("*.yaml")) if "crds" not in path.parts]


def documents() -> list[dict[str, Any]]:
    return [doc for path in OWN for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents() if doc["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in of_kind(kind) if doc["metadata"]["name"] == name]
    return found


def test_the_kustomization_lists_every_manifest_and_every_crd() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    crds = {f"crds/{path.name}" for path in (MANIFESTS / "crds").glob("ome.io_*.yaml")}
    own = {str(path.relative_to(MANIFESTS)) for path in OWN} - {"kustomization.yaml"}
    assert listed == crds | own
    assert kustomization["namespace"] == "ome"


def test_no_role_has_a_wildcard_verb_resource_or_group() -> None:
    roles = of_kind("ClusterRole") + of_kind("Role")
    assert {r["metadata"]["name"] for r in roles} == {"ome-manager-role", "ome-model-agent-role"}
    for role in roles:
        assert "aggregationRule" not in role
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups", "resourceNames"):
                values = rule.get(field, [])
                assert not any("*" in value for value in values), (role["metadata"], rule)
            assert rule["verbs"], rule
            assert rule["resources"], rule
            assert "nonResourceURLs" not in rule


def rules(kind: str, name: str) -> list[dict[str, Any]]:
    return list(named(kind, name)["rules"])


def grants(rule_list: list[dict[str, Any]], group: str, resource: str) -> set[str]:
    return {
        verb
        for rule in rule_list
        if group in rule["apiGroups"] and resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("name", ["ome-manager-role", "ome-model-agent-role"])
def test_no_cluster_role_lists_or_watches_secrets(name: str) -> None:
    assert not grants(rules("ClusterRole", name), "", "secrets") & {"list", "watch"}


def test_the_manager_escalates_nothing() -> None:
    """Granting what it does not hold is what escalate/bind/impersonate would allow."""
    for kind in ("ClusterRole", "Role"):
        for rule in rules(kind, "ome-manager-role"):
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule


def test_the_manager_holds_what_it_grants_the_router() -> None:
    """RBAC refuses a Role granting more than its creator holds."""
    assert grants(rules("ClusterRole", "ome-manager-role"), "", "pods") >= {"get", "list", "watch"}


def test_webhook_configurations_are_touched_only_by_name() -> None:
    for rule in rules("ClusterRole", "ome-manager-role"):
        if "admissionregistration.k8s.io" not in rule["apiGroups"]:
            continue
        if set(rule["verbs"]) - {"list", "watch"}:
            assert rule["resourceNames"], rule


def test_names_in_the_roles_are_the_ones_the_manager_uses() -> None:
    """A rule confined by name grants nothing once the code renames the object."""
    named_in = {
        (group, resource): set(rule["resourceNames"])
        for kind in ("ClusterRole", "Role")
        for rule in rules(kind, "ome-manager-role")
        if "resourceNames" in rule
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    admission = "admissionregistration.k8s.io"
    assert named_in == {
        ("coordination.k8s.io", "leases"): {LEASE_NAME},
        ("", "secrets"): {SECRET_NAME},
        (admission, "mutatingwebhookconfigurations"): {MUTATING_NAME},
        (admission, "validatingwebhookconfigurations"): {VALIDATING_NAME},
        ("scheduling.k8s.io", "priorityclasses"): {RESERVATION_CLASS, WORKLOAD_CLASS},
    }


def test_bindings_give_each_role_to_its_own_service_account() -> None:
    accounts = {doc["metadata"]["name"] for doc in of_kind("ServiceAccount")}
    assert accounts == {"ome-controller-manager", "ome-model-agent"}
    expected = {
        "ome-manager-role": "ome-controller-manager",
        "ome-model-agent-role": "ome-model-agent",
    }
    bindings = of_kind("ClusterRoleBinding") + of_kind("RoleBinding")
    assert len(bindings) == 4
    for binding in bindings:
        (subject,) = binding["subjects"]
        assert subject == {
            "kind": "ServiceAccount",
            "name": expected[binding["roleRef"]["name"]],
            "namespace": "ome",
        }
        assert binding["roleRef"]["kind"] == binding["kind"].removesuffix("Binding")


def pod_spec(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = named(kind, name)["spec"]["template"]["spec"]
    return spec


def assert_hardened(pod: dict[str, Any], container: dict[str, Any]) -> None:
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]
    assert context.get("privileged") is not True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]


def test_the_manager_deployment_is_hardened() -> None:
    pod = pod_spec("Deployment", "ome-controller-manager")
    assert pod["serviceAccountName"] == "ome-controller-manager"
    (container,) = pod["containers"]
    assert_hardened(pod, container)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"][0] == "run"
    assert "--leader-elect" in container["args"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081, "webhook-server": 9443}
    # A read-only root needs somewhere writable for certificates and scratch files.
    assert {"/tmp"} <= {mount["mountPath"] for mount in container["volumeMounts"]}


def test_the_agent_daemonset_is_hardened() -> None:
    pod = pod_spec("DaemonSet", "ome-model-agent-daemonset")
    assert pod["serviceAccountName"] == "ome-model-agent"
    (container,) = pod["containers"]
    assert_hardened(pod, container)
    assert container["args"][0] == "agent"
    # The one root step: handing the hostPath models root to the agent's user.
    (init,) = pod["initContainers"]
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
    assert init["command"][0] == "chown"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert str(container["securityContext"]["runAsUser"]) in init["command"][1]


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", "ome-controller-manager"), ("DaemonSet", "ome-model-agent-daemonset")],
)
def test_the_workloads_pass_arguments_the_cli_accepts(kind: str, name: str) -> None:
    (container,) = pod_spec(kind, name)["containers"]
    args = build_parser().parse_args(container["args"])  # exits on an unknown flag
    assert args.command == container["args"][0]
    assert args.log_format == "json"


def test_webhooks_point_at_the_manager_and_fail_closed() -> None:
    service = named("Service", "ome-webhook-server-service")
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (443, "webhook-server")
    paths = set()
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        (configuration,) = of_kind(kind)
        for webhook in configuration["webhooks"]:
            assert webhook["failurePolicy"] == "Fail"
            assert webhook["sideEffects"] == "None"
            assert webhook["admissionReviewVersions"] == ["v1"]
            target = webhook["clientConfig"]["service"]
            assert (target["name"], target["namespace"], target["port"]) == (
                "ome-webhook-server-service",
                "ome",
                443,
            )
            # The manager injects the CA; a stale one here would be applied over it.
            assert "caBundle" not in webhook["clientConfig"]
            paths.add(target["path"])
    assert paths == {
        "/mutate-ome-io-v1beta1-inferenceservice",
        "/validate-ome-io-v1beta1-inferenceservice",
        "/validate-ome-io-v1beta1-servingruntime",
        "/validate-ome-io-v1beta1-clusterservingruntime",
        "/validate-ome-io-v1beta1-finetunedweight",
        "/validate-ome-io-v1beta1-benchmarkjob",
        "/mutate-pods",
        "/validate-ome-io-v1beta1-dedicatedaicluster",
        "/mutate-v1-pod-dedicatedaicluster",
    }


def test_webhook_configurations_are_what_the_manager_generates() -> None:
    """The manager injects the CA into these; they must say what it would install."""
    service = named("Service", "ome-webhook-server-service")["metadata"]
    generated = webhook_configurations(service=ServiceRef(service["namespace"], service["name"]))
    for expected in generated:
        shipped = named(expected["kind"], expected["metadata"]["name"])
        assert shipped["webhooks"] == expected["webhooks"]


def test_the_shipped_config_parses_with_upstream_defaults() -> None:
    configmap = named("ConfigMap", "inferenceservice-config")
    config = parse_config(configmap["data"])
    assert config.default_deployment_mode == DeploymentMode.RAW_DEPLOYMENT
    assert config.ingress.disable_ingress_creation is True
    assert config.ingress.ingress_domain == "svc.cluster.local"


def test_the_agent_bounds_its_malloc_arenas() -> None:
    """Without it each download thread's arena keeps its freed read buffers and an
    agent's RSS doubles over a few downloads (the chaos suite's agent scenarios)."""
    daemonset = named("DaemonSet", "ome-model-agent-daemonset")
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MALLOC_ARENA_MAX"] == "2"
