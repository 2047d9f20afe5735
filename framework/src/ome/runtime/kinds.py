"""Naming the kinds a controller works with (defined beside the client, which maps them)."""

from ome.client.kinds import GVK, gvk_of

__all__ = ["GVK", "gvk_of"]
