"""Each malformed variant is refused by ``ome validate``, naming the field (the API
server's verdict on the same variants is in test_apiserver)."""

from __future__ import annotations

import pytest

from ome.api.v1beta1 import KINDS
from ome.api.validation import validate_object
from tests.compat.malformed import API_VERSION, VALID, VARIANTS, Variant


def test_there_are_enough_variants() -> None:
    assert len(VARIANTS) >= 20
    assert len({v.id for v in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_originals_are_valid(kind: str) -> None:
    document = dict(VALID[kind], apiVersion=API_VERSION, kind=kind)
    assert validate_object(document, KINDS).status == "valid"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_is_refused_naming_the_field(variant: Variant) -> None:
    outcome = validate_object(variant.document, KINDS)
    assert outcome.status == "invalid"
    assert any(problem.startswith(variant.path) for problem in outcome.problems), outcome.problems
