"""CPU time of the InferenceService domain logic (ome.serving) per service, against
upstream's full catalogue (../shared/ome-reference: 207 models, 203 distinct runtimes),
each figure beside baselines measured in the same run:

    select        model resolution and runtime selection, for each of upstream's valid
                  samples (146; a failed selection, with its message, counts too), and
                  for those that auto-select (19: every runtime judged)
    plan+render   plan_service + render_objects, for each servable sample (35; most
                  catalogue models wait for the model agent's metadata). Target: <= 5 ms
    status        compute_status from a ready Deployment per component and two pods
    baselines     copy.deepcopy of the rendered objects; the sample's YAML parsed (C
                  loader); the sample validated into the pydantic model

CPU time (time.process_time) of REPEATS passes over the services, best pass reported,
per service. No cluster needed; a few seconds.

    .venv/bin/python bench/serving.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from ome.api.documents import manifest_files, read_documents
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import validate_object
from ome.serving import (
    MemoryCatalog,
    ServingError,
    ServingPlan,
    compute_status,
    parse_config,
    plan_service,
    render_objects,
    resolve_base_model,
    select_runtime,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "ome-reference" / "config"
TARGET_MS = 5.0
NOW = "2025-01-01T00:00:00Z"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def catalogue() -> MemoryCatalog:
    objects = []
    for path in manifest_files([REFERENCE / "models", REFERENCE / "runtimes"]):
        for document in read_documents(path.read_text(), str(path)):
            outcome = validate_object(document.content, KINDS)
            if outcome.model is not None:
                objects.append(outcome.model)
    return MemoryCatalog.of(objects)


def samples() -> list[tuple[str, dict[str, Any], InferenceService]]:
    """(YAML text, content, model) of every valid InferenceService sample."""
    found = []
    for path in manifest_files([REFERENCE / "samples" / "isvc"]):
        for document in read_documents(path.read_text(), str(path)):
            outcome = validate_object(document.content, KINDS)
            if isinstance(outcome.model, InferenceService):
                text = yaml.safe_dump(document.content)
                found.append((text, document.content, outcome.model))
    return found


def cpu_ms_per_item(work: Callable[[Any], object], items: Sequence[Any], repeats: int) -> float:
    """Best pass of ``work`` over ``items``, in CPU milliseconds per item."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            work(item)
        best = min(best, time.process_time() - start)
    return best / len(items) * 1000


def select(service: InferenceService, catalog: MemoryCatalog) -> None:
    with contextlib.suppress(ServingError):
        select_runtime(service, resolve_base_model(service, catalog), catalog)


def auto_selecting(service: InferenceService, catalog: MemoryCatalog) -> bool:
    """Whether selecting for the service judges every runtime (no runtime named, a model
    with its metadata)."""
    try:
        model = resolve_base_model(service, catalog)
    except ServingError:
        return False
    return service.spec.runtime is None and model.spec.model_format is not None


def observed(plan: ServingPlan) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ready Deployment per component and two engine pods."""
    available = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
    deployments = {
        w.name: {
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}},
            "status": {"conditions": [available]},
        }
        for w in plan.workloads
    }
    engine = plan.workloads[0].app
    pods = [{"metadata": {"name": f"p{i}", "labels": {"app": engine}}} for i in range(2)]
    return deployments, pods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    catalog, config = catalogue(), parse_config(None)
    services = samples()
    plans = []
    for _, _, service in services:
        try:
            plans.append(plan_service(service, catalog, config))
        except ServingError:
            continue
    rendered = [render_objects(p) for p in plans]
    servable = [p.service for p in plans]
    views = [observed(p) for p in plans]

    def plan_and_render(service: InferenceService) -> None:
        render_objects(plan_service(service, catalog, config))

    def status(case: tuple[ServingPlan, tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        compute_status(case[0], *case[1], NOW)

    everything = [s for _, _, s in services]
    auto = [s for s in everything if auto_selecting(s, catalog)]
    figures = {
        "select": cpu_ms_per_item(lambda s: select(s, catalog), everything, repeats),
        "select, auto-selection only": cpu_ms_per_item(lambda s: select(s, catalog), auto, repeats),
        "plan+render": cpu_ms_per_item(plan_and_render, servable, repeats),
        "status": cpu_ms_per_item(status, list(zip(plans, views, strict=True)), repeats),
        "baseline deepcopy of the rendered objects": cpu_ms_per_item(
            copy.deepcopy, rendered, repeats
        ),
        "baseline YAML parse of the sample": cpu_ms_per_item(
            lambda text: yaml.load(text, Loader=Loader), [t for t, _, _ in services], repeats
        ),
        "baseline pydantic validation of the sample": cpu_ms_per_item(
            InferenceService.model_validate, [c for _, c, _ in services], repeats
        ),
    }
    counts = {
        "select": len(services),
        "select, auto-selection only": len(auto),
        "plan+render": len(servable),
        "status": len(plans),
        "objects per servable service": round(sum(map(len, rendered)) / len(rendered), 1),
    }
    for case, ms in figures.items():
        print(json.dumps({"case": case, "cpu_ms_per_service": round(ms, 3)}))
    total = figures["plan+render"]
    print(
        json.dumps(
            {
                "summary": "plan+render (selection included) per service",
                "cpu_ms": round(total, 3),
                "target_ms": TARGET_MS,
                "met": total <= TARGET_MS,
                "vs_deepcopy": round(
                    total / figures["baseline deepcopy of the rendered objects"], 2
                ),
                "counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main()
