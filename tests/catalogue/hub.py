"""A Hugging Face Hub on loopback serving every model of upstream's catalogue, as
synthesized by :mod:`tests.catalogue.synthetic`: point the agents (``--hf-endpoint``, or
``$HF_ENDPOINT``) or ``ome explain --fetch-metadata`` at its URL.

    async with catalogue_hub() as hub:
        run_something(hf_endpoint=hub.url)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from tests.catalogue.synthetic import ModelFacts, catalogue_facts, repo_files
from tests.integration.agent.fakehub import FakeHub, serve


def catalogue_repos(hub: FakeHub, facts: Iterable[ModelFacts] | None = None) -> FakeHub:
    """Add the models' repositories (all of the catalogue by default) to ``hub``."""
    for model in catalogue_facts() if facts is None else facts:
        hub.add_files(model.repo, repo_files(model))
    return hub


@asynccontextmanager
async def catalogue_hub(facts: Iterable[ModelFacts] | None = None) -> AsyncIterator[FakeHub]:
    """Serve the catalogue (or ``facts``' models) on 127.0.0.1 while in the block."""
    async with serve(catalogue_repos(FakeHub(), facts)) as hub:
        yield hub
