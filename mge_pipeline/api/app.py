"""The ASGI application of ``mge serve``: the JSON API under ``/api/v2``, its OpenAPI
document at ``/openapi.json`` (browsable at ``/docs``), and the review page at ``/review``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from mge_pipeline import settings
from mge_pipeline.api.auth import parse_tokens
from mge_pipeline.api.context import ApiContext
from mge_pipeline.api.errors import install_handlers
from mge_pipeline.api.routers import execution, lifecycle, page, planning, review
from mge_pipeline.orchestration.remote import DagsterRemote
from mge_pipeline.store import MgeStore

__all__ = ["context_from_environment", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"


def context_from_environment(*, allow_weak_sandbox: bool = False) -> ApiContext:
    """Raises ValueError with one line per bad token entry, or when there is none."""
    tokens = parse_tokens(settings.api_token_entries())
    if not tokens.by_token:
        raise ValueError("no API tokens: set MGE_API_TOKENS or MGE_API_TOKENS_FILE")
    settings.mge_home().mkdir(parents=True, exist_ok=True)
    store = MgeStore(settings.database_url())
    return ApiContext(
        store=store,
        tokens=tokens,
        dagster=DagsterRemote(settings.dagster_url()),
        allow_weak_sandbox=allow_weak_sandbox,
        read_only_paths=tuple(settings.sandbox_read_only_paths()),
    )


def create_app(context: ApiContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        context.store.dispose()

    app = FastAPI(
        title="MGE API",
        version="2",
        description=(
            "Executions (launched and stopped through Dagster), the review queue, "
            "atomization, dependencies and validation. Bearer tokens with scopes "
            "read, review (decisions) and operate (runs, atomization, validation)."
        ),
        lifespan=lifespan,
    )
    app.state.context = context
    install_handlers(app)
    for module in (execution, lifecycle, review, planning, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/review")

    return app
