"""Installing CustomResourceDefinitions and waiting until they can really be used."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ome.client import ApiError, Client, NotFound, TooManyRequests

FIELD_MANAGER = "ome-testing"

# The CRDs of a big API weigh megabytes of YAML: the C parser reads them ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every mapping document in a YAML file, or in every YAML file below a folder."""
    files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    documents: list[dict[str, Any]] = []
    for file in files:
        with file.open() as handle:
            documents += [d for d in yaml.load_all(handle, Loader=_LOADER) if isinstance(d, dict)]
    return documents


def _crds_in(paths: Iterable[Path | str]) -> list[Mapping[str, Any]]:
    files = [
        f for p in map(Path, paths) for f in (sorted(p.rglob("*.y*ml")) if p.is_dir() else [p])
    ]
    return [crd for file in files for crd in _crds_in_file(file.resolve(), file.stat().st_mtime_ns)]


@functools.lru_cache(maxsize=64)
def _crds_in_file(file: Path, mtime_ns: int) -> tuple[Mapping[str, Any], ...]:
    """Parsed once per version of the file: test suites install the same CRDs in many
    fixtures, and parsing them costs more than applying them."""
    del mtime_ns  # part of the cache key only
    return tuple(
        d for d in load_yaml_documents(file) if d.get("kind") == "CustomResourceDefinition"
    )


async def install_crds(
    client: Client, paths: Iterable[Path | str], timeout: float = 60.0
) -> list[str]:
    """Server-side apply the CRDs found in ``paths``, then wait until each is Established
    and served (discovery lists it and a list call succeeds). Returns their names."""
    crds = _crds_in(paths)
    await asyncio.gather(
        *(
            client.apply(
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
                crd,
                field_manager=FIELD_MANAGER,
                force=True,
            )
            for crd in crds
        )
    )
    deadline = time.monotonic() + timeout
    for crd in crds:
        await _wait_served(client, crd, deadline)
    return [crd["metadata"]["name"] for crd in crds]


def _condition(crd: Mapping[str, Any], kind: str) -> str | None:
    for condition in crd.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status"))
    return None


async def _wait_served(client: Client, crd: Mapping[str, Any], deadline: float) -> None:
    name = crd["metadata"]["name"]
    group = crd["spec"]["group"]
    plural = crd["spec"]["names"]["plural"]
    versions = [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]
    while True:
        current = await client.get(
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        )
        if _condition(current, "NamesAccepted") == "False":
            problem = json.dumps(current["status"].get("conditions"))
            raise ApiError(409, "NamesNotAccepted", f"CRD {name}: names not accepted: {problem}")
        if _condition(current, "Established") == "True" and all(
            [await _serves(client, group, v, plural) for v in versions]
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRD {name} not established and served within the timeout")
        await asyncio.sleep(0.1)


async def _serves(client: Client, group: str, version: str, plural: str) -> bool:
    """Discovery lists the resource and its storage answers a list (right after
    Established, a list can still get 429 'storage is (re)initializing', or, on a busy
    machine, no answer within the request's timeout: asked again until the deadline)."""
    try:
        resources = await client.get(f"/apis/{group}/{version}")
        if not any(r.get("name") == plural for r in resources.get("resources", [])):
            return False
        await client.request(
            "GET", f"/apis/{group}/{version}/{plural}", query={"limit": 1}, timeout=5
        )
    except (NotFound, TooManyRequests, TimeoutError):
        return False
    return True
