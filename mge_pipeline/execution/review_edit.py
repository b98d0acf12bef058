"""A reviewer's edit, validated exactly as an attempt would be, then decided.

The atom's own validator runs the code in the sandbox with its dependencies' validated code
around it (from the entry's execution, else from the cache); only code that validates is
stored, and the decision is made on the entry as it was read before validating, so a
decision someone else made meanwhile wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.domain import ValidationVerdict
from mge_pipeline.domain.review import ReviewAction, ReviewEntry
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.review.actions import ReviewRefusedError
from mge_pipeline.review.service import check_allowed, decide, load_entry
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.dispatch import LanguageDispatchValidator


@dataclass(frozen=True)
class EditCheck:
    verdict: ValidationVerdict

    @property
    def summary(self) -> str:
        if self.verdict.passed:
            return "validated"
        return "; ".join(f"[{i.category}] {i.message}" for i in self.verdict.issues[:3])


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
    return await validate_atom_code(
        store, bundle, entry.atom_id, code, sandbox, execution_id=entry.execution_id
    )


async def validate_atom_code(
    store: MgeStore,
    bundle: PlanBundle,
    atom_id: str,
    code: str,
    sandbox: PythonSandbox,
    *,
    execution_id: str | None = None,
) -> EditCheck:
    """One atom's code through its own validator, with the validated code of its
    dependencies around it: the execution's, else any validated for the same spec."""
    atom = bundle.atoms[atom_id]
    ancestors = bundle.ancestors(atom_id)
    codes = store.validated_codes(execution_id, ancestors) if execution_id else {}
    missing = [a for a in ancestors if a not in codes]
    if missing:
        by_hash = store.validated_codes_by_hash(bundle.spec_hashes[a] for a in missing)
        codes.update(
            {a: by_hash[bundle.spec_hashes[a]] for a in missing if bundle.spec_hashes[a] in by_hash}
        )
    validator = LanguageDispatchValidator(sandbox, names_by_file=bundle.names_by_file)
    files = files_for_atom(
        atom_id, code, bundle.atoms, codes, bundle.graph, bundle.plan.project_files
    )
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
