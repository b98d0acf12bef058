"""Which atoms a run puts in front of a person, and the hook ``finalize`` calls.

Atoms that failed every attempt always enter; so do the bottom N % of the atoms the run
generated and validated, by confidence (N from ``MGE_REVIEW_BOTTOM_PERCENT``, default 15).
Atoms served from the cache were judged by the run that generated them and are not scored
again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from mge_pipeline import settings
from mge_pipeline.domain import AtomStatus, AttemptRecord, LevelValidation, MasterPlan
from mge_pipeline.domain.levels import ValidationLevel
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.domain.review import NewReviewEntry
from mge_pipeline.exceptions import MgeError
from mge_pipeline.review.scorer import (
    AtomEvidence,
    BehaviouralEvidence,
    ConfidenceScore,
    score_atom,
)
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository

logger = logging.getLogger(__name__)


def bottom_percent(scores: Sequence[ConfidenceScore], percent: float) -> list[ConfidenceScore]:
    """The lowest ``percent`` % by confidence (rounded down; ties by atom id)."""
    count = math.floor(len(scores) * max(0.0, min(percent, 100.0)) / 100 + 1e-9)
    return sorted(scores, key=lambda s: (s.score, s.atom_id))[:count]


def select_for_review(
    failed: Sequence[ConfidenceScore], passed: Sequence[ConfidenceScore], percent: float
) -> list[ConfidenceScore]:
    return [*failed, *bottom_percent(passed, percent)]


def levels_covering(
    plan: MasterPlan, levels: Sequence[LevelValidation]
) -> dict[str, list[LevelValidation]]:
    """For each atom, the level validations whose scope (task, milestone, plan) holds it."""
    scopes: dict[str, set[str]] = {}
    for phase in plan.phases:
        for milestone in phase.milestones:
            for task in milestone.tasks:
                for atom in task.atoms:
                    scopes[atom.id] = {task.id, milestone.id, plan.id}
    covering: dict[str, list[LevelValidation]] = {atom_id: [] for atom_id in scopes}
    for level in levels:
        for atom_id, held in scopes.items():
            if level.scope_id in held or (
                level.level is ValidationLevel.MASTERPLAN and level.scope_id == plan.id
            ):
                covering[atom_id].append(level)
    return covering


def score_run(
    plan: MasterPlan,
    results: Sequence[AtomResultRecord],
    attempts: Sequence[AttemptRecord],
    levels: Sequence[LevelValidation],
    max_attempts: int,
) -> tuple[list[ConfidenceScore], list[ConfidenceScore]]:
    """Scores of the atoms that failed, and of those the run generated and validated."""
    atoms = plan.atom_map()
    by_atom: dict[str, list[AttemptRecord]] = {}
    for attempt in attempts:
        by_atom.setdefault(attempt.atom_id, []).append(attempt)
    covering = levels_covering(plan, levels)
    failed: list[ConfidenceScore] = []
    passed: list[ConfidenceScore] = []
    for result in results:
        if result.status not in (AtomStatus.SUCCEEDED, AtomStatus.FAILED):
            continue
        atom = atoms.get(result.atom_id)
        if atom is None:
            continue
        score = score_atom(
            AtomEvidence(
                atom_id=result.atom_id,
                status=result.status,
                attempts=sorted(by_atom.get(result.atom_id, []), key=lambda a: a.attempt_number),
                max_attempts=max_attempts,
                code=result.code,
                language=atom.language.value,
                estimated_loc=atom.estimated_loc,
                levels=covering.get(result.atom_id, []),
                behaviour=BehaviouralEvidence(
                    mutants=result.mutation.tested,
                    mutants_survived=len(result.mutation.survivors),
                )
                if result.mutation
                else None,
                verified=result.verified if result.status is AtomStatus.SUCCEEDED else None,
            )
        )
        (failed if result.status is AtomStatus.FAILED else passed).append(score)
    return failed, passed


def queue_after_run(
    store: MgeStore,
    plan: MasterPlan,
    execution_id: str,
    levels: Sequence[LevelValidation],
    *,
    max_attempts: int,
    percent: float,
) -> list[int]:
    """Called by ``finalize``: record which decisions this run carried out, queue its atoms.

    A regeneration the run carried out whose atom failed again gets a new entry, since the
    atom failed; so does anything else the run left failed.
    """
    reviews = ReviewRepository(store)
    results = store.atom_results(execution_id)
    settled = (AtomStatus.SUCCEEDED, AtomStatus.CACHED, AtomStatus.FAILED)
    reviews.mark_applied(plan.id, execution_id, [r.atom_id for r in results if r.status in settled])
    failed, passed = score_run(plan, results, store.attempts(execution_id), levels, max_attempts)
    chosen = select_for_review(failed, passed, percent)
    by_id = {r.atom_id: r for r in results}
    return reviews.enqueue(
        plan.id,
        execution_id,
        _new_entries(chosen, by_id),
    )


def queue_for_review(
    store: MgeStore,
    plan: MasterPlan,
    execution_id: str,
    levels: Sequence[LevelValidation],
    max_attempts: int,
) -> list[int]:
    """The hook in ``finalize``, after the report is written: a queue that cannot be written
    (store outage, a bad ``MGE_REVIEW_BOTTOM_PERCENT``) is logged and never fails the run."""
    try:
        return queue_after_run(
            store,
            plan,
            execution_id,
            levels,
            max_attempts=max_attempts,
            percent=settings.review_bottom_percent(),
        )
    except (MgeError, ValueError) as exc:
        logger.warning("review queue not updated for execution %s: %s", execution_id, exc)
        return []


def enqueue_bottom_percent(
    store: MgeStore, plan: MasterPlan, execution_id: str, percent: float, max_attempts: int
) -> list[int]:
    """Bulk creation on request (``POST /api/v2/review/bulk``): the execution's failed atoms
    and the bottom ``percent`` % of its validated ones, scored as finalize scores them; an
    atom already holding an open entry has it refreshed, not duplicated."""
    results = store.atom_results(execution_id)
    failed, passed = score_run(
        plan, results, store.attempts(execution_id), store.level_validations(execution_id),
        max_attempts,
    )  # fmt: skip
    by_id = {r.atom_id: r for r in results}
    return ReviewRepository(store).enqueue(
        plan.id,
        execution_id,
        _new_entries(select_for_review(failed, passed, percent), by_id),
    )


def _new_entries(
    chosen: Sequence[ConfidenceScore], by_id: dict[str, AtomResultRecord]
) -> list[NewReviewEntry]:
    return [
        NewReviewEntry(
            atom_id=score.atom_id,
            spec_hash=by_id[score.atom_id].spec_hash,
            atom_status=by_id[score.atom_id].status.value,
            priority=score.priority,
            confidence=score.score,
            confidence_level=score.level.value,
            reasons=score.reasons,
        )
        for score in chosen
    ]
