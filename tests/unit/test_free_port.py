"""Free loopback ports for the test control plane's components and servers."""

from __future__ import annotations

import socket

from ome.testing.process import _ephemeral_ports, free_port


def test_a_free_port_is_outside_the_ephemeral_range_and_bindable() -> None:
    # Outgoing connections take their local port from the ephemeral range: one of them
    # could hold a port chosen there until long after the caller wants to bind it.
    low, high = _ephemeral_ports()
    for _ in range(20):
        port = free_port()
        assert not low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
