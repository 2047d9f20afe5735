"""Upstream's whole catalogue served end to end in local mode, as a newcomer would try it:
a Hub on loopback serves the metadata files of all of upstream's models (synthesized from
facts, see ``tests/catalogue/models.yaml``), ``ome run --local`` runs the operator with
fake GPU nodes whose agents fetch only that metadata, upstream's models and runtimes are
applied unchanged, then every upstream sample file, unchanged, with the namespaces it
names created. Each InferenceService ends Ready, or with the reason listed in
``EXCEPTIONS`` (upstream's own inconsistencies, and features not built yet); the table of
outcomes is printed (``pytest -s``).

At once the samples need 442 GPUs in 160 pods, on 56 nodes; every fake node's agent works
through all 207 models, so the samples are applied in batches that fit 16 eight-GPU nodes
and one of sixteen (kimi-k2-pd alone needs 16 nodes), each batch deleted before the next.
The whole run takes about 15 minutes on two busy cores: it runs on demand,
``OME_WHOLE_CATALOGUE=1 pytest -s tests/integration/test_whole_catalogue.py``; without it
only the small variant runs (a few samples of each kind on 4 nodes, the same path: about
3 minutes)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import validate_object
from ome.cli import bootstrap
from ome.cli.samples import apply_samples, read_samples
from ome.client import Client, load_configuration
from ome.controllers.kinds import CLUSTERBASEMODEL, INFERENCESERVICE, POD
from ome.serving import MemoryCatalog, ServingError, parse_config, plan_service
from ome.serving.capacity import plan_pods
from ome.testing.process import free_port
from tests.catalogue.hub import catalogue_hub
from tests.catalogue.synthetic import ModelFacts, catalogue_facts
from tests.compat.reference import CONFIG, needs_reference
from tests.integration.helpers import eventually, processes_mentioning, until_running_locally

pytestmark = [pytest.mark.integration, pytest.mark.e2e, needs_reference]

ROOT = Path(__file__).resolve().parents[2]
MODELS, RUNTIMES, SAMPLES = CONFIG / "models", CONFIG / "runtimes", CONFIG / "samples" / "isvc"
ON_DEMAND = "OME_WHOLE_CATALOGUE"
H100 = "NVIDIA-H100-80GB-HBM3"
# upstream's gpt-oss, llama-4-maverick-fp8 and deepseek-v4 runtimes require an instance type
# by node affinity (runtimes/srt/gpt-oss-20b-rt.yaml and others); BM.GPU.H100.8 is in all
INSTANCE_TYPE = "BM.GPU.H100.8"
REFUSED = "refused"
"""The outcome of a sample that the API server (schema) or the admission webhook refuses."""
WAITING_FOR_KNATIVE = "Initializing"
KNATIVE_MESSAGE = "waiting for Knative Serving to report on Knative Service"

# Why a sample does not become Ready, by sample file (below samples/isvc): the service's
# Ready reason (or REFUSED at apply), and a part of its message (or of the refusal).
EXCEPTIONS: dict[str, tuple[str, str]] = {
    # Malformed: fields that upstream's own CRD does not have (tests/compat/reference.py).
    "LGAI-EXAONE/exaone-3-5-7-8b-instruct-isvc.yaml": (REFUSED, "field not declared in schema"),
    "zai-org/glm-4-5v.yaml": (REFUSED, "field not declared in schema"),
    # The webhook refuses a service whose model matches no auto-selectable runtime, as
    # upstream's does (pkg/webhook/admission/isvc/inference_service_validation.go,
    # validateRuntimeAndModelResolution). The only runtime for these two models has
    # autoSelect: false and the sample names none; the other sample of the same service
    # (qwen3-embedding-0-6b.yaml, llama-3-1-70b-instruct.yaml) names it and is Ready.
    "Qwen/Qwen3-Embedding-0.6B.yaml": (REFUSED, "does not have auto-select enabled"),
    "meta/llama3-1-70b-instruct.yaml": (REFUSED, "does not have auto-select enabled"),
    # gpt-oss-20b is 21B (its published config): outside the gpt-oss runtimes' size range.
    "openai/gpt-oss-20b.yaml": (REFUSED, "model size 21B is outside supported range"),
    # ... and a model that must exist (validateModelExists): not in upstream's catalogue.
    "meta/llama3-2-90b-vision-fp8-dynamic.yaml": (
        REFUSED,
        "no ClusterBaseModel 'llama-3-2-90b-fp8-dynamic'",
    ),
    # The named runtime's modelSizeRange excludes the model (published: 9.3B).
    "adept/persimmon-8b-chat.yaml": (
        "RuntimeIncompatible",
        "model size 9.3B is outside supported range [7B, 9B]",
    ),
    # The model's config.json declares fbgemm_fp8; the named runtime no quantization.
    "meta/llama3-1-405b-instruct-fp8.yaml": (
        "RuntimeIncompatible",
        "model has quantization fp8 but runtime has no quantization requirement",
    ),
    # spec.decoder / spec.router without a decoderConfig / routerConfig in the runtime:
    # upstream merges them into a component without containers (pkg/controller/v1beta1/
    # inferenceservice/utils/merging.go MergeDecoderSpec, MergeRouterSpec), which the API
    # server refuses.
    "meta/llama3-3-70b-instruct.yaml": ("DecoderConfigMissing", "has no decoderConfig"),
    "mistralai/mixtral-8x7b-v0-1.yaml": ("RouterConfigMissing", "has no routerConfig"),
    "nvidia/llama-3-3-nemotron-super-49b-v1.yaml": ("RouterConfigMissing", "has no routerConfig"),
    # engine minReplicas 0: Serverless, a Knative Service (accepted by Knative's CRDs);
    # no Knative controller runs here (it routes only through a networking layer), so the
    # engine waits for one to report on its Knative Service.
    "mistralai/mistral-7b-instruct-v0-2.yaml": (WAITING_FOR_KNATIVE, KNATIVE_MESSAGE),
    "mistralai/mistral-small-3-1-24b-instruct-2503.yaml": (WAITING_FOR_KNATIVE, KNATIVE_MESSAGE),
    "mistralai/mixtral-8x7b-instruct-v0-1.yaml": (WAITING_FOR_KNATIVE, KNATIVE_MESSAGE),
}


@dataclass(frozen=True)
class Scenario:
    samples: tuple[str, ...] | None
    """Sample files below samples/isvc; None: all of them."""
    nodes: tuple[tuple[int, int], ...]
    """(count, GPUs) per group of fake nodes."""
    timeout: float
    """For the models to be Ready on every node."""
    batch_timeout: float = 300
    """For the services of a batch to settle, then to be gone."""

    def models(self) -> list[ModelFacts]:
        """The catalogue's models these samples serve (all with every sample)."""
        if self.samples is None:
            return list(catalogue_facts())
        named = {
            o["spec"]["model"]["name"]
            for o in read_samples([SAMPLES / s for s in self.samples]).objects
            if o["kind"] == "InferenceService" and "name" in (o["spec"].get("model") or {})
        }
        return [m for m in catalogue_facts() if m.name in named]


