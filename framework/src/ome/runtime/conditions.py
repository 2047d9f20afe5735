"""Status conditions with apimachinery's rules (meta.SetStatusCondition).

A condition's lastTransitionTime moves only when its status changes; reason, message and
observedGeneration are updated in place. The functions report whether anything changed so
that callers write status only when it did, which keeps a controller from waking itself up.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import MutableSequence, Sequence
from typing import Any

Condition = dict[str, Any]

STATUSES = ("True", "False", "Unknown")
_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_TYPE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
MAX_MESSAGE = 32768


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(condition: Condition) -> None:
    """Raise ValueError naming the field that metav1.Condition validation would reject."""
    kind = condition.get("type", "")
    if not isinstance(kind, str) or len(kind) > 316 or not _TYPE.match(kind):
        raise ValueError(f"condition type {kind!r} is not a qualified name")
    if condition.get("status") not in STATUSES:
        raise ValueError(f"condition {kind}: status must be one of {', '.join(STATUSES)}")
    reason = condition.get("reason", "")
    if not isinstance(reason, str) or not 1 <= len(reason) <= 1024 or not _REASON.match(reason):
        raise ValueError(f"condition {kind}: reason {reason!r} must be CamelCase (1-1024 chars)")
    if len(condition.get("message", "")) > MAX_MESSAGE:
        raise ValueError(f"condition {kind}: message longer than {MAX_MESSAGE} characters")
    if int(condition.get("observedGeneration", 0)) < 0:
        raise ValueError(f"condition {kind}: observedGeneration must be >= 0")


def find_condition(conditions: Sequence[Condition], kind: str) -> Condition | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def is_status_condition_true(conditions: Sequence[Condition], kind: str) -> bool:
    found = find_condition(conditions, kind)
    return found is not None and found.get("status") == "True"


def set_status_condition(
    conditions: MutableSequence[Condition], new: Condition, now: str | None = None
) -> bool:
    """Add or update ``new`` in ``conditions``; True when anything changed."""
    validate(new)
    existing = find_condition(conditions, new["type"])
    if existing is None:
        added = dict(new)
        added.setdefault("lastTransitionTime", now or now_rfc3339())
        conditions.append(added)
        return True
    changed = False
    if existing.get("status") != new["status"]:
        existing["status"] = new["status"]
        existing["lastTransitionTime"] = new.get("lastTransitionTime") or now or now_rfc3339()
        changed = True
    for field in ("reason", "message", "observedGeneration"):
        if field in new and existing.get(field) != new[field]:
            existing[field] = new[field]
            changed = True
    return changed


def remove_status_condition(conditions: MutableSequence[Condition], kind: str) -> bool:
    for index, condition in enumerate(conditions):
        if condition.get("type") == kind:
            del conditions[index]
            return True
    return False
