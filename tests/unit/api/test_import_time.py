"""Importing the models stays cheap: every process of the operator, the agent and the CLI
pays for it at start-up."""

from __future__ import annotations

import subprocess
import sys

BUDGET = 0.300  # seconds
MEASURE = (
    "import time; start = time.perf_counter(); import ome.api.v1beta1; "
    "print(time.perf_counter() - start)"
)


def import_seconds() -> float:
    """One import of ome.api.v1beta1 in a fresh interpreter, start-up excluded."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def test_importing_the_models_is_fast() -> None:
    # the best of three: the cost of the import itself, not of a busy machine
    timings = sorted(import_seconds() for _ in range(3))
    print(f"import ome.api.v1beta1: {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")
    assert timings[0] < BUDGET
