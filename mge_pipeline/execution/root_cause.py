"""Which atoms a weak wave's stop is really about: those that failed, not those they blocked.

A wave whose only atom was blocked "validated 0%", but the atom to look at is the failed
ancestor that blocked it, possibly waves earlier. The stop reason names those atoms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.records import AtomResultRecord

MAX_NAMED = 5


def root_cause_atoms(
    rows: Sequence[AtomResultRecord],
    ancestors: Callable[[str], Iterable[str]],
    status_of: Mapping[str, AtomStatus],
) -> list[str]:
    """Failed atoms of the wave, and the failed ancestors of its blocked atoms, sorted."""
    causes: set[str] = set()
    for row in rows:
        if row.status is AtomStatus.FAILED:
            causes.add(row.atom_id)
        elif row.status is AtomStatus.BLOCKED:
            causes.update(
                a for a in ancestors(row.atom_id) if status_of.get(a) is AtomStatus.FAILED
            )
    return sorted(causes)


def describe_root_causes(causes: Sequence[str]) -> str:
    """``"; root cause: atom a failed"``, or ``""`` when none is known."""
    if not causes:
        return ""
    named = ", ".join(causes[:MAX_NAMED]) + (
        f" and {len(causes) - MAX_NAMED} more" if len(causes) > MAX_NAMED else ""
    )
    noun = "atom" if len(causes) == 1 else "atoms"
    return f" (root cause: {noun} {named} failed)"
