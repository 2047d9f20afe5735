"""The AcceleratorClass controller: each class's nodes, its accelerators in total and
free, the nodes that take pods, and a Ready condition, from the nodes and the pods bound
to them; a finalizer as upstream's.

    from ome.controllers.acceleratorclass import setup
    setup(manager)
"""

from ome.controllers.acceleratorclass.setup import setup

__all__ = ["setup"]
