"""Reading manifests: the YAML documents of files and folders, with where each starts, parsed
as the API server's YAML reader parses them (a timestamp stays a string)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader without the YAML 1.1 timestamp type: JSON has no timestamps, so the
    server (and kubectl) see the text as written."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    source: str
    line: int
    content: Any

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def read_documents(text: str, source: str) -> Iterator[Document]:
    """The non-empty documents of a YAML stream; raises yaml.YAMLError on a syntax error."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            content = loader.construct_document(node)
            if content is not None:
                yield Document(source, node.start_mark.line + 1, content)
    finally:
        loader.dispose()


def manifest_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The paths given, with each folder replaced by the manifest files below it (sorted)."""
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
            yield from sorted(found)
        else:
            yield path
