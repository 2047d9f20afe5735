"""Watch connections probe their peer: TCP keepalive set on the socket of a stream
(the informers rely on it, next to their inactivity timeout, to notice half-open
connections)."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import cast

import aiohttp
import pytest

from ome.client import rest


def response_over(sock: socket.socket) -> aiohttp.ClientResponse:
    transport = SimpleNamespace(get_extra_info=lambda name: sock if name == "socket" else None)
    return cast(
        aiohttp.ClientResponse, SimpleNamespace(connection=SimpleNamespace(transport=transport))
    )


@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="Linux socket options")
def test_keepalive_probes_after_the_idle_time() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        rest._keep_alive(response_over(sock), 30.0)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == rest.KEEPALIVE_PROBES


def test_a_response_without_a_socket_is_left_alone() -> None:
    response = cast(aiohttp.ClientResponse, SimpleNamespace(connection=None))
    rest._keep_alive(response, 30.0)
