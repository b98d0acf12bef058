"""The review decisions as the API takes them, on the same rules as ``mge review``.

The rules themselves stay in ``review/``: this module only decides which HTTP status a
refusal is. An unknown entry is 404; missing feedback where the action needs it, and edited
code that does not validate, are 422 naming the field; any other refusal of the rules
(the entry's state, another reviewer's assignment, a decision made meanwhile) is 409.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from mge_pipeline.api.context import ApiContext
from mge_pipeline.api.errors import ApiError
from mge_pipeline.domain.review import ReviewAction, ReviewEntry
from mge_pipeline.execution.review_edit import validate_edit
from mge_pipeline.review.service import ReviewRefusedError, check_allowed, decide

__all__ = ["apply_decision", "apply_edit", "existing_entry"]

NEEDS_FEEDBACK = (ReviewAction.REJECT, ReviewAction.REGENERATE)


def existing_entry(context: ApiContext, entry_id: int) -> ReviewEntry:
    entry = context.reviews.entry(entry_id)
    if entry is None:
        raise ApiError(404, f"review entry {entry_id} does not exist")
    return entry


def apply_decision(
    context: ApiContext,
    entry_id: int,
    action: ReviewAction,
    reviewer: str,
    feedback: str | None,
) -> ReviewEntry:
    """assign, approve, reject, regenerate."""
    entry = existing_entry(context, entry_id)
    if action in NEEDS_FEEDBACK and not (feedback or "").strip():
        raise ApiError(422, f"body.feedback: {action} needs feedback saying what is wrong")
    try:
        return decide(context.reviews, entry, action, reviewer, feedback=feedback)
    except ReviewRefusedError as exc:
        raise ApiError(409, str(exc)) from exc


async def apply_edit(
    context: ApiContext, entry_id: int, reviewer: str, code: str, feedback: str | None
) -> ReviewEntry:
    """Checked against the rules, validated in the sandbox, then decided on the entry as it
    was read before validating (a decision made meanwhile wins: 409)."""
    entry = existing_entry(context, entry_id)
    if not code.strip():
        raise ApiError(422, "body.code: the edited code is empty")
    try:
        check_allowed(entry, ReviewAction.EDIT, reviewer, feedback)
    except ReviewRefusedError as exc:
        raise ApiError(409, str(exc)) from exc
    sandbox = context.sandbox()
    try:
        await run_in_threadpool(sandbox.start)
        check = await validate_edit(context.store, entry, code, sandbox)
    except ReviewRefusedError as exc:  # the spec changed since the entry was made
        raise ApiError(409, str(exc)) from exc
    finally:
        await run_in_threadpool(sandbox.close)
    if not check.verdict.passed:
        raise ApiError(422, f"body.code: the edited code does not validate: {check.summary}")
    try:
        return decide(
            context.reviews, entry, ReviewAction.EDIT, reviewer, feedback=feedback, code=code
        )
    except ReviewRefusedError as exc:
        raise ApiError(409, str(exc)) from exc
