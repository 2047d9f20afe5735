"""Controllers, the manager that runs them, and leader election."""

from ome.runtime.leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector

__all__ = ["LeaderElectionConfig", "LeaderElectionLost", "LeaderElector"]
