"""What every model the suite writes is made of, and how it keeps the model agents away
from the models that are not theirs to fetch."""

from __future__ import annotations

FORMAT = {"name": "safetensors", "version": "1.0.0"}
FRAMEWORK = {"name": "transformers", "version": "4.37.0"}
ARCHITECTURE = "Qwen2ForCausalLM"
NOT_FETCHED_LABEL = "chaos.ome.io/fetches-churned-models"
"""No node has it: a model whose ``storage.nodeSelector`` names it is on no model
agent's list (the suite labels the nodes Ready for it instead)."""
NOT_FETCHED = {NOT_FETCHED_LABEL: "true"}
