"""The progress bar of one wave: what has settled, and how, with skipped atoms apart.

A bar that fills with skipped atoms tells a person the run is nearly done when it stopped;
the bar fills only with atoms that were generated (or served from the cache) and settled, and
the skipped ones are counted beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge_pipeline.domain import AtomStatus

WIDTH = 30


@dataclass(frozen=True)
class WaveCounts:
    total: int
    validated: int
    failed: int
    skipped: int

    @property
    def settled(self) -> int:
        """Generated or cached, then settled: validated, failed or blocked."""
        return self.validated + self.failed

    @property
    def seen(self) -> int:
        return self.settled + self.skipped


def wave_counts(wave: Sequence[str], statuses: Mapping[str, AtomStatus]) -> WaveCounts:
    got = [statuses[a] for a in wave if a in statuses and statuses[a] is not AtomStatus.PENDING]
    validated = sum(1 for s in got if s in (AtomStatus.SUCCEEDED, AtomStatus.CACHED))
    skipped = sum(1 for s in got if s is AtomStatus.SKIPPED)
    return WaveCounts(len(wave), validated, len(got) - validated - skipped, skipped)


def progress_line(index: int, counts: WaveCounts, cost_usd: float) -> str:
    """``wave  0 [####......]   3/10 settled (1 failed), 2 skipped  $0.0123``"""
    filled = int(WIDTH * counts.settled / counts.total) if counts.total else WIDTH
    line = (
        f"wave {index:>2} [{'#' * filled}{'.' * (WIDTH - filled)}] "
        f"{counts.settled:>3}/{counts.total:<3} settled"
    )
    if counts.failed:
        line += f" ({counts.failed} failed or blocked)"
    if counts.skipped:
        line += f", {counts.skipped} skipped"
    return f"{line}  ${cost_usd:.4f}"
