"""What a reviewer may do to an entry, in which state, and what each action needs.

The rules are checked twice: here, to give the reviewer one clear line, and in the store's
conditional UPDATE (the entry's version), so that two reviewers deciding at once cannot both
win.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.review import OPEN, ReviewAction, ReviewStatus
from mge_pipeline.exceptions import MgeError

__all__ = ["ALLOWED_FROM", "RESULT", "EntryState", "ReviewAction", "ReviewStatus", "refusal"]


class ReviewRefusedError(MgeError):
    """An action the rules or the state of the entry do not allow; nothing was changed."""


ALLOWED_FROM: dict[ReviewAction, tuple[ReviewStatus, ...]] = {
    ReviewAction.ASSIGN: OPEN,
    ReviewAction.APPROVE: OPEN,
    ReviewAction.REJECT: OPEN,
    ReviewAction.EDIT: (*OPEN, ReviewStatus.REJECTED),
    ReviewAction.REGENERATE: (*OPEN, ReviewStatus.REJECTED),
}

RESULT: dict[ReviewAction, ReviewStatus] = {
    ReviewAction.ASSIGN: ReviewStatus.IN_REVIEW,
    ReviewAction.APPROVE: ReviewStatus.APPROVED,
    ReviewAction.REJECT: ReviewStatus.REJECTED,
    ReviewAction.EDIT: ReviewStatus.EDITED,
    ReviewAction.REGENERATE: ReviewStatus.REGENERATING,
}


@dataclass(frozen=True)
class EntryState:
    """What the rules look at: the entry as the reviewer last read it."""

    entry_id: int
    status: ReviewStatus
    atom_status: AtomStatus
    assignee: str | None


def refusal(
    entry: EntryState, action: ReviewAction, reviewer: str, feedback: str | None
) -> str | None:
    """The one line saying why the action is refused, or None when it is allowed."""
    name = f"review entry {entry.entry_id}"
    if not reviewer.strip():
        return f"{name}: {action} needs a reviewer name"
    if entry.status not in ALLOWED_FROM[action]:
        allowed = ", ".join(ALLOWED_FROM[action])
        return f"{name} is {entry.status}; {action} is allowed only when it is {allowed}"
    if (
        action is not ReviewAction.ASSIGN
        and entry.status is ReviewStatus.IN_REVIEW
        and entry.assignee not in (None, reviewer)
    ):
        return f"{name} is in review by {entry.assignee}, not {reviewer}"
    if action is ReviewAction.ASSIGN and entry.status is ReviewStatus.IN_REVIEW:
        return f"{name} is already in review by {entry.assignee}"
    if action in (ReviewAction.REJECT, ReviewAction.REGENERATE) and not (feedback or "").strip():
        return f"{name}: {action} needs --feedback saying what is wrong"
    if action is ReviewAction.APPROVE and entry.atom_status is not AtomStatus.SUCCEEDED:
        return (
            f"{name}: the atom did not validate ({entry.atom_status}); approving would accept "
            "code no check passed — use edit with corrected code, or regenerate"
        )
    return None
