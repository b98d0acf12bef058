"""``mge serve``: the HTTP API and the review page, one ASGI application (FastAPI)."""

from mge_pipeline.api.app import context_from_environment, create_app

__all__ = ["context_from_environment", "create_app"]
