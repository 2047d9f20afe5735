from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ome.agent.metadata import (
    MetadataError,
    ModelMetadata,
    NamedVersion,
    backfill,
    format_parameter_count,
    metadata_part,
    read_model_metadata,
    skips_config_parsing,
)
from ome.agent.remote_metadata import uri_folder
from tests.unit.agent.helpers import MINILM, MINILM_PARAMETERS, write_json, write_safetensors

LLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "hidden_act": "silu",
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.0.dev0",
}


def model(tmp_path: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    write_json(tmp_path / name, config)
    return tmp_path


def test_the_real_sentence_transformers_model() -> None:
    metadata = read_model_metadata(MINILM)
    assert metadata.model_type == "bert"
    assert metadata.model_architecture == "BertModel"
    assert metadata.model_parameter_size == "22.71M"
    assert metadata.max_tokens == 512
    assert metadata.model_capabilities == ("EMBEDDING",)
    assert metadata.quantization is None
    assert metadata.model_format == NamedVersion("safetensors", "1.0.0")
    assert metadata.model_framework == NamedVersion("transformers", "4.8.2")
    assert metadata.model_configuration == {
        "model_type": "bert",
        "architecture": "BertModel",
        "context_length": 512,
        "parameter_count": "22.71M",
        "has_vision": False,
        "is_embedding": True,
        "transformers_version": "4.8.2",
        "torch_dtype": "",
        "model_size_bytes": 4 * MINILM_PARAMETERS,
    }


def test_without_weights_the_size_is_estimated_from_the_config(tmp_path: Path) -> None:
    config = LLAMA | {"quantization_config": {"quant_method": "fp8", "fmt": "e4m3"}}
    metadata = read_model_metadata(model(tmp_path, config))
    # 128256·4096 embeddings + 32 layers of 4·4096² attention and 3·4096·14336 feed-forward.
    assert metadata.model_parameter_size == "8.31B"
    assert metadata.max_tokens == 131072
    assert metadata.model_capabilities == ("TEXT_TO_TEXT",)
    assert metadata.quantization == "fp8"
    assert metadata.model_framework == NamedVersion("transformers", "4.43.0.dev0")
    assert metadata.model_configuration is not None
    assert metadata.model_configuration["model_size_bytes"] == 2 * 8_309_964_800


def test_sharded_weights_are_counted_from_their_headers(tmp_path: Path) -> None:
    first = write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a": [3, 4]})
    second = write_safetensors(
        tmp_path / "model-00002-of-00002.safetensors", {"b": [5], "c": [2, 2]}
    )
    write_json(
        tmp_path / "model.safetensors.index.json",
        {
            "weight_map": {
                "a": "model-00001-of-00002.safetensors",
                "b": "model-00002-of-00002.safetensors",
                "c": "model-00002-of-00002.safetensors",
            }
        },
    )
    metadata = read_model_metadata(
        model(tmp_path, {"model_type": "x", "architectures": ["XForCausalLM"]})
    )
    assert first + second == 21
    assert metadata.model_parameter_size == "21"


def test_a_missing_shard_falls_back_to_the_estimate(tmp_path: Path) -> None:
    write_json(tmp_path / "model.safetensors.index.json", {"weight_map": {"a": "gone.safetensors"}})
    metadata = read_model_metadata(model(tmp_path, LLAMA))
    assert metadata.model_parameter_size == "8.31B"


@pytest.mark.parametrize(
    ("config", "capabilities"),
    [
        (
            {
                "model_type": "llava",
                "architectures": ["LlavaForConditionalGeneration"],
                "vision_config": {},
            },
            ("IMAGE_TEXT_TO_TEXT",),
        ),
        (
            {"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"]},
            ("AUDIO_TO_TEXT",),
        ),
        ({"model_type": "mistral", "architectures": ["MistralModel"]}, ("EMBEDDING",)),
        ({"model_type": "mistral", "architectures": ["MistralForCausalLM"]}, ("TEXT_TO_TEXT",)),
        ({"model_type": "xlm-roberta", "architectures": ["XLMRobertaModel"]}, ("EMBEDDING",)),
        (
            {"model_type": "qwen2_5_omni", "architectures": ["Qwen2_5OmniModel"]},
            (
                "TEXT_TO_AUDIO",
                "IMAGE_TEXT_TO_AUDIO",
                "VIDEO_TEXT_TO_AUDIO",
                "AUDIO_TO_TEXT",
                "AUDIO_TO_AUDIO",
            ),
        ),
        ({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}, ("TEXT_TO_TEXT",)),
    ],
)
def test_capabilities(
    tmp_path: Path, config: dict[str, Any], capabilities: tuple[str, ...]
) -> None:
    assert read_model_metadata(model(tmp_path, config)).model_capabilities == capabilities