WHOLE = Scenario(None, ((16, 8), (1, 16)), timeout=2400)
# One of each kind: a single pod, engine and router, a multi-node PD service on
# LeaderWorkerSets, a Serverless engine (a Knative Service) behind a router, one upstream
# inconsistency and one malformed sample.
SMALL = Scenario(
    (
        "meta/llama-3-2-1b-instruct.yaml",
        "deepseek-ai/deepseek-v3-pd.yaml",
        "mistralai/mistral-7b-instruct-v0-2.yaml",
        "adept/persimmon-8b-chat.yaml",
        "zai-org/glm-4-5v.yaml",
    ),
    ((4, 8),),
    timeout=300,
)


@dataclass
class Sample:
    file: str
    objects: list[dict[str, Any]]
    pods: list[int] = field(default_factory=list)
    """GPUs of each pod of its services, as planned from the back-filled models."""

    @property
    def services(self) -> list[tuple[str, str]]:
        return [
            (o["metadata"].get("namespace") or "default", o["metadata"]["name"])
            for o in self.objects
            if o["kind"] == "InferenceService"
        ]


@pytest.mark.skipif(not os.environ.get(ON_DEMAND), reason=f"on demand: {ON_DEMAND}=1")
@pytest.mark.timeout(WHOLE.timeout + 40 * WHOLE.batch_timeout)
async def test_whole_catalogue(tmp_path: Path) -> None:
    await serve_catalogue(WHOLE, tmp_path)


