"""The review actions end to end: read the entry, apply the rules, validate an edit, decide.

Each action either changes the entry (and records who decided what, when) or raises a
``ReviewRefusedError`` whose message is the one line the reviewer sees; nothing is written
then. An edit is validated exactly as an attempt would be — the atom's own validator in the
sandbox, with its dependencies' validated code around it — before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.domain import AtomStatus, ValidationVerdict
from mge_pipeline.domain.review import ReviewEntry
from mge_pipeline.exceptions import MgeError
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.review.actions import (
    RESULT,
    EntryState,
    ReviewAction,
    ReviewStatus,
    refusal,
)
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewConflictError, ReviewRepository
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.dispatch import LanguageDispatchValidator


class ReviewRefusedError(MgeError):
    """An action the rules or the state of the entry do not allow; nothing was changed."""


@dataclass(frozen=True)
class EditCheck:
    verdict: ValidationVerdict

    @property
    def summary(self) -> str:
        if self.verdict.passed:
            return "validated"
        return "; ".join(f"[{i.category}] {i.message}" for i in self.verdict.issues[:3])


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


def plan_bundle_for(store: MgeStore, entry: ReviewEntry) -> PlanBundle:
    plan = store.get_masterplan(entry.masterplan_id)
    if plan is None:
        raise ReviewRefusedError(
            f"review entry {entry.entry_id}: masterplan {entry.masterplan_id} is not in the store"
        )
    bundle = bundle_masterplan(plan)
    if entry.atom_id not in bundle.atoms:
        raise ReviewRefusedError(
            f"review entry {entry.entry_id}: atom {entry.atom_id} is no longer in masterplan "
            f"{entry.masterplan_id}"
        )
    if bundle.spec_hashes[entry.atom_id] != entry.spec_hash:
        raise ReviewRefusedError(
            f"review entry {entry.entry_id}: the spec of atom {entry.atom_id} (or of one of its "
            "dependencies) changed since the entry was made; run the masterplan again"
        )
    return bundle


async def validate_edit(
    store: MgeStore, entry: ReviewEntry, code: str, sandbox: PythonSandbox
) -> EditCheck:
    """The reviewer's code, checked like an attempt: same validator, same files around it."""
    bundle = plan_bundle_for(store, entry)
    atom = bundle.atoms[entry.atom_id]
    ancestors = bundle.ancestors(entry.atom_id)
    codes = store.validated_codes(entry.execution_id, ancestors)
    missing = [a for a in ancestors if a not in codes]
    if missing:
        by_hash = store.validated_codes_by_hash(bundle.spec_hashes[a] for a in missing)
        codes.update(
            {a: by_hash[bundle.spec_hashes[a]] for a in missing if bundle.spec_hashes[a] in by_hash}
        )
    validator = LanguageDispatchValidator(sandbox, names_by_file=bundle.names_by_file)
    files = files_for_atom(entry.atom_id, code, bundle.atoms, codes, bundle.graph)
    verdict = await validator.validate(atom, code, files)
    return EditCheck(verdict)


async def edit(
    store: MgeStore,
    reviews: ReviewRepository,
    entry_id: int,
    reviewer: str,
    code: str,
    sandbox: PythonSandbox,
    *,
    feedback: str | None = None,
) -> ReviewEntry:
    """Validate first (refused with the first issues if it fails), then decide on the entry as
    it was read before validating: a decision made meanwhile by someone else wins."""
    entry = load_entry(reviews, entry_id)
    check_allowed(entry, ReviewAction.EDIT, reviewer, feedback)
    if not code.strip():
        raise ReviewRefusedError(f"review entry {entry_id}: the edited code is empty")
    check = await validate_edit(store, entry, code, sandbox)
    if not check.verdict.passed:
        raise ReviewRefusedError(
            f"review entry {entry_id}: the edited code does not validate: {check.summary}"
        )
    return decide(reviews, entry, ReviewAction.EDIT, reviewer, feedback=feedback, code=code)


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
