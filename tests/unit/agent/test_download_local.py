from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ome.agent.download import DownloadError, DownloadRequest, FailureReason, LocalDownloader
from ome.agent.storage_uri import HfUri, LocalUri
from tests.unit.agent.helpers import MINILM, copy_minilm, write_safetensors


async def validate(path: Path) -> None:
    await LocalDownloader().download(DownloadRequest(LocalUri(str(path)), path / "unused"))


async def test_the_real_model_is_valid_and_stays_untouched(tmp_path: Path) -> None:
    before = sorted((p, p.stat().st_mtime_ns) for p in MINILM.rglob("*"))
    request = DownloadRequest(LocalUri(str(MINILM)), tmp_path / "dest")
    result = await LocalDownloader().download(request)
    assert result.path == MINILM
    assert result.files == 13
    assert result.bytes == sum(p.stat().st_size for p in MINILM.rglob("*") if p.is_file())
    assert sorted((p, p.stat().st_mtime_ns) for p in MINILM.rglob("*")) == before
    assert not (tmp_path / "dest").exists()


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


def _broken_link(directory: Path) -> Path:
    _file(directory / "config.json")
    (directory / "weights.safetensors").symlink_to(directory / "gone")
    return directory


def _truncated(directory: Path) -> Path:
    write_safetensors(directory / "w.safetensors", {"w": [55]}, cut=10)
    return directory


def _missing_shard(directory: Path) -> Path:
    write_safetensors(directory / "a.safetensors", {"a": [1]})
    index = {"weight_map": {"a": "a.safetensors", "b": "b.safetensors"}}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    return directory


def _garbage(directory: Path) -> Path:
    (directory / "w.safetensors").write_bytes(b"\x00")
    return directory


@pytest.mark.parametrize(
    ("setup", "reason", "message"),
    [
        (lambda d: d / "missing", FailureReason.NOT_FOUND, "does not exist on this node"),
        (lambda d: _file(d / "a-file"), FailureReason.INVALID, "is not a directory"),
        (lambda d: _dir(d / "empty"), FailureReason.INVALID, "holds no files"),
        (_broken_link, FailureReason.INCOMPLETE, "broken symbolic link"),
        (_truncated, FailureReason.INCOMPLETE, r"w\.safetensors is truncated: \d+ of"),
        (_missing_shard, FailureReason.INCOMPLETE, r"missing: b\.safetensors"),
        (_garbage, FailureReason.INVALID, "too short"),
    ],
)
async def test_problems_are_named(
    tmp_path: Path, setup: Callable[[Path], Path], reason: FailureReason, message: str
) -> None:
    with pytest.raises(DownloadError, match=message) as raised:
        await validate(setup(tmp_path))
    assert raised.value.reason is reason


async def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, who reads everything: the permission check is answered for it.
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path).name != "config.json")
    with pytest.raises(DownloadError, match=r"config\.json is not readable"):
        await validate(tmp_path)


async def test_a_truncated_copy_of_the_real_model(tmp_path: Path) -> None:
    copy = copy_minilm(tmp_path / "minilm")
    weights = copy / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 1)
    with pytest.raises(DownloadError, match=r"model\.safetensors is truncated"):
        await validate(copy)


async def test_refuses_other_schemes(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not a local:// URI") as raised:
        await LocalDownloader().download(DownloadRequest(HfUri("org/model"), tmp_path))
    assert raised.value.reason is FailureReason.UNSUPPORTED
