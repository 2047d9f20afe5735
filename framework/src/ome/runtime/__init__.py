"""Controllers, the manager that runs them, and leader election.

controller_managed_by(manager).for_(WIDGET).owns(CONFIGMAP).complete(reconcile)
"""

from ome.runtime.builder import Builder, controller_managed_by
from ome.runtime.conditions import (
    find_condition,
    is_status_condition_true,
    remove_status_condition,
    set_status_condition,
)
from ome.runtime.controller import Controller, TerminalError
from ome.runtime.echoes import OwnWrites
from ome.runtime.events import NORMAL, WARNING, EventRecorder
from ome.runtime.kinds import GVK, gvk_of
from ome.runtime.leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from ome.runtime.manager import Manager, ManagerOptions
from ome.runtime.ownership import (
    AlreadyOwnedError,
    add_finalizer,
    controller_of,
    has_finalizer,
    remove_finalizer,
    set_controller_reference,
)
from ome.runtime.request import Request, Result

__all__ = [
    "GVK",
    "NORMAL",
    "WARNING",
    "AlreadyOwnedError",
    "Builder",
    "Controller",
    "EventRecorder",
    "LeaderElectionConfig",
    "LeaderElectionLost",
    "LeaderElector",
    "Manager",
    "ManagerOptions",
    "OwnWrites",
    "Request",
    "Result",
    "TerminalError",
    "add_finalizer",
    "controller_managed_by",
    "controller_of",
    "find_condition",
    "gvk_of",
    "has_finalizer",
    "is_status_condition_true",
    "remove_finalizer",
    "remove_status_condition",
    "set_controller_reference",
    "set_status_condition",
]
