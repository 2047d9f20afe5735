"""``ome render`` and ``ome explain`` of upstream's multi-node and prefill/decode samples,
against upstream's catalogue with the models' metadata back-filled (tests/compat/
backfill.py), checked against facts read from upstream's Go source (OME v0.1.5, paths
below pkg/controller/v1beta1/inferenceservice unless said otherwise)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.cli.main import main
from tests.compat.backfill import backfilled_catalogue
from tests.compat.reference import CONFIG, needs_reference

pytestmark = needs_reference
SAMPLES = CONFIG / "samples" / "isvc"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue")
    (folder / "catalogue.yaml").write_text(yaml.safe_dump_all(backfilled_catalogue()))
    return folder / "catalogue.yaml"


def render(sample: str, catalogue: Path, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    assert (
        main(["render", "-o", "json", "-f", str(SAMPLES / sample), "--catalog", str(catalogue)])
        == 0
    )
    objects: list[Any] = json.loads(capsys.readouterr().out)
    return objects


def one(objects: list[Any], kind: str, name: str) -> Any:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def check_group(
    objects: list[Any], isvc: str, component: str, runtime: str, *, size: int, gpus: int
) -> None:
    name = f"{isvc}-{component}"
    # pkg/constants/constants.go LWSName: "lws-" + the last 50 characters of the name
    lws = one(objects, "LeaderWorkerSet", f"lws-{name}")
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    spec = lws["spec"]
    # reconcilers/lws/lws_reconciler.go createLWS: replicas = minReplicas, size = worker
    # size + 1, LeaderCreated, shared subdomain, whole-group restarts, rolling 1/1
    assert spec["replicas"] == 1
    assert spec["startupPolicy"] == "LeaderCreated"
    assert spec["networkConfig"] == {"subdomainPolicy": "Shared"}
    assert spec["rolloutStrategy"]["rollingUpdateConfiguration"] == {
        "maxSurge": 1,
        "maxUnavailable": 1,
    }
    template = spec["leaderWorkerTemplate"]
    assert template["size"] == size
    assert template["restartPolicy"] == "RecreateGroupOnPodRestart"
    # components/base.go ProcessBaseLabels; the leader adds app and ray.io/node-type=head
    labels = {"ome.io/inferenceservice": isvc, "component": component, "serving-runtime": runtime}
    assert lws["metadata"]["labels"].items() >= labels.items()
    leader, worker = template["leaderTemplate"], template["workerTemplate"]
    assert (
        leader["metadata"]["labels"].items()
        >= (labels | {"app": name, "ray.io/node-type": "head"}).items()
    )
    assert worker["metadata"]["labels"].items() >= labels.items()
    assert "app" not in worker["metadata"]["labels"]
    for pod in (leader["spec"], worker["spec"]):
        # the runtime's leader and worker: host network for RDMA
        assert pod["hostNetwork"] is True
        assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
        main_container = next(c for c in pod["containers"] if c["name"] == "ome-container")
        variables = env(main_container)
        # components/engine.go and decoder.go: PARALLELISM_SIZE = GPUs per pod x pods of a
        # group; components/base.go UpdateEnvVariables: MODEL_PATH = the model's path
        assert variables["PARALLELISM_SIZE"] == str(gpus * size)
        assert variables["MODEL_PATH"].startswith("/raid/models/")
        # the LeaderWorkerSet controller gives these to every pod of a group
        # (sigs.k8s.io/lws api/leaderworkerset/v1/leaderworkerset_types.go)
        command = " ".join(main_container["command"])
        for variable in ("LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX"):
            assert f"$({variable})" in command
        # the rdma.ome.io annotations ask for the oci-roce profile
        # (pkg/webhook/admission/pod/rdma_injector.go)
        mounts = {m["name"] for m in main_container["volumeMounts"]}
        assert {"dshm", "devinf"} <= mounts <= {v["name"] for v in pod["volumes"]}
    # reconcilers/multinode/multinode_reconciler.go: a Service named after the component
    # to the leaders (upstream selects ray.io/node-type=head alone, see docs/serving.md)
    service = one(objects, "Service", name)
    assert service["spec"]["selector"]["ray.io/node-type"] == "head"
    # no autoscaler and no disruption budget for a LeaderWorkerSet
    assert not [
        o
        for o in objects
        if o["metadata"]["name"] == name
        and o["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
    ]


def test_deepseek_r1_serves_across_two_nodes(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = render("deepseek-ai/deepseek-r1.yaml", catalogue, capsys)
    # srt-deepseek-rdma: a leader and worker.size 1, 8 GPUs each
    check_group(objects, "deepseek-r1", "engine", "srt-deepseek-rdma", size=2, gpus=8)
    assert [o["kind"] for o in objects] == ["ConfigMap", "LeaderWorkerSet", "Service", "Service"]


@pytest.mark.parametrize(
    "case",
    [
        ("deepseek-ai/deepseek-v3-pd.yaml", "deepseek-v3", "srt-deepseek-rdma-pd", 2, 2),
        ("moonshotai/kimi-k2-pd.yaml", "kimi-k2-instruct", "srt-kimi-k2-pd", 4, 12),
    ],
    ids=["deepseek-v3-pd", "kimi-k2-pd"],
)
def test_prefill_decode_on_multi_node_runtimes(
    case: tuple[str, str, str, int, int], catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sample, service, runtime, and the group sizes of the runtime's engine and decoder
    (worker.size + 1)."""
    sample, isvc, runtime, engine_size, decoder_size = case
    objects = render(sample, catalogue, capsys)
    check_group(objects, isvc, "engine", runtime, size=engine_size, gpus=8)
    check_group(objects, isvc, "decoder", runtime, size=decoder_size, gpus=8)
    router = f"{isvc}-router"
    # reconcilers/rbac/rbac_reconciler.go: the router discovers pods with its own account
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        one(objects, kind, router)
    deployment = one(objects, "Deployment", router)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == router
    (container,) = pod["containers"]
    # the runtime's router finds the prefill (engine) and decode (decoder) leaders
    arguments = " ".join(container["command"] + container.get("args", []))
    assert re.search(
        r"--prefill-selector[ =]component=engine leaderworkerset\.sigs\.k8s\.io/worker-index=0",
        arguments,
    )
    assert re.search(
        r"--decode-selector[ =]component=decoder leaderworkerset\.sigs\.k8s\.io/worker-index=0",
        arguments,
    )
    # reconcilers/external_service: the entry Service fronts the router
    external = one(objects, "Service", isvc)
    assert external["spec"]["selector"] == {"component": "router", "ome.io/inferenceservice": isvc}


