"""``ome validate`` and ``ome manifests crds`` from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from ome.api.v1beta1 import KINDS
from ome.cli import manifests
from ome.cli.main import main
from ome.serving.sizes import ACCEPTED_SIZES

VALID = """\
apiVersion: v1
kind: Namespace
metadata: {name: llama}
---
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: llama, namespace: llama}
spec:
  model: {name: llama-3-1-8b-instruct}
  engine: {minReplicas: 1}
"""
INVALID = """\
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: exaone}
spec:
  model: {modelName: exaone}
  deployment: {minReplicas: 1}
"""


def test_validate_prints_one_line_per_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "llama.yaml").write_text(VALID)
    assert main(["validate", "-f", str(tmp_path / "ok")]) == 0
    out, err = capsys.readouterr()
    where = tmp_path / "ok" / "llama.yaml"
    assert out.splitlines() == [
        f"{where}:1: Namespace/llama: skipped (not an ome.io object)",
        f"{where}:5: InferenceService/llama: OK",
        "2 objects: 1 skipped, 1 valid",
    ]
    assert err == ""


def test_validate_fails_on_an_invalid_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text(INVALID)
    assert main(["validate", "-f", str(good), "-f", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == (
        f"{bad}:1: InferenceService/exaone: invalid: spec.model.name: Required value; "
        "spec.model.modelName: unknown field; spec.deployment: unknown field"
    )


def test_validate_reports_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    assert main(["validate", "-f", str(broken), str(tmp_path / "missing.yaml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{broken}: error: while parsing a flow sequence")
    assert out[1].startswith(f"{tmp_path / 'missing.yaml'}: error: [Errno 2]")


def test_validate_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(VALID))
    assert main(["validate", "-f", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "-:5: InferenceService/llama: OK"


SIZES = """\
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt}
spec:
  modelSizeRange: {min: 1_000M, max: NaN}
---
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: llama}
spec:
  modelParameterSize: 8 B
  storage: {storageUri: "hf://meta/llama"}
---
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: hex}
spec:
  modelParameterSize: 0x1p3B
  storage: {storageUri: "hf://meta/llama"}
"""


def test_validate_names_the_accepted_sizes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SIZES))
    assert main(["validate", "-f", "-"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"-:1: ClusterServingRuntime/srt: invalid: spec.modelSizeRange.max: "
        f"'NaN' is not a number; accepted: {ACCEPTED_SIZES}",
        f"-:7: ClusterBaseModel/llama: invalid: spec.modelParameterSize: "
        f"'8 B' is not a size; accepted: {ACCEPTED_SIZES}",
        "-:14: ClusterBaseModel/hex: OK",
        "3 objects: 2 invalid, 1 valid",
    ]


def test_validate_needs_a_path() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    assert exited.value.code == 2


def test_manifests_crds_writes_checks_and_prunes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # two small kinds keep it quick; the committed CRDs are checked in test_crd
    monkeypatch.setattr(manifests, "KINDS", {k: KINDS[k] for k in ("BaseModel", "BenchmarkJob")})
    out = tmp_path / "crds"
    assert main(["manifests", "crds", "--dir", str(out)]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert written == [
        "minimal/ome.io_basemodels.yaml",
        "minimal/ome.io_benchmarkjobs.yaml",
        "ome.io_basemodels.yaml",
        "ome.io_benchmarkjobs.yaml",
    ]
    edited = out / "ome.io_basemodels.yaml"
    original = edited.read_text()
    crd = yaml.safe_load(original)
    crd["spec"]["scope"] = "Cluster"
    edited.write_text(yaml.safe_dump(crd))
    dropped = out / "minimal" / "ome.io_widgets.yaml"
    dropped.write_text("{}")
    capsys.readouterr()

    assert main(["manifests", "crds", "--dir", str(out), "--check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{edited}: out of date (run: ome manifests crds --dir {out})",
        f"{dropped}: out of date (run: ome manifests crds --dir {out})",
    ]
    assert main(["manifests", "crds", "--dir", str(out)]) == 0
    assert edited.read_text() == original
    assert not dropped.exists()
    assert main(["manifests", "crds", "--dir", str(out), "--check"]) == 0
