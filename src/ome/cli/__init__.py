"""The ``ome`` command."""