def test_a_decoder_from_a_runtime_without_decoder_config(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Upstream fails mid-reconcile ("no containers found in pod spec and no runner spec
    provided", reconcilers/common/podspec_reconciler.go); here the reason says why."""
    sample = SAMPLES / "meta/llama3-3-70b-instruct.yaml"
    assert main(["render", "-f", str(sample), "--catalog", str(catalogue)]) == 1
    err = capsys.readouterr().err
    assert "DecoderConfigMissing: spec.decoder asks for a decoder, but runtime " in err
    assert "'srt-llama-3-3-70b-instruct' has no decoderConfig" in err


def test_explain_reports_no_unsupported_sample(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["explain", "-f", str(SAMPLES), "--catalog", str(catalogue)])
    out = capsys.readouterr().out
    reports = re.split(r"^(?=InferenceService )", out, flags=re.MULTILINE)[1:]
    assert len(reports) == 148
    assert not [r for r in reports if "error: UnsupportedDeploymentMode" in r]

    def sample(report: str) -> str:
        found = re.search(r"samples/isvc/(\S+):\d+\)", report)
        assert found is not None
        return found.group(1)

    # the engines with minReplicas 0 run as Knative Services
    serverless = {sample(r) for r in reports if "Serverless: Service" in r}
    assert serverless == {
        "mistralai/mistral-7b-instruct-v0-2.yaml",
        "mistralai/mistral-small-3-1-24b-instruct-2503.yaml",
        "mistralai/mixtral-8x7b-instruct-v0-1.yaml",
    }
    multi_node = {sample(r) for r in reports if "MultiNode: LeaderWorkerSet" in r}
    assert multi_node == {
        "deepseek-ai/deepseek-r1.yaml",
        "deepseek-ai/deepseek-v3-pd.yaml",
        "moonshotai/kimi-k2-pd.yaml",
    }
    # every sample with a decoder: served, or refused for the reason upstream fails on
    decoders = {
        sample(r): r for r in reports if "decoder:" in SAMPLES.joinpath(sample(r)).read_text()
    }
    assert set(decoders) == {
        "deepseek-ai/deepseek-v3-pd.yaml",
        "moonshotai/kimi-k2-pd.yaml",
        "meta/llama3-3-70b-instruct.yaml",
    }
    assert "error: DecoderConfigMissing" in decoders["meta/llama3-3-70b-instruct.yaml"]
