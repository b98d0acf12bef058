"""What every request handler shares: the store, the review queue, Dagster and the tokens.

Built once by ``create_app`` and held on ``app.state``; the store's engine is disposed when
the application shuts down.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from mge_pipeline.api.auth import TokenTable
from mge_pipeline.orchestration.remote import DagsterRemote
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline.validation import PythonSandbox

__all__ = ["ApiContext", "context_of"]


@dataclass
class ApiContext:
    store: MgeStore
    tokens: TokenTable
    dagster: DagsterRemote
    allow_weak_sandbox: bool = False
    read_only_paths: tuple[str, ...] = ()

    @property
    def reviews(self) -> ReviewRepository:
        return ReviewRepository(self.store)

    def sandbox(self) -> PythonSandbox:
        """A sandbox per check, like ``mge review edit``: nothing warm is kept between
        requests, and a failure to start is that request's answer alone."""
        return PythonSandbox(
            allow_weak=self.allow_weak_sandbox, read_only_paths=list(self.read_only_paths)
        )


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context
