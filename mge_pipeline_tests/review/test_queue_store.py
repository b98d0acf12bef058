"""The review queue in a real SQLite store: ordering, operations, statistics, refusals, races."""

from __future__ import annotations

import threading

import pytest

from mge_pipeline.domain.review import NewReviewEntry
from mge_pipeline.review.actions import ReviewAction, ReviewStatus
from mge_pipeline.review.service import ReviewRefusedError, act, next_for_reviewer
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository


def _new(
    atom_id: str, confidence: float, priority: int, status: str = "succeeded"
) -> NewReviewEntry:
    level = {100: "critical", 75: "low", 50: "medium", 25: "high"}[priority]
    return NewReviewEntry(atom_id, f"hash-{atom_id}", status, priority, confidence, level, [])


@pytest.fixture
def reviews(store: MgeStore) -> ReviewRepository:
    repository = ReviewRepository(store)
    repository.enqueue(
        "plan",
        "run-1",
        [
            _new("medium", 0.65, 50),
            _new("crit-b", 0.30, 100, "failed"),
            _new("low", 0.45, 75),
            _new("crit-a", 0.10, 100, "failed"),
            _new("high", 0.85, 25),
        ],
    )
    return repository


def _ids(reviews: ReviewRepository) -> dict[str, int]:
    return {e.atom_id: e.entry_id for e in reviews.entries("plan")}


def test_list_is_by_priority_then_lowest_confidence(reviews: ReviewRepository) -> None:
    assert [e.atom_id for e in reviews.entries("plan")] == [
        "crit-a",
        "crit-b",
        "low",
        "medium",
        "high",
    ]
    assert all(e.status == "pending" and e.version == 1 for e in reviews.entries("plan"))


def test_enqueue_again_refreshes_the_open_entry_instead_of_adding(
    reviews: ReviewRepository,
) -> None:
    before = _ids(reviews)
    again = reviews.enqueue("plan", "run-2", [_new("low", 0.41, 75)])
    assert again == [before["low"]] and len(reviews.entries("plan")) == 5
    entry = reviews.entry(before["low"])
    assert entry is not None and entry.execution_id == "run-2" and entry.confidence == 0.41


def test_assign_next_for_reviewer_and_statistics(reviews: ReviewRepository) -> None:
    first = next_for_reviewer(reviews, "ana")
    assert first is not None and first.atom_id == "crit-a" and first.status == "in_review"
    assert next_for_reviewer(reviews, "ana") == first  # hers until she decides
    second = next_for_reviewer(reviews, "bo")
    assert second is not None and second.atom_id == "crit-b" and second.assignee == "bo"
    stats = reviews.statistics("plan")
    assert stats.total == 5 and stats.by_status == {"in_review": 2, "pending": 3}
    assert stats.by_level == {"critical": 2, "low": 1, "medium": 1, "high": 1}
    assert stats.mean_confidence == pytest.approx((0.65 + 0.3 + 0.45 + 0.1 + 0.85) / 5)
    assert reviews.remove(_ids(reviews)["high"]) and reviews.statistics("plan").total == 4


def test_decisions_are_recorded_with_who_and_when(reviews: ReviewRepository) -> None:
    entry_id = _ids(reviews)["low"]
    act(reviews, entry_id, ReviewAction.ASSIGN, "ana")
    approved = act(reviews, entry_id, ReviewAction.APPROVE, "ana", feedback="fine as it is")
    assert approved.status == "approved" and approved.decided_by == "ana"
    assert approved.feedback == "fine as it is" and approved.decided_at is not None
    history = reviews.decisions(entry_id)
    assert [(d.action, d.reviewer, d.from_status, d.to_status) for d in history] == [
        ("assign", "ana", "pending", "in_review"),
        ("approve", "ana", "in_review", "approved"),
    ]


@pytest.mark.parametrize(
    ("setup", "action", "reviewer", "feedback", "expected"),
    [
        ([], ReviewAction.REJECT, "ana", None, "reject needs --feedback"),
        ([], ReviewAction.REGENERATE, "ana", "  ", "regenerate needs --feedback"),
        ([(ReviewAction.APPROVE, "ana")], ReviewAction.REJECT, "ana", "no", "is approved;"),
        ([(ReviewAction.ASSIGN, "ana")], ReviewAction.APPROVE, "bo", None, "in review by ana"),
        ([(ReviewAction.ASSIGN, "ana")], ReviewAction.ASSIGN, "bo", None, "already in review"),
    ],
)
def test_refusals_change_nothing(
    reviews: ReviewRepository,
    setup: list[tuple[ReviewAction, str]],
    action: ReviewAction,
    reviewer: str,
    feedback: str | None,
    expected: str,
) -> None:
    entry_id = _ids(reviews)["low"]
    for step, who in setup:
        act(reviews, entry_id, step, who)
    before = reviews.entry(entry_id)
    with pytest.raises(ReviewRefusedError, match=expected) as refused:
        act(reviews, entry_id, action, reviewer, feedback=feedback)
    assert "\n" not in str(refused.value)
    assert reviews.entry(entry_id) == before
    assert len(reviews.decisions(entry_id)) == len(setup)


def test_a_failed_atom_cannot_be_approved(reviews: ReviewRepository) -> None:
    with pytest.raises(ReviewRefusedError, match="did not validate"):
        act(reviews, _ids(reviews)["crit-a"], ReviewAction.APPROVE, "ana")


def test_two_reviewers_deciding_at_once_one_wins(reviews: ReviewRepository) -> None:
    entry_id = _ids(reviews)["medium"]
    entry = reviews.entry(entry_id)
    assert entry is not None
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(action: ReviewAction, reviewer: str, feedback: str | None) -> None:
        from mge_pipeline.review.service import decide as decide_entry

        barrier.wait()
        try:
            decide_entry(reviews, entry, action, reviewer, feedback=feedback)
            outcomes.append(f"ok {reviewer}")
        except ReviewRefusedError as exc:
            outcomes.append(f"refused {exc}")

    threads = [
        threading.Thread(target=decide, args=(ReviewAction.APPROVE, "ana", None)),
        threading.Thread(target=decide, args=(ReviewAction.REJECT, "bo", "wrong rounding")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([o for o in outcomes if o.startswith("ok")]) == 1
    refused = next(o for o in outcomes if o.startswith("refused"))
    assert "changed while you were deciding" in refused and "nothing was written" in refused
    final = reviews.entry(entry_id)
    assert final is not None and final.version == 2
    assert len(reviews.decisions(entry_id)) == 1
    assert final.status in (ReviewStatus.APPROVED, ReviewStatus.REJECTED)
