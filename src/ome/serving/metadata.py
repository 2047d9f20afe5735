"""Labels and annotations of the objects made for a component (upstream
``components/base.go``): the service's own, the component's, then OME's keys about the
model and the runtime, which win."""

from __future__ import annotations

from collections.abc import Mapping

from ome.api.v1beta1 import InferenceService
from ome.serving.catalog import Model, name_of
from ome.serving.components import Component, Spec
from ome.serving.dedicated import DAC_LABEL, label_value

INFERENCESERVICE_LABEL = "ome.io/inferenceservice"
COMPONENT_LABEL = "component"
APP_LABEL = "app"
SERVING_RUNTIME_LABEL = "serving-runtime"
FINE_TUNED_SERVING_LABEL = "fine-tuned-serving"
BASE_MODEL_NAME_LABEL = "base-model-name"
BASE_MODEL_SIZE_LABEL = "base-model-size"
BASE_MODEL_TYPE_LABEL = "base-model-type"
BASE_MODEL_VENDOR_LABEL = "base-model-vendor"
VISIBILITY_LABEL = "networking.knative.dev/visibility"

BASE_MODEL_NAME_ANNOTATION = "ome.io/base-model-name"
BASE_MODEL_VENDOR_ANNOTATION = "ome.io/base-model-vendor"
BASE_MODEL_FORMAT_ANNOTATION = "ome.io/base-model-format"
BASE_MODEL_FORMAT_VERSION_ANNOTATION = "ome.io/base-model-format-version"
SERVING_RUNTIME_ANNOTATION = "ome.io/serving-runtime"
MODEL_CATEGORY_ANNOTATION = "models.ome.io/category"
INJECT_MODEL_INIT_ANNOTATION = "ome.io/inject-model-init"
AUTOSCALER_CLASS_ANNOTATION = "ome.io/autoscalerClass"
TARGET_UTILIZATION_ANNOTATION = "ome.io/targetUtilizationPercentage"
SERVICE_TYPE_ANNOTATION = "ome.io/service-type"
LOAD_BALANCER_IP_ANNOTATION = "ome.io/load-balancer-ip"

# Copied from the model so the pod webhook can decrypt it.
_MODEL_DECRYPTION_ANNOTATIONS = (
    "ome.io/base-model-decryption-key-name",
    "ome.io/base-model-decryption-secret-name",
)
# Never copied from the service to its children.
_DISALLOWED_ANNOTATIONS = frozenset(
    {
        "autoscaling.knative.dev/min-scale",
        "autoscaling.knative.dev/max-scale",
        "internal.ome.io/storage-initializer-sourceuri",
        "kubectl.kubernetes.io/last-applied-configuration",
    }
)
# Meaningful on pods only: kept off Services.
_POD_ONLY_ANNOTATIONS = (
    "k8s.grafana.com/",
    "loki.grafana.com/",
    "prometheus.io/",
    "networking.gke.io/",
    "rdma.ome.io/",
    INJECT_MODEL_INIT_ANNOTATION,
    "ome.io/inject-fine-tuned-adapter",
    "ome.io/inject-serving-sidecar",
)
# Scheduling integrations driven by service annotations.
_VOLCANO_QUEUE_ANNOTATION = "ome.io/volcano-queue"
_DEDICATED_AI_CLUSTER_ANNOTATION = "ome.io/dedicated-ai-cluster"
_KUEUE_ENABLED = "kueue-enabled"
_VOLCANO = "volcano"


def service_annotations(service: InferenceService) -> dict[str, str]:
    """The service's annotations that its children may carry."""
    notes = service.metadata.annotations or {}
    return {k: v for k, v in notes.items() if k not in _DISALLOWED_ANNOTATIONS}


def component_annotations(
    service: InferenceService, spec: Spec, model: Model, runtime_name: str
) -> dict[str, str]:
    notes = service_annotations(service) | spec.get("annotations", {})
    model_notes = model.metadata.annotations or {}
    notes |= {k: model_notes[k] for k in _MODEL_DECRYPTION_ANNOTATIONS if k in model_notes}
    notes[BASE_MODEL_NAME_ANNOTATION] = name_of(model)
    if model.spec.vendor is not None:
        notes[BASE_MODEL_VENDOR_ANNOTATION] = model.spec.vendor
    model_format = model.spec.model_format
    notes[BASE_MODEL_FORMAT_ANNOTATION] = model_format.name if model_format else ""
    if model_format is not None and model_format.version is not None:
        notes[BASE_MODEL_FORMAT_VERSION_ANNOTATION] = model_format.version
    notes[SERVING_RUNTIME_ANNOTATION] = runtime_name
    return dict(sorted(notes.items()))


def component_labels(
    service: InferenceService, component: Component, spec: Spec, model: Model, runtime_name: str
) -> dict[str, str]:
    labels = (service.metadata.labels or {}) | spec.get("labels", {})
    labels |= {
        INFERENCESERVICE_LABEL: name_of(service),
        COMPONENT_LABEL: str(component),
        SERVING_RUNTIME_LABEL: runtime_name,
        FINE_TUNED_SERVING_LABEL: "false",
        BASE_MODEL_NAME_LABEL: name_of(model),
        BASE_MODEL_SIZE_LABEL: (model.metadata.annotations or {}).get(
            MODEL_CATEGORY_ANNOTATION, "SMALL"
        ),
        BASE_MODEL_TYPE_LABEL: "Serving",
    }
    if model.spec.vendor is not None:
        labels[BASE_MODEL_VENDOR_LABEL] = model.spec.vendor
    return dict(sorted(labels.items()))


def scheduling_labels(annotations: Mapping[str, str]) -> dict[str, str]:
    """Queue and priority labels for Volcano or Kueue, from the service's annotations."""
    labels = {}
    if _VOLCANO_QUEUE_ANNOTATION in annotations:
        labels["volcano.sh/queue-name"] = annotations[_VOLCANO_QUEUE_ANNOTATION]
    elif _DEDICATED_AI_CLUSTER_ANNOTATION in annotations:
        cluster = annotations[_DEDICATED_AI_CLUSTER_ANNOTATION]
        # ours: how the DedicatedAICluster controller finds its workloads
        labels[DAC_LABEL] = label_value(cluster)
        if _KUEUE_ENABLED in annotations:
            labels["kueue.x-k8s.io/queue-name"] = cluster
            labels["kueue.x-k8s.io/priority-class"] = "kueue-scheduling-high-priority"
        else:
            labels["volcano.sh/queue-name"] = cluster
            labels["ray.io/priority-class-name"] = "volcano-scheduling-high-priority"
    if _VOLCANO in annotations:
        labels["ray.io/scheduler-name"] = _VOLCANO
    return labels


def without_pod_only(annotations: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in annotations.items() if not k.startswith(_POD_ONLY_ANNOTATIONS)}
