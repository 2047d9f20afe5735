"""Run examples/widget_operator.py, with leader election, against a control plane started
from the framework alone, until it has reconciled a Widget; exit non-zero otherwise.

    python widget_smoke.py path/to/examples
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ome.client import GVK, NotFound
from ome.testing import ControlPlane

WIDGET = GVK("example.ome.io", "v1", "Widget")
CONFIGMAP = GVK("", "v1", "ConfigMap")
DEADLINE = 60.0


async def reconciled(plane: ControlPlane) -> bool:
    async with await plane.client() as client:
        try:
            configmap = await (await client.resource(CONFIGMAP)).get("w1-widget", "default")
            widget = await (await client.resource(WIDGET)).get("w1", "default")
        except NotFound:
            return False
    conditions = widget.get("status", {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return configmap["data"] == {"size": "3"} and ready


async def main(examples: Path) -> int:
    async with ControlPlane() as plane:
        await plane.install_crds([examples / "widget-crd.yaml"])
        operator = await asyncio.create_subprocess_exec(
            sys.executable,
            str(examples / "widget_operator.py"),
            f"--kubeconfig={plane.kubeconfig}",
            "--leader-elect=framework-check",
            "--metrics-address=127.0.0.1:0",
            "--probe-address=127.0.0.1:0",
        )
        try:
            async with await plane.client() as client:
                widgets = await client.resource(WIDGET)
                await widgets.create(
                    {"metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 3}}
                )
            deadline = time.monotonic() + DEADLINE
            while not await reconciled(plane):
                if operator.returncode is not None:
                    print(f"widget operator exited with {operator.returncode}", file=sys.stderr)
                    return 1
                if time.monotonic() > deadline:
                    print(f"no reconciled Widget within {DEADLINE:.0f} s", file=sys.stderr)
                    return 1
                await asyncio.sleep(0.2)
            print("widget operator: Widget w1 has its ConfigMap and Ready=True")
            return 0
        finally:
            if operator.returncode is None:
                operator.terminate()
            await asyncio.wait_for(operator.wait(), timeout=30)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
