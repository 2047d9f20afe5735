"""``ome run --local --samples DIR``: every object in the manifests under DIR applied as
``kubectl apply -R -f DIR`` would, after the namespaces they name are created (upstream's
samples name namespaces that they do not declare, so a plain apply refuses them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ome.api.documents import manifest_files, read_documents
from ome.api.meta import ApiObject
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import validate_object
from ome.client import GVK, ApiError, Client
from ome.serving import MemoryCatalog, parse_config
from ome.serving.capacity import gpu_demand, gpu_report

FIELD_MANAGER = "ome-samples"
DEFAULT_NAMESPACE = "default"
NAMESPACE = GVK("", "v1", "Namespace")


@dataclass(frozen=True)
class Samples:
    objects: list[dict[str, Any]]
    problems: list[str]
    """One line per file or document that is not an object to apply."""


def read_samples(directories: Iterable[Path]) -> Samples:
    objects: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in manifest_files(directories):
        try:
            documents = list(read_documents(path.read_text(), str(path)))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            problems.append(f"{path}: unreadable ({' '.join(str(err).split())})")
            continue
        for document in documents:
            content = document.content
            if not _is_object(content):
                problems.append(f"{document.where}: not an object with apiVersion, kind, name")
            else:
                objects.append(content)
    return Samples(objects, problems)


def _is_object(content: Any) -> bool:
    if not isinstance(content, dict) or not isinstance(content.get("metadata"), dict):
        return False
    return all(
        isinstance(x, str) and x
        for x in (content.get("apiVersion"), content.get("kind"), content["metadata"].get("name"))
    )


def namespaces_needed(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """The namespaces the objects name, which must exist before they are applied."""
    return sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")})


async def apply_samples(client: Client, objects: list[dict[str, Any]]) -> list[str]:
    """Create the namespaces (declared ones as written), then server-side apply the rest;
    one line per refusal. A namespaced object that names no namespace goes to
    ``default``, as with kubectl. Without force: a field someone else set since is theirs,
    and its refusal is reported."""
    problems: list[str] = []
    declared: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for obj in objects:
        is_namespace = obj["apiVersion"] == "v1" and obj["kind"] == "Namespace"
        (declared if is_namespace else others).append(obj)
    await _apply_all(client, declared, problems)
    existing = {o["metadata"]["name"] for o in declared}
    stubs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in namespaces_needed(others)
        if name not in existing
    ]
    await _apply_all(client, stubs, problems)
    await _apply_all(client, others, problems)
    return problems


async def _apply_all(client: Client, objects: list[dict[str, Any]], problems: list[str]) -> None:
    limit = asyncio.Semaphore(8)

    async def apply(obj: dict[str, Any]) -> None:
        async with limit:
            try:
                resource = await client.resource(GVK.parse(obj["apiVersion"], obj["kind"]))
                if resource.info.namespaced and not obj["metadata"].get("namespace"):
                    obj = {**obj, "metadata": {**obj["metadata"], "namespace": DEFAULT_NAMESPACE}}
                await resource.apply(obj, field_manager=FIELD_MANAGER)
            except ApiError as err:
                problems.append(f"{_label(obj)}: {err}")

    await asyncio.gather(*(apply(obj) for obj in objects))


def _label(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']}"


def gpu_lines(
    sample_objects: Iterable[Mapping[str, Any]],
    catalogue_objects: Iterable[Mapping[str, Any]],
    config_data: Mapping[str, str],
    nodes: Sequence[int],
) -> list[str]:
    """The GPUs that the samples' InferenceServices need (planned against the models and
    runtimes of the samples and the catalogue) against the GPUs of each node."""
    samples, catalogue = _valid(sample_objects), _valid(catalogue_objects)
    services = [o for o in samples if isinstance(o, InferenceService)]
    catalog = MemoryCatalog.of([*catalogue, *samples])
    return gpu_report(gpu_demand(services, catalog, parse_config(config_data)), nodes)


def _valid(documents: Iterable[Mapping[str, Any]]) -> list[ApiObject]:
    outcomes = (validate_object(document, KINDS) for document in documents)
    return [outcome.model for outcome in outcomes if outcome.model is not None]