def test_sentence_transformers_files_make_an_embedding_model(tmp_path: Path) -> None:
    write_json(tmp_path / "modules.json", [])
    config = {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"]}
    assert read_model_metadata(model(tmp_path, config)).model_capabilities == ("EMBEDDING",)


def test_a_nested_language_config_fills_in(tmp_path: Path) -> None:
    config = {
        "model_type": "mllama",
        "architectures": ["MllamaForConditionalGeneration"],
        "text_config": {"max_position_embeddings": 8192, "transformers_version": "4.45.0"},
        "quantization_config": {"quant_method": "gptq_int4"},
    }
    metadata = read_model_metadata(model(tmp_path, config))
    assert metadata.max_tokens == 8192
    assert metadata.model_framework == NamedVersion("transformers", "4.45.0")
    assert metadata.quantization == "int4"


def test_config_in_a_subfolder(tmp_path: Path) -> None:
    write_json(tmp_path / "deep" / "er" / "config.json", {"model_type": "deeper"})
    write_json(
        tmp_path / "safetensors" / "config.json",
        {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]},
    )
    write_json(tmp_path / ".cache" / "config.json", {"model_type": "hidden"})
    assert read_model_metadata(tmp_path).model_type == "gpt2"


def test_diffusers_pipeline(tmp_path: Path) -> None:
    write_json(
        tmp_path / "model_index.json",
        {
            "_class_name": "FluxPipeline",
            "_diffusers_version": "0.30.0.dev0",
            "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "text_encoder_2": ["transformers", "T5EncoderModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "transformer": ["diffusers", "FluxTransformer2DModel"],
            "vae": ["diffusers", "AutoencoderKL"],
            "feature_extractor": [None, None],
        },
    )
    write_json(tmp_path / "text_encoder" / "config.json", {"max_position_embeddings": 77})
    count = sum(
        write_safetensors(tmp_path / folder / "model.safetensors", {"w": [1000, size]})
        for folder, size in (
            ("text_encoder", 1),
            ("transformer", 10),
            ("vae", 2),
            ("text_encoder_2", 3),
        )
    )
    metadata = read_model_metadata(tmp_path)
    assert metadata.model_type == "diffusers"
    assert metadata.model_architecture == "FluxPipeline"
    assert metadata.model_parameter_size == format_parameter_count(count) == "16K"
    assert metadata.max_tokens == 77
    assert metadata.model_capabilities == ("TEXT_TO_IMAGE",)
    assert (
        metadata.model_format
        == metadata.model_framework
        == NamedVersion("diffusers", "0.30.0.dev0")
    )
    assert metadata.diffusion_pipeline == {
        "className": "FluxPipeline",
        "scheduler": {"library": "diffusers", "type": "FlowMatchEulerDiscreteScheduler"},
        "textEncoder": {"library": "transformers", "type": "CLIPTextModel"},
        "tokenizer": {"library": "transformers", "type": "CLIPTokenizer"},
        "transformer": {"library": "diffusers", "type": "FluxTransformer2DModel"},
        "vae": {"library": "diffusers", "type": "AutoencoderKL"},
        "additionalComponents": {
            "text_encoder_2": {"library": "transformers", "type": "T5EncoderModel"}
        },
    }


@pytest.mark.parametrize(
    ("class_name", "capability"),
    [
        ("StableDiffusionInpaintPipeline", "IMAGE_TEXT_TO_IMAGE"),
        ("StableDiffusionXLPipeline", "TEXT_TO_IMAGE"),
        ("WanTextToVideoPipeline", "TEXT_TO_VIDEO"),
        ("WanVideoPipeline", "IMAGE_TEXT_TO_VIDEO"),
    ],
)
def test_diffusion_capabilities(tmp_path: Path, class_name: str, capability: str) -> None:
    write_json(tmp_path / "model_index.json", {"_class_name": class_name})
    metadata = read_model_metadata(tmp_path)
    assert metadata.model_capabilities == (capability,)
    assert metadata.model_parameter_size is None  # no weights to count


