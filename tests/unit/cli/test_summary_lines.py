"""``ome validate`` and ``ome explain`` print their summary as the last line of stdout,
after the results: on stderr, a reader that collects the two streams apart showed it glued
to the last result (``…: OK2 objects: 2 valid``). ``ome explain`` says when a model has no
metadata yet instead of printing an empty ``(mt:)``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ome.cli.main import main

MODELS = """\
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: llama}
spec:
  modelFormat: {name: safetensors, version: "1.0.0"}
  modelArchitecture: LlamaForCausalLM
  storage: {storageUri: "hf://meta/llama"}
---
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: bare}
spec:
  storage: {storageUri: "hf://org/bare"}
  modelParameterSize: 7B
---
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: broken}
spec: {supportedModelFormats: 3}
"""
SERVICE = """\
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: chat, namespace: team}
spec:
  model: {name: bare}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "models.yaml").write_text(MODELS)
    (tmp_path / "service.yaml").write_text(SERVICE)
    return tmp_path / "service.yaml", tmp_path / "models.yaml"


def test_validate_ends_stdout_with_its_summary(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, models = files
    assert main(["validate", "-f", str(models)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[:2] == [
        f"{models}:1: ClusterBaseModel/llama: OK",
        f"{models}:9: ClusterBaseModel/bare: OK",
    ]
    assert out.endswith("\n3 objects: 1 invalid, 2 valid\n")
    assert err == ""


def test_explain_ends_stdout_with_its_summary_and_notes_skips_there_too(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    service, models = files
    assert main(["explain", "-f", str(service), "--catalog", str(models)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{models}:16: ClusterServingRuntime/broken: skipped, invalid"
    assert lines[-1] == "1 services: 1 without a runtime, 0 not servable with theirs"
    assert err == ""


def test_explain_says_a_model_has_no_metadata_yet(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    service, models = files
    main(["explain", "-f", str(service), "--catalog", str(models)])
    out = capsys.readouterr().out
    assert "  model: ClusterBaseModel bare (no metadata yet, 7B)\n" in out
    assert "(mt:" not in out
