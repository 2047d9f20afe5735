"""Fine-tuned serving: the FineTunedWeights an InferenceService names in
``spec.model.fineTunedWeights``, checked against its base model and turned into pod
changes, engine arguments, labels and annotations.

Upstream OME v0.1.5 serves exactly one weight per service, downloaded by an init container
the pod webhook injects (``pkg/webhook/admission/pod/fine_tuned_adapter_injector.go``).
Here the model agent downloads every weight to the nodes that hold its base model, so a
serving pod mounts each adapter read-only from its node path (the weight's
``storage.path``, like a base model's), is placed only where every one is ``Ready``, and
hands them to the engine in its own syntax: SGLang ``--lora-paths name=path …`` with
``--max-loras-per-batch``, vLLM ``--enable-lora --lora-modules name=path …`` with
``--max-loras`` and ``--max-lora-rank``. A weight with ``configuration.merged_weights:
true`` is a whole model: it is served alone, in place of the base model, by any engine.

Labels and annotations are upstream's (``components/base.go`` ProcessBaseLabels and
ProcessBaseAnnotations), so tools built for upstream recognise fine-tuned serving."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ome.api.v1beta1 import BaseModel, FineTunedWeight, InferenceService
from ome.serving.catalog import Catalog, Model, name_of, namespace_of
from ome.serving.components import Spec
from ome.serving.naming import MODEL_READY, fine_tuned_ready_label, truncate_name
from ome.serving.problems import Reason, ServingError

MERGED_WEIGHTS_KEY = "merged_weights"
"""``spec.configuration`` key of a weight that is a whole model (upstream constants.go)."""
LORA_RANK_KEY = "lora_rank"
"""``spec.configuration`` key holding the adapter's rank, ``r`` of its adapter_config.json
(the model agent fills it after the download when unset)."""
STRATEGY_KEY = "strategy"
"""``spec.hyperParameters`` key naming the training strategy (lora, tfew)."""

FINE_TUNED_ADAPTER_ANNOTATION = "ome.io/inject-fine-tuned-adapter"
FT_STRATEGY_ANNOTATION = "ome.io/fine-tuned-weight-ft-strategy"
MERGED_WEIGHTS_ANNOTATION = "ome.io/fine-tuned-serving-with-merged-weights"
MODEL_INIT_ANNOTATION = "ome.io/inject-model-init"
FINE_TUNED_WEIGHTS_ANNOTATION = "ome.io/fine-tuned-weights"
"""Ours: every weight served, comma-separated (upstream's inject key names the first)."""
FINE_TUNED_SERVING_LABEL = "fine-tuned-serving"
MERGED_WEIGHTS_LABEL = "fine-tuned-serving-with-merged-weights"
FT_STRATEGY_LABEL = "fine-tuned-weight-ft-strategy"

MODEL_PATH_ENV = "MODEL_PATH"
VOLUME_PREFIX = "ftw-"
SGLANG_DEFAULT_LORAS_PER_BATCH = 8
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
"""The ranks vLLM accepts for --max-lora-rank."""
_SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash"})


class Engine(StrEnum):
    SGLANG = "sglang"
    VLLM = "vllm"


@dataclass(frozen=True)
class Adapter:
    """One FineTunedWeight as a serving pod sees it."""

    name: str
    path: str
    """Its node path, mounted at the same path in the pod."""
    rank: int | None
    strategy: str | None
    weight: FineTunedWeight = field(compare=False, repr=False)

    @property
    def volume(self) -> str:
        return truncate_name(f"{VOLUME_PREFIX}{self.name}")


@dataclass(frozen=True)
class FineTuning:
    """The weights a service serves: LoRA adapters on its base model, or one merged
    weight that replaces it."""

    adapters: tuple[Adapter, ...]
    merged: bool

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.adapters]

    @property
    def strategy(self) -> str | None:
        return self.adapters[0].strategy

    def annotations(self) -> dict[str, str]:
        notes = {
            FINE_TUNED_ADAPTER_ANNOTATION: self.adapters[0].name,
            FINE_TUNED_WEIGHTS_ANNOTATION: ",".join(self.names),
        }
        if self.strategy is not None:
            notes[FT_STRATEGY_ANNOTATION] = self.strategy
        if self.merged:
            notes |= {MERGED_WEIGHTS_ANNOTATION: "true", MODEL_INIT_ANNOTATION: "false"}
        return notes

    def labels(self) -> dict[str, str]:
        return {
            FINE_TUNED_SERVING_LABEL: "true",
            FT_STRATEGY_LABEL: self.strategy or "",
            MERGED_WEIGHTS_LABEL: str(self.merged).lower(),
        }


