"""The objects ``bad-objects`` writes with the webhooks out of the way, and how each is
judged (pure; the scenario in :mod:`chaos.webhook_faults` writes and observes them).

Each :class:`Bad` is one object; a model or runtime has no status of its own that the
operator judges, so it comes with a service naming it, and the service is what is judged.
Every judged service must end with a verdict of the controller's: ``Ready=False`` (or a
Warning Event) whose reason or message names one of ``words``, or, for an object that is
odd but servable (``words`` empty), ``Ready=True``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.models import ARCHITECTURE, FORMAT, FRAMEWORK, NOT_FETCHED

NAMESPACE = "chaos-bad"
API_VERSION = "ome.io/v1beta1"
HUGE_BYTES = 1_300_000
"""Close to the API server's 1.5 MiB request limit, leaving room for the rest."""
ANNOTATIONS_LIMIT = 256 * 1024
"""What the API server allows for an object's annotations in total."""


@dataclass(frozen=True)
class Bad:
    kind: str
    name: str
    spec: dict[str, Any]
    what: str
    words: tuple[str, ...] = ()
    """Any of these (lower case) in the judged service's reason or message; empty: the
    object is servable and the service must become Ready."""
    status: dict[str, Any] | None = None
    """Written through the status subresource after the create."""
    namespaced: bool = True

    @property
    def key(self) -> str:
        return f"{self.kind} {NAMESPACE + '/' if self.namespaced else ''}{self.name}"

    def body(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name}
        if self.namespaced:
            metadata["namespace"] = NAMESPACE
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": metadata,
            "spec": self.spec,
        }


@dataclass
class Verdict:
    ready: str | None = None
    """The Ready condition's status, None without one."""
    text: str = ""
    """Its reason and message, and those of the Warning Events about the object."""
    warnings: list[str] = field(default_factory=list)


def _service(
    name: str, model: Mapping[str, Any] | None, runtime: Mapping[str, Any] | None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"engine": {"minReplicas": 1, "maxReplicas": 1}, **spec}
    if model is not None:
        body["model"] = dict(model)
    if runtime is not None:
        body["runtime"] = dict(runtime)
    return body


def _runner(image: str = "registry.example/engine:bad", **extra: Any) -> dict[str, Any]:
    return {
        "name": "ome-container",
        "image": image,
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        **extra,
    }


def _formats() -> list[dict[str, Any]]:
    return [
        {
            "modelFormat": FORMAT,
            "modelFramework": FRAMEWORK,
            "modelArchitecture": ARCHITECTURE,
            "autoSelect": True,
            "priority": 1,
        }
    ]


