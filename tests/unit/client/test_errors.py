"""Error answers become typed exceptions."""

from __future__ import annotations

import json

from ome.client import errors


def status(code: int, reason: str, **details: object) -> bytes:
    return json.dumps(
        {
            "kind": "Status",
            "code": code,
            "reason": reason,
            "message": "it failed",
            "details": details,
        }
    ).encode()


def test_already_exists_is_a_conflict() -> None:
    error = errors.error_from_response(409, status(409, "AlreadyExists"), {})
    assert isinstance(error, errors.AlreadyExists)
    assert isinstance(error, errors.Conflict)


def test_invalid_carries_field_causes() -> None:
    body = status(422, "Invalid", causes=[{"field": "spec.replicas", "message": "must be >= 0"}])
    error = errors.error_from_response(422, body, {})
    assert isinstance(error, errors.Invalid)
    assert error.causes == (("spec.replicas", "must be >= 0"),)


def test_too_many_requests_reads_retry_after() -> None:
    error = errors.error_from_response(429, status(429, "TooManyRequests"), {"retry-after": "3"})
    assert isinstance(error, errors.TooManyRequests)
    assert error.retry_after == 3.0


def test_a_body_that_is_not_json_still_gives_a_message() -> None:
    error = errors.error_from_response(503, b"upstream unavailable", {})
    assert type(error) is errors.ApiError
    assert "upstream unavailable" in str(error)
