"""A Hugging Face Hub on loopback, enough for huggingface_hub to download a model.

It serves a folder of files as a model repository, with the Hub's HTTP surface as the
client library uses it:

- ``GET /api/models/{org}/{name}/revision/{revision}``: the model info (its commit sha);
- ``GET /api/models/{org}/{name}/tree/{revision}?recursive=true``: files with size, Git
  blob id and, for Git LFS files, ``lfs: {oid: sha256, size, pointerSize}``;
- ``HEAD``/``GET /{org}/{name}/resolve/{revision}/{path}``: ``X-Repo-Commit``, ``ETag``
  (the blob id, or the sha256 for LFS files), ``X-Linked-Etag``/``X-Linked-Size`` for LFS
  files, ``Content-Length``, and ranges.

Errors carry the Hub's ``X-Error-Code``/``X-Error-Message`` headers: an unknown repo is
404 ``RepoNotFound``; a private repo read without a token is 401 ``RepoNotFound``; a token
the Hub does not know is 401 "Invalid credentials in Authorization header".

Faults to test with: :attr:`FakeHub.truncated` cuts a file's body short (the metadata
still announces its full size); :attr:`FakeHub.cuts` drops the connection halfway through
a body; :attr:`FakeHub.corrupted` serves a body of the right size with wrong bytes;
:attr:`FakeHub.refusing` answers every request with an error status (and a Retry-After);
:attr:`FakeHub.stalls` holds a body halfway; :attr:`FakeHub.pace` slows bodies down.
:attr:`FakeHub.answers` records when each request was answered with which status.

Files come from a folder (:meth:`FakeHub.add_repo`) or are made on the fly
(:meth:`FakeHub.add_files`: bytes, or any content with a ``size`` and ``read(offset,
length)``, so a large file is never stored).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

from aiohttp import web

# The Hub stores these in Git LFS (its default .gitattributes), and any file of 10 MB or more.
_LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".onnx", ".msgpack", ".ot")
_LFS_MIN_SIZE = 10 * 1024 * 1024
_CHUNK = 1024 * 1024
_REPO = r"(?P<repo>[^/]+/[^/]+)"
_INFO = re.compile(rf"/api/models/{_REPO}/revision/(?P<rev>[^/]+)")
_TREE = re.compile(rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?")
_RESOLVE = re.compile(rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_FLIPPED = bytes(255 - b for b in range(256))


class Content(Protocol):
    """A file made on the fly."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True)
class _Bytes:
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)

    def read(self, offset: int, length: int) -> bytes:
        return self.content[offset : offset + length]


@dataclass(frozen=True)
class HubFile:
    path: str
    source: Path | Content
    size: int
    blob_id: str
    """Git's id of what the repository stores: the content, or the LFS pointer."""
    sha256: str | None
    """Set for LFS files."""


@dataclass
class HubRepo:
    repo_id: str
    commit: str
    files: dict[str, HubFile]
    token: str | None = None
    """Set for a private repository: only this token reads it."""


