"""The review actions end to end: read the entry, apply the rules, decide.

Each action either changes the entry (and records who decided what, when) or raises a
``ReviewRefusedError`` whose message is the one line the reviewer sees; nothing is written
then. Edits, which must first be validated in the sandbox, are in
``execution/review_edit.py``.
"""

from __future__ import annotations

from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.review import ReviewEntry
from mge_pipeline.review.actions import (
    RESULT,
    EntryState,
    ReviewAction,
    ReviewRefusedError,
    ReviewStatus,
    refusal,
)
from mge_pipeline.store.review_repository import ReviewConflictError, ReviewRepository

__all__ = [
    "ReviewRefusedError",
    "act",
    "check_allowed",
    "decide",
    "load_entry",
    "next_for_reviewer",
]


def load_entry(reviews: ReviewRepository, entry_id: int) -> ReviewEntry:
    entry = reviews.entry(entry_id)
    if entry is None:
        raise ReviewRefusedError(f"review entry {entry_id} does not exist")
    return entry


def _state(entry: ReviewEntry) -> EntryState:
    return EntryState(
        entry.entry_id, ReviewStatus(entry.status), AtomStatus(entry.atom_status), entry.assignee
    )


def check_allowed(
    entry: ReviewEntry, action: ReviewAction, reviewer: str, feedback: str | None = None
) -> None:
    problem = refusal(_state(entry), action, reviewer, feedback)
    if problem:
        raise ReviewRefusedError(problem)


def decide(
    reviews: ReviewRepository,
    entry: ReviewEntry,
    action: ReviewAction,
    reviewer: str,
    *,
    feedback: str | None = None,
    code: str | None = None,
) -> ReviewEntry:
    """Check the rules against ``entry`` as read, then write it if nobody changed it since."""
    check_allowed(entry, action, reviewer, feedback)
    try:
        return reviews.decide(
            entry,
            action=action,
            reviewer=reviewer,
            to_status=RESULT[action],
            feedback=feedback.strip() if feedback else None,
            code=code,
        )
    except ReviewConflictError as exc:
        raise ReviewRefusedError(str(exc)) from exc


def act(
    reviews: ReviewRepository,
    entry_id: int,
    action: ReviewAction,
    reviewer: str,
    *,
    feedback: str | None = None,
) -> ReviewEntry:
    """assign, approve, reject and regenerate; edits go through ``edit``."""
    if action is ReviewAction.EDIT:
        raise ReviewRefusedError("an edit needs the reviewer's code: use edit()")
    return decide(reviews, load_entry(reviews, entry_id), action, reviewer, feedback=feedback)


def next_for_reviewer(
    reviews: ReviewRepository, reviewer: str, masterplan_id: str | None = None
) -> ReviewEntry | None:
    """The entry already in review by this reviewer, else the first pending one, assigned.

    Two reviewers asking at once never get the same entry: the loser of the assignment moves
    on to the next pending entry.
    """
    mine = [
        e
        for e in reviews.entries(masterplan_id, statuses=[ReviewStatus.IN_REVIEW])
        if e.assignee == reviewer
    ]
    if mine:
        return mine[0]
    for entry in reviews.entries(masterplan_id, statuses=[ReviewStatus.PENDING]):
        try:
            return decide(reviews, entry, ReviewAction.ASSIGN, reviewer)
        except ReviewRefusedError:
            continue
    return None
