"""The review page: the queue and an entry's detail, rendered on the server.

The browser signs in once with its token (kept in an HttpOnly, SameSite=Strict cookie); the
four actions are HTML forms in dialogs posting here, decided by the same functions as the
JSON API, so the rules and refusals are the same. A refusal re-renders the entry with the
one-line reason and the API's status code.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from mge_pipeline.api.auth import COOKIE, Principal, Scope, authenticate
from mge_pipeline.api.context import ApiContext, context_of
from mge_pipeline.api.errors import ApiError
from mge_pipeline.api.models import EntryDetail
from mge_pipeline.api.review_view import entry_detail
from mge_pipeline.api.reviewing import apply_decision, apply_edit, existing_entry
from mge_pipeline.api.routers.review import QueueSort, filtered_entries
from mge_pipeline.domain.review import ReviewAction, ReviewStatus

router = APIRouter(prefix="/review", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
Context = Annotated[ApiContext, Depends(context_of)]
FORMATTER = HtmlFormatter(cssclass="hl", linenos="table")
LEXERS = {"python": "python", "typescript": "typescript", "javascript": "javascript"}


def _same_origin(request: Request) -> None:
    """Forms post with the cookie: refuse a post another site's page made (CSRF), on top of
    SameSite=Strict."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(403, f"form posted from another origin ({origin})")


def highlighted(code: str | None, language: str) -> str:
    if not code:
        return ""
    try:
        lexer = get_lexer_by_name(LEXERS.get(language, "text"))
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return str(highlight(code, lexer, FORMATTER))


def side_by_side(detail: EntryDetail) -> str:
    if detail.previous_code is None or detail.code is None:
        return ""
    return difflib.HtmlDiff(wrapcolumn=72).make_table(
        detail.previous_code.splitlines(),
        detail.code.splitlines(),
        f"attempt {detail.previous_attempt}",
        "under review",
    )


def _login(request: Request, message: str, status: int) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "login.html", {"message": message}, status_code=status
    )


def _principal(request: Request, scope: Scope) -> Principal | HTMLResponse:
    try:
        return authenticate(request, scope, cookie=True)
    except ApiError as exc:
        return _login(request, exc.message, exc.status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login(request, "", 200)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()]) -> Response:
    _same_origin(request)
    if request.app.state.context.tokens.find(token.strip()) is None:
        return _login(request, "unknown token", 401)
    answer = RedirectResponse("/review", status_code=303)
    answer.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict")
    return answer


@router.post("/logout")
def logout() -> Response:
    answer = RedirectResponse("/review/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    context: Context,
    status: str = "",
    q: str | None = None,
    sort: QueueSort = QueueSort.PRIORITY,
    masterplan_id: str | None = None,
) -> Response:
    who = _principal(request, Scope.READ)
    if isinstance(who, HTMLResponse):
        return who
    if status and status not in set(ReviewStatus):
        raise ApiError(422, f"query.status: not one of {', '.join(ReviewStatus)}")
    chosen = ReviewStatus(status) if status else None
    entries = filtered_entries(context, masterplan_id, chosen, q, sort)
    return templates.TemplateResponse(
        request,
        "queue.html",
        {
            "who": who,
            "entries": entries,
            "statuses": list(ReviewStatus),
            "status": status,
            "q": q or "",
            "sort": sort.value,
            "sorts": list(QueueSort),
        },
    )


def _detail_page(
    request: Request, context: ApiContext, who: Principal, entry_id: int, *, error: str = "",
    status: int = 200, done: str = "",
) -> HTMLResponse:  # fmt: skip
    try:
        entry = existing_entry(context, entry_id)
    except ApiError as exc:
        return templates.TemplateResponse(
            request, "message.html", {"who": who, "message": exc.message}, status_code=exc.status
        )
    detail = entry_detail(context.store, context.reviews, entry)
    return templates.TemplateResponse(
        request,
        "entry.html",
        {
            "who": who,
            "d": detail,
            "code_html": highlighted(detail.code, detail.language),
            "diff_html": side_by_side(detail),
            "style": FORMATTER.get_style_defs(".hl"),
            "error": error,
            "done": done,
            "can_review": Scope.REVIEW in who.scopes,
        },
        status_code=status,
    )


@router.get("/entries/{entry_id}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: int, context: Context, done: str = "") -> Response:
    who = _principal(request, Scope.READ)
    if isinstance(who, HTMLResponse):
        return who
    return _detail_page(request, context, who, entry_id, done=done)


@router.post("/entries/{entry_id}/{action}", response_class=HTMLResponse)
async def act(
    request: Request,
    entry_id: int,
    action: ReviewAction,
    context: Context,
    feedback: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    who = _principal(request, Scope.REVIEW)
    if isinstance(who, HTMLResponse):
        return who
    _same_origin(request)
    # HTML forms send textarea lines with CRLF; the code is stored as the editor meant it.
    code, feedback = code.replace("\r\n", "\n"), feedback.replace("\r\n", "\n")
    try:
        if action is ReviewAction.EDIT:
            await apply_edit(context, entry_id, who.name, code, feedback or None)
        else:
            apply_decision(context, entry_id, action, who.name, feedback or None)
    except ApiError as exc:
        return _detail_page(request, context, who, entry_id, error=exc.message, status=exc.status)
    return RedirectResponse(f"/review/entries/{entry_id}?done={action}", status_code=303)
