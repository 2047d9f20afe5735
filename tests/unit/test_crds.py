"""Waiting until a CRD is served: a list that gets no answer in time is asked again."""

from __future__ import annotations

from typing import Any

from ome.testing.crds import _serves


class SlowStorage:
    """Discovery lists the resource; its first list call times out, the next succeeds."""

    def __init__(self) -> None:
        self.lists = 0

    async def get(self, path: str) -> dict[str, Any]:
        return {"resources": [{"name": "widgets"}]}

    async def request(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.lists += 1
        if self.lists == 1:
            raise TimeoutError
        return {"items": []}


async def test_a_list_without_an_answer_in_time_is_not_served_yet() -> None:
    client: Any = SlowStorage()
    assert not await _serves(client, "example.io", "v1", "widgets")
    assert await _serves(client, "example.io", "v1", "widgets")
