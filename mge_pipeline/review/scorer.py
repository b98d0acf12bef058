"""How sure MGE is of an atom: a score from 0 to 1 and the reasons it is not higher.

Weights (the seed's): validation 40 %, attempts needed 30 %, complexity 20 %, integration
(the task, milestone and masterplan levels) 10 %. Behavioural evidence and mutation survivors
lower the validation component when a check produced them; an atom known to have validated
without any behavioural evidence has it scaled by ``UNVERIFIED_FACTOR``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from mge_pipeline.domain import AtomStatus, AttemptRecord, LevelValidation

WEIGHT_VALIDATION = 0.40
WEIGHT_ATTEMPTS = 0.30
WEIGHT_COMPLEXITY = 0.20
WEIGHT_INTEGRATION = 0.10

# A component below this is named among the reasons.
REASON_THRESHOLD = 0.7
# Each validation warning costs this much of the validation component (floor 0.5).
WARNING_PENALTY = 0.1
# The validation component of an atom validated without behavioural evidence is scaled by this.
UNVERIFIED_FACTOR = 0.6
# Decision points above this cost complexity score.
COMPLEXITY_ALLOWANCE = 3
COMPLEXITY_STEP = 0.15

_PYTHON_BRANCHES = re.compile(r"\b(if|elif|for|while|except|and|or|case)\b")
_C_BRANCHES = re.compile(r"\b(if|for|while|catch|case)\b|&&|\|\||\?\?|\?(?!\.)")


class ConfidenceLevel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    CRITICAL = "critical"


# Lower bound of each level's score; anything below the last is critical.
LEVEL_FLOORS: tuple[tuple[ConfidenceLevel, float], ...] = (
    (ConfidenceLevel.HIGH, 0.8),
    (ConfidenceLevel.MEDIUM, 0.6),
    (ConfidenceLevel.LOW, 0.4),
)

PRIORITY: dict[ConfidenceLevel, int] = {
    ConfidenceLevel.CRITICAL: 100,
    ConfidenceLevel.LOW: 75,
    ConfidenceLevel.MEDIUM: 50,
    ConfidenceLevel.HIGH: 25,
}


@dataclass(frozen=True)
class BehaviouralEvidence:
    """What a precision check found beyond the atom's own tests, when one ran."""

    checks_run: int = 0
    checks_failed: int = 0
    mutants: int = 0
    mutants_survived: int = 0


@dataclass(frozen=True)
class AtomEvidence:
    """Everything the score is computed from, gathered by the caller from the store."""

    atom_id: str
    status: AtomStatus
    attempts: Sequence[AttemptRecord]
    max_attempts: int
    code: str | None
    language: str = "python"
    estimated_loc: int = 10
    levels: Sequence[LevelValidation] = ()
    """The level validations whose scope holds the atom (its task, milestone, masterplan)."""
    behaviour: BehaviouralEvidence | None = None
    verified: bool | None = None
    """False: validated with no behavioural evidence (static checks and import only); None:
    not known (the caller did not say), which changes nothing."""


@dataclass(frozen=True)
class ConfidenceScore:
    atom_id: str
    score: float
    level: ConfidenceLevel
    components: dict[str, float]
    reasons: list[str] = field(default_factory=list)

    @property
    def priority(self) -> int:
        return PRIORITY[self.level]


def level_for(score: float) -> ConfidenceLevel:
    for level, floor in LEVEL_FLOORS:
        if score >= floor:
            return level
    return ConfidenceLevel.CRITICAL


def score_atom(evidence: AtomEvidence) -> ConfidenceScore:
    validation, validation_reasons = _validation(evidence)
    attempts, attempts_reason = _attempts(evidence)
    complexity, complexity_reason = _complexity(evidence)
    integration, integration_reason = _integration(evidence)
    components = {
        "validation": validation,
        "attempts": attempts,
        "complexity": complexity,
        "integration": integration,
    }
    score = (
        WEIGHT_VALIDATION * validation
        + WEIGHT_ATTEMPTS * attempts
        + WEIGHT_COMPLEXITY * complexity
        + WEIGHT_INTEGRATION * integration
    )
    score = round(min(1.0, max(0.0, score)), 4)
    reasons = [*validation_reasons]
    for value, reason in (
        (attempts, attempts_reason),
        (complexity, complexity_reason),
        (integration, integration_reason),
    ):
        if value < REASON_THRESHOLD and reason:
            reasons.append(reason)
    return ConfidenceScore(evidence.atom_id, score, level_for(score), components, reasons)


