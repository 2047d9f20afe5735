"""AdmissionReview parsing and answers: uid echoed, patch encoded, denials as Status."""

from __future__ import annotations

import base64
import json

import pytest

from ome.webhooks.review import BadReview, Cause, Verdict, parse, respond
from tests.unit.webhooks.support import review_body, service


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"kind": "Pod", "apiVersion": "v1"}', "expected kind AdmissionReview"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}', "no request"),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {}}',
            "no uid",
        ),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_body_that_is_no_review_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(BadReview, match=reason):
        parse(body)


def test_the_request_is_read() -> None:
    request = parse(review_body(service(), "UPDATE", old=service()))
    assert request.operation == "UPDATE"
    assert request.kind == "InferenceService"
    assert request.namespace == "team"
    assert request.object["metadata"]["name"] == "chat"
    assert request.old_object is not None


def test_an_allowed_answer_echoes_the_uid_and_encodes_the_patch() -> None:
    request = parse(review_body(service()))
    patch = [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]
    answer = respond(request, Verdict.allow(["careful"], patch))
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == request.uid
    assert response["allowed"] is True
    assert response["warnings"] == ["careful"]
    assert response["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(response["patch"])) == patch


def test_an_allowed_answer_without_changes_has_no_patch() -> None:
    response = respond(parse(review_body(service())), Verdict.allow())["response"]
    assert "patch" not in response
    assert "patchType" not in response
    assert "status" not in response


def test_a_denial_names_each_field_in_message_and_causes() -> None:
    request = parse(review_body(service()))
    verdict = Verdict.deny([Cause("spec.decoder", "needs an engine"), Cause("", "and more")])
    response = respond(request, verdict)["response"]
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == "spec.decoder: needs an engine; and more"
    assert status["details"]["causes"][0] == {
        "type": "FieldValueInvalid",
        "field": "spec.decoder",
        "message": "needs an engine",
    }


def test_an_error_answer_carries_its_code() -> None:
    response = respond(parse(review_body(service())), Verdict.error(400, "no object"))
    assert response["response"]["status"]["code"] == 400
    assert response["response"]["status"]["reason"] == "BadRequest"
