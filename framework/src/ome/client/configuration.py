"""Where the API server is and how a client proves who it is: the settings one client
connects with (:mod:`ome.client.config` reads them from a kubeconfig or a pod).

The attribute names are kubernetes-asyncio's (``host``, ``ssl_ca_cert``, ``cert_file``,
``key_file``, ``verify_ssl``, ``api_key``), so settings written for it read the same.
This module imports nothing of kubernetes-asyncio: its client package loads every API
model it has, which costs a process tens of MiB and most of a second of start-up for
classes the framework never uses (it speaks plain JSON)."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

TokenSource = Callable[[], Awaitable[str | None]]
"""Gives the ``Authorization`` header for the next request, for credentials that
change: a service account token re-read from its file, an exec plugin's token."""


@dataclass
class Configuration:
    host: str = "http://localhost"
    """The API server's URL, e.g. ``https://10.0.0.1:6443``."""
    ssl_ca_cert: str | None = None
    """File of the CA certificates the server's certificate must chain to; None: the
    system's."""
    cert_file: str | None = None
    """Client certificate file (PEM), with ``key_file``."""
    key_file: str | None = None
    verify_ssl: bool = True
    """False: do not check the server's certificate (``insecure-skip-tls-verify``)."""
    tls_server_name: str | None = None
    """The name to check the server's certificate against, when not the host's."""
    proxy: str | None = None
    """A proxy URL (``proxy-url``); None: ``HTTPS_PROXY``/``NO_PROXY``, read once."""
    api_key: dict[str, str] = field(default_factory=dict)
    """Fixed credentials, the ``Authorization`` header under ``BearerToken``
    (``{"BearerToken": "Bearer TOKEN"}``) or ``authorization`` (basic auth)."""
    token_source: TokenSource | None = None
    """Credentials that change; asked before each request, and wins over ``api_key``."""
    connection_pool_maxsize: int = 100
    """Connections to the server open at once."""

    async def authorization(self) -> str | None:
        """The ``Authorization`` header for the next request, if any."""
        if self.token_source is not None:
            return await self.token_source()
        return self.api_key.get("BearerToken") or self.api_key.get("authorization")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ssl_ca_cert)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, keyfile=self.key_file)
        if not self.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