@pytest.mark.timeout(900)
async def test_catalogue_samples_of_each_kind(tmp_path: Path) -> None:
    await serve_catalogue(SMALL, tmp_path)


async def serve_catalogue(scenario: Scenario, tmp_path: Path) -> None:
    started = time.monotonic()
    samples = read_sample_files(scenario.samples)
    models = scenario.models()
    model_dir = MODELS if scenario.samples is None else copy_manifests(models, tmp_path)
    async with (
        catalogue_hub(models) as hub,
        ome_run_local(tmp_path, scenario, hub.url, model_dir) as client,
    ):
        nodes = sum(count for count, _ in scenario.nodes)
        await models_ready_everywhere(client, nodes, scenario.timeout)
        print(f"\nmodels Ready on {nodes} nodes after {time.monotonic() - started:.0f}s")
        await plan(client, samples)
        outcomes: dict[str, Outcome] = {}
        packed = batches(samples, scenario.nodes)
        for number, batch in enumerate(packed, 1):
            outcomes |= await serve_batch(client, batch, scenario.batch_timeout)
            ready = sum(outcomes[s.file].ready for s in batch)
            print(
                f"batch {number} of {len(packed)}: {ready} of {len(batch)} Ready, "
                f"{time.monotonic() - started:.0f}s",
                flush=True,
            )
    elapsed = time.monotonic() - started
    print(table(samples, outcomes, elapsed))
    assert sorted(outcomes) == sorted(s.file for s in samples)
    unexpected = {f: o for f, o in outcomes.items() if not (o.ready or expected(f, o))}
    assert not unexpected, unexpected
    not_ready = {f for f, o in outcomes.items() if not o.ready}
    assert not_ready == set(EXCEPTIONS) & set(outcomes)


def read_sample_files(names: Sequence[str] | None) -> list[Sample]:
    files = sorted(SAMPLES.rglob("*.yaml")) if names is None else [SAMPLES / n for n in names]
    found = []
    for path in files:
        read = read_samples([path])
        found.append(Sample(str(path.relative_to(SAMPLES)), read.objects))
    return found


def copy_manifests(models: Iterable[ModelFacts], tmp_path: Path) -> Path:
    """A folder of upstream's manifests of these models, unchanged."""
    names = {m.name for m in models}
    folder = tmp_path / "models"
    folder.mkdir()
    for path in sorted(MODELS.rglob("*.yaml")):
        objects, _ = bootstrap.catalog_objects([path])
        if any(o["metadata"]["name"] in names for o in objects):
            shutil.copy(path, folder / path.name)
    return folder


@asynccontextmanager
async def ome_run_local(
    tmp_path: Path, scenario: Scenario, hub_url: str, models: Path
) -> AsyncIterator[Client]:
    """``ome run --local`` with the catalogue, its agents fetching from ``hub_url``; a
    client of its cluster until it stops."""
    state = tmp_path / "run"
    groups = [f"{count}x{gpus}:{H100}:{INSTANCE_TYPE}" for count, gpus in scenario.nodes]
    log = tmp_path / "ome-run.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ome.cli.main", "run", "--local",
            "--local-dir", str(state),
            *[a for group in groups for a in ("--node-group", group)],
            "--catalog", str(models),
            "--catalog", str(RUNTIMES),
            "--hf-endpoint", hub_url,
            "--metrics-address", "127.0.0.1:0",
            "--probe-address", "127.0.0.1:0",
            "--webhook-address", f"127.0.0.1:{free_port()}",
            "--log-format", "console",
            "--log-level", "warning",
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        await until_running_locally(process, log, timeout=300)
        kubeconfig = state / "cluster" / "kubeconfig"
        async with Client(await load_configuration(kubeconfig)) as client:
            yield client
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 120) == 0, log.read_text()[-3000:]
        assert processes_mentioning(str(state)) == []
    finally:
        if process.returncode is None:  # a failure: stop it (and its control plane) anyway
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 120)
            except TimeoutError:
                process.kill()
                await process.wait()


