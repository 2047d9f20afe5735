"""The one type for "a Kubernetes object" as the API server sends it: its JSON document
(``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status`` …), read-only.

Objects from a cache are shared by every reader, so the type offers no mutation: build
a new dict to write. For typed access, parse with a pydantic model (the ``ome.api``
types, or your own) through :meth:`ome.client.Client.resource` or
:func:`ome.informers.parse`.
"""

from collections.abc import Mapping, MutableMapping
from typing import Any

KubeObject = Mapping[str, Any]
MutableKubeObject = MutableMapping[str, Any]
"""An object being built or changed before it is written (never one from a cache)."""
