"""``/api/v2/review``: the queue, one entry, the five decisions, statistics, bulk creation."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mge_pipeline import constants as c
from mge_pipeline.api.auth import Principal, Scope, require
from mge_pipeline.api.context import ApiContext, context_of
from mge_pipeline.api.errors import ApiError
from mge_pipeline.api.models import (
    BulkCreateRequest,
    BulkCreateResponse,
    DecisionRequest,
    EditRequest,
    EntryDetail,
    EntryView,
)
from mge_pipeline.api.review_view import entry_detail, entry_view
from mge_pipeline.api.reviewing import apply_decision, apply_edit, existing_entry
from mge_pipeline.domain.review import ReviewAction, ReviewEntry, ReviewStatistics, ReviewStatus
from mge_pipeline.review.queue import enqueue_bottom_percent

router = APIRouter(prefix="/api/v2/review", tags=["review"])
Context = Annotated[ApiContext, Depends(context_of)]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
Reviewer = Annotated[Principal, Depends(require(Scope.REVIEW))]


class QueueSort(StrEnum):
    PRIORITY = "priority"
    CONFIDENCE = "confidence"
    DATE = "date"


def sorted_entries(entries: list[ReviewEntry], sort: QueueSort) -> list[ReviewEntry]:
    """priority: highest first (then lowest confidence); confidence: lowest first; date:
    newest first."""
    if sort is QueueSort.CONFIDENCE:
        return sorted(entries, key=lambda e: (e.confidence, e.entry_id))
    if sort is QueueSort.DATE:
        return sorted(entries, key=lambda e: (e.created_at is None, e.created_at), reverse=True)
    return entries  # the store's own order


def filtered_entries(
    context: ApiContext,
    masterplan_id: str | None,
    status: ReviewStatus | None,
    text: str | None,
    sort: QueueSort,
) -> list[ReviewEntry]:
    entries = context.reviews.entries(masterplan_id, statuses=[status] if status else None)
    if text:
        needle = text.lower()
        entries = [
            e
            for e in entries
            if needle in " ".join([e.atom_id, e.masterplan_id, *e.reasons]).lower()
        ]
    return sorted_entries(entries, sort)


@router.get("/queue", response_model=list[EntryView])
def queue(
    context: Context,
    _: Reader,
    masterplan_id: str | None = None,
    status: ReviewStatus | None = None,
    q: Annotated[str | None, Query(description="Text in the atom id, plan or reasons")] = None,
    sort: QueueSort = QueueSort.PRIORITY,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EntryView]:
    return [entry_view(e) for e in filtered_entries(context, masterplan_id, status, q, sort)][
        :limit
    ]


@router.get("/entries/{entry_id}", response_model=EntryDetail)
def entry(entry_id: int, context: Context, _: Reader) -> EntryDetail:
    return entry_detail(context.store, context.reviews, existing_entry(context, entry_id))


def _decision(action: ReviewAction) -> object:
    def handler(
        entry_id: int, context: Context, who: Reviewer, body: DecisionRequest | None = None
    ) -> EntryView:
        feedback = body.feedback if body else None
        return entry_view(apply_decision(context, entry_id, action, who.name, feedback))

    handler.__name__ = f"{action}_entry"
    handler.__doc__ = {
        ReviewAction.ASSIGN: "Take the entry into review (yours: nobody else may decide on it).",
        ReviewAction.APPROVE: "Accept the validated code as it is.",
        ReviewAction.REJECT: "Refuse the code; feedback required.",
        ReviewAction.REGENERATE: "Generate the atom again with the feedback in its prompt.",
    }[action]
    return handler


for _action in (
    ReviewAction.ASSIGN,
    ReviewAction.APPROVE,
    ReviewAction.REJECT,
    ReviewAction.REGENERATE,
):
    router.add_api_route(
        f"/entries/{{entry_id}}/{_action}",
        _decision(_action),  # type: ignore[arg-type]
        methods=["POST"],
        response_model=EntryView,
    )


@router.post("/entries/{entry_id}/edit", response_model=EntryView)
async def edit_entry(
    entry_id: int, body: EditRequest, context: Context, who: Reviewer
) -> EntryView:
    """Replace the code; it is validated in the sandbox like any attempt first."""
    return entry_view(await apply_edit(context, entry_id, who.name, body.code, body.feedback))


@router.get("/statistics/{masterplan_id}")
def statistics(masterplan_id: str, context: Context, _: Reader) -> ReviewStatistics:
    if context.store.get_masterplan(masterplan_id) is None:
        raise ApiError(404, f"masterplan '{masterplan_id}' is not in the store")
    return context.reviews.statistics(masterplan_id)


@router.post("/bulk", response_model=BulkCreateResponse)
def bulk_create(body: BulkCreateRequest, context: Context, _: Reviewer) -> BulkCreateResponse:
    """Queue the execution's failed atoms and the bottom N % of its validated ones."""
    info = context.store.execution_info(body.execution_id)
    if info is None:
        raise ApiError(404, f"execution '{body.execution_id}' does not exist")
    plan = context.store.get_masterplan(info.masterplan_id)
    if plan is None:
        raise ApiError(404, f"masterplan '{info.masterplan_id}' is not in the store")
    ids = enqueue_bottom_percent(
        context.store, plan, body.execution_id, body.percent, c.DEFAULT_MAX_ATTEMPTS
    )
    return BulkCreateResponse(execution_id=body.execution_id, masterplan_id=plan.id, entry_ids=ids)