def _filler(total: int, piece: int = 1000) -> dict[str, str]:
    """``total`` bytes of distinct keys and values."""
    return {f"k{i:06d}": "x" * piece for i in range(total // (piece + 8))}


def catalogue(good_model: str, good_runtime: str) -> list[Bad]:
    """The bad objects, in the order they are written (models and runtimes before the
    services that name them); ``good_*`` are a ClusterBaseModel and ClusterServingRuntime
    that serve."""
    cluster_model = {"name": good_model, "kind": "ClusterBaseModel"}
    cluster_runtime = {"name": good_runtime, "kind": "ClusterServingRuntime"}
    huge_env = [{"name": f"FILL_{i:05d}", "value": "y" * 1000} for i in range(HUGE_BYTES // 1030)]
    return [
        Bad(
            "BaseModel",
            "bm-odd-config",
            {
                "modelFormat": FORMAT,
                "modelFramework": FRAMEWORK,
                "modelArchitecture": ARCHITECTURE,
                "storage": {
                    "storageUri": "hf://example/odd",
                    "path": "/models/odd",
                    "nodeSelector": NOT_FETCHED,
                },
                # preserved as written: every type wrong for what it names
                "modelConfiguration": {
                    "architectures": "Qwen2ForCausalLM",
                    "max_position_embeddings": "a lot",
                    "num_parameters": {"billions": 7},
                    "torch_dtype": 16,
                    "unknown": [None, {"deep": [1, "two"]}],
                },
            },
            "modelConfiguration (preserves unknown fields) with every value of a wrong type",
        ),
        Bad(
            "BaseModel",
            "bm-huge-config",
            {
                "modelFormat": FORMAT,
                "modelFramework": FRAMEWORK,
                "modelArchitecture": ARCHITECTURE,
                "storage": {
                    "storageUri": "hf://example/huge",
                    "path": "/models/huge",
                    "nodeSelector": NOT_FETCHED,
                },
                "modelConfiguration": _filler(HUGE_BYTES),
            },
            f"modelConfiguration of {HUGE_BYTES // 1000} kB",
        ),
        Bad(
            "ClusterBaseModel",
            "cbm-chaos-no-format",
            {
                "storage": {
                    "storageUri": "hf://example/bare",
                    "path": "/models/bare",
                    "nodeSelector": NOT_FETCHED,
                }
            },
            "no modelFormat, no architecture",
            namespaced=False,
        ),
        Bad(
            "ServingRuntime",
            "sr-no-engine",
            {"supportedModelFormats": _formats()},
            "supports the model but has no engineConfig or containers",
        ),
        Bad(
            "ServingRuntime",
            "sr-negative-replicas",
            {
                "supportedModelFormats": _formats(),
                "engineConfig": {"minReplicas": -5, "maxReplicas": -1, "runner": _runner()},
            },
            "engineConfig with negative replicas",
        ),
        Bad(
            "InferenceService",
            "isvc-no-model",
            _service("x", None, cluster_runtime),
            "no model",
            ("model",),
        ),
        Bad(
            "InferenceService",
            "isvc-unknown-runtime",
            _service("x", cluster_model, {"name": "no-such-runtime", "kind": "ServingRuntime"}),
            "a runtime that does not exist",
            ("runtime",),
        ),
        Bad(
            "InferenceService",
            "isvc-negative-replicas",
            {
                **_service("x", cluster_model, cluster_runtime),
                "engine": {"minReplicas": -1, "maxReplicas": -2},
            },
            "negative engine replicas",
            ("replica",),
        ),
        Bad(
            "InferenceService",
            "isvc-min-over-max",
            {
                **_service("x", cluster_model, cluster_runtime),
                "engine": {"minReplicas": 3, "maxReplicas": 1},
            },
            "engine minReplicas above maxReplicas (servable: the maximum is raised to the "
            "minimum, as upstream does)",
        ),
        Bad(
            "InferenceService",
            "isvc-predictor-and-engine",
            {
                **_service("x", cluster_model, cluster_runtime),
                "predictor": {"model": {"baseModel": good_model, "runtime": good_runtime}},
            },
            "both the deprecated predictor and engine (servable: the engine wins)",
        ),
        Bad(
            "InferenceService",
            "isvc-huge-env",
            _service("x", cluster_model, cluster_runtime, engine={"env": huge_env}),
            f"{len(huge_env)} environment variables, {HUGE_BYTES // 1000} kB",
        ),
        Bad(
            "InferenceService",
            "isvc-huge-annotations",
            _service(
                "x",
                cluster_model,
                cluster_runtime,
                engine={"annotations": _filler(ANNOTATIONS_LIMIT + 50_000)},
            ),
            "engine annotations over the API server's limit for a pod",
            ("annotation",),
        ),
        Bad(
            "InferenceService",
            "isvc-unknown-fields",
            {
                **_service("x", cluster_model, cluster_runtime),
                "colour": "blue",
                "engine": {"minReplicas": 1, "maxReplicas": 1, "turbo": True},
            },
            "unknown fields (pruned by the API server)",
        ),
        Bad(
            "InferenceService",
            "isvc-garbage-status",
            _service("x", cluster_model, cluster_runtime),
            "a status written by someone else: Ready=False, an unknown generation and "
            "unknown fields (the status preserves them); the controller's own must replace it",
            status={
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "Faked",
                        "message": "written by hand",
                        "lastTransitionTime": "2020-01-01T00:00:00Z",
                    }
                ],
                "observedGeneration": 99,
                "somethingElse": {"deep": [1, "two", None]},
            },
        ),
        Bad(
            "InferenceService",
            "isvc-odd-config-model",
            _service("x", {"name": "bm-odd-config", "kind": "BaseModel"}, cluster_runtime),
            "names bm-odd-config",
        ),
        Bad(
            "InferenceService",
            "isvc-huge-config-model",
            _service("x", {"name": "bm-huge-config", "kind": "BaseModel"}, cluster_runtime),
            "names bm-huge-config",
        ),
        Bad(
            "InferenceService",
            "isvc-bare-model",
            _service("x", {"name": "cbm-chaos-no-format", "kind": "ClusterBaseModel"}, None),
            "names cbm-chaos-no-format, runtime to be selected",
            ("format", "runtime"),
        ),
        Bad(
            "InferenceService",
            "isvc-engineless-runtime",
            _service("x", cluster_model, {"name": "sr-no-engine", "kind": "ServingRuntime"}),
            "names sr-no-engine",
            ("engine", "container"),
        ),
        Bad(
            "InferenceService",
            "isvc-negative-runtime",
            {
                **_service(
                    "x", cluster_model, {"name": "sr-negative-replicas", "kind": "ServingRuntime"}
                ),
                "engine": {},
            },
            "names sr-negative-replicas, replicas from the runtime (which the schema may refuse)",
            ("replica", "runtime"),
        ),
    ]


def verdict(obj: Mapping[str, Any] | None, events: Iterable[Mapping[str, Any]]) -> Verdict:
    """The controller's verdict on a service: its Ready condition and Warning Events."""
    found = Verdict()
    conditions = ((obj or {}).get("status") or {}).get("conditions")
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            found.ready = str(condition.get("status"))
            found.text = f"{condition.get('reason', '')}: {condition.get('message', '')}"
    for event in events:
        if event.get("type") == "Warning":
            found.warnings.append(f"{event.get('reason', '')}: {event.get('message', '')}")
    return found


def problem(bad: Bad, found: Verdict) -> str | None:
    """Why the verdict on ``bad`` (a service) falls short, or None."""
    if not bad.words:
        if found.ready == "True":
            return None
        return f"{bad.key} ({bad.what}) is servable but not Ready: {found.text or 'no condition'}"
    texts = [found.text] if found.ready == "False" else []
    texts += found.warnings
    if any(word in text.lower() for text in texts for word in bad.words):
        return None
    shown = "; ".join(texts) or f"Ready={found.ready}"
    return (
        f"{bad.key} ({bad.what}): no Ready=False or Warning naming {'/'.join(bad.words)}: {shown}"
    )


def reconciles(log_lines: Iterable[str], name: str) -> int:
    """Log lines of reconciles of the service ``name`` in :data:`NAMESPACE` (each failed
    reconcile logs one line bound to the object)."""
    needle, where = f"name={name}", f"namespace={NAMESPACE}"
    return sum(1 for line in log_lines if needle in line.split() and where in line.split())
