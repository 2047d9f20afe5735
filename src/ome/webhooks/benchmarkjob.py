"""BenchmarkJob validation (upstream ``pkg/webhook/admission/benchmark``).

On create and update, each refusal naming its field:

1. the object must be a valid BenchmarkJob of the API types;
2. exactly one of ``spec.endpoint.inferenceService`` and ``spec.endpoint.endpoint``;
3. each of ``spec.trafficScenarios`` must be a scenario of the task: text-to-text
   ``N(a,b)/(c,d)``, ``U(a,b)`` or ``U(a,b)/(c,d)``, ``D(a,b)``; text-to-embeddings
   ``E(a)`` or ``E(a,b)``; image tasks ``I(w,h)`` or ``I(w,h,n)``;
4. ``spec.additionalRequestParams``: ``temperature`` a number (above 1.5: a warning),
   ``ignore_eos`` ``true`` or ``false``;
5. ``spec.outputLocation.storageUri`` must be an output the controller can write
   (``oci://n/…/b/…/o/…``, ``pvc://claim/path``, ``s3://``, ``gs://``).

Differences from upstream: upstream's text-to-text pattern anchors only its first and
last alternatives (``xD(1,2)`` passes) and its embeddings pattern wants two numbers,
refusing its own sample's ``E(128)`` and its own default scenarios; upstream accepts any
storage scheme it knows, including ones its controller then fails on."""

from __future__ import annotations

import math
import re
from typing import Any

from ome.api.v1beta1 import BenchmarkJob
from ome.serving.benchmark import BenchmarkError, storage_args
from ome.webhooks.inferenceservice import schema_causes
from ome.webhooks.review import Cause

_NUMBER = r"\d+"
_PAIR = rf"\({_NUMBER},{_NUMBER}\)"
SCENARIOS = {
    "text-to-text": re.compile(rf"^(?:N{_PAIR}/{_PAIR}|U{_PAIR}(?:/{_PAIR})?|D{_PAIR})$"),
    "text-to-embeddings": re.compile(rf"^E\({_NUMBER}(?:,{_NUMBER})?\)$"),
    "image-to-text": re.compile(rf"^I\({_NUMBER},{_NUMBER}(?:,{_NUMBER})?\)$"),
    "image-to-embeddings": re.compile(rf"^I\({_NUMBER},{_NUMBER}(?:,{_NUMBER})?\)$"),
}
_FORMS = {
    "text-to-text": "N(a,b)/(c,d), U(a,b), U(a,b)/(c,d) or D(a,b)",
    "text-to-embeddings": "E(a) or E(a,b)",
    "image-to-text": "I(w,h) or I(w,h,n)",
    "image-to-embeddings": "I(w,h) or I(w,h,n)",
}
HIGH_TEMPERATURE = 1.5


def validate_benchmark_job(obj: Any) -> tuple[list[Cause], list[str]]:
    causes, benchmark = schema_causes(obj, BenchmarkJob.KIND)
    if benchmark is None:
        return causes, []
    spec = obj.get("spec") or {}
    endpoint = spec.get("endpoint") or {}
    given = [k for k in ("inferenceService", "endpoint") if endpoint.get(k)]
    if len(given) != 1:
        both = "not both" if given else "one is required"
        causes.append(
            Cause("spec.endpoint", f"give exactly one of inferenceService and endpoint ({both})")
        )
    task = str(spec.get("task", ""))
    pattern = SCENARIOS.get(task)
    for index, scenario in enumerate(spec.get("trafficScenarios") or []):
        if pattern is not None and not pattern.match(str(scenario)):
            causes.append(
                Cause(
                    f"spec.trafficScenarios[{index}]",
                    f"{scenario!r} is no {task} scenario: expected {_FORMS[task]}",
                )
            )
    warnings: list[str] = []
    params = spec.get("additionalRequestParams") or {}
    if "temperature" in params:
        try:
            temperature = float(params["temperature"])
        except ValueError:
            temperature = math.nan
        if math.isnan(temperature):
            causes.append(
                Cause(
                    "spec.additionalRequestParams.temperature",
                    f"{params['temperature']!r} is not a number",
                )
            )
        elif temperature > HIGH_TEMPERATURE:
            warnings.append(
                f"spec.additionalRequestParams.temperature {temperature:g} is above "
                f"{HIGH_TEMPERATURE}: answers may be erratic"
            )
    if "ignore_eos" in params and params["ignore_eos"] not in ("true", "false"):
        causes.append(Cause("spec.additionalRequestParams.ignore_eos", "must be 'true' or 'false'"))
    try:
        storage_args(spec.get("outputLocation") or {})
    except BenchmarkError as err:
        field, _, message = str(err).partition(" ")
        causes.append(Cause(field, message))
    return causes, warnings
