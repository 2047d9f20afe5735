from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ome.agent.download import DownloadError, FailureReason, discard
from ome.agent.download.manifest import (
    ExpectedFile,
    Manifest,
    Problem,
    completed,
    find_problems,
    intact_copy,
    raise_for,
    write_manifest,
)
from ome.agent.download.staging import prepare, promote, retired_dir, staging_dir


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def test_staging_is_a_hidden_sibling(tmp_path: Path) -> None:
    dest = tmp_path / "models" / "llama"
    staging = prepare(dest)
    assert staging == staging_dir(dest) == tmp_path / "models" / ".llama.partial"
    assert staging.is_dir()
    assert not dest.exists()
    (staging / "kept").write_text("x")
    assert prepare(dest) == staging
    assert (staging / "kept").exists()


def test_promote_moves_staging_into_place_and_replaces_the_old_copy(tmp_path: Path) -> None:
    dest = tmp_path / "llama"
    (prepare(dest) / "v1").write_text("1")
    promote(dest)
    assert [p.name for p in dest.iterdir()] == ["v1"]
    (prepare(dest) / "v2").write_text("2")
    promote(dest)
    assert [p.name for p in dest.iterdir()] == ["v2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llama"]


def test_promote_after_a_crash_between_the_two_renames(tmp_path: Path) -> None:
    dest = tmp_path / "llama"
    (prepare(dest) / "new").write_text("2")
    retired_dir(dest).mkdir()  # the old copy was moved aside, then the agent died
    promote(dest)
    assert [p.name for p in dest.iterdir()] == ["new"]
    assert not retired_dir(dest).exists()


def test_discard_removes_the_model_and_its_leftovers(tmp_path: Path) -> None:
    dest = tmp_path / "llama"
    for path in (dest, staging_dir(dest), retired_dir(dest)):
        (path / "sub").mkdir(parents=True)
        (path / "sub" / "f").write_text("x")
    (tmp_path / "other").mkdir()
    discard(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["other"]
    discard(dest)  # nothing left: no error


def test_manifest_problems(tmp_path: Path) -> None:
    files = {"config.json": b'{"a": 1}', "w.bin": b"weights" * 100, "sub/t.txt": b"t"}
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(content)
    expected = [
        ExpectedFile("config.json", 8, git_sha1=git_blob_id(files["config.json"])),
        ExpectedFile("w.bin", 700, sha256=hashlib.sha256(files["w.bin"]).hexdigest()),
        ExpectedFile("sub/t.txt", 1),
    ]
    assert find_problems(tmp_path, expected) == []
    assert completed(tmp_path, expected) == (709, 3)

    (tmp_path / "w.bin").write_bytes(b"X" + files["w.bin"][1:])
    (tmp_path / "config.json").write_bytes(b'{"a": 2}')
    problems = find_problems(tmp_path, expected)
    assert [(p.path, p.reason, p.detail) for p in problems] == [
        ("config.json", FailureReason.CHECKSUM_MISMATCH, "git blob id differs"),
        ("w.bin", FailureReason.CHECKSUM_MISMATCH, "sha256 differs"),
    ]

    (tmp_path / "w.bin").write_bytes(b"short")
    (tmp_path / "sub" / "t.txt").unlink()
    problems = find_problems(tmp_path, expected)
    # Sizes first: no checksum is computed while a file is short or missing.
    assert [(p.path, p.detail) for p in problems] == [
        ("w.bin", "5 of 700 bytes"),
        ("sub/t.txt", "missing"),
    ]
    assert completed(tmp_path, expected) == (8, 1)


def test_raise_for_names_the_files() -> None:
    raise_for([], "hf://org/m")  # nothing wrong: no error
    short = Problem("a", FailureReason.INCOMPLETE, "1 of 2 bytes")
    with pytest.raises(DownloadError) as raised:
        raise_for([short] * 5, "hf://org/m")
    assert raised.value.reason is FailureReason.INCOMPLETE
    assert str(raised.value) == (
        "incomplete download of hf://org/m: a: 1 of 2 bytes; a: 1 of 2 bytes; "
        "a: 1 of 2 bytes (and 2 more)"
    )


def test_an_intact_copy_is_known_by_its_manifest_and_sizes(tmp_path: Path) -> None:
    (tmp_path / "w").write_bytes(b"1234")
    manifest = Manifest("abc", (ExpectedFile("w", 4, sha256="not checked here"),))
    assert intact_copy(tmp_path) is None  # no manifest
    write_manifest(tmp_path, manifest)
    assert intact_copy(tmp_path) == manifest
    (tmp_path / "w").write_bytes(b"123")
    assert intact_copy(tmp_path) is None
    (tmp_path / ".ome-manifest.json").write_text("{")
    assert intact_copy(tmp_path) is None
