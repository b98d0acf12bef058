"""Which failed attempt to show a person: the one that got furthest through validation.

A failed atom's story in Dagit is its best attempt's code and errors, not its last one: a
retry at a higher temperature can do worse than the one before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from mge_pipeline.domain import AttemptRecord, ErrorCategory

# How far validation got before the attempt failed; higher is further.
_PROGRESS: dict[ErrorCategory | None, int] = {
    ErrorCategory.API: 0,
    ErrorCategory.NO_CODE: 0,
    ErrorCategory.CONTEXT: 1,
    ErrorCategory.SYNTAX: 2,
    ErrorCategory.IMPORT: 3,
    ErrorCategory.DEPENDENCY: 3,
    ErrorCategory.TYPE: 4,
    ErrorCategory.TIMEOUT: 5,
    ErrorCategory.RUNTIME: 5,
    ErrorCategory.LOGIC: 6,
    None: 6,
}


def best_attempt(attempts: Sequence[AttemptRecord]) -> AttemptRecord | None:
    """The passed attempt if any; else the furthest one with code, fewer errors, later wins."""
    if not attempts:
        return None
    passed = [a for a in attempts if a.passed]
    if passed:
        return passed[-1]
    ranked = sorted(
        enumerate(attempts),
        key=lambda pair: (
            pair[1].code is not None,
            _PROGRESS.get(pair[1].error_category, 0),
            -len(pair[1].errors),
            pair[0],
        ),
    )
    return ranked[-1][1]
