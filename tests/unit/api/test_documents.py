"""Reading manifests as kubectl and the API server read them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ome.api.documents import manifest_files, read_documents

STREAM = """\
# a comment
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
---
apiVersion: ome.io/v1beta1
kind: BenchmarkJob
status:
  startTime: 2025-05-01T10:00:00Z
  enabled: yes
"""


def test_documents_and_where_they_start() -> None:
    documents = list(read_documents(STREAM, "x.yaml"))
    assert [d.where for d in documents] == ["x.yaml:2", "x.yaml:7"]
    status = documents[1].content["status"]
    assert status["startTime"] == "2025-05-01T10:00:00Z"  # JSON has no timestamps
    assert status["enabled"] is True  # YAML 1.1 booleans, as kubectl's reader has them


def test_syntax_errors_raise() -> None:
    with pytest.raises(yaml.YAMLError):
        list(read_documents("a: [1,\n", "bad.yaml"))


def test_folders_are_searched_recursively(tmp_path: Path) -> None:
    for name in ("b/two.yml", "a/one.yaml", "c/three.json", "c/notes.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    single = tmp_path / "c" / "notes.md"
    found = [p.relative_to(tmp_path).as_posix() for p in manifest_files([tmp_path, single])]
    assert found == ["a/one.yaml", "b/two.yml", "c/three.json", "c/notes.md"]
