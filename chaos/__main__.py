"""``python -m chaos``: the operator's chaos suite; see docs/chaos.md."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chaos import soak
from chaos.report import markdown
from chaos.runner import Options, run
from chaos.scenarios import SCENARIOS

SHORT_PROFILE = {
    "services": 10,
    "duration": 20.0,
    "scenarios": ",".join(
        (
            "leader-killed",
            "leader-partitioned",
            "network-slow",
            "etcd-restarted",
            "watches-cut",
            "webhook-cert-rotated",
            "bad-objects",
            "agent-cut",
            "agent-429",
        )
    ),
}
"""``--short``: one scenario of each family of faults, small and brief (``make test`` runs
it after the tests, a few minutes); the other options still apply over it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--services", type=int, default=20, help="services churned (default 20)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds of churn per scenario (default 60)"
    )
    parser.add_argument("--replicas", type=int, default=3, help="operator replicas (default 3)")
    parser.add_argument("--rate", type=float, default=2.0, help="service writes per second")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, in order (default all: {','.join(SCENARIOS)})",
    )
    parser.add_argument("--settle-timeout", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="cycle through the scenarios for this long, sampling the replicas every "
        f"{soak.INTERVAL:.0f} s into soak.csv",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(".ome/chaos"), help="logs, audit log and report"
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="the short profile: " + ", ".join(f"--{k} {v}" for k, v in SHORT_PROFILE.items()),
    )
    args = parser.parse_args(argv)
    if args.short:
        parser.set_defaults(**SHORT_PROFILE)
        args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    options = Options(
        workdir=args.workdir.absolute(),
        services=args.services,
        duration=args.duration,
        replicas=args.replicas,
        rate=args.rate,
        scenarios=scenarios,
        settle_timeout=args.settle_timeout,
        seed=args.seed,
        soak=args.soak,
    )
    soaked: list[soak.SoakSample] = []
    results = asyncio.run(run(options, soaked))
    report = markdown(results, args.services, args.replicas)
    if args.soak:
        report += "\n" + soak.markdown(soaked)
    (options.workdir / "report.md").write_text(report)
    print(report)
    return 1 if any(r.violations for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
