"""Naming a kind: group, version and kind."""

from __future__ import annotations

from typing import ClassVar, NamedTuple, Protocol


class GVK(NamedTuple):
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def parse(cls, api_version: str, kind: str) -> GVK:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)

    def __str__(self) -> str:
        return (
            f"{self.kind}.{self.version}.{self.group}"
            if self.group
            else f"{self.kind}.{self.version}"
        )


class NamedKind(Protocol):
    """A class that names its kind, as the ome.api models do."""

    API_VERSION: ClassVar[str]
    KIND: ClassVar[str]


Kind = GVK | type[NamedKind]
"""A kind, named by a GVK or by a class with ``API_VERSION`` and ``KIND``."""


def gvk_of(target: GVK | type) -> GVK:
    """A GVK, or a class (such as an ome.api model) with ``API_VERSION`` and ``KIND``."""
    if isinstance(target, GVK):
        return target
    api_version = getattr(target, "API_VERSION", None)
    kind = getattr(target, "KIND", None)
    if isinstance(api_version, str) and isinstance(kind, str):
        return GVK.parse(api_version, kind)
    raise TypeError(
        f"{target!r} names no kind: pass a GVK or a class with API_VERSION and KIND attributes"
    )
