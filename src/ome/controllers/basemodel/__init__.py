"""The BaseModel and ClusterBaseModel controllers: each model's status aggregated from
the model agents' per-node status ConfigMaps, a finalizer that waits for the agents to
remove the model from their nodes, and the status ConfigMaps of deleted nodes removed.

    from ome.controllers.basemodel import setup
    setup(manager, status_namespace="ome")
"""

from ome.controllers.basemodel.setup import setup

__all__ = ["setup"]