async def models_ready_everywhere(client: Client, nodes: int, timeout: float) -> None:
    """Until every model is Ready on every node (pods go only where their model is)."""
    models = await client.resource(CLUSTERBASEMODEL)

    async def everywhere() -> bool:
        found = await models.list()
        ready = [m for m in found if len((m.get("status") or {}).get("nodesReady") or ()) == nodes]
        return len(ready) == len(found) > 0

    await eventually(everywhere, timeout=timeout)


async def plan(client: Client, samples: list[Sample]) -> None:
    """Each sample's pods, planned against the models as the agents back-filled them."""
    models = await (await client.resource(CLUSTERBASEMODEL)).list()
    runtimes, _ = bootstrap.catalog_objects([RUNTIMES])
    catalog = MemoryCatalog.of(
        outcome.model
        for outcome in (validate_object(o, KINDS) for o in [*models, *runtimes])
        if outcome.model is not None
    )
    config = parse_config(bootstrap.config_map("ome").get("data") or {})
    for sample in samples:
        for obj in sample.objects:
            service = validate_object(obj, KINDS).model
            if not isinstance(service, InferenceService):
                continue
            try:
                sample.pods += plan_pods(plan_service(service, catalog, config))
            except ServingError:
                continue


def batches(samples: list[Sample], groups: Sequence[tuple[int, int]]) -> list[list[Sample]]:
    """Samples in batches whose pods the scheduler places whatever its choices: pods of
    more than 8 GPUs alone with their service; whole-node pods (5 to 8 GPUs) no more than
    there are nodes of 8 GPUs or more (multi-node pods use the host's network, so two
    cannot share a node); smaller pods up to half the GPUs (then a pod that does not fit
    would mean every node is more than half full). Unplannable samples go first."""
    slots = sum(count for count, gpus in groups if gpus >= 8)  # hostNetwork: one a node
    half = sum(count * gpus for count, gpus in groups) // 2
    large = [s for s in samples if s.pods and max(s.pods) > 8]
    whole = [s for s in samples if s.pods and 4 < max(s.pods) <= 8]
    small = [s for s in samples if s.pods and max(s.pods) <= 4]
    packed = _first_fit([s for s in samples if not s.pods], 0, lambda s: 0)
    packed += [[s] for s in large]
    packed += _first_fit(whole, slots, lambda s: sum(p > 0 for p in s.pods))
    packed += _first_fit(small, half, lambda s: sum(s.pods))
    return [b for b in packed if b]


def _first_fit(samples: list[Sample], room: int, need: Any) -> list[list[Sample]]:
    """Largest first into the first bin with room and none of the same services (six
    pairs of upstream's samples are the same InferenceService: applied together, the
    second would overwrite the first)."""
    bins: list[tuple[int, list[Sample]]] = []

    def fits(used: int, members: list[Sample], sample: Sample) -> bool:
        taken = {key for member in members for key in member.services}
        return used + need(sample) <= room and not taken & set(sample.services)

    for sample in sorted(samples, key=need, reverse=True):
        assert need(sample) <= room, f"{sample.file} needs {need(sample)} of {room}"
        index = next((i for i, (u, m) in enumerate(bins) if fits(u, m, sample)), None)
        if index is None:
            bins.append((need(sample), [sample]))
        else:
            used, members = bins[index]
            bins[index] = (used + need(sample), [*members, sample])
    return [members for _, members in bins]