def serves_merged_weights(annotations: Mapping[str, str]) -> bool:
    """Whether a component serves merged weights in place of its base model (then the
    base model is neither mounted nor required on the node, as upstream's
    IsOriginalModelVolumeMountNecessary)."""
    return annotations.get(MERGED_WEIGHTS_ANNOTATION) == "true"


def resolve_fine_tuning(
    service: InferenceService, model: Model, catalog: Catalog
) -> FineTuning | None:
    """The weights the service names, each existing, enabled, fine-tuned from the
    service's base model and with a known node path; None when it names none."""
    names = (service.spec.model.fine_tuned_weights if service.spec.model else None) or []
    if not names:
        return None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates or not all(names):
        problem = f"names {', '.join(duplicates)} more than once" if duplicates else "an empty name"
        raise ServingError(
            Reason.INVALID_FINE_TUNED_WEIGHTS, f"spec.model.fineTunedWeights has {problem}"
        )
    weights = [_weight(catalog, name, model) for name in names]
    merged = [name_of(w) for w in weights if is_merged(w)]
    if merged and len(weights) > 1:
        raise ServingError(
            Reason.INVALID_FINE_TUNED_WEIGHTS,
            f"FineTunedWeight {merged[0]} holds merged weights (a whole model): it is served "
            "alone, not with other weights",
        )
    return FineTuning(tuple(_adapter(w) for w in weights), merged=bool(merged))


def is_merged(weight: FineTunedWeight) -> bool:
    return (weight.spec.configuration or {}).get(MERGED_WEIGHTS_KEY) is True


def base_model_ref(weight: FineTunedWeight) -> tuple[str, str, str | None]:
    """(kind, name, namespace) of the weight's base model: a BaseModel when the reference
    gives a namespace, else a ClusterBaseModel (upstream modelconfig_reconciler.go)."""
    ref = weight.spec.base_model_ref
    if ref.namespace:
        return "BaseModel", ref.name, ref.namespace
    return "ClusterBaseModel", ref.name, None


