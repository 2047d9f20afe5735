"""FineTunedWeights on a node: the rules the agent adds to a base model's.

A weight is meant for the nodes where its base model is ``Ready`` (by the base model's
node label) and that its own ``storage.nodeSelector`` / ``nodeAffinity`` admit. It is
downloaded as a base model is, then checked: a PEFT adapter needs ``adapter_config.json``
and its weights (``adapter_model.safetensors`` or ``.bin``); merged weights
(``configuration.merged_weights: true``) need a whole model (a config and weights). What
the check learns is back-filled into unset spec fields: ``configuration.lora_rank`` (the
adapter's ``r``) and ``storage.path`` (where the agent put it, which serving pods mount).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ome.agent.download import DownloadError, FailureReason
from ome.agent.metadata import MetadataError, read_model_metadata
from ome.agent.placement import PlacementError, destination
from ome.agent.storage_uri import LocalUri, PvcUri, StorageUri
from ome.client import KubeObject
from ome.serving.adapters import LORA_RANK_KEY, MERGED_WEIGHTS_KEY
from ome.serving.naming import MODEL_READY, model_ready_label

KIND = "FineTunedWeight"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_MODEL_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def base_model_label(weight: KubeObject) -> str:
    """The node label saying the weight's base model is on the node: a BaseModel's when
    ``baseModelRef`` names a namespace, else a ClusterBaseModel's."""
    ref = (weight.get("spec") or {}).get("baseModelRef") or {}
    return model_ready_label(str(ref.get("name", "")), ref.get("namespace") or None)


def base_model_ready(weight: KubeObject, node_labels: Mapping[str, str]) -> bool:
    return node_labels.get(base_model_label(weight)) == MODEL_READY


def is_merged(weight: KubeObject) -> bool:
    return ((weight.get("spec") or {}).get("configuration") or {}).get(MERGED_WEIGHTS_KEY) is True


@dataclass(frozen=True)
class Checked:
    """What a downloaded weight turned out to be."""

    rank: int | None = None


def check_weight(weight: KubeObject, path: Path) -> Checked:
    """The downloaded files are what the weight says: an adapter or a merged model;
    :class:`DownloadError` (``Invalid``) naming what is missing otherwise."""
    if is_merged(weight):
        _check_full_model(path)
        return Checked()
    return Checked(rank=_check_adapter(path))


def _check_adapter(path: Path) -> int | None:
    config_file = path / ADAPTER_CONFIG
    if not config_file.is_file():
        raise DownloadError(
            FailureReason.INVALID,
            f"no {ADAPTER_CONFIG} in {path}: not a PEFT adapter (merged weights need "
            f"spec.configuration.{MERGED_WEIGHTS_KEY}: true)",
        )
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as err:
        message = f"{ADAPTER_CONFIG} is unreadable: {err}"
        raise DownloadError(FailureReason.INVALID, message) from None
    if not isinstance(config, dict):
        raise DownloadError(FailureReason.INVALID, f"{ADAPTER_CONFIG} is not a JSON object")
    if not any((path / name).is_file() for name in ADAPTER_WEIGHTS):
        raise DownloadError(
            FailureReason.INVALID,
            f"{ADAPTER_CONFIG} but no adapter weights ({' or '.join(ADAPTER_WEIGHTS)}) in {path}",
        )
    rank = config.get("r")
    return rank if isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 else None


def _check_full_model(path: Path) -> None:
    try:
        read_model_metadata(path)
    except MetadataError as err:
        raise DownloadError(
            FailureReason.INVALID, f"merged weights must be a whole model: {err}"
        ) from None
    if not any(f.suffix in _MODEL_WEIGHT_SUFFIXES for f in path.rglob("*") if f.is_file()):
        raise DownloadError(
            FailureReason.INVALID, f"merged weights must be a whole model: no weights in {path}"
        )


def backfill(weight: KubeObject, checked: Checked, placed: Path | None) -> dict[str, Any]:
    """The spec merge patch filling unset fields with what the agent learned; empty when
    there is nothing to fill. ``placed``: where the files are, None when the weight is
    read where it is (``local://``, ``pvc://``) or the agent should not say."""
    spec = weight.get("spec") or {}
    patch: dict[str, Any] = {}
    configuration = spec.get("configuration") or {}
    if checked.rank is not None and LORA_RANK_KEY not in configuration:
        patch["configuration"] = {LORA_RANK_KEY: checked.rank}
    storage = spec.get("storage") or {}
    if placed is not None and not storage.get("path"):
        patch["storage"] = {"path": str(placed)}
    return patch


def published_path(storage: KubeObject, uri: StorageUri, models_root: Path) -> Path | None:
    """The node path to back-fill as ``storage.path``: where a download goes; None for
    weights read where they are (a claim's path is the agent's mount, not the node's)."""
    if isinstance(uri, LocalUri | PvcUri):
        return None
    try:
        return destination(storage, uri, models_root)
    except PlacementError:
        return None


def fingerprint_basis(weight: KubeObject, uri: StorageUri | None, models_root: Path) -> KubeObject:
    """The weight as its fingerprint should see it: a ``storage.path`` equal to where the
    agent would put the files anyway is the agent's own back-fill, not a new weight."""
    spec = weight.get("spec") or {}
    storage = dict(spec.get("storage") or {})
    if uri is not None and storage.get("path"):
        pathless = {k: v for k, v in storage.items() if k != "path"}
        default = published_path(pathless, uri, models_root)
        if default is not None and str(default) == storage["path"]:
            storage.pop("path")
    return {**weight, "spec": {**spec, "storage": storage}}
