"""LeaderWorkerSet's webhook configurations, rewritten for a controller on loopback."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.testing import leaderworkerset

# The shape of upstream's config/webhook: kubebuilder's manifests and a kustomize patch
# that narrows the pod webhook to LeaderWorkerSet's pods.
MANIFESTS = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: validating-webhook-configuration
webhooks:
- name: vleaderworkerset.kb.io
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /validate-set}
- name: vpod.kb.io
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /validate--v1-pod}
"""
PATCH = """
- op: replace
  path: /webhooks/1
  value:
    name: vpod.kb.io
    clientConfig:
      service: {name: webhook-service, namespace: system, path: /validate--v1-pod}
    objectSelector:
      matchExpressions: [{key: leaderworkerset.sigs.k8s.io/name, operator: Exists}]
"""
KUSTOMIZATION = """
resources: [manifests.yaml]
patches:
- path: validating-patch.yaml
  target: {kind: ValidatingWebhookConfiguration, name: validating-webhook-configuration}
"""


def module_files(directory: Path) -> Path:
    webhook = directory / "webhook"
    webhook.mkdir(parents=True)
    (webhook / "manifests.yaml").write_text(MANIFESTS)
    (webhook / "validating-patch.yaml").write_text(PATCH)
    (webhook / "kustomization.yaml").write_text(KUSTOMIZATION)
    return directory


def test_configurations_call_the_controller_by_url_with_our_ca(tmp_path: Path) -> None:
    files = module_files(tmp_path)
    [configuration] = leaderworkerset.webhook_configurations(
        files, "https://127.0.0.1:9555", b"PEM"
    )
    assert configuration["metadata"]["name"] == "lws-validating-webhook-configuration"
    ca = base64.b64encode(b"PEM").decode()
    assert [w["clientConfig"] for w in configuration["webhooks"]] == [
        {"url": "https://127.0.0.1:9555/validate-set", "caBundle": ca},
        {"url": "https://127.0.0.1:9555/validate--v1-pod", "caBundle": ca},
    ]


def test_the_kustomize_patch_limits_the_pod_webhook_to_group_pods(tmp_path: Path) -> None:
    files = module_files(tmp_path)
    [configuration] = leaderworkerset.webhook_configurations(files, "https://h", b"")
    assert "objectSelector" not in configuration["webhooks"][0]
    assert (
        configuration["webhooks"][1]["objectSelector"]
        == yaml.safe_load(PATCH)[0]["value"]["objectSelector"]
    )


def test_json_patch_operations() -> None:
    document: dict[str, Any] = {"a": [1, 2], "b": {"c~/d": 1}}
    leaderworkerset.apply_json_patch(
        document,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/a/0", "value": 0},
            {"op": "remove", "path": "/a/1"},
            {"op": "add", "path": "/b/e", "value": 2},
            {"op": "remove", "path": "/b/c~0~1d"},
        ],
    )
    assert document == {"a": [0, 3], "b": {"e": 2}}
    with pytest.raises(ValueError, match="unsupported JSON patch operation 'move'"):
        leaderworkerset.apply_json_patch(document, [{"op": "move", "path": "/a/0"}])


def test_the_controller_config_keeps_everything_on_loopback(tmp_path: Path) -> None:
    config = leaderworkerset.controller_config(9555, 9556, tmp_path)
    assert config["webhook"] == {"host": "127.0.0.1", "port": 9555, "certDir": str(tmp_path)}
    assert config["health"] == {"healthProbeBindAddress": "127.0.0.1:9556"}
    assert config["metrics"] == {"bindAddress": "0"}  # controller-runtime: "0" is off
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["internalCertManagement"] == {"enable": False}
