"""``--samples``: the objects found under a folder, the namespaces they need, and the GPUs
their services need against the nodes'."""

from __future__ import annotations

from pathlib import Path

from ome.cli.samples import gpu_lines, namespaces_needed, read_samples

MODEL = """\
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: llama}
spec:
  modelFormat: {name: safetensors, version: "1.0.0"}
  modelFramework: {name: transformers}
  modelArchitecture: LlamaForCausalLM
  storage: {storageUri: "hf://meta/llama"}
"""
RUNTIME = """\
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt-llama}
spec:
  supportedModelFormats:
  - modelFormat: {name: safetensors, version: "1.0.0"}
    modelFramework: {name: transformers}
    modelArchitecture: LlamaForCausalLM
    autoSelect: true
  engineConfig:
    runner:
      name: ome-container
      image: sglang:1
      resources: {limits: {nvidia.com/gpu: 8}}
"""
SERVICES = """\
apiVersion: v1
kind: Namespace
metadata: {name: declared}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: chat, namespace: team}
spec:
  model: {name: llama}
  engine: {minReplicas: 3}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: other, namespace: declared}
spec:
  model: {name: not-here}
---
- not an object
"""


def _tree(root: Path) -> Path:
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "nested" / "deeper" / "services.yaml").write_text(SERVICES)
    (root / "runtime.yml").write_text(RUNTIME)
    (root / "broken.yaml").write_text("a: [unclosed\n")
    (root / "notes.txt").write_text("not a manifest")
    return root


def test_samples_are_read_recursively_with_a_line_per_problem(tmp_path: Path) -> None:
    found = read_samples([_tree(tmp_path)])
    assert [(o["kind"], o["metadata"]["name"]) for o in found.objects] == [
        ("Namespace", "declared"),
        ("InferenceService", "chat"),
        ("InferenceService", "other"),
        ("ClusterServingRuntime", "srt-llama"),
    ]
    assert len(found.problems) == 2
    assert found.problems[0].startswith(f"{tmp_path / 'broken.yaml'}: unreadable")
    assert found.problems[1] == (
        f"{tmp_path / 'nested' / 'deeper' / 'services.yaml'}:18: "
        "not an object with apiVersion, kind, name"
    )


def test_the_namespaces_named_are_needed(tmp_path: Path) -> None:
    objects = read_samples([_tree(tmp_path)]).objects
    assert namespaces_needed(objects) == ["declared", "team"]


def test_gpu_lines_plan_the_services_against_samples_and_catalogue(tmp_path: Path) -> None:
    objects = read_samples([_tree(tmp_path)]).objects
    catalogue = read_samples([_model(tmp_path / "catalogue")]).objects
    assert gpu_lines(objects, catalogue, {}, [8, 8]) == [
        "GPUs: 1 service need 24 in 3 pods; the cluster has 16 on 2 nodes",
        "  1 more pod will stay Pending: 8 GPUs short (add nodes: --nodes, --node-group)",
        "  1 service not counted (not plannable yet: BaseModelNotFound 1); "
        "`ome status isvc` tells why once they are applied",
    ]


def _model(directory: Path) -> Path:
    directory.mkdir()
    (directory / "model.yaml").write_text(MODEL)
    return directory
