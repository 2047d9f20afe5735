"""The DedicatedAICluster controller: each DAC's capacity held by placeholder pods that
the DAC's workloads preempt, its nodes labelled, its status from the pods
(docs/dedicated-ai-clusters.md).

    from ome.controllers.dedicatedaicluster import setup
    setup(manager, namespace="ome")
"""

from ome.controllers.dedicatedaicluster.setup import setup

__all__ = ["setup"]
