from __future__ import annotations

import hashlib
import json
from typing import Any

from chaos.agent_invariants import (
    Entry,
    copy_problems,
    entries,
    failure_seen,
    ready_problems,
    retry_after_problems,
)
from chaos.storage import WEIGHT_BYTES, WEIGHTS, model_files

KEY = "clusterbasemodel.m"


def configmap(node: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": node}, "data": data}


def model(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "m"}, "status": status}


def test_entries_per_node() -> None:
    found = entries(
        [
            configmap("a", **{KEY: json.dumps({"status": "Ready"})}),
            configmap("b", **{KEY: json.dumps({"status": "Failed", "message": "HTTP 500"})}),
            configmap("c", other="{}"),
            configmap("d", **{KEY: "not json"}),
        ],
        KEY,
    )
    assert found["a"] == Entry("Ready")
    assert found["b"] == Entry("Failed", "HTTP 500")
    assert "c" not in found
    assert found["d"].status == ""


def test_ready_everywhere() -> None:
    ready = {"a": Entry("Ready"), "b": Entry("Ready")}
    done = model(state="Ready", nodesReady=["a", "b"])
    assert ready_problems(done, ready, {"a", "b"}) == []


def test_a_node_not_ready_or_missing_from_the_status() -> None:
    found = {"a": Entry("Ready"), "b": Entry("Failed", "disk full")}
    problems = ready_problems(model(state="Ready", nodesReady=["a"]), found, {"a", "b"})
    assert problems == [
        "b: not Ready (Failed disk full)",
        "model status does not list b as ready",
    ]
    assert ready_problems(model(state="In_Transit"), {}, {"a"}) == [
        "a: not Ready (no entry)",
        "model state 'In_Transit', not Ready",
        "model status does not list a as ready",
    ]
    assert ready_problems(None, {}, {"a"}) == ["the model is gone"]


def test_a_deleted_node_still_named_or_a_download_still_shown() -> None:
    found = {"a": Entry("Ready")}
    stale = model(state="Ready", nodesReady=["a", "gone"], progress={"completedBytes": 1})
    assert ready_problems(stale, found, {"a"}) == [
        "model status still names gone",
        "model status still shows a download under way: {'completedBytes': 1}",
    ]


def test_a_failure_must_name_its_cause() -> None:
    seen = ["n: downloading failed: OSError(28, 'No space left on device')"]
    assert failure_seen(seen, ["no space left"]) == seen[0]
    assert failure_seen(seen, ["HTTP 429"]) is None
    assert failure_seen([], ["HTTP 429"]) is None


def test_a_model_in_place_must_be_whole() -> None:
    served = {"config.json": b"{}", WEIGHTS: b"weights"}
    digests = {path: hashlib.sha256(content).digest() for path, content in served.items()}
    assert copy_problems("n", None, served) == []  # nothing in place
    assert copy_problems("n", {**digests, "ome-manifest.json": b"x"}, served) == []
    partial = {"config.json": digests["config.json"]}
    assert copy_problems("n", partial, served) == [f"n: model in place without {WEIGHTS}"]
    corrupt = {**digests, WEIGHTS: hashlib.sha256(b"other").digest()}
    assert copy_problems("n", corrupt, served) == [
        f"n: model in place with a {WEIGHTS} that is not the source's"
    ]


def test_retry_after_is_waited_out() -> None:
    assert retry_after_problems("n", [(0.0, 429), (5.0, 429), (10.1, 200)], 5) == []
    assert retry_after_problems("n", [(0.0, 429), (1.5, 200)], 5) == [
        "n: asked again 1.5 s after a 429 that said Retry-After: 5"
    ]
    assert retry_after_problems("n", [(0.0, 500), (0.1, 200)], 5) == []


def test_made_up_models_are_valid_safetensors_and_differ() -> None:
    files = model_files("a")
    weights = files[WEIGHTS]
    header_length = int.from_bytes(weights[:8], "little")
    header = json.loads(weights[8 : 8 + header_length])
    assert header["weight"]["data_offsets"] == [0, WEIGHT_BYTES]
    assert len(weights) == 8 + header_length + WEIGHT_BYTES
    assert model_files("b")[WEIGHTS] != weights
    assert json.loads(files["config.json"])["architectures"] == ["Qwen2ForCausalLM"]
