"""What a chosen AcceleratorClass changes in an engine's or decoder's pod (upstream
``components/base.go`` and ``utils/merging.go``), applied by
:func:`ome.serving.podspec.build_pod`:

- the runner: the class's ``resources`` as requests and limits, replacing the runtime's
  (only when the service's runner sets no resources); then the runtime's
  ``acceleratorConfig`` for the class: ``environmentOverride`` (set, replacing a value of
  the same name), ``runtimeArgsOverride`` merged into the arguments by flag (an override
  of a flag the arguments have replaces it and its value, others are appended), and
  ``tensorParallelismOverride`` rewriting the value of ``--tp-size``/``--tp``/
  ``--tensor-parallel-size`` and ``--pp-size``/``--pp``/``--pipeline-parallel-size``
  in the arguments, else in the command;
- the pod: the class's ``discovery.nodeSelector`` over the runtime's, under the
  service's; its ``discovery.affinity`` when the service's component gives none.

Differences from upstream: a flag inside a one-line shell script (``sh -c "… --tp 8"``)
is rewritten too (upstream only looks inside multi-line scripts), keeping the form
``--tp 8`` or ``--tp=8`` it was written in; override arguments for a shell script go to
the end of its script, where the engine command is, instead of after it."""

from __future__ import annotations

import re
import shlex
from typing import Any

from ome.serving.accelerator_selection import AcceleratorChoice
from ome.serving.components import Spec, to_json

TENSOR_PARALLEL_FLAGS = ("--tp-size", "--tp", "--tensor-parallel-size")
PIPELINE_PARALLEL_FLAGS = ("--pp-size", "--pp", "--pipeline-parallel-size")
_SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/env"})


def class_resources(choice: AcceleratorChoice) -> dict[str, str]:
    """The resources the class asks for per container, by name."""
    return {
        r.name: str(r.quantity if r.quantity is not None else "1")
        for r in choice.accelerator_class.spec.resources or ()
    }


def class_node_selector(choice: AcceleratorChoice) -> dict[str, str]:
    return dict(choice.accelerator_class.spec.discovery.node_selector or {})


def class_affinity(choice: AcceleratorChoice) -> Spec | None:
    affinity = choice.accelerator_class.spec.discovery.affinity
    return to_json(affinity) if affinity is not None else None


def with_accelerator(runner: Spec, choice: AcceleratorChoice, *, own_resources: bool) -> Spec:
    """The runner with the class's resources and the runtime's settings for the class."""
    if not own_resources and class_resources(choice):
        resources = dict(runner.get("resources", {}))
        for kind in ("requests", "limits"):
            resources[kind] = dict(resources.get(kind, {})) | class_resources(choice)
        runner = {**runner, "resources": resources}
    config = choice.config
    if config is None:
        return runner
    for name, value in sorted((config.environment_override or {}).items()):
        runner = _with_env(runner, name, value)
    if config.runtime_args_override:
        runner = _with_args(runner, list(config.runtime_args_override))
    parallelism = config.tensor_parallelism_override
    if parallelism is not None:
        for flags, size in (
            (TENSOR_PARALLEL_FLAGS, parallelism.tensor_parallel_size),
            (PIPELINE_PARALLEL_FLAGS, parallelism.pipeline_parallel_size),
        ):
            if size:
                runner = override_flag(runner, flags, size)
    return runner


def _with_env(runner: Spec, name: str, value: str) -> Spec:
    env = list(runner.get("env", []))
    entry = {"name": name, "value": value}
    index = next((i for i, e in enumerate(env) if e.get("name") == name), None)
    if index is None:
        env.append(entry)
    else:
        env[index] = entry
    return {**runner, "env": env}


def _is_shell(runner: Spec) -> bool:
    line = [*runner.get("command", []), *runner.get("args", [])]
    return len(line) >= 3 and line[0] in _SHELLS and "-c" in line[:-1]


def _with_args(runner: Spec, overrides: list[str]) -> Spec:
    args = list(runner.get("args", []))
    if _is_shell(runner):
        field = "args" if args else "command"
        line = list(runner[field])
        line[-1] = _script_with(line[-1], overrides)
        return {**runner, field: line}
    if args and ("\n" in args[0] or "\\" in args[0]):
        merged = _merge_groups(_lines(args), _lines(overrides))
        return {**runner, "args": [" \\\n".join(merged)]}
    return {**runner, "args": _merge_groups(args, _lines(overrides))}


def _lines(args: list[str]) -> list[str]:
    """Upstream's normalisation: each line of a multi-line argument, trailing ``\\`` cut."""
    found = []
    for arg in args:
        for part in arg.split("\n") if ("\n" in arg or "\\" in arg) else [arg]:
            line = part.strip().rstrip("\\").strip()
            if line:
                found.append(line)
    return found


def _key(arg: str) -> str:
    arg = arg.strip()
    if not arg.startswith("-"):
        return arg
    return arg.split("=", 1)[0].split()[0] if arg else arg


def _groups(args: list[str]) -> list[tuple[str, list[str]]]:
    """Flags with their values: ``--k=v``, ``--k v`` (two items), ``--flag``; other items
    stand alone."""
    groups, i = [], 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and "=" not in arg and i + 1 < len(args):
            following = args[i + 1]
            if not following.startswith("-"):
                groups.append((_key(arg), [arg, following]))
                i += 2
                continue
        groups.append((_key(arg), [arg]))
        i += 1
    return groups


def _merge_groups(base: list[str], overrides: list[str]) -> list[str]:
    merged: dict[str, list[str]] = {}
    for key, values in [*_groups(base), *_groups(overrides)]:
        merged[key] = values  # a dict keeps the first position of a key
    return [value for values in merged.values() for value in values]


def _script_with(script: str, overrides: list[str]) -> str:
    for key, values in _groups(overrides):
        written = " ".join(shlex.quote(v) for v in values)
        pattern = re.compile(rf"(?<!\S){re.escape(key)}(?:=\S+|\s+(?!-)\S+)?(?!\S)")
        if key.startswith("-") and pattern.search(script):
            script = pattern.sub(written.replace("\\", "\\\\"), script, count=1)
        else:
            script = f"{script.rstrip()} {written}"
    return script


def override_flag(runner: Spec, flags: tuple[str, ...], value: int) -> Spec:
    """The first of ``flags`` found (in the arguments, else the command) set to ``value``;
    unchanged when none is there (upstream does not add the flag)."""
    for field in ("args", "command"):
        items = list(runner.get(field, []))
        for flag in flags:
            changed = _override_in(items, flag, value)
            if changed is not None:
                return {**runner, field: changed}
    return runner


def _override_in(items: list[Any], flag: str, value: int) -> list[Any] | None:
    for i, item in enumerate(items):
        text = str(item)
        if text == flag and i + 1 < len(items):
            return [*items[: i + 1], str(value), *items[i + 2 :]]
        if text.startswith(f"{flag}="):
            return [*items[:i], f"{flag}={value}", *items[i + 1 :]]
        if any(c.isspace() for c in text):  # a script: rewrite the flag inside it
            pattern = re.compile(rf"(?<!\S)({re.escape(flag)})(=|\s+)\d+(?!\S)")
            if pattern.search(text):
                rewritten = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{value}", text, count=1)
                return [*items[:i], rewritten, *items[i + 1 :]]
    return None
