"""The manager's HTTP endpoints: health probes and Prometheus metrics, on aiohttp.

Probes answer like controller-runtime's: ``/healthz`` and ``/readyz`` return 200 ``ok`` or
500 listing the failed checks; ``?verbose`` lists every check as ``[+]name ok`` or
``[-]name failed: reason``; ``/healthz/<name>`` runs one check; ``?exclude=<name>`` skips one.
A check is a callable returning None when healthy or a reason string when not.

aiohttp is imported when a server starts, not with this module: importing it costs a
process about a fifth of a second of CPU (it builds TLS contexts at import), which a
manager serving neither endpoint, or a command that only reads the probes, need not pay.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

if TYPE_CHECKING:
    from aiohttp import web

Check = Callable[[], "Awaitable[str | None] | str | None"]
Routes = Callable[["web.Application"], None]
"""Adds a server's routes to its application."""


async def _run(check: Check) -> str | None:
    outcome = check()
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


class Probes:
    """Named health and readiness checks."""

    def __init__(self) -> None:
        self.checks: dict[str, dict[str, Check]] = {"healthz": {}, "readyz": {}}

    def add_healthz_check(self, name: str, check: Check) -> None:
        self._add("healthz", name, check)

    def add_readyz_check(self, name: str, check: Check) -> None:
        self._add("readyz", name, check)

    def _add(self, probe: str, name: str, check: Check) -> None:
        if not name or "/" in name:
            raise ValueError(f"check name {name!r} must be non-empty and contain no '/'")
        if name in self.checks[probe]:
            raise ValueError(f"{probe} check {name!r} is already registered")
        self.checks[probe][name] = check

    async def _answer(self, probe: str, request: web.Request) -> web.Response:
        from aiohttp import web  # noqa: PLC0415 - see the module docstring

        checks = self.checks[probe]
        only = request.match_info.get("check")
        if only is not None:
            if only not in checks:
                return web.Response(status=404, text=f"no {probe} check named {only}\n")
            checks = {only: checks[only]}
        excluded = set(request.query.getall("exclude", []))
        lines, failed = [], False
        for name, check in checks.items():
            if name in excluded:
                continue
            try:
                problem = await _run(check)
            except Exception as err:  # a broken check is a failed check, not a 500 crash
                problem = f"{type(err).__name__}: {err}"
            failed |= problem is not None
            lines.append(f"[+]{name} ok" if problem is None else f"[-]{name} failed: {problem}")
        verdict = f"{probe} check {'failed' if failed else 'passed'}"
        detailed = "verbose" in request.query or failed
        text = "\n".join([*lines, verdict]) + "\n" if detailed else "ok"
        return web.Response(status=500 if failed else 200, text=text)

    def add_routes(self, app: web.Application) -> None:
        for probe in self.checks:

            async def handler(request: web.Request, probe: str = probe) -> web.Response:
                return await self._answer(probe, request)

            app.router.add_get(f"/{probe}", handler)
            app.router.add_get(f"/{probe}/{{check}}", handler)


def add_metrics_route(app: web.Application, registry: CollectorRegistry) -> None:
    from aiohttp import web  # noqa: PLC0415 - see the module docstring

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app.router.add_get("/metrics", metrics)


def parse_address(address: str) -> tuple[str, int] | None:
    """``host:port`` or ``:port`` (all interfaces); ``0`` or '' turns the server off."""
    if address in ("", "0"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bind address {address!r} must look like host:port or :port")
    return host or "0.0.0.0", int(port)


class HttpServer:
    """One aiohttp application on one address, its routes added when it starts; ``port``
    is known once started."""

    def __init__(self, address: str, routes: Routes) -> None:
        self.bind = parse_address(address)
        self.routes = routes
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.bind is None:
            return
        from aiohttp import web  # noqa: PLC0415 - see the module docstring

        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind[0], self.bind[1])
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.bind[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
