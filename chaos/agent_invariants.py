"""The invariants of the model-agent scenarios: pure functions over what the agents
published (their node status ConfigMaps), the model's status as the operator wrote it,
the files on the nodes' disks and what the storage answered when."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READY = "Ready"
FAILED = "Failed"


@dataclass(frozen=True)
class Entry:
    """One node's word on one model: its status and, when Failed, why."""

    status: str
    message: str = ""


def entries(configmaps: Iterable[Mapping[str, Any]], key: str) -> dict[str, Entry]:
    """Node -> its entry for the model's data ``key``, from the agents' ConfigMaps (one
    per node, named after it)."""
    found = {}
    for configmap in configmaps:
        text = (configmap.get("data") or {}).get(key)
        if text is None:
            continue
        node = str(configmap["metadata"]["name"])
        try:
            entry = json.loads(text)
        except ValueError:
            found[node] = Entry("", f"unreadable entry {text[:80]!r}")
            continue
        found[node] = Entry(str(entry.get("status", "")), str(entry.get("message") or ""))
    return found


def ready_problems(
    model: Mapping[str, Any] | None, found: Mapping[str, Entry], eligible: Iterable[str]
) -> list[str]:
    """The model Ready on every eligible node, in the agents' entries and in the model's
    status; no node that is not eligible (a deleted one) named in that status."""
    if model is None:
        return ["the model is gone"]
    eligible = set(eligible)
    problems = []
    for node in sorted(eligible):
        entry = found.get(node)
        if entry is None or entry.status != READY:
            said = "no entry" if entry is None else f"{entry.status} {entry.message}".strip()
            problems.append(f"{node}: not Ready ({said})")
    status = model.get("status") or {}
    if status.get("state") != READY:
        problems.append(f"model state {status.get('state')!r}, not Ready")
    ready = set(status.get("nodesReady") or [])
    if missing := sorted(eligible - ready):
        problems.append(f"model status does not list {', '.join(missing)} as ready")
    named = ready | set(status.get("nodesFailed") or [])
    if strangers := sorted(named - eligible):
        problems.append(f"model status still names {', '.join(strangers)}")
    if status.get("progress"):
        problems.append(f"model status still shows a download under way: {status['progress']}")
    return problems


def failure_seen(messages: Iterable[str], words: Sequence[str]) -> str | None:
    """The first Failed message that names the cause (contains one of ``words``, case
    ignored), or None: a fault that left no such trace was silent."""
    for message in messages:
        if any(word.lower() in message.lower() for word in words):
            return message
    return None


def copy_problems(
    node: str, on_disk: Mapping[str, bytes] | None, served: Mapping[str, bytes]
) -> list[str]:
    """A model directory in place is a complete copy: every served file there with the
    served bytes (compared by sha256). ``on_disk``: path -> sha256 digest of the files
    found in the directory, None when there is no directory."""
    if on_disk is None:
        return []
    problems = []
    for path, content in served.items():
        digest = on_disk.get(path)
        if digest is None:
            problems.append(f"{node}: model in place without {path}")
        elif digest != hashlib.sha256(content).digest():
            problems.append(f"{node}: model in place with a {path} that is not the source's")
    return problems


def retry_after_problems(
    node: str, answers: Sequence[tuple[float, int]], retry_after: float, slack: float = 0.25
) -> list[str]:
    """After an answer that asked to wait ``retry_after`` seconds (a 429), the node's
    agent asked again no sooner. ``answers``: (time, status) in order."""
    problems = []
    for (at, status), (then, _) in itertools.pairwise(answers):
        if status == 429 and then - at < retry_after - slack:
            problems.append(
                f"{node}: asked again {then - at:.1f} s after a 429 that said "
                f"Retry-After: {retry_after:.0f}"
            )
    return problems
