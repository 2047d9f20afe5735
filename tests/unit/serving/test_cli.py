"""``ome explain`` and ``ome render``: on a small catalogue, and over upstream's 148
InferenceService samples against upstream's catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ome.cli.main import main
from tests.compat.reference import CONFIG, needs_reference
from tests.unit.serving.helpers import ENGINE_ONLY, kinds_and_names

CATALOGUE = """\
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: llama}
spec:
  modelFormat: {name: safetensors, version: "1.0.0"}
  modelFramework: {name: transformers, version: "4.42.3"}
  modelArchitecture: LlamaForCausalLM
  storage: {storageUri: "hf://meta/llama", path: /raid/models/llama}
---
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt-llama}
spec:
  supportedModelFormats:
  - modelFormat: {name: safetensors, version: "1.0.0"}
    modelFramework: {name: transformers, version: "4.42.3"}
    modelArchitecture: LlamaForCausalLM
    autoSelect: true
  engineConfig:
    runner: {name: ome-container, image: "sglang:1"}
---
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt-mistral}
spec:
  supportedModelFormats:
  - modelFormat: {name: safetensors, version: "1.0.0"}
    modelFramework: {name: transformers, version: "4.42.3"}
    modelArchitecture: MistralForCausalLM
    autoSelect: true
"""
SERVICES = """\
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: chat, namespace: team}
spec:
  model: {name: llama}
  engine: {minReplicas: 1}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: lost, namespace: team}
spec:
  model: {name: falcon}
  engine: {minReplicas: 1}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "catalogue.yaml").write_text(CATALOGUE)
    (tmp_path / "services.yaml").write_text(SERVICES)
    return tmp_path / "services.yaml", tmp_path / "catalogue.yaml"


