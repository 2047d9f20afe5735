"""Controller and leader-election metrics under controller-runtime's names, so existing
dashboards and alerts work unchanged. They live in a registry the caller owns (the
manager's); nothing is registered globally."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RESULTS = ("success", "error", "requeue_after", "requeue")
RECONCILE_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7,
    0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15,
    20, 25, 30, 40, 50, 60,
)  # fmt: skip


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            registry=registry,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ["controller"],
            registry=registry,
        )
        self.terminal_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller",
            ["controller"],
            registry=registry,
        )
        self.reconcile_timeouts = Counter(
            "controller_runtime_reconcile_timeouts_total",
            "Total number of reconciliation timeouts per controller",
            ["controller"],
            registry=registry,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ["controller"],
            buckets=RECONCILE_BUCKETS,
            registry=registry,
        )
        self.max_concurrent = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            ["controller"],
            registry=registry,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ["controller"],
            registry=registry,
        )
        self.write_loops = Counter(
            "controller_runtime_write_loops_total",
            "Times a controller was seen rewriting one object with content it had just "
            "written there (a write loop; see the warning in the log for the object)",
            ["controller"],
            registry=registry,
        )
        self.leader = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, "
            "0 indicates backup, 1 indicates master. 'name' is the string used to "
            "identify the lease.",
            ["name"],
            registry=registry,
        )
        # Go operators export go_goroutines; the asyncio equivalent, read at each scrape
        # (served on the manager's loop), shows a leak of tasks as a rising line.
        self.asyncio_tasks = Gauge(
            "python_asyncio_tasks",
            "Number of asyncio tasks not yet done on the process's event loop",
            registry=registry,
        )
        self.asyncio_tasks.set_function(running_tasks)

    def register_controller(self, controller: str, max_concurrent: int) -> None:
        """Pre-create every series of a controller at 0, as controller-runtime does, so
        rates and alerts work before the first reconcile."""
        for result in RESULTS:
            self.reconcile_total.labels(controller, result)
        for family in (
            self.reconcile_errors,
            self.terminal_errors,
            self.reconcile_timeouts,
            self.write_loops,
        ):
            family.labels(controller)
        self.active_workers.labels(controller).set(0)
        self.max_concurrent.labels(controller).set(max_concurrent)


def running_tasks() -> int:
    """Tasks not done on the running event loop; 0 outside one."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0
