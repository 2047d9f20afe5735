"""Settings of the storage backends, importable without their libraries (which are extras
of the operator: see :mod:`~ome.agent.download.backends`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ome.agent.download.attempt import TransferSettings

PUBLIC_HUB = "https://huggingface.co"


@dataclass(frozen=True)
class HfSettings(TransferSettings):
    """``endpoint``: the Hub's URL; None: ``$HF_ENDPOINT`` at construction, else the
    public Hub."""


@dataclass(frozen=True)
class S3Settings(TransferSettings):
    """``endpoint``: the S3 API's URL; None: ``$AWS_ENDPOINT_URL`` if set, else AWS."""


def hub_endpoint(settings: HfSettings) -> str:
    """The Hub's URL: the configured one, else ``$HF_ENDPOINT``, else the public Hub."""
    return (settings.endpoint or os.environ.get("HF_ENDPOINT") or PUBLIC_HUB).rstrip("/")
