"""An S3 API server on loopback (moto's), holding the real MiniLM model."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tests.unit.agent.helpers import MINILM

BUCKET = "models"
PREFIX = "minilm"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class S3Server:
    url: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
        )

    def upload(self, directory: Path, prefix: str, bucket: str = BUCKET) -> None:
        client = self.client()
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                key = f"{prefix}/{file.relative_to(directory).as_posix()}"
                client.put_object(Bucket=bucket, Key=key, Body=file.read_bytes())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """A fresh server with bucket ``models`` holding MiniLM under ``minilm/``."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = S3Server(f"http://127.0.0.1:{port}")
        s3.client().create_bucket(Bucket=BUCKET)
        s3.upload(MINILM, PREFIX)
        yield s3
    finally:
        server.stop()
