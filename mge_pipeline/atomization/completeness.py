"""Context completeness of an atomized plan, per language: what ``mge atomize`` and the
atomization benchmark report beside the graph's figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mge_pipeline.atomization.context import AtomContextInfo
from mge_pipeline.domain import MasterPlan

COMPLETE = 0.95


@dataclass(frozen=True)
class LanguageCompleteness:
    language: str
    atoms: int
    mean: float
    complete: int
    missing: dict[str, int]

    def as_row(self) -> tuple[str, str]:
        missing = ", ".join(f"{name} {count}" for name, count in self.missing.items())
        value = (
            f"{self.atoms} atoms, mean {self.mean:.0%}, "
            f"{self.complete}/{self.atoms} at ≥ {COMPLETE:.0%}"
        )
        return f"context completeness ({self.language})", value + (
            f"; missing: {missing}" if missing else ""
        )


def completeness_by_language(
    plan: MasterPlan, contexts: dict[str, AtomContextInfo]
) -> list[LanguageCompleteness]:
    grouped: dict[str, list[AtomContextInfo]] = {}
    for atom in plan.atoms():
        if atom.id in contexts:
            grouped.setdefault(atom.language.value, []).append(contexts[atom.id])
    return [
        LanguageCompleteness(
            language=language,
            atoms=len(infos),
            mean=sum(i.completeness for i in infos) / len(infos),
            complete=sum(1 for i in infos if i.completeness >= COMPLETE),
            missing=dict(Counter(m for i in infos for m in i.missing).most_common()),
        )
        for language, infos in sorted(grouped.items())
    ]
