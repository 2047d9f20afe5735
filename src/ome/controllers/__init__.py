"""The OME controllers: each reads caches, applies objects and writes status, leaving
every decision to the pure domain logic below it (``ome.serving``)."""
