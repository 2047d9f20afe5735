"""Against a real API server with our CRDs installed by server-side apply: every upstream
manifest is accepted by a server-side dry-run create (with strict field validation), but
the two malformed samples, which are refused naming their unknown fields; every
malformed variant is refused naming its field; and the CRDs serve their names, short
names, category and columns."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.api.crd import MINIMAL_DIR
from ome.api.v1beta1 import KINDS
from ome.client import ApiError, Client
from ome.client.media import APPLY_PATCH
from ome.testing.pytest_plugin import Cluster
from tests.compat.malformed import VARIANTS
from tests.compat.reference import CRD_DIR, MALFORMED, needs_reference, reference_documents

pytestmark = pytest.mark.integration
DRY_RUN = {"dryRun": "All", "fieldValidation": "Strict"}
IN_FLIGHT = 16  # concurrent dry-run requests
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crds(cluster: Cluster) -> list[str]:
    """Our full CRDs, applied server-side (the client-side annotation would not fit)."""
    return await cluster.install_crds(sorted(CRD_DIR.glob("*.yaml")), timeout=120)


async def dry_run_create(client: Client, document: dict[str, Any], namespace: str) -> None:
    """POST with dryRun=All into ``namespace`` (for a namespaced kind)."""
    group, _, version = document["apiVersion"].rpartition("/")
    info = await client.mapper.resource_for(group, version, document["kind"])
    body = copy.deepcopy(document)
    body.setdefault("metadata", {}).pop("namespace", None)
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if info.namespaced:
        body["metadata"]["namespace"] = namespace
        prefix += f"/namespaces/{namespace}"
    await client.request("POST", f"{prefix}/{info.plural}", query=DRY_RUN, body=body)


async def refusals(
    client: Client, documents: Iterable[tuple[str, dict[str, Any]]], namespace: str
) -> dict[str, ApiError]:
    """Dry-run create each document (a few at a time); the refused ones by their key."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    refused: dict[str, ApiError] = {}

    async def one(key: str, document: dict[str, Any]) -> None:
        async with gate:
            try:
                await dry_run_create(client, document, namespace)
            except ApiError as error:
                refused[key] = error

    await asyncio.gather(*(one(key, document) for key, document in documents))
    return refused


async def test_crds_are_served_with_names_and_category(crds: list[str], client: Client) -> None:
    assert sorted(crds) == sorted(f"{k.PLURAL}.ome.io" for k in KINDS.values())
    served = {r["name"]: r for r in (await client.get("/apis/ome.io/v1beta1"))["resources"]}
    for kind in KINDS.values():
        assert served[kind.PLURAL]["categories"] == ["ome"]  # kubectl get ome
    assert served["inferenceservices"]["shortNames"] == ["isvc"]


async def test_printer_columns_are_served(crds: list[str], client: Client, namespace: str) -> None:
    path = f"/apis/ome.io/v1beta1/namespaces/{namespace}/inferenceservices"
    table = await client.request("GET", path, accept=TABLE)
    names = [column["name"] for column in table["columnDefinitions"]]
    assert names == ["Name", *(c.name for c in KINDS["InferenceService"].PRINTER_COLUMNS)]


async def test_the_minimal_crds_are_valid_too(crds: list[str], client: Client) -> None:
    for path in sorted((CRD_DIR / MINIMAL_DIR).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        await client.request(
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
            query={"fieldManager": "ome-compat", "force": True, "dryRun": "All"},
            body=crd,
            content_type=APPLY_PATCH,
        )


@needs_reference
async def test_reference_manifests_are_accepted(
    crds: list[str], client: Client, namespace: str
) -> None:
    documents = [(d.where, d.content) for d in reference_documents()]
    refused = await refusals(client, documents, namespace)
    by_source = {where.rsplit(":", 1)[0]: error for where, error in refused.items()}
    print(f"API server: {len(documents) - len(refused)} accepted, {len(refused)} refused")
    for source, error in by_source.items():
        print(f"  {source}: {error.message}")
    assert set(by_source) == set(MALFORMED)
    for source, fields in MALFORMED.items():
        for field in fields:
            assert f'unknown field "{field}"' in by_source[source].message


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
async def test_malformed_variant_is_refused(
    crds: list[str], client: Client, namespace: str, variant: Any
) -> None:
    refused = await refusals(client, [(variant.id, variant.document)], namespace)
    assert variant.id in refused, "accepted"
    error = refused[variant.id]
    named = variant.path in error.message or any(
        f.startswith(variant.path) for f, _ in error.causes
    )
    assert named, error.message
