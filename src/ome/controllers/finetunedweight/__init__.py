"""The FineTunedWeight controller: each weight's status aggregated from the model
agents' per-node reports (state, nodes ready and failed, a Ready condition with its
reason, observedGeneration), and a finalizer that waits for the agents to remove the
weight from their nodes. Upstream never writes a weight's status.

    from ome.controllers.finetunedweight import setup
    setup(manager, status_namespace="ome")
"""

from ome.controllers.finetunedweight.setup import setup

__all__ = ["setup"]
