"""Every upstream manifest passes ``ome validate`` (but the two malformed samples, which
fail naming their unknown fields), and validating then dumping gives the input back."""

from __future__ import annotations

import re

import pytest

from ome.api.documents import Document
from ome.api.v1beta1 import KINDS
from ome.api.validation import validate_object
from ome.cli.main import main
from tests.compat.reference import CONFIG, FOLDERS, MALFORMED, needs_reference, reference_documents

pytestmark = needs_reference
LINE = re.compile(r"^(?P<source>[^:]+):\d+: (?P<label>\S+): (?P<verdict>OK|skipped|invalid)")


def test_ome_validate_accepts_the_reference_manifests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(CONFIG)
    assert main(["validate", "-f", *FOLDERS]) == 1  # the malformed samples
    *lines, summary = capsys.readouterr().out.splitlines()
    assert summary == f"{len(lines)} objects: 2 invalid, 36 skipped, {len(lines) - 38} valid"
    verdicts = [LINE.match(line) for line in lines]
    assert all(verdicts), [line for line, v in zip(lines, verdicts, strict=True) if not v]
    invalid = {m["source"] for m in verdicts if m and m["verdict"] == "invalid"}
    accepted = sum(1 for m in verdicts if m and m["verdict"] == "OK")
    skipped = {m["label"].split("/")[0] for m in verdicts if m and m["verdict"] == "skipped"}
    print(f"ome validate: {accepted} accepted, {len(invalid)} rejected of {len(lines)} objects")
    assert invalid == set(MALFORMED)
    assert skipped == {"Namespace", "Secret", "Kustomization"}
    assert accepted == len(ome_objects()) - len(MALFORMED)


@pytest.mark.parametrize("source", sorted(MALFORMED))
def test_malformed_samples_are_rejected_naming_their_unknown_fields(source: str) -> None:
    (document,) = [d for d in reference_documents() if d.source == source]
    outcome = validate_object(document.content, KINDS)
    assert outcome.status == "invalid"
    unknown = sorted(p.removesuffix(": unknown field") for p in outcome.problems if "unknown" in p)
    assert tuple(unknown) == MALFORMED[source]


def ome_objects() -> list[Document]:
    return [d for d in reference_documents() if d.content["apiVersion"].startswith("ome.io/")]


def test_validate_then_dump_gives_the_input_back() -> None:
    checked = 0
    for document in ome_objects():
        outcome = validate_object(document.content, KINDS)
        if outcome.model is None:
            assert document.source in MALFORMED
            continue
        dumped = outcome.model.model_dump(by_alias=True, exclude_unset=True)
        assert dumped == document.content, document.where
        checked += 1
    print(f"round trip: {checked} objects given back exactly")
    assert checked == len(ome_objects()) - len(MALFORMED)
