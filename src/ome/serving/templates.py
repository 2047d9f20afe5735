"""The Go template placeholders OME expands: ``{{ .Name }}``-style fields and
``{{ index .Annotations "key" }}``-style map lookups.

Upstream runs the whole container JSON through Go's html/template, which fails on any
other ``{{ … }}`` (so a runtime carrying a Jinja chat template in its args cannot be
served) and HTML-escapes what it inserts. Here only these two forms are expanded, values
are inserted as they are, and any other ``{{ … }}`` is left untouched."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ACTION = re.compile(r'\{\{\s*(?:\.(\w+)|index\s+\.(\w+)\s+"([^"\\]*)")\s*\}\}')


class Values:
    """What placeholders may refer to: plain fields and string maps, by their Go names."""

    def __init__(
        self, fields: Mapping[str, str], maps: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self._fields = fields
        self._maps = maps or {}

    def _expand(self, match: re.Match[str]) -> str:
        field, map_name, key = match.groups()
        if field is not None:
            return self._fields.get(field, match.group(0))
        if map_name in self._maps:
            return self._maps[map_name].get(key, "")  # Go's index yields "" for a missing key
        return match.group(0)

    def render(self, text: str) -> str:
        return _ACTION.sub(self._expand, text) if "{{" in text else text

    def render_all(self, value: Any) -> Any:
        """Every string in a JSON value rendered (a new value; the input is kept)."""
        if isinstance(value, str):
            return self.render(value)
        if isinstance(value, dict):
            return {k: self.render_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_all(v) for v in value]
        return value
