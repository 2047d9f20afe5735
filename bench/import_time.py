"""Start-up cost of the API models: every process of the operator, the agent and the CLI
imports ``ome.api.v1beta1``. Target: <= 300 ms.

Each figure is the best of REPEATS fresh interpreters (start-up excluded), beside a
baseline measured in the same run: importing pydantic alone, which the models need anyway.

    .venv/bin/python bench/import_time.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

TARGET_MS = 300.0


def import_ms(module: str, repeats: int) -> float:
    code = (
        "import time; start = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - start)"
    )
    timings = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return min(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    baseline = import_ms("pydantic", args.repeats)
    models = import_ms("ome.api.v1beta1", args.repeats)
    verdict = "meets" if models <= TARGET_MS else "MISSES"
    print(f"import pydantic (baseline)  {baseline:7.1f} ms")
    print(f"import ome.api.v1beta1      {models:7.1f} ms  = {models / baseline:.1f}x the baseline")
    print(f"target <= {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
