"""Runtime selection: each matching rule, the score, and each tie-break, on small catalogues
of a llama-like model (safetensors 1.0.0, transformers 4.42.3, LlamaForCausalLM, 8B)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ome.serving import Reason, SelectionError, select_runtime
from ome.serving.matching import format_score, runtime_score, size_distance
from tests.unit.serving.helpers import (
    catalog,
    cluster_model,
    cluster_runtime,
    format_entry,
    namespaced_runtime,
    service,
)


def winner(*runtimes: Any, model: Any = None, svc: Any = None) -> str:
    model = model or cluster_model()
    return select_runtime(svc or service(), model, catalog(model, *runtimes)).name


def verdict(entry: dict[str, Any], model: Any = None, **runtime_fields: Any) -> str | None:
    """None when a single-entry runtime is selected, else its reason."""
    model = model or cluster_model()
    runtime = cluster_runtime("rt", entry, **runtime_fields)
    try:
        select_runtime(service(), model, catalog(model, runtime))
    except SelectionError as err:
        (candidate,) = err.candidates
        return candidate.reason
    return None


def test_a_matching_runtime_is_selected() -> None:
    assert winner(cluster_runtime("srt-llama")) == "srt-llama"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (format_entry(modelFormat={"name": "pytorch"}), "format name mismatch"),
        (
            format_entry(modelFormat={"name": "safetensors", "version": "2.0.0"}),
            "format version mismatch",
        ),
        (format_entry(modelFormat={"name": "safetensors"}), "model has format version"),
        (format_entry(modelFramework={"name": "vllm"}), "framework name mismatch"),
        (
            format_entry(modelFramework={"name": "transformers", "version": "4.50.0"}),
            "framework version mismatch",
        ),
        (format_entry(modelArchitecture="MistralForCausalLM"), "architecture mismatch"),
        (format_entry(modelArchitecture=None), "runtime has no architecture requirement"),
        (format_entry(quantization="fp8"), "model has no quantization but runtime requires fp8"),
        (format_entry(diffusionPipeline={"className": "X"}), "diffusion pipeline required"),
    ],
)
def test_each_mismatch_excludes_the_runtime(entry: dict[str, Any], expected: str) -> None:
    reason = verdict(entry)
    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize(
    ("operator", "runtime_version", "selected"),
    [
        ("Equal", "4.42.3", True),
        ("GreaterThan", "4.50.0", True),  # the runtime's version is greater than the model's
        ("GreaterThan", "4.42.3", False),
        ("GreaterThanOrEqual", "4.42.3", True),
        ("GreaterThanOrEqual", "4.40.0", False),
        ("GreaterThanOrEqual", "4.42", False),  # different precision
    ],
)
def test_version_operators(operator: str, runtime_version: str, selected: bool) -> None:
    framework = {"name": "transformers", "version": runtime_version, "operator": operator}
    assert (verdict(format_entry(modelFramework=framework)) is None) is selected


def test_quantization_must_match_on_both_sides() -> None:
    quantized = cluster_model(quantization="fp8")
    assert verdict(format_entry(quantization="fp8"), quantized) is None
    reason = verdict(format_entry(), quantized)
    assert reason is not None
    assert "model has quantization fp8" in reason
    reason = verdict(format_entry(quantization="int4"), quantized)
    assert reason is not None
    assert "quantization mismatch (model=fp8, runtime=int4)" in reason


def test_a_model_without_architecture_needs_an_entry_without_one() -> None:
    bare = cluster_model(modelArchitecture=None)
    assert verdict(format_entry(modelArchitecture=None), bare) is None
    reason = verdict(format_entry(), bare)
    assert reason is not None
    assert "model has no architecture" in reason


def test_diffusion_pipeline_parts_required_by_the_runtime() -> None:
    pipeline = {
        "className": "QwenImagePipeline",
        "vae": {"library": "diffusers", "type": "AutoencoderKL"},
        "additionalComponents": {"processor": {"library": "transformers", "type": "P"}},
    }
    model = cluster_model(diffusionPipeline=pipeline)
    assert (
        verdict(format_entry(diffusionPipeline={"className": "QwenImagePipeline"}), model) is None
    )
    assert verdict(format_entry(diffusionPipeline={"vae": {"library": "diffusers"}}), model) is None
    wrong_vae = {"vae": {"type": "Other"}}
    assert "vae type mismatch" in (verdict(format_entry(diffusionPipeline=wrong_vae), model) or "")
    extra = {"additionalComponents": {"unet": {"library": "diffusers"}}}
    assert "unet missing" in (verdict(format_entry(diffusionPipeline=extra), model) or "")


@pytest.mark.parametrize(
    ("size_range", "model_size", "selected"),
    [
        ({"min": "7B", "max": "9B"}, "8B", True),
        ({"min": "7B", "max": "9B"}, "9B", True),
        ({"min": "7B", "max": "9B"}, "70B", False),
        ({"min": "7B", "max": "9B"}, "0.5T", False),
        ({"min": "7B"}, "700B", True),  # a missing bound is open
        ({"max": "9B"}, "1B", True),
        ({"min": "7B", "max": "9B"}, "8b", False),  # unreadable: 0 parameters
        ({"min": "7B", "max": "9B"}, "8_000M", True),  # Go's ParseFloat reads underscores
        ({"min": "7B", "max": "9B"}, "0x1p3B", True),  # and hexadecimal floats
        ({"min": "7B", "max": "Inf"}, "1e12", True),
        ({"min": "-Inf", "max": "9B"}, "1e12", False),
        (None, "8B", True),
    ],
)
def test_size_range(size_range: dict[str, str] | None, model_size: str, selected: bool) -> None:
    model = cluster_model(modelParameterSize=model_size)
    reason = verdict(format_entry(), model, modelSizeRange=size_range)
    assert (reason is None) is selected
    if not selected:
        assert reason is not None
        assert "outside supported range" in reason


@pytest.mark.parametrize(
    ("size_range", "model_size", "reason"),
    [
        ({"min": "7B", "max": "9B"}, "NaN", "model size NaN is not a number"),
        (
            {"min": "NaNB", "max": "9B"},
            "8B",
            "supported range [NaNB, 9B] has a bound that is not a number",
        ),
        (
            {"min": "7B", "max": "nan"},
            "8B",
            "supported range [7B, nan] has a bound that is not a number",
        ),
    ],
)
def test_a_size_that_is_not_a_number_matches_no_range(
    size_range: dict[str, str], model_size: str, reason: str
) -> None:
    # upstream's comparisons are false for NaN, so it found NaN inside every range
    model = cluster_model(modelParameterSize=model_size)
    assert verdict(format_entry(), model, modelSizeRange=size_range) == reason


def test_a_disabled_runtime_is_not_a_candidate() -> None:
    assert verdict(format_entry(), disabled=True) == "runtime is disabled"


def test_auto_select_must_be_enabled_on_some_entry() -> None:
    reason = verdict(format_entry(autoSelect=False))
    assert reason is not None
    assert "auto-select" in reason
    assert verdict(format_entry(autoSelect=None)) is not None


def test_an_auto_select_false_entry_matches_but_does_not_score() -> None:
    # matches through the first entry; the auto-selectable one is for another format
    runtime = cluster_runtime(
        "rt",
        format_entry(autoSelect=False),
        format_entry(modelFormat={"name": "gguf"}, autoSelect=True),
    )
    model = cluster_model()
    with pytest.raises(SelectionError) as caught:
        select_runtime(service(), model, catalog(model, runtime))
    assert "scores" in caught.value.candidates[0].reason


def test_accelerator_classes_must_all_be_supported() -> None:
    requirements = {"acceleratorClasses": ["h100", "a100"]}
    runtime = cluster_runtime("rt", format_entry(), acceleratorRequirements=requirements)
    model = cluster_model()
    annotated = service(annotations={"ome.io/accelerator-class": "h100"})
    assert select_runtime(annotated, model, catalog(model, runtime)).name == "rt"
    both = service(
        annotations={"ome.io/accelerator-class": "h100"},
        engine={"acceleratorOverride": {"acceleratorClass": "mi300"}},
    )
    with pytest.raises(SelectionError) as caught:
        select_runtime(both, model, catalog(model, runtime))
    assert "accelerator class mi300" in caught.value.candidates[0].reason
    plain = cluster_runtime("plain", format_entry())
    selector = service(acceleratorSelector={"acceleratorClass": "h100"})
    with pytest.raises(SelectionError):
        select_runtime(selector, model, catalog(model, plain))


def test_score_is_weight_times_priority_for_format_and_framework() -> None:
    model = cluster_model().spec
    entry = cluster_runtime("rt", format_entry(priority=3)).spec.supported_model_formats
    assert entry is not None
    assert format_score(model, entry[0]) == 1 * 3 + 1 * 3
    weighted = format_entry(
        modelFormat={"name": "safetensors", "version": "1.0.0", "weight": 0},
        modelFramework={"name": "transformers", "version": "4.42.3", "weight": 7},
    )
    spec = cluster_runtime("rt", weighted).spec
    assert runtime_score(spec, model) == 10 + 7  # weight 0 falls back to 10 (format)


def test_score_ignores_versions_given_on_one_side() -> None:
    model = cluster_model(modelFormat={"name": "safetensors"}).spec
    spec = cluster_runtime("rt", format_entry()).spec
    assert runtime_score(spec, model) == 2


def test_score_takes_the_best_auto_selectable_entry() -> None:
    model = cluster_model().spec
    spec = cluster_runtime(
        "rt", format_entry(priority=2), format_entry(priority=5, autoSelect=False)
    ).spec
    assert runtime_score(spec, model) == 4


def test_namespace_scoped_runtimes_win_whatever_their_score() -> None:
    local = namespaced_runtime("zz-local", format_entry(priority=1))
    cluster = cluster_runtime("aa-cluster", format_entry(priority=9))
    assert winner(cluster, local) == "zz-local"


def test_a_higher_score_wins() -> None:
    low = cluster_runtime("aa-low", format_entry(priority=1))
    high = cluster_runtime("zz-high", format_entry(priority=2))
    assert winner(low, high) == "zz-high"


def test_on_a_tie_the_closer_size_range_wins() -> None:
    wide = cluster_runtime("aa-wide", format_entry(), modelSizeRange={"min": "1B", "max": "70B"})
    close = cluster_runtime("zz-close", format_entry(), modelSizeRange={"min": "7B", "max": "9B"})
    assert winner(wide, close) == "zz-close"


def test_a_runtime_without_a_range_counts_as_closest() -> None:
    close = cluster_runtime("aa-close", format_entry(), modelSizeRange={"min": "7B", "max": "9B"})
    rangeless = cluster_runtime("zz-any", format_entry(), modelSizeRange=None)
    assert winner(close, rangeless) == "zz-any"


def test_an_infinite_model_size_in_open_ranges_ties_on_the_name() -> None:
    model = cluster_model(modelParameterSize="Inf")
    runtimes = [
        cluster_runtime("b", format_entry(), modelSizeRange={"min": "1T", "max": "Inf"}),
        cluster_runtime("a", format_entry(), modelSizeRange={"min": "1B", "max": "Inf"}),
    ]
    # both are infinitely far (and not NaN, which would leave the order to chance)
    assert [size_distance(r.spec, model.spec) for r in runtimes] == [math.inf, math.inf]
    assert winner(*runtimes, model=model) == "a"


def test_without_a_model_size_the_range_is_no_tie_break() -> None:
    model = cluster_model(modelParameterSize=None)
    close = cluster_runtime("zz-close", format_entry(), modelSizeRange={"min": "7B", "max": "9B"})
    wide = cluster_runtime("aa-wide", format_entry(), modelSizeRange={"min": "1B", "max": "70B"})
    assert winner(close, wide, model=model) == "aa-wide"


def test_on_a_full_tie_the_first_name_wins() -> None:
    assert winner(cluster_runtime("srt-b"), cluster_runtime("srt-a")) == "srt-a"


def test_candidates_explain_the_ranking() -> None:
    model = cluster_model()
    runtimes = [
        cluster_runtime("srt-best", format_entry(priority=2)),
        cluster_runtime("srt-second", format_entry()),
        cluster_runtime("srt-off", format_entry(autoSelect=False)),
        cluster_runtime("srt-mistral", format_entry(modelArchitecture="MistralForCausalLM")),
    ]
    selection = select_runtime(service(), model, catalog(model, *runtimes))
    lines = [(c.name, c.eligible, c.reason) for c in selection.candidates]
    assert lines == [
        ("srt-best", True, "selected: score 4"),
        ("srt-second", True, "score 2, lower than srt-best's"),
        ("srt-off", False, "runtime does not have auto-select enabled for any supported format"),
        ("srt-mistral", False, lines[3][2]),
    ]
    assert "architecture mismatch" in lines[3][2]


def test_no_runtime_names_the_nearest_ones() -> None:
    model = cluster_model()
    old = {"name": "transformers", "version": "4.0.0"}
    runtimes = [
        cluster_runtime("srt-mistral", format_entry(modelArchitecture="MistralForCausalLM")),
        cluster_runtime("srt-old", format_entry(modelFramework=old)),
        cluster_runtime("srt-zz-manual", format_entry(autoSelect=False)),
    ]
    with pytest.raises(SelectionError) as caught:
        select_runtime(service(), model, catalog(model, *runtimes))
    error = caught.value
    assert error.reason is Reason.NO_SUPPORTING_RUNTIME
    assert "checked 3 runtimes (0 namespace-scoped, 3 cluster-scoped)" in error.message
    assert "nearest: srt-zz-manual (runtime does not have auto-select" in error.message
    assert "; srt-old (no supported format matches: framework version" in error.message
    assert "srt-mistral" not in error.message
    assert [c.name for c in error.candidates] == ["srt-zz-manual", "srt-old", "srt-mistral"]


def test_a_model_without_format_cannot_be_matched() -> None:
    model = cluster_model(modelFormat=None)
    with pytest.raises(SelectionError) as caught:
        select_runtime(service(), model, catalog(model, cluster_runtime("rt")))
    assert caught.value.reason is Reason.MODEL_FORMAT_MISSING


class TestNamedRuntime:
    def test_the_named_runtime_need_not_be_auto_selectable(self) -> None:
        model = cluster_model()
        named = cluster_runtime("srt-named", format_entry(autoSelect=False))
        selection = select_runtime(service(runtime="srt-named"), model, catalog(model, named))
        assert selection.name == "srt-named"
        assert not selection.auto_selected

    def test_the_namespaced_runtime_is_found_first(self) -> None:
        model = cluster_model()
        local, cluster = namespaced_runtime("srt"), cluster_runtime("srt")
        selection = select_runtime(service(runtime="srt"), model, catalog(model, cluster, local))
        assert selection.runtime is local

    @pytest.mark.parametrize(
        ("runtime", "reason"),
        [
            (None, Reason.RUNTIME_NOT_FOUND),
            (cluster_runtime("srt", format_entry(), disabled=True), Reason.RUNTIME_DISABLED),
            (
                cluster_runtime("srt", format_entry(modelFormat={"name": "onnx"})),
                Reason.RUNTIME_INCOMPATIBLE,
            ),
            (
                cluster_runtime("srt", format_entry(), modelSizeRange={"min": "60B", "max": "80B"}),
                Reason.RUNTIME_INCOMPATIBLE,
            ),
        ],
    )
    def test_bad_named_runtimes(self, runtime: Any, reason: Reason) -> None:
        model = cluster_model()
        objects = [model] + ([runtime] if runtime else [])
        with pytest.raises(SelectionError) as caught:
            select_runtime(service(runtime="srt"), model, catalog(*objects))
        assert caught.value.reason is reason

    @pytest.mark.parametrize(
        "runtime",
        [None, cluster_runtime("srt", format_entry(), disabled=True)],
        ids=["missing", "disabled"],
    )
    def test_a_model_without_format_is_reported_before_the_runtime(self, runtime: Any) -> None:
        # upstream's ValidateRuntime (pkg/runtimeselector/selector.go) checks the model's
        # format before it fetches the runtime and looks at `disabled`
        model = cluster_model(modelFormat=None)
        objects = [model] + ([runtime] if runtime else [])
        with pytest.raises(SelectionError) as caught:
            select_runtime(service(runtime="srt"), model, catalog(*objects))
        assert caught.value.reason is Reason.MODEL_FORMAT_MISSING