async def serve_batch(client: Client, batch: list[Sample], timeout: float) -> dict[str, Outcome]:
    """Apply the samples, wait until each service is Ready or settled on its expected
    reason (at most ``timeout``), then delete the services and wait for their pods to go."""
    refused = await asyncio.gather(*(apply_samples(client, s.objects) for s in batch))
    outcomes = {
        s.file: Outcome(REFUSED, "; ".join(r)) for s, r in zip(batch, refused, strict=True) if r
    }
    services = await client.resource(INFERENCESERVICE)
    pending = [s for s in batch if s.file not in outcomes]

    async def settled() -> bool:
        for sample in pending:
            found = await outcome(client, sample)
            if found.ready or expected(sample.file, found):
                outcomes[sample.file] = found
        return all(s.file in outcomes for s in pending)

    try:
        await eventually(settled, timeout=timeout)
    except AssertionError:
        for sample in pending:
            if sample.file not in outcomes:
                found = await outcome(client, sample)
                outcomes[sample.file] = Outcome(found.reason, await why(client, sample))
    await asyncio.gather(
        *(services.delete(n, ns) for s in pending for ns, n in s.services), return_exceptions=True
    )
    pods = await client.resource(POD)

    async def gone() -> bool:
        return not await services.list() and not await pods.list()

    await eventually(gone, timeout=timeout)
    return outcomes


@dataclass(frozen=True)
class Outcome:
    reason: str
    """Ready, the Ready condition's reason, or REFUSED."""
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.reason == "Ready"


async def outcome(client: Client, sample: Sample) -> Outcome:
    """Ready if every service of the sample is, else the first one's reason and message."""
    services = await client.resource(INFERENCESERVICE)
    for namespace, name in sample.services:
        service = await services.get(name, namespace)
        conditions = (service.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c["type"] == "Ready"), None)
        if ready is None:
            return Outcome("NoReadyCondition")
        if ready["status"] != "True":
            return Outcome(str(ready.get("reason")), str(ready.get("message") or ""))
    return Outcome("Ready")


async def why(client: Client, sample: Sample) -> str:
    """The Ready reason and message of a service that did not settle, and its pods'."""
    services, pods = await client.resource(INFERENCESERVICE), await client.resource(POD)
    parts = []
    for namespace, name in sample.services:
        service = await services.get(name, namespace)
        for c in (service.get("status") or {}).get("conditions") or []:
            if c["type"] == "Ready" and c["status"] != "True":
                parts.append(f"{c.get('reason')}: {c.get('message')}")
        for pod in await pods.list(namespace, label_selector=f"ome.io/inferenceservice={name}"):
            status = pod.get("status") or {}
            messages = [
                c.get("message") for c in status.get("conditions") or [] if c.get("message")
            ]
            parts.append(f"pod {pod['metadata']['name']} {status.get('phase')} {messages}")
    return "; ".join(parts) or "no service"


def expected(file: str, found: Outcome) -> bool:
    reason, part = EXCEPTIONS.get(file, ("", ""))
    return found.reason == reason and part in found.detail


def _excerpt(file: str, detail: str) -> str:
    """The expected part of a message and what precedes it in its sentence, else the
    start of the message."""
    part = EXCEPTIONS.get(file, ("", ""))[1]
    at = detail.find(part) if part else -1
    if at < 0:
        return detail[:400]
    colon = detail.rfind(": ", 0, at)
    start = max(colon + 2 if colon >= 0 else 0, at - 160)
    return detail[start : at + len(part)]


def table(samples: list[Sample], outcomes: Mapping[str, Outcome], elapsed: float) -> str:
    width = max(len(s.file) for s in samples)
    rows = [f"{'sample':<{width}}  outcome", f"{'-' * width}  -------"]
    for sample in samples:
        found = outcomes.get(sample.file, Outcome("NotApplied"))
        note = "" if found.ready else f": {_excerpt(sample.file, found.detail)}"
        rows.append(f"{sample.file:<{width}}  {found.reason}{note}")
    ready = sum(o.ready for o in outcomes.values())
    rows.append(f"{ready} of {len(samples)} samples Ready in {elapsed:.0f}s")
    return "\n".join(rows)
