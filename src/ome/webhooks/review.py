"""AdmissionReview v1: reading the API server's request and writing the answer.

The API server sends ``{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
"request": {...}}`` and expects the same envelope back with ``response.uid`` echoing
``request.uid``. A mutation is a base64-encoded JSON Patch; a denial carries a Status
whose ``message`` the API server shows after ``admission webhook "…" denied the request:``.
A body that is not such a review cannot be answered in kind: :class:`BadReview` says why
and the server turns it into an HTTP 400."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"


class BadReview(ValueError):
    """The body is not an AdmissionReview v1 request that can be answered."""


@dataclass(frozen=True)
class Request:
    """The parts of ``AdmissionReview.request`` the webhooks read."""

    uid: str
    operation: str
    kind: str
    namespace: str | None
    name: str | None
    object: Any
    old_object: Any = None
    dry_run: bool = False
    api_version: str = API_VERSION


@dataclass(frozen=True)
class Cause:
    """One field the request is refused for (``field`` as the API server writes paths)."""

    field: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """The webhook's answer before it is put into the envelope."""

    allowed: bool
    message: str = ""
    code: int = 200
    causes: tuple[Cause, ...] = ()
    warnings: tuple[str, ...] = ()
    patch: Sequence[Mapping[str, Any]] = field(default=())
    transient: bool = False
    """A refusal over objects the caches may not hold yet (created an instant ago):
    worth judging again shortly before answering."""

    @classmethod
    def allow(
        cls, warnings: Sequence[str] = (), patch: Sequence[Mapping[str, Any]] = ()
    ) -> Verdict:
        return cls(True, warnings=tuple(warnings), patch=tuple(patch))

    @classmethod
    def deny(
        cls, causes: Sequence[Cause], warnings: Sequence[str] = (), code: int = 403
    ) -> Verdict:
        """Refused for ``causes``; the message lists each as ``field: message``."""
        message = "; ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
        return cls(False, message, code, tuple(causes), tuple(warnings))

    @classmethod
    def error(cls, code: int, message: str) -> Verdict:
        """Not a judgement on the object: the request could not be handled."""
        return cls(False, message, code)


def parse(body: bytes) -> Request:
    """The request in an AdmissionReview body; :class:`BadReview` for anything else."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadReview(f"body is not JSON: {err}") from None
    if not isinstance(document, dict):
        raise BadReview("body is not a JSON object")
    api_version = document.get("apiVersion")
    if document.get("kind") != KIND or api_version not in (API_VERSION, "admission.k8s.io/v1beta1"):
        raise BadReview(
            f"expected kind {KIND} of {API_VERSION}, got kind {document.get('kind')!r} "
            f"of {api_version!r}"
        )
    request = document.get("request")
    if not isinstance(request, dict):
        raise BadReview("AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadReview("AdmissionReview request has no uid")
    kind = request.get("kind")
    return Request(
        uid=uid,
        operation=str(request.get("operation") or ""),
        kind=str(kind.get("kind") or "") if isinstance(kind, dict) else "",
        namespace=request.get("namespace") or None,
        name=request.get("name") or None,
        object=request.get("object"),
        old_object=request.get("oldObject"),
        dry_run=bool(request.get("dryRun")),
        api_version=str(api_version),
    )


def respond(request: Request, verdict: Verdict) -> dict[str, Any]:
    """The AdmissionReview answering ``request`` (same apiVersion, uid echoed)."""
    response: dict[str, Any] = {"uid": request.uid, "allowed": verdict.allowed}
    if verdict.warnings:
        response["warnings"] = list(verdict.warnings)
    if verdict.allowed and verdict.patch:
        encoded = base64.b64encode(json.dumps(list(verdict.patch)).encode()).decode()
        response["patchType"] = "JSONPatch"
        response["patch"] = encoded
    if not verdict.allowed:
        status: dict[str, Any] = {
            "status": "Failure",
            "code": verdict.code,
            "reason": _REASONS.get(verdict.code, "InternalError"),
            "message": verdict.message,
        }
        if verdict.causes:
            status["details"] = {
                "causes": [
                    {"type": "FieldValueInvalid", "field": c.field, "message": c.message}
                    for c in verdict.causes
                ]
            }
        response["status"] = status
    return {"apiVersion": request.api_version, "kind": KIND, "response": response}


_REASONS = {400: "BadRequest", 403: "Forbidden", 422: "Invalid", 500: "InternalError"}