def test_explain(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    services, catalogue = files
    assert main(["explain", "-f", str(services), "--catalog", str(catalogue)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"InferenceService team/chat ({services}:1)",
        "  model: ClusterBaseModel llama "
        "(mt:safetensors:1.0.0:LlamaForCausalLM:transformers:4.42.3)",
        "  runtime: ClusterServingRuntime srt-llama (auto-selected)",
        "  candidates (2):",
        "    + ClusterServingRuntime srt-llama: selected: score 2",
        "    - ClusterServingRuntime srt-mistral: no supported format matches: architecture "
        "mismatch (model=LlamaForCausalLM, runtime=MistralForCausalLM)",
        "  components:",
        "    engine: RawDeployment: Deployment chat-engine",
        f"InferenceService team/lost ({services}:8)",
        "  error: BaseModelNotFound: no ClusterBaseModel 'falcon'",
        "2 services: 1 without a runtime, 0 not servable with theirs",
    ]
    assert err == ""


def test_render(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    services, catalogue = files
    assert main(["render", "-f", str(services), "--catalog", str(catalogue)]) == 1
    out, err = capsys.readouterr()
    assert kinds_and_names(list(yaml.safe_load_all(out))) == ENGINE_ONLY
    assert "&id" not in out
    lost = "InferenceService team/lost: BaseModelNotFound: no ClusterBaseModel 'falcon'"
    assert err == f"{services}:8: {lost}\n"


def test_render_json_with_a_config(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services, catalogue = files
    ingress = {"ingressGateway": "g", "ingressService": "s", "ingressDomain": "example.com"}
    config = {"kind": "ConfigMap", "data": {"ingress": json.dumps(ingress)}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    argv = ["render", "-o", "json", "-f", str(services), "--catalog", str(catalogue)]
    main([*argv, "--config", str(tmp_path / "config.yaml")])
    objects = json.loads(capsys.readouterr().out)
    (ingress_object,) = [o for o in objects if o["kind"] == "Ingress"]
    assert ingress_object["spec"]["rules"][0]["host"] == "chat.team.example.com"


MULTI_NODE_RUNTIME = """\
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt-llama-mn}
spec:
  supportedModelFormats:
  - modelFormat: {name: safetensors, version: "1.0.0"}
    modelFramework: {name: transformers, version: "4.42.3"}
    modelArchitecture: LlamaForCausalLM
  engineConfig:
    leader:
      runner:
        name: ome-container
        image: "sglang:1"
        resources: {limits: {nvidia.com/gpu: 8}}
    worker:
      size: 3
      runner: {name: ome-container, image: "sglang:1"}
"""
GROUPS = """\
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: big, namespace: team}
spec:
  model: {name: llama}
  runtime: {name: srt-llama-mn}
  engine: {minReplicas: 2}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: split, namespace: team}
spec:
  model: {name: llama}
  runtime: {name: srt-llama-mn}
  engine: {minReplicas: 1}
  decoder: {minReplicas: 1}
"""


def test_explain_shows_multi_node_groups_and_unservable_services(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, catalogue = files
    (tmp_path / "runtime.yaml").write_text(MULTI_NODE_RUNTIME)
    (tmp_path / "groups.yaml").write_text(GROUPS)
    argv = ["explain", "-f", str(tmp_path / "groups.yaml")]
    assert main([*argv, "--catalog", str(catalogue), str(tmp_path / "runtime.yaml")]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert (
        "    engine: MultiNode: LeaderWorkerSet lws-big-engine, 2 groups of 4 pods (8 GPUs each)"
        in lines
    )
    assert (
        "  error: DecoderConfigMissing: spec.decoder asks for a decoder, but runtime "
        "'srt-llama-mn' has no decoderConfig (and spec.decoder gives no runner or "
        "containers): remove spec.decoder or use a runtime with a decoderConfig"
    ) in lines
    assert lines[-1] == "2 services: 0 without a runtime, 1 not servable with theirs"
    assert err == ""


# Hand-checked against the spec (section 4) and the files: model facts, runtime entries,
# size ranges, autoSelect flags, and which of two same-named runtimes is applied last.
EXPECTED = {
    # auto-selection: the only eligible runtime (Qwen3ForCausalLM, 32B in 30B..34B)
    "Qwen/Qwen3-32B.yaml": "runtime: ClusterServingRuntime srt-qwen3-32b (auto-selected)",
    # three runtimes score 2 for Qwen2ForCausalLM; the two without a size range are
    # closest (distance 0), then the name decides
    "Qwen/Qwen2.5-32B-Instruct.yaml": (
        "runtime: ClusterServingRuntime srt-deepseek-r1-distill-qwen-14b (auto-selected)"
    ),
    # the model gives no size: three runtimes tie, the first name wins
    "openai/gpt-oss-20b.yaml": (
        "runtime: ClusterServingRuntime srt-gpt-oss-120b-grpc (auto-selected)"
    ),
    # named runtime, compatible
    "meta/llama-4-scout-17b-16e-instruct.yaml": (
        "runtime: ClusterServingRuntime srt-llama-4-scout-17b-16e-instruct (named in spec.runtime)"
    ),
    # the auto-selectable srt-qwen3-embedding-0-6b is replaced by the later file of that
    # name (autoSelect: false); the others want transformers 4.51.0, the model has 4.51.3
    "Qwen/Qwen3-Embedding-0.6B.yaml": "error: NoSupportingRuntime: no runtime supports model",
    # the named runtime requires an architecture and a framework the model lacks
    "Salesforce/xgen-7b-8k-inst.yaml": "error: RuntimeIncompatible: runtime 'srt-xgen-7b-8k-inst'",
    # the sample names a model that is not in the catalogue
    "meta/llama3-2-90b-vision-fp8-dynamic.yaml": (
        "error: BaseModelNotFound: no ClusterBaseModel 'llama-3-2-90b-fp8-dynamic'"
    ),
    # most catalogue models leave their metadata to the model agent
    "meta/llama-3-1-8b-instruct.yaml": "error: ModelFormatMissing: model 'llama-3-1-8b-instruct'",
    "zai-org/glm-4-5v.yaml": "invalid: spec.modelRef: unknown field",
}


@needs_reference
def test_explain_answers_every_upstream_sample_the_same_way_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", "-f", str(CONFIG / "samples" / "isvc")]
    argv += ["--catalog", str(CONFIG / "models"), str(CONFIG / "runtimes")]
    main(argv)
    first = capsys.readouterr().out
    main(argv)
    assert capsys.readouterr().out == first
    reports = re.split(r"^(?=InferenceService )", first, flags=re.MULTILINE)[1:]
    assert len(reports) == 148
    answers = {}
    for report in reports:
        path = re.search(r"samples/isvc/(\S+):\d+\)", report)
        assert path is not None
        answer = re.search(r"^  (runtime|error|invalid): .*$", report, flags=re.MULTILINE)
        assert answer is not None, report
        answers[path.group(1)] = answer.group(0).strip()
    for sample, expected in EXPECTED.items():
        assert answers[sample].startswith(expected), sample


BARE = """\
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: bare}
spec:
  storage: {storageUri: "hf://meta/bare"}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: chat, namespace: team}
spec:
  model: {name: bare}
  engine: {minReplicas: 1}
"""
LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "transformers_version": "4.42.3"}


def test_explain_fills_models_from_supplied_or_cached_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bare.yaml").write_text(BARE)
    (tmp_path / "catalogue.yaml").write_text(CATALOGUE)
    args = [
        "explain",
        "-f",
        str(tmp_path / "bare.yaml"),
        "--catalog",
        str(tmp_path / "catalogue.yaml"),
    ]
    assert main(args) == 1
    assert "ModelFormatMissing" in capsys.readouterr().out

    supplied = tmp_path / "supplied" / "bare"  # by the model's name
    supplied.mkdir(parents=True)
    (supplied / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    assert main([*args, "--model-metadata", str(supplied.parent)]) == 0
    assert "runtime: ClusterServingRuntime srt-llama (auto-selected)" in capsys.readouterr().out

    # --fetch-metadata: a finished fetch in the cache answers without the network.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    cached = tmp_path / "cache" / "ome" / "metadata" / "hf" / "meta" / "bare"
    cached.mkdir(parents=True)
    (cached / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (cached / ".ome-metadata").write_text("")
    assert main([*args, "--fetch-metadata"]) == 0
    assert "srt-llama (auto-selected)" in capsys.readouterr().out
    (cached / ".ome-metadata").unlink()  # an unfinished fetch is redone: the Hub is not there
    assert main([*args, "--fetch-metadata"]) == 1
    err = capsys.readouterr().err
    assert "cannot fetch model metadata from http://127.0.0.1:9/api/models/meta/bare" in err
