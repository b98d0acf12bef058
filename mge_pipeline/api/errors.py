"""Every error the API answers, as JSON ``{"detail": "<one line>"}`` with the right status.

Refusals of the review rules are 409 (the entry's state does not allow the action), unknown
ids 404, invalid bodies 422 with one line per field (``body.feedback: Field required``), so a
client can show the line as it is. Nothing is written when any of them is answered.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mge_pipeline.exceptions import MasterPlanError, MgeError, SandboxUnavailableError, StoreError

__all__ = ["ApiError", "install_handlers"]


class ApiError(MgeError):
    """An answer other than 2xx, raised where the rule lives and turned into JSON here."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def field_lines(errors: Any) -> list[str]:
    """``body.feedback: Field required`` per problem, the path as the client sent it."""
    lines = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()))
        lines.append(f"{where}: {error.get('msg', 'invalid')}")
    return lines


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = field_lines(exc.errors())
        return JSONResponse({"detail": "; ".join(lines), "problems": lines}, status_code=422)

    @app.exception_handler(MasterPlanError)
    async def _bad_plan(request: Request, exc: MasterPlanError) -> JSONResponse:
        return JSONResponse(
            {"detail": "; ".join(exc.problems), "problems": list(exc.problems)}, status_code=422
        )

    @app.exception_handler(SandboxUnavailableError)
    async def _sandbox(request: Request, exc: SandboxUnavailableError) -> JSONResponse:
        return JSONResponse({"detail": f"the sandbox cannot run checks: {exc}"}, status_code=503)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)
