"""What a model directory says about the model, and the spec fields it fills in.

:func:`read_model_metadata` reads ``model_index.json`` (a diffusers pipeline) or else
``config.json`` (transformers) and derives what upstream OME's agent derives
(``pkg/modelagent/config_parser.go``, ``pkg/hfutil/modelconfig``): model type,
architecture, parameter size, context length, capabilities, quantization, format and
framework. The parameter count is exact when the model ships safetensors (their headers
are read, not their tensors) and estimated from the config otherwise.

:meth:`ModelMetadata.to_config` / :meth:`ModelMetadata.from_config` are the ``config``
object of a node status ConfigMap entry; :func:`backfill` is the rule that turns it into
spec fields: only fields the user left unset are filled.

Reading is blocking file I/O: async callers run it in a thread.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ome.agent.safetensors import SafetensorsError, read_header

SKIP_CONFIG_PARSING_ANNOTATION = "ome.oracle.com/skip-config-parsing"
CONFIG_FILE = "config.json"
MODEL_INDEX_FILE = "model_index.json"
SAFETENSORS_SUFFIX = ".safetensors"
SAFETENSORS_INDEX_SUFFIX = ".safetensors.index.json"
WHOLE = "whole"
HEADER = "header"

# Capability values of upstream's ModelCapability enum that the agent assigns.
EMBEDDING = "EMBEDDING"
TEXT_TO_TEXT = "TEXT_TO_TEXT"
TEXT_TO_AUDIO = "TEXT_TO_AUDIO"
TEXT_TO_IMAGE = "TEXT_TO_IMAGE"
TEXT_TO_VIDEO = "TEXT_TO_VIDEO"
IMAGE_TEXT_TO_TEXT = "IMAGE_TEXT_TO_TEXT"
IMAGE_TEXT_TO_AUDIO = "IMAGE_TEXT_TO_AUDIO"
IMAGE_TEXT_TO_IMAGE = "IMAGE_TEXT_TO_IMAGE"
IMAGE_TEXT_TO_VIDEO = "IMAGE_TEXT_TO_VIDEO"
VIDEO_TEXT_TO_AUDIO = "VIDEO_TEXT_TO_AUDIO"
AUDIO_TO_TEXT = "AUDIO_TO_TEXT"
AUDIO_TO_AUDIO = "AUDIO_TO_AUDIO"

# Upstream names every non-diffusers model safetensors 1.0.0, the format its runtime
# catalogue matches on; a different guess would stop runtime selection from finding one.
_SAFETENSORS = ("safetensors", "1.0.0")
_INT32_MAX = 2**31 - 1
# Where transformers puts the language model's settings in multimodal configs.
_NESTED_LANGUAGE_CONFIGS = ("text_config", "llm_config", "language_config")
# Upstream looks in these folders before searching the whole tree for config.json.
_CONFIG_SUBDIRS = ("safetensors", "pytorch_model", "model")
# Any of these files marks a sentence-transformers model: an embedding model whatever
# its architecture says.
_SENTENCE_TRANSFORMERS_FILES = (
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "modules.json",
)
_CONTEXT_KEYS = (
    "max_position_embeddings",
    "max_sequence_length",
    "seq_length",
    "n_positions",
    "max_seq_len",
)
_DTYPE_BYTES = {
    "float32": 4.0,
    "float": 4.0,
    "bfloat16": 2.0,
    "bf16": 2.0,
    "float16": 2.0,
    "fp16": 2.0,
    "half": 2.0,
    "int8": 1.0,
    "fp8": 1.0,
    "float8": 1.0,
    "e4m3": 1.0,
    "int4": 0.5,
    "4bit": 0.5,
}
_DIFFUSERS_COMPONENTS = {
    "scheduler": "scheduler",
    "text_encoder": "textEncoder",
    "tokenizer": "tokenizer",
    "transformer": "transformer",
    "unet": "transformer",
    "vae": "vae",
}


class MetadataError(ValueError):
    """The model directory has no readable config; the message names the file."""


@dataclass(frozen=True)
class NamedVersion:
    """A ``modelFormat`` or ``modelFramework``."""

    name: str
    version: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"name": self.name} | ({"version": self.version} if self.version else {})


@dataclass(frozen=True)
class ModelMetadata:
    model_type: str | None = None
    model_architecture: str | None = None
    model_parameter_size: str | None = None
    """Human-readable, e.g. ``"22.71M"``, ``"8B"`` (upstream's format)."""
    max_tokens: int | None = None
    model_capabilities: tuple[str, ...] = ()
    api_capabilities: tuple[str, ...] = ()
    quantization: str | None = None
    model_format: NamedVersion | None = None
    model_framework: NamedVersion | None = None
    diffusion_pipeline: Mapping[str, Any] | None = None
    """In the spec's ``diffusionPipeline`` form."""
    model_configuration: Mapping[str, Any] | None = None
    """Upstream's summary of the config (``spec.modelConfiguration``)."""
    artifact_sha: str | None = None
    """The revision the files came from (a Hub commit), when known."""

    def to_config(self) -> dict[str, Any]:
        """The ``config`` object of a status ConfigMap entry, in upstream's field order."""
        config: dict[str, Any] = {}
        _put(config, "modelType", self.model_type)
        _put(config, "modelArchitecture", self.model_architecture)
        _put(config, "modelFramework", self.model_framework and self.model_framework.to_json())
        _put(config, "modelFormat", self.model_format and self.model_format.to_json())
        _put(config, "modelParameterSize", self.model_parameter_size)
        _put(config, "maxTokens", self.max_tokens)
        _put(config, "modelCapabilities", list(self.model_capabilities))
        _put(config, "apiCapabilities", list(self.api_capabilities))
        _put(config, "decodedModelConfiguration", self.model_configuration)
        _put(config, "quantization", self.quantization)
        # Upstream's Go struct always carries 'artifact', so readers may expect it.
        config["artifact"] = {
            "sha": self.artifact_sha or "",
            "parentPath": None,
            "childrenPaths": None,
        }
        # Ours: lets the controller back-fill the pipeline, which upstream's agent patched.
        _put(config, "diffusionPipeline", self.diffusion_pipeline)
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelMetadata:
        """Read a ``config`` object back; fields of the wrong type are ignored."""
        artifact = config.get("artifact")
        return cls(
            model_type=_str(config.get("modelType")),
            model_architecture=_str(config.get("modelArchitecture")),
            model_parameter_size=_str(config.get("modelParameterSize")),
            max_tokens=_int(config, "maxTokens"),
            model_capabilities=_strings(config.get("modelCapabilities")),
            api_capabilities=_strings(config.get("apiCapabilities")),
            quantization=_str(config.get("quantization")),
            model_format=_named_version(config.get("modelFormat")),
            model_framework=_named_version(config.get("modelFramework")),
            diffusion_pipeline=_mapping(config.get("diffusionPipeline")),
            model_configuration=_mapping(config.get("decodedModelConfiguration")),
            artifact_sha=_str(artifact.get("sha")) if isinstance(artifact, Mapping) else None,
        )


def metadata_part(path: str) -> str | None:
    """What :func:`read_model_metadata` needs of a model's file at ``path`` (relative):
    ``"whole"`` for the configs and indexes it reads, ``"header"`` for a safetensors file
    (only its header is read), None for everything else. Fetching metadata without the
    weights takes exactly these parts."""
    name = path.rsplit("/", 1)[-1]
    if name in (CONFIG_FILE, MODEL_INDEX_FILE, *_SENTENCE_TRANSFORMERS_FILES) or name.endswith(
        SAFETENSORS_INDEX_SUFFIX
    ):
        return WHOLE
    if name.endswith(SAFETENSORS_SUFFIX):
        return HEADER
    return None


def skips_config_parsing(annotations: Mapping[str, str] | None) -> bool:
    """Whether the model opted out of metadata extraction (upstream's annotation)."""
    return (annotations or {}).get(SKIP_CONFIG_PARSING_ANNOTATION, "").lower() == "true"


def read_model_metadata(model_dir: Path) -> ModelMetadata:
    """Metadata of the model in ``model_dir``; :class:`MetadataError` if it has no config."""
    if not model_dir.is_dir():
        raise MetadataError(f"{model_dir} is not a directory")
    index = _find(model_dir, MODEL_INDEX_FILE, ())
    if index is not None:
        return _diffusers_metadata(index)
    config = _find(model_dir, CONFIG_FILE, _CONFIG_SUBDIRS)
    if config is None:
        raise MetadataError(f"no {CONFIG_FILE} or {MODEL_INDEX_FILE} in {model_dir}")
    return _transformers_metadata(config)


def backfill(spec: Mapping[str, Any], metadata: ModelMetadata) -> dict[str, Any]:
    """A copy of a BaseModel ``spec`` with the fields the user left unset filled in.

    Upstream's rule (basemodel controller ``updateSpecWithConfig`` and the agent's spec
    patch): a scalar or object is unset when absent or null, a list when empty, and
    ``modelFormat`` per field. One deviation: a format version is filled only when the
    format name is the one detected, never a safetensors version under a user's
    ``modelFormat: {name: pytorch}``.
    """
    out = copy.deepcopy(dict(spec))
    for key, value in (
        ("modelType", metadata.model_type),
        ("modelArchitecture", metadata.model_architecture),
        ("modelParameterSize", metadata.model_parameter_size),
        ("maxTokens", metadata.max_tokens),
        ("quantization", metadata.quantization),
        ("modelFramework", metadata.model_framework and metadata.model_framework.to_json()),
        ("diffusionPipeline", copy.deepcopy(metadata.diffusion_pipeline)),
        ("modelConfiguration", copy.deepcopy(metadata.model_configuration)),
    ):
        if out.get(key) is None and value:
            out[key] = value
    for key, values in (
        ("modelCapabilities", metadata.model_capabilities),
        ("apiCapabilities", metadata.api_capabilities),
    ):
        if not out.get(key) and values:
            out[key] = list(values)
    detected = metadata.model_format
    if detected is not None:
        model_format = dict(out.get("modelFormat") or {})
        if not model_format.get("name"):
            model_format["name"] = detected.name
        if (
            model_format.get("version") is None
            and detected.version
            and model_format["name"] == detected.name
        ):
            model_format["version"] = detected.version
        out["modelFormat"] = model_format
    return out


def format_parameter_count(count: int) -> str:
    """Upstream's format: ``8B``, ``7.5B``, ``22.71M``, ``999``.

    Upstream's ``FormatParamCount`` prints one decimal whenever two suffice, which turns
    7.11B into "7.1B"; here one decimal is used only when one suffices.
    """
    for unit, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= unit:
            value = count / unit
            if value == int(value):
                return f"{int(value)}{suffix}"
            if round(value, 1) == value:
                return f"{value:.1f}{suffix}"
            return f"{value:.2f}{suffix}"
    return str(count)


def _transformers_metadata(config_path: Path) -> ModelMetadata:
    config = _load_json(config_path)
    language = _language_config(config)
    model_type = _str(config.get("model_type")) or ""
    architectures = config.get("architectures")
    architecture = (
        _str(architectures[0]) if isinstance(architectures, list) and architectures else None
    )
    parameters = _safetensors_parameters(config_path.parent) or _estimate_parameters(language)
    context = _int(language, *_CONTEXT_KEYS)
    has_vision = "vision_config" in config
    is_embedding = "bert" in model_type.lower() or any(
        (config_path.parent / name).is_file() for name in _SENTENCE_TRANSFORMERS_FILES
    )
    transformers_version = _str(language.get("transformers_version"))
    dtype = _str(language.get("torch_dtype")) or _str(language.get("dtype"))
    return ModelMetadata(
        model_type=model_type or None,
        model_architecture=architecture,
        model_parameter_size=format_parameter_count(parameters) if parameters else None,
        max_tokens=min(context, _INT32_MAX) if context else None,
        model_capabilities=_capabilities(model_type, architecture or "", has_vision, is_embedding),
        quantization=_quantization(config.get("quantization_config")),
        model_format=NamedVersion(*_SAFETENSORS),
        model_framework=NamedVersion("transformers", transformers_version),
        model_configuration=_summary(
            model_type,
            architecture,
            context=context,
            parameters=parameters,
            has_vision=has_vision,
            is_embedding=is_embedding,
            transformers_version=transformers_version,
            dtype=dtype,
        ),
    )


def _diffusers_metadata(index_path: Path) -> ModelMetadata:
    index = _load_json(index_path)
    class_name = _first_str(index, "_class_name", "class_name", "className")
    version = _first_str(index, "_diffusers_version", "diffusers_version")
    pipeline: dict[str, Any] = {"className": class_name} if class_name else {}
    additional: dict[str, dict[str, str]] = {}
    for key, value in index.items():
        component = None if key.startswith("_") else _diffusers_component(value)
        if component is None:
            continue
        if (spec_key := _DIFFUSERS_COMPONENTS.get(key.lower())) is not None:
            pipeline[spec_key] = component
        else:
            additional[key] = component
    if additional:
        pipeline["additionalComponents"] = additional
    if not pipeline:
        raise MetadataError(f"{index_path}: no diffusion pipeline in it")
    base = index_path.parent
    parameters = _pipeline_parameters(base, list(additional))
    text_encoder = base / "text_encoder" / CONFIG_FILE
    context = (
        _int(_load_json(text_encoder), "max_position_embeddings")
        if text_encoder.is_file()
        else None
    )
    framework = NamedVersion("diffusers", version)
    return ModelMetadata(
        model_type="diffusers",
        model_architecture=class_name,
        model_parameter_size=format_parameter_count(parameters) if parameters else None,
        max_tokens=min(context, _INT32_MAX) if context else None,
        model_capabilities=_diffusion_capabilities(class_name or ""),
        model_format=framework,
        model_framework=framework,
        diffusion_pipeline=pipeline,
        model_configuration=_summary(
            "diffusers",
            class_name,
            context=context,
            parameters=parameters,
            has_vision=True,  # upstream's diffusion configs say so
            is_embedding=False,
        ),
    )


def _capabilities(
    model_type: str, architecture: str, has_vision: bool, is_embedding: bool
) -> tuple[str, ...]:
    """Upstream's heuristic, in its order: the first rule that fits decides."""
    arch, kind = architecture.lower(), model_type.lower()
    if "nemotronh_nano" in kind:
        return (IMAGE_TEXT_TO_TEXT, TEXT_TO_TEXT, AUDIO_TO_TEXT)
    if has_vision:
        return (IMAGE_TEXT_TO_TEXT,)
    if "omni" in arch:
        return (
            TEXT_TO_AUDIO,
            IMAGE_TEXT_TO_AUDIO,
            VIDEO_TEXT_TO_AUDIO,
            AUDIO_TO_TEXT,
            AUDIO_TO_AUDIO,
        )
    if any(word in arch for word in ("whisper", "wav2vec2", "hubert", "fortc", "forspeechtotext")):
        return (AUDIO_TO_TEXT,)
    if (
        is_embedding
        or "embedding" in arch
        or "sentence" in arch
        or "bert" in kind
        or ("mistral" in kind and "mistralmodel" in arch)
    ):
        return (EMBEDDING,)
    return (TEXT_TO_TEXT,)


def _diffusion_capabilities(class_name: str) -> tuple[str, ...]:
    name = class_name.lower()
    if any(word in name for word in ("imageedit", "pix2pix", "img2img", "inpaint")):
        return (IMAGE_TEXT_TO_IMAGE,)
    if any(word in name for word in ("texttovideo", "t2v")):
        return (TEXT_TO_VIDEO,)
    if "video" in name:
        return (IMAGE_TEXT_TO_VIDEO,)
    # Upstream falls through to its language-model rules and calls e.g. FluxPipeline
    # IMAGE_TEXT_TO_TEXT; a text-to-image pipeline is what an unrecognised one most is.
    return (TEXT_TO_IMAGE,)


def _quantization(config: Any) -> str | None:
    """Upstream knows two families and reads them from ``quant_method``."""
    method = _str(config.get("quant_method")) if isinstance(config, Mapping) else None
    for family in ("int4", "fp8"):
        if method and family in method.lower():
            return family
    return None


def _safetensors_parameters(directory: Path) -> int | None:
    """Exact count from the headers; None when there are none or one is unreadable."""
    shards: set[Path] = set()
    for index in directory.glob(f"*{SAFETENSORS_INDEX_SUFFIX}"):
        weight_map = _load_json(index).get("weight_map")
        if isinstance(weight_map, Mapping):
            shards.update(directory / str(name) for name in weight_map.values())
    shards = shards or set(directory.glob(f"*{SAFETENSORS_SUFFIX}"))
    if not shards:
        return None
    try:
        return sum(read_header(shard).parameter_count for shard in sorted(shards))
    except (OSError, SafetensorsError):
        return None


def _pipeline_parameters(base: Path, additional: list[str]) -> int | None:
    """Text encoder, denoiser and VAE must all count; other components count when present."""
    denoiser = "transformer" if (base / "transformer").is_dir() else "unet"
    total = 0
    for name in ("text_encoder", denoiser, "vae"):
        count = _safetensors_parameters(base / name)
        if count is None:
            return None
        total += count
    return total + sum(_safetensors_parameters(base / name) or 0 for name in additional)


def _estimate_parameters(config: Mapping[str, Any]) -> int | None:
    """Embeddings plus per layer attention (4·h²) and feed-forward (2 or 3 · h·i per expert)."""
    hidden = _int(config, "hidden_size", "n_embd", "d_model")
    layers = _int(config, "num_hidden_layers", "n_layer", "num_layers")
    if not hidden or not layers:
        return None
    vocab = _int(config, "vocab_size") or 0
    intermediate = _int(config, "intermediate_size", "n_inner", "ffn_dim") or 4 * hidden
    activation = str(config.get("hidden_act") or config.get("hidden_activation") or "").lower()
    # Gated activations (SwiGLU and kin) have three feed-forward matrices, not two.
    matrices = 3 if "silu" in activation or "swish" in activation or "glu" in activation else 2
    experts = _int(config, "n_routed_experts", "num_local_experts", "num_experts")
    if experts:
        expert_size = _int(config, "moe_intermediate_size") or intermediate
        shared = _int(config, "n_shared_experts") or 0
        feed_forward = matrices * hidden * (experts * expert_size + shared * intermediate)
    else:
        feed_forward = matrices * hidden * intermediate
    return vocab * hidden + layers * (4 * hidden * hidden + feed_forward)


def _summary(
    model_type: str,
    architecture: str | None,
    *,
    context: int | None,
    parameters: int | None,
    has_vision: bool,
    is_embedding: bool,
    transformers_version: str | None = None,
    dtype: str | None = None,
) -> dict[str, Any]:
    """Upstream's ``modelConfiguration``: a digest of the config, not the config itself."""
    return {
        "model_type": model_type,
        "architecture": architecture or "",
        "context_length": context or 0,
        "parameter_count": format_parameter_count(parameters) if parameters else "0",
        "has_vision": has_vision,
        "is_embedding": is_embedding,
        "transformers_version": transformers_version or "",
        "torch_dtype": dtype or "",
        "model_size_bytes": int((parameters or 0) * _DTYPE_BYTES.get((dtype or "").lower(), 4.0)),
    }


def _language_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level config, with a nested language config's values where it has none."""
    merged = dict(config)
    for key in _NESTED_LANGUAGE_CONFIGS:
        nested = config.get(key)
        if isinstance(nested, Mapping):
            for name, value in nested.items():
                merged.setdefault(name, value)
            break
    return merged


def _diffusers_component(value: Any) -> dict[str, str] | None:
    """``[library, class]`` (or ``[class]``, or an object) as ``{library, type}``."""
    if isinstance(value, list) and value and all(isinstance(v, str | None) for v in value):
        library, kind = (None, value[0]) if len(value) == 1 else (value[0], value[1])
    elif isinstance(value, Mapping):
        library = _first_str(value, "_library", "library")
        kind = _first_str(value, "_class_name", "class_name", "className", "type")
    else:
        return None
    component = {"library": library, "type": kind}
    return {k: v for k, v in component.items() if v} or None


def _find(model_dir: Path, name: str, subdirs: tuple[str, ...]) -> Path | None:
    """``name`` at the root, in one of ``subdirs``, or else the shallowest one below."""
    for folder in (model_dir, *(model_dir / sub for sub in subdirs)):
        if (folder / name).is_file():
            return folder / name
    found = sorted(_walk(model_dir, name), key=lambda p: (len(p.parts), str(p)))
    return found[0] if found else None


def _walk(directory: Path, name: str) -> Iterator[Path]:
    for entry in directory.iterdir():
        # Hidden folders hold caches and staging copies, not the model.
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, name)
        elif entry.name == name:
            yield entry


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MetadataError(f"{path}: cannot read it as JSON ({err})") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: not a JSON object")
    return data


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Go's ``omitempty``: leave out absent and empty values."""
    if value:
        target[key] = value


def _first_str(values: Mapping[str, Any], *keys: str) -> str | None:
    return next((v for key in keys if (v := _str(values.get(key)))), None)


def _int(config: Mapping[str, Any], *keys: str) -> int | None:
    """The first of ``keys`` holding a positive integer (JSON's true is no integer)."""
    return next((v for key in keys if type(v := config.get(key)) is int and v > 0), None)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) and value else None


def _named_version(value: Any) -> NamedVersion | None:
    if not isinstance(value, Mapping) or not (name := _str(value.get("name"))):
        return None
    return NamedVersion(name, _str(value.get("version")))
