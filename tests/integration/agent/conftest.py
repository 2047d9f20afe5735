from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.agent.fakehub import FakeHub, serve
from tests.unit.agent.helpers import MINILM

PUBLIC = "sentence-transformers/all-MiniLM-L6-v2"
PRIVATE = "acme/private-minilm"
PRIVATE_TOKEN = "hf_acme_reader"


@pytest_asyncio.fixture(loop_scope="session")
async def hub() -> AsyncIterator[FakeHub]:
    """A Hub on loopback serving the real MiniLM model, publicly and as a private repo."""
    hub = FakeHub()
    hub.add_repo(PUBLIC, MINILM)
    hub.add_repo(PRIVATE, MINILM, token=PRIVATE_TOKEN)
    async with serve(hub):
        yield hub