def _validation(evidence: AtomEvidence) -> tuple[float, list[str]]:
    if evidence.status is not AtomStatus.SUCCEEDED:
        last = evidence.attempts[-1] if evidence.attempts else None
        detail = f": {last.errors[0]}" if last and last.errors else ""
        return 0.0, [f"no attempt validated ({evidence.status}){detail}"]
    final = evidence.attempts[-1] if evidence.attempts else None
    warnings = len(final.warnings) if final else 0
    value = max(0.5, 1.0 - WARNING_PENALTY * warnings)
    reasons = [f"validated with {warnings} warning(s)"] if warnings else []
    if evidence.verified is False:
        value *= UNVERIFIED_FACTOR
        reasons.append("no behavioural evidence: only static checks and import ran")
    behaviour = evidence.behaviour
    if behaviour and behaviour.checks_run:
        passed_share = 1 - behaviour.checks_failed / behaviour.checks_run
        value *= passed_share
        if behaviour.checks_failed:
            reasons.append(
                f"{behaviour.checks_failed} of {behaviour.checks_run} behavioural checks failed"
            )
    if behaviour and behaviour.mutants:
        killed_share = 1 - behaviour.mutants_survived / behaviour.mutants
        value *= 0.5 + 0.5 * killed_share
        if behaviour.mutants_survived:
            reasons.append(
                f"{behaviour.mutants_survived} of {behaviour.mutants} mutants survived the tests"
            )
    return value, reasons


def _attempts(evidence: AtomEvidence) -> tuple[float, str | None]:
    """First-attempt success is 1.0; each further attempt costs 1/max_attempts; failure 0."""
    used = len(evidence.attempts)
    if evidence.status is not AtomStatus.SUCCEEDED:
        return 0.0, f"failed all {used} attempt(s)"
    most = max(evidence.max_attempts, 1)
    value = max(0.0, 1.0 - (used - 1) / most)
    return value, f"validated only at attempt {used} of {most}"


def decision_points(code: str, language: str) -> int:
    """Branches and boolean operators outside comments and strings, roughly."""
    pattern = _PYTHON_BRANCHES if language == "python" else _C_BRANCHES
    comment = "#" if language == "python" else "//"
    count = 0
    for line in code.splitlines():
        text = re.sub(r"(\"[^\"]*\"|'[^']*'|`[^`]*`)", '""', line).split(comment, 1)[0]
        count += len(pattern.findall(text))
    return count


def _complexity(evidence: AtomEvidence) -> tuple[float, str | None]:
    code = evidence.code
    if not code:
        return 0.0, "no code to judge"
    points = decision_points(code, evidence.language)
    lines = sum(1 for line in code.splitlines() if line.strip())
    value = 1.0 - COMPLEXITY_STEP * max(0, points - COMPLEXITY_ALLOWANCE)
    over = lines / max(evidence.estimated_loc, 1)
    if over > 1.5:
        value -= 0.1 * (over - 1.5) * 2
    value = max(0.0, min(1.0, value))
    return value, f"{points} decision points in {lines} lines (target {evidence.estimated_loc})"


def _integration(evidence: AtomEvidence) -> tuple[float, str | None]:
    if not evidence.levels:
        return 0.5, "no task, milestone or masterplan validation covered it"
    implicated = [
        f"{level.level} {level.scope_id}"
        for level in evidence.levels
        if evidence.atom_id in level.implicated_atoms
    ]
    if implicated:
        return 0.0, "implicated by " + ", ".join(implicated)
    return min(level.score for level in evidence.levels), "its levels passed with warnings"
