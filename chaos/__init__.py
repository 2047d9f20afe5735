"""A chaos suite for the whole operator: see docs/chaos.md."""
