"""Where the API server is and how to authenticate: a kubeconfig, or the pod's service
account (in-cluster), read as kubectl and client-go read them.

- Files: the ``kubeconfig`` given, else every file of ``$KUBECONFIG`` (merged: the first
  file to name a context, cluster or user wins, and the first ``current-context`` set),
  else ``~/.kube/config``. Paths in a file are relative to the file's directory.
- Clusters: ``server``, ``certificate-authority(-data)``, ``insecure-skip-tls-verify``,
  ``tls-server-name``, ``proxy-url``. Users: ``client-certificate(-data)`` and
  ``client-key(-data)``, ``token``, ``tokenFile`` (re-read once a minute, for rotated
  tokens), ``username``/``password``.
- Users with an ``exec`` plugin or an ``auth-provider`` are read by kubernetes-asyncio's
  loader, imported only for them (it loads every API model of that library).
- In-cluster: ``KUBERNETES_SERVICE_HOST``/``PORT``, the service account's CA and its
  token, re-read once a minute as client-go does (projected tokens are rotated)."""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ome.client.configuration import Configuration

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SERVICE_ACCOUNT_TOKEN = SERVICE_ACCOUNT_DIR / "token"
SERVICE_ACCOUNT_CA = SERVICE_ACCOUNT_DIR / "ca.crt"
TOKEN_REREAD_SECONDS = 60.0
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """Connection settings that cannot be used; the message names the file and field."""


async def load_configuration(
    kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
) -> Configuration:
    """Connection settings from, in order: the given kubeconfig, $KUBECONFIG or
    ~/.kube/config when present, else the pod's service account."""
    if (
        kubeconfig is None
        and "KUBERNETES_SERVICE_HOST" in os.environ
        and not (os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser().exists())
    ):
        return in_cluster_configuration()
    return await kubeconfig_configuration(kubeconfig, context)


def in_cluster_configuration(directory: Path = SERVICE_ACCOUNT_DIR) -> Configuration:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("in-cluster configuration needs KUBERNETES_SERVICE_HOST and _PORT")
    token, ca = directory / "token", directory / "ca.crt"
    for needed in (token, ca):
        if not needed.is_file():
            raise ConfigError(f"in-cluster configuration needs {needed}")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return Configuration(
        host=f"https://{host}:{port}", ssl_ca_cert=str(ca), token_source=TokenFile(token)
    )


class TokenFile:
    """A bearer token read from a file, again once it is a minute old."""

    def __init__(self, path: Path, reread_seconds: float = TOKEN_REREAD_SECONDS) -> None:
        self.path = path
        self.reread_seconds = reread_seconds
        self._header: str | None = None
        self._read_at = float("-inf")

    async def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self._read_at >= self.reread_seconds:
            try:
                token = self.path.read_text().strip()
            except OSError:
                if self._header is None:
                    raise
                token = ""  # keep the last one: a rotation may be replacing the file
            if token:
                self._header = f"Bearer {token}"
            self._read_at = now
        return self._header


@dataclass
class KubeConfig:
    """The merged kubeconfig files: each named entry with the directory of its file."""

    files: list[Path]
    current_context: str | None = None
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)


def kubeconfig_files(kubeconfig: str | os.PathLike[str] | None = None) -> list[Path]:
    if kubeconfig is not None:
        return [Path(kubeconfig)]
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep)]
    return [p for p in listed if str(p) not in ("", ".")] or [Path("~/.kube/config").expanduser()]


def read_kubeconfig(files: list[Path]) -> KubeConfig:
    merged = KubeConfig(files)
    found = False
    for path in files:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue  # $KUBECONFIG may name files that do not exist, as for kubectl
        found = True
        try:
            document = yaml.load(text, Loader=_Loader) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not YAML: {err}") from err
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: not a kubeconfig (a mapping is expected)")
        merged.current_context = merged.current_context or document.get("current-context")
        for entry in _named(document, "contexts", path):
            merged.contexts.setdefault(entry["name"], entry.get("context") or {})
        for entry in _named(document, "clusters", path):
            merged.clusters.setdefault(entry["name"], (entry.get("cluster") or {}, path.parent))
        for entry in _named(document, "users", path):
            merged.users.setdefault(entry["name"], (entry.get("user") or {}, path.parent))
    if not found:
        raise ConfigError(f"no kubeconfig: {', '.join(map(str, files))} not found")
    return merged


