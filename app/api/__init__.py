"""The JSON API for the business's backend: ``/api/v1``, described at ``/api/openapi.json``."""
