"""The event loop named in the environment, checked before the operator starts."""

from __future__ import annotations

import pytest

from ome.cli.main import main
from ome.runtime.loop import LOOP_ENV


def test_ome_run_names_an_unknown_loop_and_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "trio")
    with pytest.raises(SystemExit, match="error: OME_EVENT_LOOP='trio'"):
        main(["run", "--kubeconfig", "/nonexistent"])
