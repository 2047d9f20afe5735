"""One control-plane component as an operating-system process.

Each component runs in its own session (so a signal to its process group reaches every
process it forks), writes stdout and stderr to one log file, and is stopped by the process
id recorded at start: SIGTERM, then SIGKILL after a grace period. A component can also be
re-attached by id from another process (``ome local down``); the command line is checked
first, so a recycled id is never signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

LOG_TAIL_LINES = 30
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Below it the well-known and registered ports other services on the machine may want.
PORT_FLOOR = 10000
PORT_TRIES = 50


class ComponentError(RuntimeError):
    """A component failed to start or to become healthy; carries its log's tail."""

    def __init__(self, component: str, problem: str, log_tail: str = "") -> None:
        message = f"{component}: {problem}"
        if log_tail:
            message += f"\n--- last lines of the {component} log ---\n{log_tail}"
        super().__init__(message)
        self.component = component
        self.problem = problem
        self.log_tail = log_tail


def free_port() -> int:
    """A loopback port that was free a moment ago (callers retry on a clash), chosen
    outside the kernel's range of ephemeral ports where it can: a port from that range
    may become the local end of any outgoing connection (a watch held for minutes)
    between this check and the caller's bind, which then fails for as long."""
    low, high = _ephemeral_ports()
    candidates: list[int] = [*range(PORT_FLOOR, low), *range(high + 1, 65536)]
    for port in random.sample(candidates, min(PORT_TRIES, len(candidates))):
        if _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux; else IANA's)."""
    try:
        low, high = map(int, EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return 49152, 65535
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _command_line(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in {"Z", "X"}


class Process:
    """A started component; ``argv[0]`` identifies it when re-attached."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        pid: int,
        popen: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.pid = pid
        self._popen = popen

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> Process:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            try:
                popen = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
            except OSError as err:
                raise ComponentError(name, f"cannot execute {argv[0]}: {err.strerror}") from err
        return cls(name, argv, log_path, popen.pid, popen)

    @classmethod
    def attach(cls, name: str, argv: Sequence[str], log_path: Path, pid: int) -> Process:
        return cls(name, argv, log_path, pid)

    def running(self) -> bool:
        """Alive, and the process id still belongs to this component (not a recycled id)."""
        if self._popen is not None:
            return self._popen.poll() is None
        command = _command_line(self.pid)
        return command is not None and command[:1] == self.argv[:1] and not _is_zombie(self.pid)

    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def failure(self, problem: str) -> ComponentError:
        return ComponentError(self.name, problem, self.log_tail())

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(self.pid, signum)

    async def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns once it is gone."""
        if not self.running():
            self._reap()
            return
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.running() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.running():
            self._signal(signal.SIGKILL)
            while self.running():
                await asyncio.sleep(0.02)
        self._reap()

    def kill(self) -> None:
        """SIGKILL without waiting: a crash, for fault tests."""
        self._signal(signal.SIGKILL)

    def _reap(self) -> None:
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)

    async def wait_healthy(
        self, check: Callable[[], Awaitable[bool]], timeout: float, what: str
    ) -> None:
        """Poll ``check`` until it holds; fail fast if the process exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.exit_code()
                detail = f" with exit code {code}" if code is not None else ""
                raise self.failure(f"exited at start{detail} (waiting for {what})")
            try:
                if await check():
                    return
            except (OSError, TimeoutError):
                pass
            if time.monotonic() >= deadline:
                raise self.failure(f"not {what} after {timeout:.0f}s")
            await asyncio.sleep(0.1)
