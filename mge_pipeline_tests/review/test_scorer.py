"""The confidence score: its weights, levels, priorities and the reasons behind a low score."""

from __future__ import annotations

import pytest

from mge_pipeline.domain import AtomStatus, AttemptRecord, LevelValidation
from mge_pipeline.domain.levels import LevelIssue, ValidationLevel
from mge_pipeline.domain.results import ErrorCategory, Severity
from mge_pipeline.review.queue import bottom_percent, select_for_review
from mge_pipeline.review.scorer import (
    AtomEvidence,
    BehaviouralEvidence,
    ConfidenceLevel,
    ConfidenceScore,
    decision_points,
    level_for,
    score_atom,
)

SIMPLE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def _attempts(count: int, *, passed_last: bool = True, warnings: int = 0) -> list[AttemptRecord]:
    return [
        AttemptRecord(
            atom_id="a",
            attempt_number=n,
            temperature=0.7,
            passed=passed_last and n == count,
            errors=[] if passed_last and n == count else ["assert failed"],
            warnings=[f"w{i}" for i in range(warnings)] if n == count else [],
        )
        for n in range(1, count + 1)
    ]


def _level(
    passed: bool = True, score: float = 1.0, atoms: list[str] | None = None
) -> LevelValidation:
    issues = (
        [
            LevelIssue(
                severity=Severity.ERROR,
                category=ErrorCategory.LOGIC,
                check="integration",
                message="broken",
                atom_ids=atoms,
            )
        ]
        if atoms
        else []
    )
    return LevelValidation(
        level=ValidationLevel.TASK, scope_id="t1", score=score, passed=passed, issues=issues
    )


def _evidence(**overrides: object) -> AtomEvidence:
    fields: dict[str, object] = {
        "atom_id": "a",
        "status": AtomStatus.SUCCEEDED,
        "attempts": _attempts(1),
        "max_attempts": 4,
        "code": SIMPLE,
        "levels": [_level()],
    }
    fields.update(overrides)
    return AtomEvidence(**fields)  # type: ignore[arg-type]


def test_a_first_attempt_simple_atom_whose_levels_passed_scores_one() -> None:
    score = score_atom(_evidence())
    assert score.score == 1.0
    assert score.level is ConfidenceLevel.HIGH and score.priority == 25
    assert score.reasons == []


def test_each_weight_is_what_the_seed_says() -> None:
    # Attempts: validated at attempt 4 of 4 leaves 1/4 of the attempts component: 0.3 * 0.75 lost.
    assert score_atom(_evidence(attempts=_attempts(4))).score == pytest.approx(1 - 0.3 * 0.75)
    # Integration: implicated by a level → the whole 10 % lost.
    implicated = score_atom(_evidence(levels=[_level(False, 0.5, ["a"])]))
    assert implicated.score == pytest.approx(0.9)
    assert "implicated by task t1" in implicated.reasons
    # Validation: a failed atom loses validation (40 %) and attempts (30 %).
    failed = score_atom(
        _evidence(status=AtomStatus.FAILED, attempts=_attempts(4, passed_last=False))
    )
    assert failed.components["validation"] == 0 and failed.components["attempts"] == 0
    assert failed.score == pytest.approx(0.2 * failed.components["complexity"] + 0.1)
    # Complexity: no code at all loses the 20 %.
    no_code = score_atom(_evidence(code=None))
    assert no_code.score == pytest.approx(0.8) and "no code to judge" in no_code.reasons


def test_a_failed_atom_is_critical_with_its_reasons() -> None:
    score = score_atom(
        _evidence(status=AtomStatus.FAILED, attempts=_attempts(2, passed_last=False), code=None)
    )
    assert score.level is ConfidenceLevel.CRITICAL and score.priority == 100
    assert score.reasons[0] == "no attempt validated (failed): assert failed"
    assert "failed all 2 attempt(s)" in score.reasons


def test_warnings_behaviour_and_mutants_lower_the_validation_component() -> None:
    warned = score_atom(_evidence(attempts=_attempts(1, warnings=2)))
    assert warned.components["validation"] == pytest.approx(0.8)
    assert "validated with 2 warning(s)" in warned.reasons
    mutated = score_atom(
        _evidence(
            behaviour=BehaviouralEvidence(
                checks_run=4, checks_failed=1, mutants=10, mutants_survived=4
            )
        )
    )
    assert mutated.components["validation"] == pytest.approx(0.75 * (0.5 + 0.5 * 0.6))
    assert "4 of 10 mutants survived the tests" in mutated.reasons
    assert "1 of 4 behavioural checks failed" in mutated.reasons


def test_complexity_counts_decision_points() -> None:
    branchy = (
        "def f(a, b):\n    if a and b:\n        return 1\n    elif a or b:\n        return 2\n"
        "    for x in range(a):\n        if x:\n            return 3\n    return 0\n"
    )
    assert decision_points(branchy, "python") == 6
    assert decision_points("if (a && b || c) { x = a ? 1 : 2; } // if", "javascript") == 4
    score = score_atom(_evidence(code=branchy))
    assert score.components["complexity"] == pytest.approx(1 - 0.15 * 3)
    assert any(r.startswith("6 decision points") for r in score.reasons)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (1.0, ConfidenceLevel.HIGH),
        (0.8, ConfidenceLevel.HIGH),
        (0.79, ConfidenceLevel.MEDIUM),
        (0.6, ConfidenceLevel.MEDIUM),
        (0.59, ConfidenceLevel.LOW),
        (0.4, ConfidenceLevel.LOW),
        (0.39, ConfidenceLevel.CRITICAL),
        (0.0, ConfidenceLevel.CRITICAL),
    ],
)
def test_levels(value: float, level: ConfidenceLevel) -> None:
    assert level_for(value) is level


def _score(atom_id: str, value: float) -> ConfidenceScore:
    return ConfidenceScore(atom_id, value, level_for(value), {})


def test_bottom_percent_takes_the_lowest_rounded_down_and_failed_atoms_always_enter() -> None:
    passed = [_score(f"a{i:02}", 0.5 + i / 100) for i in range(20)]
    assert [s.atom_id for s in bottom_percent(passed, 15)] == ["a00", "a01", "a02"]
    assert bottom_percent(passed[:6], 15) == []  # 0.9 of an atom is none
    assert len(bottom_percent(passed, 100)) == 20 and bottom_percent(passed, 0) == []
    failed = [_score("broken", 0.1)]
    chosen = select_for_review(failed, passed[:6], 15)
    assert [s.atom_id for s in chosen] == ["broken"]
    ties = [_score("b", 0.7), _score("a", 0.7), _score("c", 0.9)]
    assert [s.atom_id for s in bottom_percent(ties, 34)] == ["a"]
