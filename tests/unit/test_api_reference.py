"""docs/reference/api.md is what tools/codegen/api_reference.py makes of the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.scripts import load_script

GENERATOR = Path(__file__).resolve().parents[2] / "tools" / "codegen" / "api_reference.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_script(GENERATOR)


def test_the_committed_reference_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_drift_is_reported(
    generator: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(generator, "REPO", tmp_path)
    monkeypatch.setattr(generator, "OUTPUT", tmp_path / "docs" / "reference" / "api.md")
    assert generator.main(["--check"]) == 1  # missing
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
    generator.OUTPUT.write_text(generator.OUTPUT.read_text().replace("isvc", "is"))
    assert generator.main(["--check"]) == 1
    assert "docs/reference/api.md is stale" in capsys.readouterr().out


def test_what_the_reference_says(generator: ModuleType) -> None:
    text = generator.render()
    # a kind's facts and columns
    assert "| **Short names** | `isvc` |" in text
    assert "| URL | string | `.status.url` |" in text
    # a field: JSON name, type, default, requiredness, description and constraints
    assert (
        '| `operator` | string | `"Equal"` |  | How versions compare: Equal, GreaterThan or '
        "GreaterThanOrEqual. |" in text
    )
    assert "| `name` | string |  | yes |  |" in text
    assert (
        "| `minReplicas` | integer |  |  | 0 makes the component scale to zero. Minimum 0. |"
        in text
    )
    # Kubernetes types are links, not tables; types extending one list their own fields
    kubernetes = "https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.37/"
    assert f"[ObjectMeta]({kubernetes}#objectmeta-v1-meta)" in text
    assert f"[DeploymentStrategy]({kubernetes}#deploymentstrategy-v1-apps)" in text
    assert "### PodSpec" not in text
    assert "### Container\n" not in text
    assert f"The fields of the Kubernetes [PodSpec]({kubernetes}#podspec-v1-core)" in text
    # every object type is described once
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(headings) == len(set(headings))
