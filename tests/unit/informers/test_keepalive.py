"""Watch connections probe their peer: TCP keepalive set on the socket of a stream
(the informers rely on it, next to their inactivity timeout, to notice half-open
connections)."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import cast

import pytest

from ome.client import transport


def transport_over(sock: socket.socket | None) -> asyncio.BaseTransport:
    return cast(
        asyncio.BaseTransport,
        SimpleNamespace(get_extra_info=lambda name: sock if name == "socket" else None),
    )


@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="Linux socket options")
def test_keepalive_probes_after_the_idle_time() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        transport.keep_alive(transport_over(sock), 30.0)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == transport.KEEPALIVE_PROBES


def test_a_transport_without_a_socket_is_left_alone() -> None:
    transport.keep_alive(transport_over(None), 30.0)
    transport.keep_alive(None, 30.0)
