"""Where the API server is and how to authenticate: kubeconfig, in-cluster or explicit."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import Configuration

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


async def load_configuration(
    kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
) -> Configuration:
    """Connection settings from, in order: the given kubeconfig, $KUBECONFIG or
    ~/.kube/config when present, else the pod's service account."""
    configuration = Configuration()
    if (
        kubeconfig is None
        and "KUBERNETES_SERVICE_HOST" in os.environ
        and not (os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser().exists())
    ):
        if not SERVICE_ACCOUNT_TOKEN.exists():
            raise kube_config.ConfigException(
                f"in-cluster configuration needs {SERVICE_ACCOUNT_TOKEN}"
            )
        kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
        return configuration
    await kube_config.load_kube_config(
        config_file=os.fspath(kubeconfig) if kubeconfig is not None else None,
        context=context,
        client_configuration=configuration,
    )
    return configuration