def _named(document: Mapping[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    entries = document.get(key) or []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        raise ConfigError(f"{path}: {key} must be a list of entries with a name")
    return entries


def contexts(
    kubeconfig: str | os.PathLike[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every context (``{"name", "context"}``) and the current one, as kubectl lists them."""
    config = read_kubeconfig(kubeconfig_files(kubeconfig))
    listed = [{"name": name, "context": body} for name, body in config.contexts.items()]
    current = next((c for c in listed if c["name"] == config.current_context), None)
    return listed, current


async def kubeconfig_configuration(
    kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
) -> Configuration:
    files = kubeconfig_files(kubeconfig)
    config = read_kubeconfig(files)
    name = context or config.current_context
    where = ", ".join(map(str, files))
    if not name:
        raise ConfigError(f"{where}: no current-context, and no context was given")
    chosen = config.contexts.get(name)
    if chosen is None:
        raise ConfigError(f"{where}: context {name!r} not found")
    cluster, cluster_dir = config.clusters.get(chosen.get("cluster") or "", ({}, Path()))
    if not cluster.get("server"):
        raise ConfigError(f"{where}: context {name!r}: cluster {chosen.get('cluster')!r} "
                          "not found or without a server")  # fmt: skip
    user, user_dir = config.users.get(chosen.get("user") or "", ({}, Path()))
    if "exec" in user or "auth-provider" in user:
        return await _plugin_configuration(kubeconfig, name)
    configuration = Configuration(
        host=str(cluster["server"]).rstrip("/"),
        ssl_ca_cert=_file(cluster, "certificate-authority", cluster_dir),
        verify_ssl=not cluster.get("insecure-skip-tls-verify", False),
        tls_server_name=cluster.get("tls-server-name"),
        proxy=cluster.get("proxy-url"),
        cert_file=_file(user, "client-certificate", user_dir),
        key_file=_file(user, "client-key", user_dir),
    )
    if user.get("token"):
        configuration.api_key["BearerToken"] = f"Bearer {user['token']}"
    elif user.get("tokenFile"):
        configuration.token_source = TokenFile(user_dir / Path(user["tokenFile"]).expanduser())
    elif user.get("username") and user.get("password"):
        basic = base64.b64encode(f"{user['username']}:{user['password']}".encode()).decode()
        configuration.api_key["authorization"] = f"Basic {basic}"
    return configuration


def _file(entry: Mapping[str, Any], key: str, directory: Path) -> str | None:
    """``key``'s file (relative to the kubeconfig's directory), or ``key-data`` written to
    a private temporary file: the TLS library reads certificates from files."""
    if data := entry.get(f"{key}-data"):
        try:
            return _data_file(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError) as err:
            raise ConfigError(f"{key}-data is not base64: {err}") from err
    if path := entry.get(key):
        return str(directory / Path(path).expanduser())
    return None


_data_files: dict[str, str] = {}


def _data_file(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    if digest not in _data_files:
        handle, name = tempfile.mkstemp(prefix="ome-kubeconfig-")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        atexit.register(_remove, name)
        _data_files[digest] = name
    return _data_files[digest]


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


async def _plugin_configuration(
    kubeconfig: str | os.PathLike[str] | None, context: str
) -> Configuration:
    """A user whose credentials come from an exec plugin or an auth provider: read by
    kubernetes-asyncio, which refreshes them; each request asks it for the header."""
    from kubernetes_asyncio import config as kube_config  # noqa: PLC0415
    from kubernetes_asyncio.client import Configuration as PluginConfiguration  # noqa: PLC0415

    loaded = PluginConfiguration()
    await kube_config.load_kube_config(
        config_file=os.fspath(kubeconfig) if kubeconfig is not None else None,
        context=context,
        client_configuration=loaded,
    )

    async def token() -> str | None:
        header = (await loaded.auth_settings()).get("BearerToken") or {}
        return str(header.get("value") or "") or None

    return Configuration(
        host=str(loaded.host),
        ssl_ca_cert=loaded.ssl_ca_cert,
        cert_file=loaded.cert_file,
        key_file=loaded.key_file,
        verify_ssl=loaded.verify_ssl,
        tls_server_name=loaded.tls_server_name,
        proxy=loaded.proxy,
        token_source=token,
    )
