"""The kinds the controllers read and write."""

from __future__ import annotations

from ome.api.v1beta1 import (
    AcceleratorClass,
    BaseModel,
    BenchmarkJob,
    ClusterBaseModel,
    ClusterServingRuntime,
    DedicatedAICluster,
    DedicatedAIClusterProfile,
    FineTunedWeight,
    InferenceService,
    ServingRuntime,
)
from ome.client import GVK

INFERENCESERVICE = GVK("ome.io", "v1beta1", InferenceService.KIND)
BASEMODEL = GVK("ome.io", "v1beta1", BaseModel.KIND)
CLUSTERBASEMODEL = GVK("ome.io", "v1beta1", ClusterBaseModel.KIND)
SERVINGRUNTIME = GVK("ome.io", "v1beta1", ServingRuntime.KIND)
CLUSTERSERVINGRUNTIME = GVK("ome.io", "v1beta1", ClusterServingRuntime.KIND)
FINETUNEDWEIGHT = GVK("ome.io", "v1beta1", FineTunedWeight.KIND)
ACCELERATORCLASS = GVK("ome.io", "v1beta1", AcceleratorClass.KIND)
BENCHMARKJOB = GVK("ome.io", "v1beta1", BenchmarkJob.KIND)
DEDICATEDAICLUSTER = GVK("ome.io", "v1beta1", DedicatedAICluster.KIND)
DEDICATEDAICLUSTERPROFILE = GVK("ome.io", "v1beta1", DedicatedAIClusterProfile.KIND)

CONFIGMAP = GVK("", "v1", "ConfigMap")
POD = GVK("", "v1", "Pod")
DEPLOYMENT = GVK("apps", "v1", "Deployment")
SERVICE = GVK("", "v1", "Service")
SERVICEACCOUNT = GVK("", "v1", "ServiceAccount")
ROLE = GVK("rbac.authorization.k8s.io", "v1", "Role")
ROLEBINDING = GVK("rbac.authorization.k8s.io", "v1", "RoleBinding")
HPA = GVK("autoscaling", "v2", "HorizontalPodAutoscaler")
PDB = GVK("policy", "v1", "PodDisruptionBudget")
INGRESS = GVK("networking.k8s.io", "v1", "Ingress")
JOB = GVK("batch", "v1", "Job")
LEADERWORKERSET = GVK("leaderworkerset.x-k8s.io", "v1", "LeaderWorkerSet")
"""Multi-node components' groups; served only where the LeaderWorkerSet API is installed."""
SCALEDOBJECT = GVK("keda.sh", "v1alpha1", "ScaledObject")
"""KEDA autoscaling (``ome.io/autoscalerClass: keda``); served only where KEDA is installed."""
HTTPROUTE = GVK("gateway.networking.k8s.io", "v1", "HTTPRoute")
"""Ingress through a Gateway (``enableGatewayAPI``); served only where the Gateway API is."""
INFERENCEPOOL = GVK("inference.networking.k8s.io", "v1", "InferencePool")
"""A service's pool for the Gateway API Inference Extension; served only where it is installed."""
KNATIVE_SERVICE = GVK("serving.knative.dev", "v1", "Service")
"""Serverless components; served only where Knative Serving is installed."""

CHILD_KINDS = (
    CONFIGMAP,
    SERVICEACCOUNT,
    ROLE,
    ROLEBINDING,
    DEPLOYMENT,
    LEADERWORKERSET,
    SERVICE,
    HPA,
    SCALEDOBJECT,
    PDB,
    INGRESS,
    HTTPROUTE,
    INFERENCEPOOL,
    KNATIVE_SERVICE,
)
"""Every kind a service's children may have (render order is irrelevant here)."""
NODE = GVK("", "v1", "Node")
SECRET = GVK("", "v1", "Secret")
PRIORITYCLASS = GVK("scheduling.k8s.io", "v1", "PriorityClass")
