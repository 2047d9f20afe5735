"""ome: a Kubernetes operator for serving large language models, and the asyncio
controller framework it is built on."""

__version__ = "0.1.0"
