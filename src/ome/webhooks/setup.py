"""Wiring: the webhooks on a Manager, serving on every replica.

    setup(manager, service=ServiceRef("ome", "ome-webhook-service"))          # in cluster
    setup(manager, address="127.0.0.1:9443", url="https://127.0.0.1:9443",
          install=True)                                                       # ome run --local

The handlers read the manager's informer caches (models, runtimes, AcceleratorClasses and
the ``inferenceservice-config`` ConfigMap). The runnable is registered with
``needs_leader=False``: it provisions the certificate (see :mod:`ome.webhooks.provision`),
starts the HTTPS server, then re-checks the certificate every ``check_interval`` seconds
(renewing it before expiry, following a renewal by cert-manager), and follows a
certificate another replica (or an administrator) wrote into the shared Secret within
:data:`RELOAD` seconds.
The manager's ``/readyz`` fails until the server is up."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

from ome.api.v1beta1 import (
    AcceleratorClass,
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    DedicatedAICluster,
    DedicatedAIClusterProfile,
    FineTunedWeight,
    InferenceService,
    ServingRuntime,
)
from ome.client import GVK, Client, NotFound, gvk_of
from ome.controllers.inferenceservice import CONFIG_NAME, StoreCatalog, config_informer
from ome.runtime import Manager
from ome.webhooks import certificates, provision
from ome.webhooks.admission import Admission
from ome.webhooks.configuration import (
    MUTATING_NAME,
    VALIDATING_NAME,
    ServiceRef,
    webhook_configurations,
)
from ome.webhooks.server import WebhookServer

DEFAULT_ADDRESS = "0.0.0.0:9443"
DEFAULT_NAMESPACE = "ome"
SECRET_NAME = "ome-webhook-server-cert"
DEFAULT_CERT_DIR = Path(tempfile.gettempdir()) / "k8s-webhook-server" / "serving-certs"
"""Where cert-manager's Secret is mounted (controller-runtime's default)."""
CONFIGMAP = GVK("", "v1", "ConfigMap")
RETRY = 5.0  # seconds between attempts while the certificate cannot be provisioned
RELOAD = 10.0  # seconds between checks of the certificate files
log = structlog.get_logger("ome.webhooks")


class Webhooks:
    """The runnable: certificate, server, renewals. ``server.port`` is the bound port."""

    def __init__(
        self,
        manager: Manager,
        server: WebhookServer,
        *,
        hosts: tuple[str, ...],
        secret: tuple[str, str] | None,
        options: dict[str, Any],
        install: bool,
        uninstall_on_exit: bool,
        cert_manager_dir: Path | None,
        check_interval: float,
        client: Client | None,
    ) -> None:
        self.manager = manager
        self.server = server
        self.hosts = hosts
        self.secret = secret
        self._options = options
        """:func:`webhook_configurations` arguments but the CA."""
        self.install = install
        self.uninstall_on_exit = uninstall_on_exit
        self.cert_manager_dir = cert_manager_dir
        self.check_interval = check_interval
        self._client = client
        self._bundle: certificates.Bundle | None = None
        self.private_dir: Path | None = None
        """A temporary certificate directory of this process, deleted on exit."""
        self.cert_manager: bool | None = None
        """Known after the first provisioning: whether cert-manager provides the CA."""

    def _names(self) -> list[tuple[GVK, str]]:
        return [
            (provision.MUTATING, self._options["mutating_name"]),
            (provision.VALIDATING, self._options["validating_name"]),
        ]

    async def certificate(self, client: Client) -> certificates.Bundle | None:
        """Make the certificate files current; the bundle whose CA the configurations
        need, or None when cert-manager provides both."""
        if not self.install:
            self.cert_manager = await provision.uses_cert_manager(client, self._names())
        if self.cert_manager:
            assert self.cert_manager_dir is not None
            if provision.read_files(self.cert_manager_dir) is None:
                raise RuntimeError(
                    f"cert-manager mode, but no tls.crt/tls.key in {self.cert_manager_dir} yet"
                )
            self.server.cert_dir = self.cert_manager_dir
            return None
        self.cert_manager = False
        held = self._bundle
        if self.secret is not None:
            bundle = await provision.shared_certificate(client, *self.secret, self.hosts)
        elif held is None or certificates.problem(held, self.hosts) is not None:
            bundle = certificates.generate(self.hosts)
        else:
            bundle = held
        self._bundle = bundle
        provision.write_files(self.server.cert_dir, bundle)
        return bundle

    async def publish(self, client: Client, bundle: certificates.Bundle | None) -> None:
        """Tell the API server where and whom to call: install the configurations (with
        the CA) or inject the CA into the existing ones."""
        if bundle is None:
            return
        if self.install:
            mutating, validating = webhook_configurations(ca_bundle=bundle.ca, **self._options)
            await provision.install(client, (mutating, validating))
            return
        for gvk, name in self._names():
            if not await provision.inject_ca_bundle(client, gvk, name, bundle.ca):
                log.warning("no webhook configuration to inject into", kind=gvk.kind, name=name)

    async def secret_changed(self, client: Client) -> bool:
        """Whether the shared Secret holds another certificate than the one served: a
        rotation by another replica (or by hand) whose CA the configurations may already
        name, so that the API server refuses this replica's old certificate from now on.
        One GET, every :data:`RELOAD` seconds."""
        if self.cert_manager or self.secret is None:
            return False
        namespace, name = self.secret
        current = await provision.get_or_none(client, provision.SECRET, name, namespace)
        return current is None or provision.decode(current) != self._bundle

    async def run(self) -> None:
        client = self._client or Client(
            self.manager.client.configuration, timeout=self.manager.client.timeout
        )
        try:
            await self._start(client)
            checked = time.monotonic()
            while True:
                await asyncio.sleep(RELOAD)
                try:
                    due = time.monotonic() - checked >= self.check_interval
                    if due or await self.secret_changed(client):
                        checked = time.monotonic()
                        bundle = await self.certificate(client)
                        self.server.reload_certificate()
                        await self.publish(client, bundle)
                    else:
                        self.server.reload_certificate()
                except Exception as err:  # keep serving the current certificate
                    log.warning("webhook certificate check failed", error=str(err))
        finally:
            await self.server.stop()
            if self.private_dir is not None:
                shutil.rmtree(self.private_dir, ignore_errors=True)
            try:
                if self.uninstall_on_exit:
                    await _uninstall(client, self._names())
            finally:
                if self._client is None:
                    await client.close()

    async def _start(self, client: Client) -> None:
        """Certificate, then server, then configurations: the API server is sent here only
        once something answers."""
        while True:
            try:
                bundle = await self.certificate(client)
                if not self.server.started:
                    await self.server.start()
                await self.publish(client, bundle)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # not ready yet: the API, RBAC, cert-manager
                log.warning("webhooks not ready, retrying", error=str(err))
                await asyncio.sleep(RETRY)


async def _uninstall(client: Client, names: list[tuple[GVK, str]]) -> None:
    for gvk, name in names:
        with contextlib.suppress(NotFound):
            await (await client.resource(gvk)).delete(name)
        log.info("webhook configuration removed", kind=gvk.kind, name=name)


def setup(
    manager: Manager,
    *,
    address: str = DEFAULT_ADDRESS,
    cert_dir: Path | str | None = None,
    service: ServiceRef | tuple[str, str] | None = None,
    url: str | None = None,
    secret_name: str | None = SECRET_NAME,
    secret_namespace: str | None = None,
    mutating_name: str = MUTATING_NAME,
    validating_name: str = VALIDATING_NAME,
    install: bool = False,
    uninstall_on_exit: bool = False,
    namespace_selector: Mapping[str, Any] | None = None,
    object_selector: Mapping[str, Any] | None = None,
    config_namespace: str | None = None,
    check_accelerator_classes: bool = True,
    check_interval: float = 3600.0,
    client: Client | None = None,
) -> Webhooks:
    """Serve the admission webhooks from ``manager`` on every replica.

    - ``service`` (``(namespace, name)`` or a :class:`ServiceRef`) or ``url`` (the
      server's base URL, e.g. ``https://127.0.0.1:9443``): how the API server reaches
      this server; the certificate is issued for those names.
    - ``cert_dir``: where the server reads ``tls.crt``/``tls.key``. With cert-manager
      (configurations annotated ``cert-manager.io/inject-ca-from``) the mounted Secret,
      default :data:`DEFAULT_CERT_DIR`; otherwise where the generated certificate is
      written, default a private temporary directory.
    - ``secret_name``/``secret_namespace``: the Secret sharing the generated certificate
      between replicas (namespace default: the Service's, else the manager's, else
      ``ome``); ``secret_name=None`` keeps it in memory (one replica, e.g. local runs).
    - ``mutating_name``/``validating_name``: the configurations to inject the CA into;
      with ``install=True`` they are first created or updated from
      :func:`~ome.webhooks.configuration.webhook_configurations` (with the selectors
      and the CA); ``uninstall_on_exit=True`` deletes them when the runnable stops (for
      a single local process: a configuration left behind with no server refuses every
      write it covers).
    - ``config_namespace``: where ``inferenceservice-config`` is (default: the
      manager's namespace, else ``ome``).
    - ``client``: for the certificate writes (default: a new client with the manager's
      configuration, not fenced by leader election).
    """
    if isinstance(service, tuple):
        service = ServiceRef(*service)
    if (service is None) == (url is None):
        raise ValueError("give exactly one of service and url")
    hosts = (
        certificates.service_hosts(service.namespace, service.name) if service else _url_hosts(url)
    )
    namespace = manager.options.namespace or DEFAULT_NAMESPACE
    options: dict[str, Any] = {
        "service": service,
        "url": url,
        "mutating_name": mutating_name,
        "validating_name": validating_name,
        "namespace_selector": namespace_selector,
        "object_selector": object_selector,
    }
    webhook_configurations(**options)  # refuse bad arguments now, not at start
    admission = _admission(manager, config_namespace or namespace, check_accelerator_classes)
    directory = Path(cert_dir) if cert_dir is not None else None
    own_dir = directory or Path(tempfile.mkdtemp(prefix="ome-webhook-certs-"))
    server = WebhookServer(admission, address, own_dir, manager.registry)
    secret = None
    if secret_name is not None:
        secret = (secret_namespace or (service.namespace if service else namespace), secret_name)
    webhooks = Webhooks(
        manager,
        server,
        hosts=hosts,
        secret=secret,
        options=options,
        install=install,
        uninstall_on_exit=uninstall_on_exit,
        cert_manager_dir=directory or DEFAULT_CERT_DIR,
        check_interval=check_interval,
        client=client,
    )
    webhooks.private_dir = own_dir if directory is None else None
    manager.add_runnable(webhooks.run, needs_leader=False)
    manager.probes.add_readyz_check("webhook", server.ready)
    return webhooks


def _url_hosts(url: str | None) -> tuple[str, ...]:
    host = urlsplit(url or "").hostname
    if not host:
        raise ValueError(f"url {url!r} has no host")
    return (host,)


def _admission(manager: Manager, config_namespace: str, accelerators: bool) -> Admission:
    stores = [
        manager.informer(gvk_of(kind)).store
        for kind in (BaseModel, ClusterBaseModel, ServingRuntime, ClusterServingRuntime)
    ]
    weights = manager.informer(gvk_of(FineTunedWeight)).store
    catalog = StoreCatalog(*stores, fine_tuned_weights=weights)
    configmaps = config_informer(manager, config_namespace).store

    def config_data() -> Mapping[str, str] | None:
        found = configmaps.get(f"{config_namespace}/{CONFIG_NAME}")
        data = (found or {}).get("data")
        return data if found is not None else None

    services = manager.informer(gvk_of(InferenceService)).store

    def weight_users(name: str) -> list[str]:
        return [
            f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
            for obj in services.list()
            if name in (((obj.get("spec") or {}).get("model") or {}).get("fineTunedWeights") or [])
        ]

    profiles = manager.informer(gvk_of(DedicatedAIClusterProfile)).store
    dacs = manager.informer(gvk_of(DedicatedAICluster)).store
    admission = Admission(
        catalog,
        config_data,
        weight_users=weight_users,
        dac_profiles=profiles.get,
        dacs=dacs.get,
    )
    if not accelerators:
        return admission
    classes = manager.informer(gvk_of(AcceleratorClass)).store

    def accelerator_classes() -> list[str]:
        return [obj["metadata"]["name"] for obj in classes.list()]

    return replace(admission, accelerator_classes=accelerator_classes)
