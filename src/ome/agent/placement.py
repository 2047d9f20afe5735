"""Where a model goes on this node and which credential fetches it: pure rules over a
model's ``spec.storage``, tested without a cluster.

Every path the agent writes or deletes is inside its models root: ``storage.path`` is a
user's word, and a model must not be able to make the agent overwrite or remove
``/etc``. A ``local://`` model is read where it is and never written or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ome.agent.storage_uri import HfUri, LocalUri, PvcUri, StorageUri

TOKEN_KEY = "token"
"""The Secret key holding a Hub token unless ``parameters.secretKey`` names another."""


class PlacementError(ValueError):
    """The model cannot be placed on this node; the message names the field."""


def destination(storage: Mapping[str, Any], uri: StorageUri, models_root: Path) -> Path:
    """Where the model's files are on this node.

    ``local://`` and ``pvc://`` models stay where they are (a claim is read where the
    node has it mounted: ``{pvc_root}/{namespace}/{claim}/{subpath}``, see
    :func:`pvc_path`). Others go to ``storage.path`` when it is inside the models root,
    else to ``{models root}/{repository}`` for the Hub and ``{models root}/{scheme}/…``
    for the rest.
    """
    if isinstance(uri, LocalUri):
        return Path(uri.path)
    path = storage.get("path")
    if path:
        chosen = Path(path)
        if not chosen.is_absolute():
            raise PlacementError(f"spec.storage.path must be absolute, got {path!r}")
        if not is_inside(chosen, models_root) or chosen == models_root:
            raise PlacementError(
                f"spec.storage.path {path!r} is outside this agent's models root "
                f"{str(models_root)!r}"
            )
        return chosen
    if isinstance(uri, HfUri):
        return models_root / uri.repo_id
    return models_root / uri.scheme / _digest(json.dumps(storage.get("storageUri")))[:16]


def pvc_path(uri: PvcUri, model_namespace: str | None, pvc_root: Path) -> Path:
    namespace = uri.namespace or model_namespace
    if namespace is None:
        raise PlacementError(
            "spec.storage.storageUri: a ClusterBaseModel's pvc:// URI must name the "
            "claim's namespace (pvc://{namespace}:{claim}/{subpath})"
        )
    return pvc_root / namespace / uri.claim / uri.subpath.strip("/")


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it, judged on normalised paths ('..' does
    not escape)."""
    normal = PurePosixPath(*_normalise(path.parts))
    return normal == PurePosixPath(root) or PurePosixPath(root) in normal.parents


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part not in (".", ""):
            out.append(part)
    return out


@dataclass(frozen=True)
class TokenSource:
    """Where the credential is: a Secret's key, or the value given in parameters."""

    secret_namespace: str | None = None
    secret_name: str | None = None
    secret_key: str = TOKEN_KEY
    inline: str | None = None


def token_source(
    storage: Mapping[str, Any], model_namespace: str | None, operator_namespace: str
) -> TokenSource | None:
    """Upstream's rule: the Secret named by ``storage.key`` — in the model's namespace, or
    the operator's for a ClusterBaseModel — key ``parameters.secretKey`` or ``token``;
    else ``parameters.token``; else no credential."""
    parameters = storage.get("parameters") or {}
    if storage.get("key"):
        return TokenSource(
            secret_namespace=model_namespace or operator_namespace,
            secret_name=str(storage["key"]),
            secret_key=str(parameters.get("secretKey") or TOKEN_KEY),
        )
    if parameters.get("token"):
        return TokenSource(inline=str(parameters["token"]))
    return None


def fingerprint(model: Mapping[str, Any]) -> str:
    """What a finished download stands for: the storage spec and the annotations (a
    user's way to ask for another attempt). The agent's own back-fill changes other spec
    fields, and must not look like a new model."""
    meta = model.get("metadata", {})
    basis = {
        "uid": meta.get("uid"),
        "storage": (model.get("spec") or {}).get("storage"),
        "annotations": meta.get("annotations") or {},
    }
    return _digest(json.dumps(basis, sort_keys=True))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
