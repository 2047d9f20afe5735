"""Model metadata from a Hugging Face Hub (needs the operator's ``hf`` extra)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ome.agent.download.errors import MissingExtra

try:
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError
except ImportError as missing:
    raise MissingExtra("hf", "hf", missing) from missing

from ome.agent.metadata import HEADER
from ome.agent.metadata_fetch import (
    LENGTH,
    MAX_FILE_BYTES,
    TIMEOUT,
    MetadataUnavailable,
    header_length,
    metadata_paths,
    write,
)
from ome.agent.storage_uri import HfUri


def fetch_hf(uri: HfUri, stage: Path, hub: str, token: str | None) -> None:
    listing = f"{hub}/api/models/{uri.repo_id}/revision/{quote(uri.revision, safe='')}"
    try:
        info = HfApi(endpoint=hub, token=token or False).model_info(
            uri.repo_id, revision=uri.revision
        )
    except Exception as err:
        raise MetadataUnavailable(listing, _hf_cause(err, token)) from None
    commit = info.sha or uri.revision
    paths = [s.rfilename for s in info.siblings or ()]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx2.Client(headers=headers, follow_redirects=True, timeout=TIMEOUT) as http:
        for path, part in metadata_paths(paths, listing):
            url = f"{hub}/{uri.repo_id}/resolve/{commit}/{quote(path)}"
            try:
                content = _http_header(http, url) if part == HEADER else _http_whole(http, url)
            except httpx2.HTTPError as err:
                raise MetadataUnavailable(url, _http_cause(err)) from None
            write(stage, path, content)


def _hf_cause(err: Exception, token: str | None) -> str:
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code
        hint = (
            ""
            if token or status not in (401, 404)
            else " (if it is private, give the model a token)"
        )
        return f"HTTP {status}{hint}"
    return _http_cause(err)


def _http_cause(err: Exception) -> str:
    if isinstance(err, httpx2.HTTPStatusError):
        return f"HTTP {err.response.status_code}"
    if isinstance(err, httpx2.TransportError):
        return f"unreachable ({type(err).__name__}: {err})"
    return f"{type(err).__name__}: {err}"


def _http_whole(http: httpx2.Client, url: str) -> bytes:
    return _http_range(http, url, 0, MAX_FILE_BYTES, exact=False)


def _http_header(http: httpx2.Client, url: str) -> bytes:
    raw = _http_range(http, url, 0, LENGTH.size)
    return raw + _http_range(http, url, LENGTH.size, header_length(raw, url))


def _http_range(
    http: httpx2.Client, url: str, start: int, length: int, exact: bool = True
) -> bytes:
    """``length`` bytes from ``start`` (fewer only when not ``exact`` and the file ends):
    streamed and cut off, so a server that ignores ranges never sends a whole shard."""
    wanted = {"Range": f"bytes={start}-{start + length - 1}"} if exact else {}
    with http.stream("GET", url, headers=wanted) as response:
        response.raise_for_status()
        skip = start if response.status_code == 200 else 0
        got = bytearray()
        for chunk in response.iter_bytes():
            got += chunk
            if len(got) >= skip + length:
                break
    data = bytes(got[skip : skip + length])
    if exact and len(data) < length:
        raise httpx2.HTTPError(f"{url} ended after {len(data)} of {length} bytes")
    if not exact and len(got) >= length:
        raise httpx2.HTTPError(f"{url} is larger than {length} bytes: not a config")
    return data
