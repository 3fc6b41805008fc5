"""The HTTP API: dependencies, routers and the versioned ``/api/v1`` router."""