@dataclass
class FakeHub:
    url: str = ""
    repos: dict[str, HubRepo] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    """Tokens the Hub knows (a repository's own token is added with it)."""
    truncated: dict[str, int] = field(default_factory=dict)
    """File path -> bytes its body is cut to."""
    stalls: dict[str, asyncio.Event] = field(default_factory=dict)
    """File path -> event: its body stops halfway until the event is set."""
    stalled: set[str] = field(default_factory=set)
    """Paths whose body is waiting at a stall now."""
    downloads: list[str] = field(default_factory=list)
    """Paths of the file bodies served (GET), in order."""
    pace: float | None = None
    """Bytes per second each body is sent at (None: as fast as it goes)."""
    cuts: dict[str, int] = field(default_factory=dict)
    """File path -> how many more of its bodies are cut halfway: the connection is closed
    after half the announced bytes, as a network failure would."""
    corrupted: set[str] = field(default_factory=set)
    """File paths whose bodies are served whole but with their bytes flipped."""
    refusing: tuple[int, int | None] | None = None
    """(status, Retry-After seconds or None): every request is answered so while set."""
    answers: list[tuple[float, int]] = field(default_factory=list)
    """(time.monotonic(), status) of every request answered."""

    def add_repo(self, repo_id: str, folder: Path, token: str | None = None) -> HubRepo:
        files = {
            path.relative_to(folder).as_posix(): _hub_file(
                path.relative_to(folder).as_posix(), path
            )
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        commit = hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()
        repo = HubRepo(repo_id, commit, files, token)
        self.repos[repo_id] = repo
        if token:
            self.tokens.add(token)
        return repo

    def add_files(
        self, repo_id: str, files: Mapping[str, bytes | Content], *, checksums: bool = False
    ) -> HubRepo:
        """A repository of made-up files. Small ones (bytes) get their real Git ids;
        others get stand-in checksums unless ``checksums`` (then they are read once, to
        hash them): a metadata fetch never checks them, a real download does."""
        made = {}
        for path, content in files.items():
            source = _Bytes(content) if isinstance(content, bytes) else content
            if isinstance(content, bytes):
                made[path] = _blob_file(path, source, content)
            elif checksums:
                made[path] = _hashed_file(path, source)
            else:
                stand_in = hashlib.sha256(f"{repo_id}/{path}:{source.size}".encode()).hexdigest()
                pointer = _pointer_text(stand_in, source.size)
                made[path] = HubFile(path, source, source.size, _git_blob_id(pointer), stand_in)
        commit = hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()
        repo = HubRepo(repo_id, commit, made)
        self.repos[repo_id] = repo
        return repo

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = await self._answer(request)
        self.answers.append((time.monotonic(), response.status))
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if self.refusing is not None:
            status, wait = self.refusing
            extra = {} if wait is None else {"Retry-After": str(wait)}
            return _error(status, None, f"refused with HTTP {status}", extra)
        for pattern, handler in (
            (_INFO, self._info),
            (_TREE, self._tree),
            (_RESOLVE, self._resolve),
        ):
            if match := pattern.fullmatch(path):
                parts = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                refusal = self._refuse(request, parts["repo"], parts["rev"])
                if refusal is not None:
                    return refusal
                return await handler(request, self.repos[parts["repo"]], parts)
        return _error(404, "EntryNotFound", "no such route")

    def _refuse(self, request: web.Request, repo_id: str, revision: str) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if token is not None and token not in self.tokens:
            return _error(401, None, "Invalid credentials in Authorization header")
        repo = self.repos.get(repo_id)
        if repo is None:
            return _error(404, "RepoNotFound", "Repository not found")
        if repo.token is not None and token != repo.token:
            return _error(401 if token is None else 404, "RepoNotFound", "Repository not found")
        if revision not in ("main", repo.commit):
            return _error(404, "RevisionNotFound", "Invalid rev id")
        return None

    async def _info(self, _: web.Request, repo: HubRepo, __: dict[str, str]) -> web.Response:
        siblings = [{"rfilename": name} for name in repo.files]
        body = {
            "id": repo.repo_id,
            "sha": repo.commit,
            "private": repo.token is not None,
            "siblings": siblings,
        }
        return web.json_response(body)

    async def _tree(self, request: web.Request, repo: HubRepo, _: dict[str, str]) -> web.Response:
        if request.query.get("recursive", "").lower() not in ("true", "1"):
            raise NotImplementedError("only recursive listings are served")
        entries: list[dict[str, object]] = []
        folders = sorted({str(Path(p).parent) for p in repo.files} - {"."})
        entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in folders]
        for file in repo.files.values():
            entry: dict[str, object] = {
                "type": "file",
                "oid": file.blob_id,
                "size": file.size,
                "path": file.path,
            }
            if file.sha256 is not None:
                entry["lfs"] = {
                    "oid": file.sha256,
                    "size": file.size,
                    "pointerSize": len(_pointer(file)),
                }
            entries.append(entry)
        return web.json_response(entries)

    async def _resolve(
        self, request: web.Request, repo: HubRepo, parts: dict[str, str]
    ) -> web.StreamResponse:
        file = repo.files.get(parts["path"])
        if file is None:
            return _error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.commit})
        served = self.truncated.get(file.path, file.size)
        start, partial = 0, False
        if (ranged := _RANGE.fullmatch(request.headers.get("Range", ""))) is not None:
            start = min(int(ranged[1]), served)
            if ranged[2]:  # an end, inclusive
                served = min(served, int(ranged[2]) + 1)
            partial = start > 0 or served < file.size
        headers = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
        if file.sha256 is not None:
            headers |= {
                "ETag": f'"{file.sha256}"',
                "X-Linked-Etag": f'"{file.sha256}"',
                "X-Linked-Size": str(file.size),
            }
        else:
            headers["ETag"] = f'"{file.blob_id}"'
        response = web.StreamResponse(status=206 if partial else 200, headers=headers)
        # HEAD announces the whole file; a GET of a truncated file sends only what it has.
        response.content_length = file.size if request.method == "HEAD" else served - start
        await response.prepare(request)
        if request.method == "GET":
            self.downloads.append(file.path)
            try:
                if not await self._body(request, response, file, start, served):
                    return response
            except ConnectionResetError:  # the client went away (killed, or gave up)
                return response
        await response.write_eof()
        return response

    async def _body(
        self,
        request: web.Request,
        response: web.StreamResponse,
        file: HubFile,
        start: int,
        served: int,
    ) -> bool:
        """Send bytes ``start`` to ``served`` of ``file``, with the faults set for it;
        False when the connection was cut on purpose."""
        stall = self.stalls.get(file.path)
        stall_at = served // 2
        position = start
        cut = self.cuts.get(file.path, 0) > 0
        if cut:
            self.cuts[file.path] -= 1
        for sent in _chunks(file.source, start, served):
            chunk = sent.translate(_FLIPPED) if file.path in self.corrupted else sent
            if cut and position + len(chunk) > start + (served - start) // 2:
                await response.write(chunk[: start + (served - start) // 2 - position])
                assert request.transport is not None
                request.transport.close()
                return False
            await response.write(chunk)
            position += len(chunk)
            if self.pace:
                await asyncio.sleep(len(chunk) / self.pace)
            if stall is not None and position >= stall_at > position - len(chunk):
                self.stalled.add(file.path)
                await stall.wait()
                self.stalled.discard(file.path)
        return True


@asynccontextmanager
async def serve(hub: FakeHub) -> AsyncIterator[FakeHub]:
    """Serve ``hub`` on 127.0.0.1 (a free port) while in the block; sets ``hub.url``."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hub.url = f"http://127.0.0.1:{port}"
    try:
        yield hub
    finally:
        await runner.cleanup()


def _chunks(source: Path | Content, start: int, end: int) -> Iterator[bytes]:
    if isinstance(source, Path):
        with source.open("rb") as opened:
            opened.seek(start)
            while start < end and (chunk := opened.read(min(_CHUNK, end - start))):
                start += len(chunk)
                yield chunk
        return
    while start < end:
        chunk = source.read(start, min(_CHUNK, end - start))
        if not chunk:
            return
        start += len(chunk)
        yield chunk


def _blob_file(path: str, source: Content, content: bytes) -> HubFile:
    if path.endswith(_LFS_SUFFIXES) or len(content) >= _LFS_MIN_SIZE:
        sha256 = hashlib.sha256(content).hexdigest()
        pointer = _pointer_text(sha256, len(content))
        return HubFile(path, source, len(content), _git_blob_id(pointer), sha256)
    return HubFile(path, source, len(content), _git_blob_id(content), None)


def _hashed_file(path: str, source: Content) -> HubFile:
    """A Git LFS file with its real sha256, read through once."""
    digest = hashlib.sha256()
    for chunk in _chunks(source, 0, source.size):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    pointer = _pointer_text(sha256, source.size)
    return HubFile(path, source, source.size, _git_blob_id(pointer), sha256)


@cache
def _hub_file(path: str, source: Path) -> HubFile:
    """Hashing 90 MB takes a while: each file is read once per test session."""
    content = source.read_bytes()
    size = len(content)
    if source.suffix in _LFS_SUFFIXES or size >= _LFS_MIN_SIZE:
        sha256 = hashlib.sha256(content).hexdigest()
        pointer = _pointer_text(sha256, size)
        return HubFile(path, source, size, _git_blob_id(pointer), sha256)
    return HubFile(path, source, size, _git_blob_id(content), None)


def _pointer(file: HubFile) -> bytes:
    assert file.sha256 is not None
    return _pointer_text(file.sha256, file.size)


def _pointer_text(sha256: str, size: int) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def _git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _error(
    status: int, code: str | None, message: str, extra: dict[str, str] | None = None
) -> web.Response:
    headers = (
        {"X-Error-Message": message} | ({"X-Error-Code": code} if code else {}) | (extra or {})
    )
    return web.Response(
        status=status,
        headers=headers,
        text=json.dumps({"error": message}),
        content_type="application/json",
    )
