"""The HTTPS server the API server calls: one POST route per webhook, on aiohttp.

A body that is not an AdmissionReview gets HTTP 400 with the reason as text; a handler
that fails answers the review with a 500 status (the API server then applies the
webhook's failure policy) — the server itself never goes down over a request. The TLS
certificate is re-read when its files change (cert-manager renewals, or a new
certificate this process wrote), without dropping connections."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from ome.runtime.http import parse_address
from ome.webhooks.admission import Admission
from ome.webhooks.certificates import TLS_CERT, TLS_KEY
from ome.webhooks.configuration import HOOKS
from ome.webhooks.metrics import WebhookMetrics
from ome.webhooks.review import BadReview, Verdict, parse, respond

log = structlog.get_logger("ome.webhooks")
CACHE_GRACE = 5.0  # seconds a refusal over missing objects waits for the caches
CACHE_POLL = 0.2
"""Both well inside the 10 s the API server gives a webhook."""
MAX_BODY = 16 * 1024 * 1024
"""An AdmissionReview carries the object twice (object, oldObject); runtimes with pod
templates can be large."""


class WebhookServer:
    """Serves :class:`Admission` over TLS on ``address`` (``host:port``, port 0 picks a
    free one: read :attr:`port` once started)."""

    def __init__(
        self,
        admission: Admission,
        address: str,
        cert_dir: Path,
        registry: CollectorRegistry | None = None,
    ) -> None:
        bind = parse_address(address)
        if bind is None:
            raise ValueError(f"the webhook server needs an address, not {address!r}")
        self.bind = bind
        self.admission = admission
        self.cert_dir = cert_dir
        self.metrics = WebhookMetrics(registry or CollectorRegistry(), (h.path for h in HOOKS))
        self.port = 0
        self.app = web.Application(client_max_size=MAX_BODY)
        for hook in HOOKS:
            self.app.router.add_post(hook.path, self._serve)
        self._runner: web.AppRunner | None = None
        self._ssl: ssl.SSLContext | None = None
        self._loaded: tuple[float, float] | None = None

    @property
    def cert_file(self) -> Path:
        return self.cert_dir / TLS_CERT

    @property
    def key_file(self) -> Path:
        return self.cert_dir / TLS_KEY

    @property
    def started(self) -> bool:
        return self._runner is not None

    def ready(self) -> str | None:
        """A probe check: None once serving."""
        return None if self.started else "webhook server not started"

    async def start(self) -> None:
        """Listen; the certificate files must exist by now."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ssl = context
        self.reload_certificate(force=True)
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.bind[0], self.bind[1], ssl_context=context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the bound port is only here
        self.port = sockets[0].getsockname()[1] if sockets else self.bind[1]
        self._runner = runner
        log.info("webhook server started", address=f"{self.bind[0]}:{self.port}")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def reload_certificate(self, *, force: bool = False) -> bool:
        """Load the certificate files into the TLS context if they changed since the last
        load; True when loaded. New handshakes use the new certificate."""
        if self._ssl is None:
            return False
        stamp = (self.cert_file.stat().st_mtime, self.key_file.stat().st_mtime)
        if not force and stamp == self._loaded:
            return False
        self._ssl.load_cert_chain(self.cert_file, self.key_file)
        self._loaded = stamp
        log.info("webhook certificate loaded", cert=str(self.cert_file))
        return True

    async def _serve(self, request: web.Request) -> web.Response:
        path = request.path
        self.metrics.in_flight.labels(path).inc()
        started = time.monotonic()
        try:
            response = await self._answer(request)
        finally:
            self.metrics.in_flight.labels(path).dec()
            self.metrics.latency.labels(path).observe(time.monotonic() - started)
        self.metrics.requests.labels(path, str(response.status)).inc()
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        handler = self.admission.handler(request.path)
        if handler is None:  # only registered paths are routed here
            return web.Response(status=404, text=f"no webhook at {request.path}\n")
        try:
            body = await request.read()
            review = parse(body)
        except BadReview as err:
            log.warning("bad admission request", path=request.path, error=str(err))
            return web.Response(status=400, text=f"bad AdmissionReview: {err}\n")
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="AdmissionReview too large\n")
        try:
            verdict = handler(review)
            # A model applied together with its service may reach the cache a moment
            # after the service reaches this webhook: judge again before refusing.
            deadline = time.monotonic() + CACHE_GRACE
            while verdict.transient and time.monotonic() < deadline:
                await asyncio.sleep(CACHE_POLL)
                verdict = handler(review)
        except Exception as err:  # a bug must cost one request, not the server
            log.exception("webhook failed", path=request.path, uid=review.uid)
            verdict = Verdict.error(500, f"internal error: {type(err).__name__}: {err}")
        if not verdict.allowed:
            self.metrics.denied.labels(request.path, str(verdict.code)).inc()
            log.info(
                "admission denied",
                path=request.path,
                name=review.name,
                namespace=review.namespace,
                message=verdict.message,
            )
        return web.json_response(respond(review, verdict))


async def watch_certificate(server: WebhookServer, interval: float = 10.0) -> None:
    """Reload the certificate whenever its files change, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            server.reload_certificate()
        except (OSError, ssl.SSLError) as err:  # half-written files: try again next time
            log.warning("cannot reload the webhook certificate", error=str(err))
