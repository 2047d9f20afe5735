"""The BenchmarkJob controller: a genai-bench Job per BenchmarkJob once its target is
Ready, serving the model name the target really serves, and the job's state from that
Job; upstream's finalizer.

    from ome.controllers.benchmarkjob import setup
    setup(manager, config_namespace="ome")
"""

from ome.controllers.benchmarkjob.setup import setup

__all__ = ["setup"]
