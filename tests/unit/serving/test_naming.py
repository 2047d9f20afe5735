"""Object names and the model-ready node label."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from ome.agent.status import ModelRef, configmap_key, node_label_key
from ome.serving.naming import model_key, model_ready_label, modelconfig_name, truncate_name


def test_short_names_are_kept() -> None:
    assert truncate_name("chat-engine") == "chat-engine"


def test_long_names_keep_their_end_behind_a_hash() -> None:
    name = "a-very-long-inference-service-name-that-goes-on-and-on-and-on-engine"
    cut = truncate_name(name)
    assert len(cut) == 63
    assert cut.endswith(name[-54:])
    assert cut[8] == "-"
    assert cut == truncate_name(name)


def test_a_cut_name_starting_with_a_digit_starts_with_a() -> None:
    names = (f"service-{i}-" + "x" * 60 for i in itertools.count())
    name = next(n for n in names if hashlib.sha256(n.encode()).hexdigest()[0].isdigit())
    digest = hashlib.sha256(name.encode()).hexdigest()
    assert truncate_name(name) == f"a{digest[1:8]}-{name[-54:]}"


@pytest.mark.parametrize(
    ("name", "namespace"),
    [
        ("llama", None),
        ("llama", "team"),
        ("a-model-name-long-enough-to-need-cutting", None),
        ("a-model-name-long-enough-to-need-cutting", "a-long-namespace-name"),
        ("m", "n" * 45),
    ],
)
def test_model_ready_label_is_the_agents(name: str, namespace: str | None) -> None:
    label = model_ready_label(name, namespace)
    assert label == node_label_key(ModelRef(name, namespace))
    assert len(label.partition("/")[2]) <= 49


def test_model_ready_label_examples() -> None:
    assert model_ready_label("llama", None) == "models.ome.io/clusterbasemodel.llama"
    assert model_ready_label("llama", "team") == "models.ome.io/team.basemodel.llama"


def test_modelconfig_name_is_upstreams_for_names_upstream_does_not_cut() -> None:
    assert modelconfig_name("chat") == "modelconfig-chat"
    assert modelconfig_name("y" * 20) == "modelconfig-" + "y" * 20


def test_modelconfig_name_of_a_cut_name_keeps_the_tail_and_adds_a_hash_of_the_whole() -> None:
    name = "x" * 5 + "y" * 20
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    assert modelconfig_name(name) == f"modelconfig-{'y' * 20}-{digest}"


def test_services_ending_alike_get_different_modelconfigs() -> None:
    # upstream gives both "modelconfig-2-11b-vision-instruct"
    meta, unsloth = "llama-3-2-11b-vision-instruct", "unsloth-llama-3-2-11b-vision-instruct"
    assert modelconfig_name(meta) != modelconfig_name(unsloth)


@pytest.mark.parametrize("namespace", [None, "team", "a-namespace-with-a-long-name"])
def test_model_key_is_the_agents_configmap_key(namespace: str | None) -> None:
    name = "m" * 240
    assert model_key(name, namespace, 253) == configmap_key(ModelRef(name, namespace))