def describe_model(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _weight(catalog: Catalog, name: str, model: Model) -> FineTunedWeight:
    weight = catalog.fine_tuned_weight(name)
    if weight is None:
        raise ServingError(Reason.FINE_TUNED_WEIGHT_NOT_FOUND, f"no FineTunedWeight {name!r}")
    if weight.spec.disabled:
        raise ServingError(
            Reason.FINE_TUNED_WEIGHT_DISABLED, f"FineTunedWeight {name!r} is disabled"
        )
    own_kind = "BaseModel" if isinstance(model, BaseModel) else "ClusterBaseModel"
    served = (own_kind, name_of(model), namespace_of(model))
    if base_model_ref(weight) != served:
        raise ServingError(
            Reason.FINE_TUNED_WEIGHT_MISMATCH,
            f"FineTunedWeight {name!r} is fine-tuned from "
            f"{describe_model(*base_model_ref(weight))}, not from the service's "
            f"{describe_model(*served)}",
        )
    return weight


def node_path(weight: FineTunedWeight) -> str | None:
    """Where the weight is on a node: ``storage.path``, else a ``local://`` URI's path."""
    storage = weight.spec.storage
    if storage.path:
        return storage.path
    if storage.storage_uri.startswith("local://"):
        return "/" + storage.storage_uri.removeprefix("local://").lstrip("/")
    return None


def _adapter(weight: FineTunedWeight) -> Adapter:
    name = name_of(weight)
    path = node_path(weight)
    if path is None:
        raise ServingError(
            Reason.FINE_TUNED_WEIGHT_PATH_MISSING,
            f"FineTunedWeight {name!r} has no spec.storage.path yet (the model agent fills "
            "it in after the download)",
        )
    rank = (weight.spec.configuration or {}).get(LORA_RANK_KEY)
    strategy = weight.spec.hyper_parameters.get(STRATEGY_KEY)
    return Adapter(
        name=name,
        path=path,
        rank=rank if isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 else None,
        strategy=str(strategy) if strategy is not None else None,
        weight=weight,
    )


def with_fine_tuning(
    pod: Spec, fine_tuning: FineTuning, *, runtime_name: str, main_container: str | None
) -> Spec:
    """The engine's or decoder's pod serving ``fine_tuning``: each weight's hostPath
    volume, a read-only mount of it in the main container (the runner's, else the first)
    and a node selector on its ready label; adapters also become engine arguments, a
    merged weight ``MODEL_PATH``."""
    containers = list(pod["containers"])
    names = [c.get("name") for c in containers]
    index = names.index(main_container) if main_container in names else 0
    main = dict(containers[index])
    mounts = list(main.get("volumeMounts", []))
    volumes = list(pod.get("volumes", []))
    selector = dict(pod.get("nodeSelector", {}))
    for adapter in fine_tuning.adapters:
        if not any(m.get("mountPath") == adapter.path for m in mounts):
            mounts.append({"name": adapter.volume, "mountPath": adapter.path, "readOnly": True})
        if not any(v.get("name") == adapter.volume for v in volumes):
            volumes.append({"name": adapter.volume, "hostPath": {"path": adapter.path}})
        selector[fine_tuned_ready_label(adapter.name)] = MODEL_READY
    main["volumeMounts"] = mounts
    if fine_tuning.merged:
        main["env"] = _with_env(main.get("env", []), MODEL_PATH_ENV, fine_tuning.adapters[0].path)
    else:
        main = _with_flags(main, lora_flags(main, fine_tuning.adapters, runtime_name))
    containers[index] = main
    return {
        **pod,
        "containers": containers,
        "volumes": volumes,
        "nodeSelector": dict(sorted(selector.items())),
    }


def engine_of(container: Spec) -> Engine | None:
    """The serving engine a container runs, read from its image, command and arguments."""
    text = " ".join([container.get("image", ""), *_command_line(container)]).lower()
    for engine in Engine:
        if engine.value in text:
            return engine
    return None


def lora_flags(container: Spec, adapters: tuple[Adapter, ...], runtime_name: str) -> list[str]:
    """The engine arguments that load ``adapters``; limits the runtime or service already
    sets are kept."""
    engine = engine_of(container)
    modules = [f"{a.name}={a.path}" for a in adapters]
    given = set(_command_line(container))
    flags: list[str] = []

    def limit(flag: str, value: int) -> None:
        if flag not in given and not any(g.startswith(f"{flag}=") for g in given):
            flags.extend([flag, str(value)])

    if engine is Engine.SGLANG:
        flags += ["--lora-paths", *modules]
        limit("--max-loras-per-batch", max(len(adapters), SGLANG_DEFAULT_LORAS_PER_BATCH))
    elif engine is Engine.VLLM:
        if "--enable-lora" not in given:
            flags.append("--enable-lora")
        flags += ["--lora-modules", *modules]
        limit("--max-loras", len(adapters))
        ranks = [a.rank for a in adapters if a.rank is not None]
        if ranks:
            limit("--max-lora-rank", vllm_rank(max(ranks)))
    else:
        raise ServingError(
            Reason.LORA_UNSUPPORTED,
            f"runtime {runtime_name!r} runs neither SGLang nor vLLM (read from its image, "
            "command and args), so it cannot be given LoRA adapters: name an SGLang or "
            "vLLM runtime in spec.runtime",
        )
    return flags


def vllm_rank(rank: int) -> int:
    """The smallest rank vLLM accepts that holds ``rank`` (larger ones stay as given,
    for vLLM to refuse with its own message)."""
    return next((r for r in VLLM_LORA_RANKS if r >= rank), rank)


def _command_line(container: Spec) -> list[str]:
    words: list[str] = []
    for part in [*container.get("command", []), *container.get("args", [])]:
        words += str(part).split()
    return words


def _with_flags(container: Spec, flags: list[str]) -> Spec:
    """``flags`` appended to the arguments; a shell script (``sh -c "…"``) gets them at
    the end of the script, where its engine command is."""
    command, args = list(container.get("command", [])), list(container.get("args", []))
    line = [*command, *args]
    if len(line) >= 3 and line[0] in _SHELLS and "-c" in line[:-1]:
        script = f"{line[-1].rstrip()} {shlex.join(flags)}"
        if args:
            return {**container, "args": [*args[:-1], script]}
        return {**container, "command": [*command[:-1], script]}
    return {**container, "args": [*args, *flags]}


def _with_env(env: list[dict[str, Any]], name: str, value: str) -> list[dict[str, Any]]:
    entry = {"name": name, "value": value}
    if any(e.get("name") == name for e in env):
        return [entry if e.get("name") == name else e for e in env]
    return [*env, entry]
