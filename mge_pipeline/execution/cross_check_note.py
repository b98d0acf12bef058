"""The line an attempt carries when its answer was cross-checked, written and read in one place.

The samples' cost and tokens are folded into the checked attempt (they are not attempts), so
the warning line is the only record of what the cross-check did and what it cost; the report
reads it back to say how many answers were checked, rejected, and at what price.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PREFIX = "cross-check "
_TAIL = re.compile(r"; (\d+) independent sample call\(s\), \$(\d+(?:\.\d+)?) \(checked because ")


@dataclass(frozen=True)
class CrossCheckNote:
    status: str
    """``agreed``, ``rejected`` or ``inconclusive`` (``CrossCheckStatus`` values)."""
    sample_calls: int
    cost_usd: float


def write_note(status: str, message: str, sample_calls: int, cost_usd: float, reason: str) -> str:
    return (
        f"{_PREFIX}{status}: {message}; {sample_calls} independent sample call(s), "
        f"${cost_usd:.4f} (checked because {reason})"
    )


def read_note(warning: str) -> CrossCheckNote | None:
    """The note's figures, or None for any other warning."""
    if not warning.startswith(_PREFIX):
        return None
    status = warning[len(_PREFIX) :].partition(":")[0]
    tail = _TAIL.search(warning)
    if tail is None or status not in ("agreed", "rejected", "inconclusive"):
        return None
    return CrossCheckNote(status, int(tail.group(1)), float(tail.group(2)))


def read_notes(warnings: Iterable[str]) -> list[CrossCheckNote]:
    return [note for note in map(read_note, warnings) if note is not None]
