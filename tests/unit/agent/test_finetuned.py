"""Fine-tuned weights on a node: where they go, what a download must hold, what is
back-filled, and the keys and labels they are reported under."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ome.agent import finetuned
from ome.agent.download import DownloadError, FailureReason
from ome.agent.placement import fingerprint
from ome.agent.status import ModelRef, configmap_key, node_label_key, parse_configmap_key
from ome.agent.storage_uri import parse_storage_uri
from tests.unit.agent.helpers import copy_minilm, write_json, write_peft_adapter

ROOT = Path("/mnt/models")


def weight(
    base: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    **storage: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "baseModelRef": base or {"name": "llama"},
        "storage": {"storageUri": "hf://team/sql-lora"} | storage,
    }
    if configuration is not None:
        spec["configuration"] = configuration
    return {"metadata": {"name": "sql", "uid": "u1"}, "spec": spec}


def test_a_weight_goes_where_its_base_model_is_ready() -> None:
    labels = {"models.ome.io/clusterbasemodel.llama": "Ready"}
    assert finetuned.base_model_ready(weight(), labels)
    assert not finetuned.base_model_ready(
        weight(), {"models.ome.io/clusterbasemodel.llama": "Updating"}
    )
    namespaced = weight(base={"name": "llama", "namespace": "team"})
    assert not finetuned.base_model_ready(namespaced, labels)
    assert finetuned.base_model_ready(namespaced, {"models.ome.io/team.basemodel.llama": "Ready"})


def test_an_adapter_needs_its_config_and_weights_and_gives_its_rank(tmp_path: Path) -> None:
    adapter = write_peft_adapter(tmp_path / "sql", rank=16)
    assert finetuned.check_weight(weight(), adapter) == finetuned.Checked(rank=16)
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(DownloadError, match="no adapter weights") as caught:
        finetuned.check_weight(weight(), adapter)
    assert caught.value.reason is FailureReason.INVALID
    (adapter / "adapter_config.json").unlink()
    with pytest.raises(DownloadError, match=r"no adapter_config\.json .*not a PEFT adapter"):
        finetuned.check_weight(weight(), adapter)


def test_merged_weights_need_a_whole_model(tmp_path: Path) -> None:
    merged = weight(configuration={"merged_weights": True})
    assert finetuned.check_weight(merged, copy_minilm(tmp_path / "merged")) == finetuned.Checked()
    with pytest.raises(DownloadError, match="merged weights must be a whole model"):
        finetuned.check_weight(merged, write_peft_adapter(tmp_path / "adapter"))
    write_json(tmp_path / "config-only" / "config.json", {"model_type": "llama"})
    with pytest.raises(DownloadError, match="no weights"):
        finetuned.check_weight(merged, tmp_path / "config-only")


def test_backfill_fills_only_unset_fields() -> None:
    checked = finetuned.Checked(rank=8)
    assert finetuned.backfill(weight(), checked, ROOT / "team/sql-lora") == {
        "configuration": {"lora_rank": 8},
        "storage": {"path": "/mnt/models/team/sql-lora"},
    }
    own = weight(configuration={"lora_rank": 4}, path="/mnt/models/mine")
    assert finetuned.backfill(own, checked, ROOT / "team/sql-lora") == {}
    assert finetuned.backfill(weight(), finetuned.Checked(), None) == {}


def test_the_published_path_is_the_download_place_but_not_a_local_one() -> None:
    hf = parse_storage_uri("hf://team/sql-lora")
    assert finetuned.published_path({}, hf, ROOT) == ROOT / "team/sql-lora"
    local = parse_storage_uri("local:///data/sql")
    assert finetuned.published_path({}, local, ROOT) is None


def test_the_back_filled_path_is_not_a_new_weight() -> None:
    uri = parse_storage_uri("hf://team/sql-lora")
    before = finetuned.fingerprint_basis(weight(), uri, ROOT)
    filled = finetuned.fingerprint_basis(weight(path="/mnt/models/team/sql-lora"), uri, ROOT)
    moved = finetuned.fingerprint_basis(weight(path="/mnt/models/elsewhere"), uri, ROOT)
    assert fingerprint(before) == fingerprint(filled)
    assert fingerprint(moved) != fingerprint(before)


def test_weights_have_keys_and_labels_of_their_own() -> None:
    ref = ModelRef("sql", fine_tuned=True)
    assert ref.kind == "FineTunedWeight"
    assert configmap_key(ref) == "finetunedweight.sql"
    assert node_label_key(ref) == "models.ome.io/finetunedweight.sql"
    assert parse_configmap_key("finetunedweight.sql") == ref
    assert parse_configmap_key("clusterbasemodel.sql") == ModelRef("sql")
