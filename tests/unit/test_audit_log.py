"""The test clusters' audit log, read while the API server is still writing it."""

from __future__ import annotations

import json
from pathlib import Path

from ome.testing.serviceaccount import AuditLog

REFUSED = {
    "verb": "list",
    "requestURI": "/api/v1/secrets",
    "user": {"username": "system:serviceaccount:ome:ome-controller-manager"},
    "annotations": {"authorization.k8s.io/decision": "forbid"},
}


def test_a_line_the_api_server_is_still_writing_is_not_read_yet(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    whole = json.dumps(REFUSED)
    log.write_text(whole + "\n" + whole[:150])
    audit = AuditLog(log)

    assert audit.forbidden() == [
        "system:serviceaccount:ome:ome-controller-manager list /api/v1/secrets"
    ]

    with log.open("a") as rest:
        rest.write(whole[150:] + "\n")
    assert len(audit.forbidden()) == 2
