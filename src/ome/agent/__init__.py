"""The model agent: a node daemon that puts model weights on its node ahead of time.

These modules are its foundations, free of cluster I/O so they can be tested alone:

- :mod:`ome.agent.storage_uri`  parse and validate ``storage.storageUri``
- :mod:`ome.agent.eligibility`  is a model meant for this node (nodeSelector, nodeAffinity)
- :mod:`ome.agent.metadata`     what a model directory says about the model; spec back-fill
- :mod:`ome.agent.safetensors`  read safetensors headers (parameter counts, completeness)
- :mod:`ome.agent.progress`     download progress and its speed
- :mod:`ome.agent.status`       the per-node status ConfigMap and node labels, upstream's format
- :mod:`ome.agent.download`     fetch a model into place, verified, crash-safe
"""
