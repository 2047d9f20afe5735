"""The Go programs the benchmarks measure the operator against, built from Go modules the
first time a benchmark needs them, into a cache outside the checkout (never committed):

    cr-widget     bench/peers/cr-widget: examples/widget_operator.py written the
                  controller-runtime way (sigs.k8s.io/controller-runtime v0.25.3)
    upstream-ome  upstream OME's own manager (github.com/sgl-project/ome v0.1.5,
                  cmd/manager), by bench/peers/upstream-ome/build.sh

Each binary lives in ``$OME_PEERS_CACHE`` (default ~/.cache/ome/peers) under a name
carrying a digest of the files it is built from, so a changed source builds anew.

    .venv/bin/python bench/peers.py [cr-widget|upstream-ome ...]   # build, print paths
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ome.testing.binaries import find_go

SOURCES = Path(__file__).resolve().parent / "peers"
CACHE_ENV = "OME_PEERS_CACHE"
PEERS = ("cr-widget", "upstream-ome")


class PeerBuildError(RuntimeError):
    pass


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache/ome/peers"


def source_digest(name: str) -> str:
    digest = hashlib.sha256()
    for path in sorted((SOURCES / name).rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(SOURCES).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def peer(name: str, log: bool = True) -> Path:
    """The peer's binary, built first if this version of its sources was not built yet."""
    if name not in PEERS:
        raise PeerBuildError(f"no peer {name!r}: one of {', '.join(PEERS)}")
    binary = cache_root() / f"{name}-{source_digest(name)}" / name
    if os.access(binary, os.X_OK):
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    go = find_go()
    env = {**os.environ, "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local"}
    partial = binary.with_suffix(".partial")
    if name == "cr-widget":
        command = [go, "build", "-o", str(partial), "."]
    else:  # the script copies the module out of the module cache and links a stub of libxet
        env["OUT"] = str(binary.parent / "work")
        command = ["bash", str(SOURCES / name / "build.sh")]
    if log:
        print(f"building the benchmark peer {name} (once; a few minutes)", file=sys.stderr)
    done = subprocess.run(
        command, cwd=SOURCES / name, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise PeerBuildError(f"building {name} failed (exit {done.returncode}):\n{tail}")
    if name == "upstream-ome":
        (binary.parent / "work" / "manager").replace(partial)
    partial.replace(binary)
    return binary


if __name__ == "__main__":
    for wanted in sys.argv[1:] or PEERS:
        print(peer(wanted))
