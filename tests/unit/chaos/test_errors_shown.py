"""The invariant that every reconcile error is visible to the service's owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chaos.invariants import (
    ReconcileError,
    invisible_error_problems,
    reconcile_errors,
    shows_failure,
    warning_events_shown,
)

CONTROLLER = "inferenceservice-controller"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def line(second: float, event: str = "reconcile failed; will retry", **fields: str) -> str:
    entry = {
        "event": event,
        "level": "error",
        "timestamp": at(second).isoformat().replace("+00:00", "Z"),
        "controller": CONTROLLER,
        "namespace": "ns",
        "name": "svc",
        "exception": "Traceback (most recent call last):\n  ...\nApiError: 500 boom",
        **fields,
    }
    return json.dumps(entry)


def test_reconcile_errors_are_read_from_the_log() -> None:
    lines = [
        line(1),
        line(2, event="reconcile timed out", exception="", error="", name="other"),
        line(3, controller="basemodel-controller"),
        line(4, event="object changed meanwhile; will retry"),  # the quiet 409
        "Traceback (most recent call last): not JSON",
        line(11),  # within the fault
    ]
    found = reconcile_errors(lines, CONTROLLER, quiet=[(at(10), at(20))])
    assert found == [
        ReconcileError(at(1), "ns/svc", "ApiError: 500 boom"),
        ReconcileError(at(2), "ns/other", "reconcile timed out"),
    ]


def test_an_error_must_be_shown_after_it_happened() -> None:
    errors = [ReconcileError(at(5), "ns/svc", "boom"), ReconcileError(at(9), "ns/svc", "boom")]
    assert invisible_error_problems(errors, ["ns/svc"], {"ns/svc": at(6)}) == []
    assert invisible_error_problems(errors, ["ns/svc"], {"ns/svc": at(4.5)}) == []  # slack
    never = invisible_error_problems(errors, ["ns/svc"], {})
    assert len(never) == 1
    assert "ns/svc: reconcile error at" in never[0]
    assert len(invisible_error_problems(errors, ["ns/svc"], {"ns/svc": at(1)})) == 1


def test_a_deleted_service_shows_nothing() -> None:
    errors = [ReconcileError(at(5), "ns/gone", "NotFound")]
    assert invisible_error_problems(errors, ["ns/svc"], {}) == []


def test_warning_events_name_their_service() -> None:
    def event(kind: str, kind_of: str, stamp: datetime, series: datetime | None = None) -> dict:
        body: dict = {
            "type": kind,
            "regarding": {"kind": kind_of, "namespace": "ns", "name": "svc"},
            "eventTime": stamp.isoformat(),
        }
        if series is not None:
            body["series"] = {"lastObservedTime": series.isoformat()}
        return body

    events = [
        event("Warning", "InferenceService", at(3)),
        event("Warning", "InferenceService", at(1), series=at(8)),  # repeated since
        event("Normal", "InferenceService", at(20)),
        event("Warning", "Deployment", at(30)),
    ]
    assert warning_events_shown(events, "InferenceService") == {"ns/svc": at(8)}


def test_a_service_shows_a_failure_by_a_ready_false_reason() -> None:
    def service(status: str, reason: str) -> dict:
        condition = {"type": "Ready", "status": status, "reason": reason}
        return {"status": {"conditions": [condition]}}

    assert shows_failure(service("False", "RuntimeNotFound"))
    assert not shows_failure(service("False", ""))
    assert not shows_failure(service("True", "Ready"))
    assert not shows_failure({})
