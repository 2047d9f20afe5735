"""Upstream OME's reference manifests, expected in ../shared/ome-reference beside the
repository, and what a faithful implementation must say about them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.api.documents import Document, manifest_files, read_documents

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = REPOSITORY.parent / "shared" / "ome-reference"
CONFIG = REFERENCE / "config"
FOLDERS = ("models", "runtimes", "samples")
CRD_DIR = REPOSITORY / "manifests" / "crds"
# One small model, its SGLang runtime and its service: the controller tests' usual sample.
QWEN_MODEL = CONFIG / "models" / "Qwen" / "Qwen1.5-7B-Chat.yaml"
QWEN_RUNTIME = CONFIG / "runtimes" / "srt" / "Qwen" / "Qwen1.5-7B-Chat-rt.yaml"
QWEN_SAMPLE = CONFIG / "samples" / "isvc" / "Qwen" / "Qwen1.5-7B-Chat.yaml"

# Upstream ships two malformed samples: their fields are not in upstream's own CRD either
# (its API server rejects them the same way, see test_coverage).
MALFORMED: dict[str, tuple[str, ...]] = {
    "samples/isvc/LGAI-EXAONE/exaone-3-5-7-8b-instruct-isvc.yaml": (
        "spec.deployment",
        "spec.model.modelName",
        "spec.model.runtime",
    ),
    "samples/isvc/zai-org/glm-4-5v.yaml": (
        "spec.maxReplicas",
        "spec.minReplicas",
        "spec.modelRef",
        "spec.scaleTarget",
    ),
}

needs_reference = pytest.mark.skipif(
    not CONFIG.is_dir(), reason=f"upstream's reference manifests are not in {REFERENCE}"
)
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def reference_documents() -> list[Document]:
    """Every object in the compatibility folders, named by its path below config/.
    kustomization.yaml files are kustomize's build input, not Kubernetes objects."""
    found: list[Document] = []
    for folder in FOLDERS:
        for path in manifest_files([CONFIG / folder]):
            if path.name != "kustomization.yaml":
                found += read_documents(path.read_text(), str(path.relative_to(CONFIG)))
    return found


def upstream_crds() -> dict[str, dict[str, Any]]:
    """Upstream's full CRDs by kind."""
    crds = (
        yaml.load(p.read_text(), Loader=Loader) for p in (CONFIG / "crd" / "full").glob("*_*.yaml")
    )
    return {crd["spec"]["names"]["kind"]: crd for crd in crds}
