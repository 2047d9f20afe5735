"""Connection settings read from kubeconfig files and from a pod's service account, as
kubectl and client-go read them."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.client import ConfigError, load_configuration
from ome.client.config import TokenFile, contexts, in_cluster_configuration


def kubeconfig(
    path: Path,
    *,
    current: str | None = "main",
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": c} for n, c in (contexts or {}).items()],
    }
    if current:
        document["current-context"] = current
    path.write_text(yaml.safe_dump(document))
    return path


def simple(path: Path, user: dict[str, Any], **cluster: Any) -> Path:
    return kubeconfig(
        path,
        clusters={"c": {"server": "https://10.0.0.1:6443/", **cluster}},
        users={"u": user},
        contexts={"main": {"cluster": "c", "user": "u", "namespace": "team"}},
    )


async def test_a_token_user_with_inline_ca(tmp_path: Path) -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
    path = simple(
        tmp_path / "config",
        {"token": "abc"},
        **{"certificate-authority-data": base64.b64encode(ca).decode()},
    )
    configuration = await load_configuration(path)
    assert configuration.host == "https://10.0.0.1:6443"
    assert configuration.ssl_ca_cert is not None
    assert Path(configuration.ssl_ca_cert).read_bytes() == ca
    assert stat.S_IMODE(Path(configuration.ssl_ca_cert).stat().st_mode) == 0o600
    assert configuration.verify_ssl
    assert await configuration.authorization() == "Bearer abc"


async def test_files_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = simple(
        tmp_path / "config",
        {"client-certificate": "pki/admin.crt", "client-key": "/abs/admin.key"},
        **{
            "certificate-authority": "pki/ca.crt",
            "insecure-skip-tls-verify": True,
            "tls-server-name": "kubernetes",
            "proxy-url": "http://proxy:3128",
        },
    )
    configuration = await load_configuration(path)
    assert configuration.ssl_ca_cert == str(tmp_path / "pki" / "ca.crt")
    assert configuration.cert_file == str(tmp_path / "pki" / "admin.crt")
    assert configuration.key_file == "/abs/admin.key"
    assert not configuration.verify_ssl
    assert configuration.tls_server_name == "kubernetes"
    assert configuration.proxy == "http://proxy:3128"
    assert await configuration.authorization() is None


async def test_basic_auth_and_token_files(tmp_path: Path) -> None:
    basic = await load_configuration(simple(tmp_path / "a", {"username": "u", "password": "p"}))
    assert await basic.authorization() == "Basic " + base64.b64encode(b"u:p").decode()
    (tmp_path / "token").write_text("first\n")
    from_file = await load_configuration(simple(tmp_path / "b", {"tokenFile": "token"}))
    assert await from_file.authorization() == "Bearer first"


async def test_kubeconfig_files_merge_first_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kubeconfig(
        tmp_path / "first",
        current=None,
        clusters={"c": {"server": "https://first"}},
        users={"u": {"token": "one"}},
    )
    second = kubeconfig(
        tmp_path / "second",
        current="main",
        clusters={"c": {"server": "https://second"}},
        users={"u": {"token": "two"}},
        contexts={"main": {"cluster": "c", "user": "u"}, "other": {"cluster": "c"}},
    )
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", f"{first}:{missing}:{second}")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    configuration = await load_configuration()
    assert configuration.host == "https://first"
    assert await configuration.authorization() == "Bearer one"
    listed, current = contexts()
    assert [c["name"] for c in listed] == ["main", "other"]
    assert current == {"name": "main", "context": {"cluster": "c", "user": "u"}}
    assert (await load_configuration(context="other")).host == "https://first"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"current": None}, "no current-context"),
        ({"current": "elsewhere"}, "context 'elsewhere' not found"),
        ({"clusters": {"c": {}}}, "cluster 'c' not found or without a server"),
    ],
)
async def test_unusable_kubeconfigs_are_named(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    settings: dict[str, Any] = {
        "clusters": {"c": {"server": "https://x"}},
        "contexts": {"main": {"cluster": "c"}},
        **change,
    }
    path = kubeconfig(tmp_path / "config", **settings)
    with pytest.raises(ConfigError, match=named):
        await load_configuration(path)


async def test_malformed_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "list").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="not a kubeconfig"):
        await load_configuration(tmp_path / "list")
    (tmp_path / "contexts").write_text("contexts: [1, 2]\n")
    with pytest.raises(ConfigError, match="contexts must be a list of entries with a name"):
        await load_configuration(tmp_path / "contexts")
    with pytest.raises(ConfigError, match="not found"):
        await load_configuration(tmp_path / "absent")
    path = simple(tmp_path / "config", {"client-key-data": "not base64!"})
    with pytest.raises(ConfigError, match="client-key-data is not base64"):
        await load_configuration(path)


async def test_an_exec_plugin_gives_the_token(tmp_path: Path) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "from-plugin"},
    }
    plugin = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
        "interactiveMode": "Never",
    }
    configuration = await load_configuration(simple(tmp_path / "config", {"exec": plugin}))
    assert configuration.host == "https://10.0.0.1:6443"
    assert await configuration.authorization() == "Bearer from-plugin"


async def test_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("pod-token")
    (tmp_path / "ca.crt").write_text("CA")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    configuration = in_cluster_configuration(tmp_path)
    assert configuration.host == "https://[fd00::1]:443"
    assert configuration.ssl_ca_cert == str(tmp_path / "ca.crt")
    assert await configuration.authorization() == "Bearer pod-token"
    (tmp_path / "ca.crt").unlink()
    with pytest.raises(ConfigError, match=r"ca\.crt"):
        in_cluster_configuration(tmp_path)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT")
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST and _PORT"):
        in_cluster_configuration(tmp_path)


async def test_a_token_file_is_read_again_once_a_minute_old(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    token = TokenFile(path, reread_seconds=0.0)
    assert await token() == "Bearer one"
    path.write_text("two")  # rotated
    assert await token() == "Bearer two"
    path.unlink()  # mid-rotation: the last token is kept
    assert await token() == "Bearer two"
    cached = TokenFile(tmp_path / "cached", reread_seconds=3600)
    (tmp_path / "cached").write_text("kept")
    assert await cached() == "Bearer kept"
    (tmp_path / "cached").write_text("new")
    assert await cached() == "Bearer kept"
