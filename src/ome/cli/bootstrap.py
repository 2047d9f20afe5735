"""What ``ome run --local`` puts into a fresh cluster before the operator starts: the
operator's namespace, the CRDs (generated from the models, so they always match this
version), ``inferenceservice-config``, and optionally a catalogue of models and runtimes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ome.api.crd import MINIMAL_DIR, crd_files, render
from ome.api.documents import manifest_files, read_documents
from ome.api.v1beta1 import KINDS
from ome.api.validation import validate_object
from ome.client import GVK, AlreadyExists, ApiError, Client

FIELD_MANAGER = "ome-bootstrap"
CONFIG_MANIFEST = Path("manifests/configmap/inferenceservice-config.yaml")
_DEFAULT_CONFIG = {"deploy": '{"defaultDeploymentMode": "RawDeployment"}'}


async def ensure_namespace(client: Client, name: str) -> None:
    namespaces = await client.resource(GVK("", "v1", "Namespace"))
    await namespaces.apply({"metadata": {"name": name}}, field_manager=FIELD_MANAGER)


def write_crds(directory: Path) -> list[Path]:
    """Write the CRDs of this version to ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in crd_files(KINDS.values()).items():
        if not name.startswith(f"{MINIMAL_DIR}/"):
            path = directory / name
            path.write_text(render(document))
            paths.append(path)
    return paths


def config_map(namespace: str) -> dict[str, Any]:
    """``inferenceservice-config`` from the shipped manifest when run from a checkout,
    else the defaults."""
    if CONFIG_MANIFEST.is_file():
        body: dict[str, Any] = yaml.safe_load(CONFIG_MANIFEST.read_text())
    else:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": dict(_DEFAULT_CONFIG)}
    body["metadata"] = {**(body.get("metadata") or {}), "name": "inferenceservice-config"}
    body["metadata"]["namespace"] = namespace
    return body


def catalog_objects(directories: Iterable[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid ome.io objects found, and one line per problem."""
    problems: list[str] = []
    objects = []
    for path in manifest_files(directories):
        try:
            documents = list(read_documents(path.read_text(), str(path)))
        except yaml.YAMLError as err:
            problems.append(f"{path}: not YAML ({err})")
            continue
        for document in documents:
            outcome = validate_object(document.content, KINDS)
            if outcome.status == "invalid":
                problems.append(f"{document.where}: {'; '.join(outcome.problems)}")
            elif outcome.model is not None:
                objects.append(document.content)
    return objects, problems


async def install_config(client: Client, body: dict[str, Any]) -> None:
    """Create the ConfigMap; an existing one is left as the user made it."""
    configmaps = await client.resource(GVK("", "v1", "ConfigMap"))
    with contextlib.suppress(AlreadyExists):
        await configmaps.create(body)


async def install_catalog(client: Client, objects: list[dict[str, Any]]) -> list[str]:
    """Server-side apply each object; one line per refusal. Only the kinds of the objects
    need be served."""
    problems: list[str] = []
    limit = asyncio.Semaphore(8)
    kinds = {obj["kind"] for obj in objects}
    resources = {kind: await client.resource(KINDS[kind]) for kind in sorted(kinds)}

    async def apply(obj: dict[str, Any]) -> None:
        async with limit:
            try:
                await resources[obj["kind"]].apply(obj, field_manager=FIELD_MANAGER, force=True)
            except ApiError as err:
                problems.append(f"{obj['kind']} {obj['metadata'].get('name')}: {err}")

    await asyncio.gather(*(apply(obj) for obj in objects))
    return problems
