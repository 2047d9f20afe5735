"""What the suite watches of each process it starts (operator replicas, model agents):
its memory and open files from /proc, and samples of its /metrics."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Watched:
    """A process started by the suite, serving /metrics on ``metrics_port``."""

    def __init__(self) -> None:
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self) -> int:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def fds(self) -> int:
        """Open file descriptors (sockets included)."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return 0

    async def metrics_text(self) -> str | None:
        """Its /metrics, or None when it does not answer."""
        try:
            timeout = aiohttp.ClientTimeout(total=3)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as answer,
            ):
                return await answer.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def metric(self, name: str) -> float | None:
        """One unlabelled sample of /metrics, or None when it does not answer."""
        for line in (await self.metrics_text() or "").splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        return None
