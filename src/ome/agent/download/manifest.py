"""The files a model must have, checked against what is on disk.

A source publishes a list of :class:`ExpectedFile` (path, size, and a checksum when it
has one). :func:`find_problems` compares a directory with it: every file present, of the
right size, with the right content. After a verified download, :func:`write_manifest`
leaves the list in the directory, so that a restarted agent can tell a complete model
from its sizes alone (:func:`intact_copy`) instead of hashing it all again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ome.agent.download.errors import DownloadError, FailureReason
from ome.agent.download.threads import check

MANIFEST_FILE = ".ome-manifest.json"
_CHUNK = 8 * 1024 * 1024
_SHOWN = 3


@dataclass(frozen=True)
class ExpectedFile:
    path: str
    """Relative, '/'-separated."""
    size: int
    sha256: str | None = None
    """Of the content (Git LFS files publish it)."""
    git_sha1: str | None = None
    """Git's blob id (regular files in a Git repository publish it)."""


def safe_relative_path(path: str, source: str) -> str:
    """``path`` as listed by ``source``, refused if it could reach outside the directory
    it is joined under (where bad files get deleted)."""
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "" in parts:
        raise DownloadError(FailureReason.INVALID, f"{source} listed an unsafe path {path!r}")
    return path


@dataclass(frozen=True)
class Problem:
    path: str
    reason: FailureReason
    detail: str


def find_problems(
    directory: Path, files: Sequence[ExpectedFile], cancel: threading.Event | None = None
) -> list[Problem]:
    """What is wrong with ``directory``'s copy of ``files``; empty when nothing is.

    Sizes are checked first for all files, so a truncated file is reported without
    hashing the rest; checksums only when every size is right.
    """
    problems = []
    for file in files:
        target = directory / file.path
        if not target.is_file():
            problems.append(Problem(file.path, FailureReason.INCOMPLETE, "missing"))
        elif (size := target.stat().st_size) != file.size:
            problems.append(
                Problem(file.path, FailureReason.INCOMPLETE, f"{size} of {file.size} bytes")
            )
    if problems:
        return problems
    for file in files:
        target = directory / file.path
        if file.sha256 is not None:
            if _digest(target, hashlib.sha256(), cancel) != file.sha256:
                problems.append(
                    Problem(file.path, FailureReason.CHECKSUM_MISMATCH, "sha256 differs")
                )
        elif file.git_sha1 is not None:
            # Git hashes a blob with a "blob {size}\0" header before the content.
            blob = hashlib.sha1(f"blob {file.size}\0".encode(), usedforsecurity=False)
            if _digest(target, blob, cancel) != file.git_sha1:
                problems.append(
                    Problem(file.path, FailureReason.CHECKSUM_MISMATCH, "git blob id differs")
                )
    return problems


def raise_for(problems: Sequence[Problem], source: str) -> None:
    """One :class:`DownloadError` for all of them (of one kind: :func:`find_problems`
    compares checksums only once every size is right)."""
    if not problems:
        return
    listed = "; ".join(f"{p.path}: {p.detail}" for p in problems[:_SHOWN])
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    if problems[0].reason is FailureReason.INCOMPLETE:
        raise DownloadError(
            FailureReason.INCOMPLETE, f"incomplete download of {source}: {listed}{more}"
        )
    raise DownloadError(
        FailureReason.CHECKSUM_MISMATCH,
        f"corrupt download of {source} (content differs from the published checksum): "
        f"{listed}{more}",
    )


def completed(directory: Path, files: Sequence[ExpectedFile]) -> tuple[int, int]:
    """Bytes and count of the files already in place with their full size."""
    done_bytes = done_files = 0
    for file in files:
        try:
            size = (directory / file.path).stat().st_size
        except OSError:
            continue
        if size == file.size:
            done_bytes += size
            done_files += 1
    return done_bytes, done_files


@dataclass(frozen=True)
class Manifest:
    revision: str | None
    files: tuple[ExpectedFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    content = {"revision": manifest.revision, "files": [asdict(f) for f in manifest.files]}
    (directory / MANIFEST_FILE).write_text(json.dumps(content, indent=1))


def intact_copy(directory: Path) -> Manifest | None:
    """The manifest of a verified download in ``directory`` whose files all still have
    their sizes; None if there is none (never verified, or damaged since)."""
    try:
        content = json.loads((directory / MANIFEST_FILE).read_text())
        manifest = Manifest(content["revision"], tuple(ExpectedFile(**f) for f in content["files"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if completed(directory, manifest.files)[1] != len(manifest.files):
        return None
    return manifest


def _digest(path: Path, digest: hashlib._Hash, cancel: threading.Event | None) -> str:
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            if cancel is not None:
                check(cancel)
            digest.update(chunk)
    return digest.hexdigest()
