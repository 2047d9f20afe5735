"""Names of the objects the controller creates and of the node labels it selects on,
computed as upstream computes them (``pkg/constants``) so both operators agree.

Long names are cut to an 8-hex sha256 prefix of the full name, '-', and as much of the
name's end as fits."""

from __future__ import annotations

import hashlib

MODEL_LABEL_DOMAIN = "models.ome.io"
MODEL_READY = "Ready"
DNS_LABEL_MAX = 63
_LABEL_NAME_MAX = 49  # 63 - len("models.ome.io") - 1
_HASH_PREFIX = 8
_NAMESPACE_SHARE = 8  # a cut namespace keeps at most this many characters
_MODELCONFIG_TAIL = 20


def cut_with_hash(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit``, else the hash prefix, '-' and the end of it."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_PREFIX]
    tail = limit - _HASH_PREFIX - 1
    return f"{digest}-{text[-tail:]}" if tail > 0 else digest[:limit]


def truncate_name(name: str, limit: int = DNS_LABEL_MAX) -> str:
    """Upstream's TruncateNameWithMaxLength: as :func:`cut_with_hash`, but a cut name that
    would start with a digit starts with 'a' instead, so it stays a valid DNS label."""
    cut = cut_with_hash(name, limit)
    if cut != name and cut[0].isdigit():
        return "a" + cut[1:]
    return cut


def model_ready_label(name: str, namespace: str | None) -> str:
    """The node label the model agent sets to ``Ready`` where the model is downloaded:
    ``models.ome.io/clusterbasemodel.{name}`` for a ClusterBaseModel (namespace None),
    ``models.ome.io/{namespace}.basemodel.{name}`` for a BaseModel."""
    return f"{MODEL_LABEL_DOMAIN}/{model_key(name, namespace, _LABEL_NAME_MAX)}"


def model_key(name: str, namespace: str | None, limit: int) -> str:
    """``clusterbasemodel.{name}`` or ``{namespace}.basemodel.{name}`` in at most ``limit``
    characters (a node label's name, or with 253 the agent's ConfigMap key); a namespace
    that must be cut keeps 8 characters, the model name the rest."""
    if namespace is None:
        return f"clusterbasemodel.{cut_with_hash(name, limit - len('clusterbasemodel.'))}"
    room = limit - len(".basemodel.")
    if len(namespace) + len(name) > room:
        share = room // 2 if room < 2 * _NAMESPACE_SHARE else min(len(namespace), _NAMESPACE_SHARE)
        namespace, name = cut_with_hash(namespace, share), cut_with_hash(name, room - share)
    return f"{namespace}.basemodel.{name}"


STATUS_CONFIGMAP_LABEL = "models.ome/basemodel-status"
"""Marks each node's model status ConfigMap, written by the model agents."""
STATUS_CONFIGMAP_NODE_LABEL = "node"
"""On a status ConfigMap: the node it reports on."""
_STATUS_KEY_MAX = 253  # upstream's limit on a ConfigMap key, cut like a label's name


def model_status_key(name: str, namespace: str | None) -> str:
    """A model's data key in every node's status ConfigMap: ``clusterbasemodel.{name}``
    or ``{namespace}.basemodel.{name}``."""
    return model_key(name, namespace, _STATUS_KEY_MAX)


def modelconfig_name(service: str) -> str:
    """The ConfigMap describing the served model: ``modelconfig-{service}``, upstream's
    name, for a service name of at most 20 characters. Upstream keeps only the last 20
    characters of a longer name, so two services ending alike (``…-vision-instruct``)
    would share one ConfigMap; a longer name keeps those 20 characters and adds an
    8-hex sha256 prefix of the whole name, unique per service."""
    if len(service) <= _MODELCONFIG_TAIL:
        return f"modelconfig-{service}"
    digest = hashlib.sha256(service.encode()).hexdigest()[:_HASH_PREFIX]
    return f"modelconfig-{service[-_MODELCONFIG_TAIL:]}-{digest}"


_FINE_TUNED_PREFIX = "finetunedweight."


def fine_tuned_ready_label(name: str) -> str:
    """The node label the model agent sets to ``Ready`` where a FineTunedWeight (cluster
    scoped) is downloaded: ``models.ome.io/finetunedweight.{name}``, shaped and cut like
    a ClusterBaseModel's (upstream labels no node for fine-tuned weights)."""
    room = _LABEL_NAME_MAX - len(_FINE_TUNED_PREFIX)
    return f"{MODEL_LABEL_DOMAIN}/{_FINE_TUNED_PREFIX}{cut_with_hash(name, room)}"


def fine_tuned_status_key(name: str) -> str:
    """A FineTunedWeight's data key in every node's status ConfigMap."""
    room = _STATUS_KEY_MAX - len(_FINE_TUNED_PREFIX)
    return f"{_FINE_TUNED_PREFIX}{cut_with_hash(name, room)}"
