"""The chaos suite through every scenario: 20 services churned with 3 operator replicas
and the model agents, 30 s each (about 20 minutes), no invariant violated. On demand
(OME_CHAOS=1); ``make test`` runs the short profile (``python -m chaos --short``) after
the tests instead."""

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
async def test_every_scenario_violates_no_invariant(tmp_path: Path) -> None:
    options = Options(workdir=tmp_path / "chaos", services=SERVICES, duration=30.0)
    results = await run(options)
    report = markdown(results, services=SERVICES, replicas=options.replicas)
    print(report)
    assert not [v for r in results for v in r.violations], report