def test_missing_or_broken_configs_are_errors_naming_the_place(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match=r"no config\.json or model_index\.json"):
        read_model_metadata(tmp_path)
    with pytest.raises(MetadataError, match="is not a directory"):
        read_model_metadata(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(MetadataError, match=r"config\.json: cannot read it as JSON"):
        read_model_metadata(tmp_path)
    write_json(tmp_path / "model_index.json", {"_note": "nothing"})
    with pytest.raises(MetadataError, match="no diffusion pipeline"):
        read_model_metadata(tmp_path)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (999, "999"),
        (1_000, "1K"),
        (1_500, "1.5K"),
        (MINILM_PARAMETERS, "22.71M"),
        (7_000_000_000, "7B"),
        (7_500_000_000, "7.5B"),
        (7_110_000_000, "7.11B"),
        (8_030_261_248, "8.03B"),
        (1_500_000_000_000, "1.5T"),
    ],
)
def test_format_parameter_count(count: int, text: str) -> None:
    assert format_parameter_count(count) == text


DETECTED = ModelMetadata(
    model_type="bert",
    model_architecture="BertModel",
    model_parameter_size="22.71M",
    max_tokens=512,
    model_capabilities=("EMBEDDING",),
    quantization="fp8",
    model_format=NamedVersion("safetensors", "1.0.0"),
    model_framework=NamedVersion("transformers", "4.8.2"),
    model_configuration={"model_type": "bert"},
)


def test_backfill_fills_an_empty_spec() -> None:
    spec = {"storage": {"storageUri": "hf://org/model"}, "modelFormat": {"name": ""}}
    assert backfill(spec, DETECTED) == {
        "storage": {"storageUri": "hf://org/model"},
        "modelType": "bert",
        "modelArchitecture": "BertModel",
        "modelParameterSize": "22.71M",
        "maxTokens": 512,
        "quantization": "fp8",
        "modelFramework": {"name": "transformers", "version": "4.8.2"},
        "modelConfiguration": {"model_type": "bert"},
        "modelCapabilities": ["EMBEDDING"],
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
    }
    assert spec == {"storage": {"storageUri": "hf://org/model"}, "modelFormat": {"name": ""}}


def test_backfill_keeps_what_the_user_set() -> None:
    spec = {
        "modelType": "custom",
        "maxTokens": 256,
        "modelCapabilities": ["TEXT_EMBEDDINGS"],
        "modelFramework": {"name": "sentence-transformers"},
        "modelFormat": {"name": "pytorch"},
    }
    filled = backfill(spec, DETECTED)
    assert {k: filled[k] for k in spec} == spec
    assert filled["modelArchitecture"] == "BertModel"


def test_backfill_adds_the_version_of_the_detected_format_only() -> None:
    filled = backfill({"modelFormat": {"name": "safetensors"}}, DETECTED)
    assert filled["modelFormat"] == {"name": "safetensors", "version": "1.0.0"}
    kept = backfill({"modelFormat": {"name": "safetensors", "version": "2"}}, DETECTED)
    assert kept["modelFormat"] == {"name": "safetensors", "version": "2"}


def test_backfill_with_nothing_detected_changes_nothing() -> None:
    spec = {"storage": {"storageUri": "local:///m"}, "modelCapabilities": []}
    assert backfill(spec, ModelMetadata()) == spec


def test_config_round_trip_and_tolerance() -> None:
    metadata = read_model_metadata(MINILM)
    config = metadata.to_config()
    assert config["artifact"] == {"sha": "", "parentPath": None, "childrenPaths": None}
    assert "quantization" not in config  # Go's omitempty
    assert ModelMetadata.from_config(config) == metadata
    odd = ModelMetadata.from_config(
        {"modelType": 3, "maxTokens": True, "modelFormat": {"version": "1"}}
    )
    assert odd == ModelMetadata()


def test_skip_annotation() -> None:
    assert skips_config_parsing({"ome.oracle.com/skip-config-parsing": "True"})
    assert not skips_config_parsing({"ome.oracle.com/skip-config-parsing": "no"})
    assert not skips_config_parsing(None)


def test_the_files_a_metadata_fetch_takes() -> None:
    assert metadata_part("config.json") == "whole"
    assert metadata_part("text_encoder/config.json") == "whole"
    assert metadata_part("model.safetensors.index.json") == "whole"
    assert metadata_part("modules.json") == "whole"
    assert metadata_part("model_index.json") == "whole"
    assert metadata_part("model-00001-of-00002.safetensors") == "header"
    for other in ("tokenizer.json", "pytorch_model.bin", "README.md", "generation_config.json"):
        assert metadata_part(other) is None


def test_storage_uris_map_to_folders() -> None:
    assert uri_folder("hf://meta-llama/Llama-3.1-8B@main") == "hf/meta-llama/Llama-3.1-8B"
    assert uri_folder("s3://bucket/models/llama/") == "s3/bucket/models/llama"
    assert uri_folder("hf://a/../../etc") == "hf/a/etc"  # never outside the folder
