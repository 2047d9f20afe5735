from __future__ import annotations

from pathlib import Path

import pytest

from ome.agent.placement import (
    PlacementError,
    TokenSource,
    destination,
    fingerprint,
    is_inside,
    pvc_path,
    token_source,
)
from ome.agent.storage_uri import parse_storage_uri

ROOT = Path("/mnt/models")


def test_hub_models_go_under_the_root_by_repository() -> None:
    uri = parse_storage_uri("hf://acme/llama@v2")
    assert destination({}, uri, ROOT) == ROOT / "acme" / "llama"


def test_storage_path_is_used_when_inside_the_root() -> None:
    uri = parse_storage_uri("hf://acme/llama")
    assert destination({"path": "/mnt/models/x/y"}, uri, ROOT) == Path("/mnt/models/x/y")


@pytest.mark.parametrize("path", ["/etc", "/mnt/models", "/mnt/models/../../etc", "/mnt/modelsx"])
def test_storage_path_outside_the_root_is_refused(path: str) -> None:
    uri = parse_storage_uri("hf://acme/llama")
    with pytest.raises(PlacementError, match="outside this agent's models root"):
        destination({"path": path}, uri, ROOT)


def test_relative_storage_path_is_refused() -> None:
    with pytest.raises(PlacementError, match=r"spec.storage.path must be absolute"):
        destination({"path": "models/x"}, parse_storage_uri("hf://a/b"), ROOT)


def test_local_models_stay_where_they_are() -> None:
    uri = parse_storage_uri("local:///data/llama")
    assert destination({"path": "/elsewhere"}, uri, ROOT) == Path("/data/llama")


def test_other_schemes_get_a_stable_place_of_their_own() -> None:
    storage = {"storageUri": "s3://bucket/prefix"}
    uri = parse_storage_uri("s3://bucket/prefix")
    first = destination(storage, uri, ROOT)
    assert first == destination(dict(storage), uri, ROOT)
    assert first.parent == ROOT / "s3"


def test_is_inside_normalises() -> None:
    assert is_inside(Path("/mnt/models/a/../b"), ROOT)
    assert not is_inside(Path("/mnt/models/../etc"), ROOT)
    assert is_inside(ROOT, ROOT)


def test_pvc_path_uses_the_claim_namespace_or_the_model_namespace() -> None:
    assert pvc_path(parse_storage_uri("pvc://team:claim/m/x"), "other", Path("/pvc")) == Path(
        "/pvc/team/claim/m/x"
    )
    assert pvc_path(parse_storage_uri("pvc://claim/m"), "mine", Path("/pvc")) == Path(
        "/pvc/mine/claim/m"
    )
    with pytest.raises(PlacementError, match="must name the claim's namespace"):
        pvc_path(parse_storage_uri("pvc://claim/m"), None, Path("/pvc"))


def test_token_from_a_secret_in_the_model_namespace_or_the_operators() -> None:
    storage = {"key": "hub", "parameters": {"secretKey": "hf"}}
    assert token_source(storage, "team", "ome") == TokenSource("team", "hub", "hf")
    assert token_source({"key": "hub"}, None, "ome") == TokenSource("ome", "hub", "token")
    assert token_source({"parameters": {"token": "t"}}, "team", "ome") == TokenSource(inline="t")
    assert token_source({}, "team", "ome") is None


def test_fingerprint_ignores_backfilled_spec_fields() -> None:
    model = {
        "metadata": {"uid": "u", "annotations": {}},
        "spec": {"storage": {"storageUri": "hf://a/b"}},
    }
    filled = {**model, "spec": {**model["spec"], "modelArchitecture": "BertModel"}}
    annotated = {**model, "metadata": {"uid": "u", "annotations": {"retry": "1"}}}
    assert fingerprint(model) == fingerprint(filled)
    assert fingerprint(model) != fingerprint(annotated)
