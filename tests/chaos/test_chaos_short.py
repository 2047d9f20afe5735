"""The chaos suite's short profile: 20 services churned through every scenario with 3
operator replicas (a few minutes), no invariant violated. On demand (OME_CHAOS=1): it
starts a control plane and three operators of its own, more than the shared test
machine can run beside the rest of the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.report import markdown
from chaos.runner import Options, run

ON_DEMAND = "OME_CHAOS"
SERVICES = 20

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.skipif(not os.environ.get(ON_DEMAND), reason=f"on demand: {ON_DEMAND}=1"),
]


@pytest.mark.timeout(1800)
async def test_short_profile_violates_no_invariant(tmp_path: Path) -> None:
    options = Options(workdir=tmp_path / "chaos", services=SERVICES, duration=30.0)
    results = await run(options)
    report = markdown(results, services=SERVICES, replicas=options.replicas)
    print(report)
    assert not [v for r in results for v in r.violations], report
