"""Deciding, at the start of a wave, what each atom needs: generation, cache, block or skip."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mge_pipeline.domain import AtomResult, AtomStatus
from mge_pipeline.execution.plan_bundle import PlanBundle

_VALIDATED = (AtomStatus.SUCCEEDED, AtomStatus.CACHED)


@dataclass(frozen=True)
class WavePlan:
    to_generate: list[str]
    settled: list[AtomResult]


def plan_wave(
    bundle: PlanBundle,
    wave_index: int,
    *,
    statuses: Mapping[str, AtomStatus],
    cached_code: Callable[[str], str | None],
    stop_reason: str | None,
) -> WavePlan:
    """Atoms whose dependencies did not validate are blocked, never generated."""
    to_generate: list[str] = []
    settled: list[AtomResult] = []
    for atom_id in bundle.waves[wave_index]:
        if stop_reason:
            settled.append(
                AtomResult(atom_id=atom_id, status=AtomStatus.SKIPPED, reason=stop_reason)
            )
            continue
        missing = [
            d for d in bundle.direct_dependencies(atom_id) if statuses.get(d) not in _VALIDATED
        ]
        if missing:
            reason = "blocked by dependencies that did not validate: " + ", ".join(missing)
            settled.append(AtomResult(atom_id=atom_id, status=AtomStatus.BLOCKED, reason=reason))
            continue
        code = cached_code(bundle.spec_hashes[atom_id])
        if code is not None:
            settled.append(
                AtomResult(
                    atom_id=atom_id,
                    status=AtomStatus.CACHED,
                    code=code,
                    reason="validated code for this exact spec already stored",
                )
            )
            continue
        to_generate.append(atom_id)
    return WavePlan(to_generate=to_generate, settled=settled)


def wave_stop_reason(
    wave_index: int,
    success_rate: float,
    threshold: float,
    skip_reason: str | None,
) -> str | None:
    """The stop rule: an atom stopped by the budget or the provider, or a weak wave."""
    if skip_reason:
        return skip_reason
    if success_rate < threshold:
        return (
            f"wave {wave_index} validated only {100 * success_rate:.0f}% of its atoms, under the "
            f"{100 * threshold:.0f}% threshold; later waves were not started"
        )
    return None
