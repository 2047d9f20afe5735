"""The ome.io API types (packaged as ``ome.api``)."""
