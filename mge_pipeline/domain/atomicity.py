"""The atomicity rule, declared once: the ten criteria of an atom, their thresholds and
severities, and the 0–1 score (10 % per criterion met).

Two parsers measure code against it: the atomizer reads existing Python, TypeScript and
JavaScript with tree-sitter (``atomization/atomicity.py``) and the atomic validator reads the
model's Python with ``ast`` (``validation/checks/atomicity.py``). Each fills in an
:class:`AtomMeasures`; :func:`judge_atomicity` alone decides which criteria fail, so the same
code gets the same verdicts whichever side measured it. The definitions, as measured:

- **size**: lines of code — non-blank lines that are not only a comment; docstrings count,
  import statements do not (assembly hoists them) — at most ``MAX_LOC``. It is the count the
  decomposer cuts by, so a unit it cuts meets the criterion by construction.
- **complexity**: 1 + the decision points of the whole unit (``if``/``elif``, loops,
  ``except``, conditional expressions, each boolean operator, ``case``, each ``for`` and
  ``if`` of a comprehension) — at most ``MAX_COMPLEXITY``. ``with`` and ``assert`` are not
  decisions.
- **single responsibility**: at most one public name bound at module level (imports and
  ``_private`` names do not count: a helper serves the one responsibility).
- **clear boundaries**: the unit binds a name (or holds only imports); a run of statements
  that binds nothing has no boundary to cut along.
- **independence**: no use of a sibling's members or state, and at most
  ``MAX_SIBLING_DEPENDENCIES`` dependencies on other atoms of the same file.
- **context completeness**: at least ``MIN_COMPLETENESS`` of the context components known.
- **testable**: a function or method comes with test cases (the spec's tests, doctests or
  examples); classes and blocks are tested through their members.
- **deterministic**: reads no randomness, clock or outside input (``NONDETERMINISTIC``).
- **no side effects**: no output, file, network or process access (``SIDE_EFFECTS``) and no
  ``global``/``nonlocal`` writes.
- **clear inputs and outputs**: a function or method annotates its parameters or result.

Names the spec explicitly asks for (``requested``) are not held against determinism or side
effects: a spec for ``roll_dice`` wants ``random``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_LOC = 15
MAX_COMPLEXITY = 2
MIN_COMPLETENESS = 0.95
MAX_SIBLING_DEPENDENCIES = 3
CRITERION_WEIGHT = 0.1

NONDETERMINISTIC = frozenset(
    {"random", "secrets", "uuid", "urandom", "time", "datetime", "Date", "Math.random", "input"}
)
OUTPUT = frozenset({"print", "console"})
SIDE_EFFECTS = OUTPUT | {
    "open",
    "socket",
    "subprocess",
    "requests",
    "urllib",
    "fetch",
    "fs",
    "process",
    "XMLHttpRequest",
}


class CriterionSeverity(StrEnum):
    """``high``: too big or under-specified for a model to write alone; ``medium``: hard to
    test; ``low``: a matter of shape."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AtomicityCriterion(StrEnum):
    SIZE = f"loc <= {MAX_LOC}"
    COMPLEXITY = f"complexity < {MAX_COMPLEXITY + 1}"
    SINGLE_RESPONSIBILITY = "single responsibility"
    CLEAR_BOUNDARIES = "clear boundaries"
    INDEPENDENCE = "independent of siblings"
    CONTEXT = f"context completeness >= {MIN_COMPLETENESS:.0%}"
    TESTABLE = "testable"
    DETERMINISTIC = "deterministic"
    NO_SIDE_EFFECTS = "no side effects"
    CLEAR_IO = "clear inputs and outputs"

    @property
    def label(self) -> str:
        """The short name used in validation messages (``size: 18 lines of code …``)."""
        return _LABELS[self]

    @property
    def severity(self) -> CriterionSeverity:
        return _SEVERITY.get(self, CriterionSeverity.LOW)


_LABELS = {
    AtomicityCriterion.SIZE: "size",
    AtomicityCriterion.COMPLEXITY: "complexity",
    AtomicityCriterion.SINGLE_RESPONSIBILITY: "single responsibility",
    AtomicityCriterion.CLEAR_BOUNDARIES: "clear boundaries",
    AtomicityCriterion.INDEPENDENCE: "independence",
    AtomicityCriterion.CONTEXT: "context completeness",
    AtomicityCriterion.TESTABLE: "testable",
    AtomicityCriterion.DETERMINISTIC: "deterministic",
    AtomicityCriterion.NO_SIDE_EFFECTS: "no side effects",
    AtomicityCriterion.CLEAR_IO: "clear inputs and outputs",
}
_SEVERITY = {
    AtomicityCriterion.SIZE: CriterionSeverity.HIGH,
    AtomicityCriterion.CONTEXT: CriterionSeverity.HIGH,
    AtomicityCriterion.COMPLEXITY: CriterionSeverity.MEDIUM,
    AtomicityCriterion.DETERMINISTIC: CriterionSeverity.MEDIUM,
    AtomicityCriterion.NO_SIDE_EFFECTS: CriterionSeverity.MEDIUM,
    AtomicityCriterion.TESTABLE: CriterionSeverity.MEDIUM,
}


@dataclass(frozen=True)
class AtomMeasures:
    """What a parser read from one unit of code; the field docs say how to measure."""

    loc: int
    """Non-blank, non-comment lines; docstrings count, import statements do not."""
    complexity: int
    """1 + decision points of the whole unit."""
    names: frozenset[str]
    """Names the unit binds at module level, imports excluded."""
    uses: frozenset[str]
    """Names the unit reads from outside itself (the root of an attribute chain)."""
    imports_only: bool = False
    is_function: bool = False
    """A function or method: testability and annotations apply."""
    annotated: bool = True
    """For a function: a parameter or the result carries a type annotation."""
    has_tests: bool = True
    global_writes: frozenset[str] = frozenset()
    """Names declared ``global`` or ``nonlocal``."""
    sibling_uses: frozenset[str] = frozenset()
    """Members or state of sibling atoms that the unit uses."""
    dependencies: int = 0
    """Other atoms of the same file it depends on (0 where the plan is not known)."""
    completeness: float = 1.0
    missing_context: tuple[str, ...] = ()
    requested: frozenset[str] = frozenset()
    """Names the spec asks for, so they count neither as nondeterminism nor side effect."""
    size_note: str | None = None
    """Why an oversized unit was kept whole, when the decomposer says."""


@dataclass(frozen=True)
class AtomicityViolation:
    criterion: AtomicityCriterion
    detail: str

    @property
    def severity(self) -> CriterionSeverity:
        return self.criterion.severity

    def __str__(self) -> str:
        return f"{self.criterion.value} ({self.severity.value}): {self.detail}"


@dataclass(frozen=True)
class AtomicityReport:
    score: float
    violations: tuple[AtomicityViolation, ...]

    @property
    def passed(self) -> tuple[AtomicityCriterion, ...]:
        failed = {v.criterion for v in self.violations}
        return tuple(c for c in AtomicityCriterion if c not in failed)


def judge_atomicity(measures: AtomMeasures) -> AtomicityReport:
    """The verdict on each of the ten criteria, in their order, and the score."""
    details = {criterion: _DETAIL[criterion](measures) for criterion in AtomicityCriterion}
    violations = tuple(
        AtomicityViolation(criterion, detail)
        for criterion, detail in details.items()
        if detail is not None
    )
    return AtomicityReport(atomicity_score(len(violations)), violations)


def atomicity_score(failed: int) -> float:
    return round(1.0 - CRITERION_WEIGHT * failed, 2)


def _size(m: AtomMeasures) -> str | None:
    if m.loc <= MAX_LOC:
        return None
    return f"{m.loc} lines of code (at most {MAX_LOC})" + (
        f"; {m.size_note}" if m.size_note else ""
    )


def _complexity(m: AtomMeasures) -> str | None:
    if m.complexity <= MAX_COMPLEXITY:
        return None
    return f"cyclomatic complexity {m.complexity} (below {MAX_COMPLEXITY + 1})"


def _single(m: AtomMeasures) -> str | None:
    public = sorted(name for name in m.names if not name.startswith("_"))
    if len(public) <= 1:
        return None
    return f"defines {len(public)} public names: {', '.join(public[:5])}"


def _boundaries(m: AtomMeasures) -> str | None:
    if m.names or m.imports_only:
        return None
    return "a run of statements that binds no name"


def _independence(m: AtomMeasures) -> str | None:
    if m.sibling_uses:
        return f"uses sibling members {', '.join(sorted(m.sibling_uses)[:5])}"
    if m.dependencies > MAX_SIBLING_DEPENDENCIES:
        return f"depends on {m.dependencies} other atoms of its file"
    return None


def _context(m: AtomMeasures) -> str | None:
    if m.completeness >= MIN_COMPLETENESS:
        return None
    missing = f", missing {', '.join(m.missing_context)}" if m.missing_context else ""
    return f"context {m.completeness:.0%} complete (needs {MIN_COMPLETENESS:.0%}){missing}"


def _testable(m: AtomMeasures) -> str | None:
    if not m.is_function or m.has_tests:
        return None
    return "no test cases: the spec has no tests and the code no doctests or examples"


def _deterministic(m: AtomMeasures) -> str | None:
    found = sorted((m.uses & NONDETERMINISTIC) - m.requested)
    if not found:
        return None
    return f"not deterministic: uses {', '.join(found)} (randomness, time or input)"


def _side_effects(m: AtomMeasures) -> str | None:
    effects = (m.uses & SIDE_EFFECTS) - m.requested
    parts = []
    if effects & OUTPUT:
        parts.append(f"prints ({', '.join(sorted(effects & OUTPUT))})")
    if effects - OUTPUT:
        parts.append(f"does I/O ({', '.join(sorted(effects - OUTPUT))})")
    if m.global_writes:
        parts.append(f"writes globals {', '.join(sorted(m.global_writes))}")
    return "side effects: " + "; ".join(parts) if parts else None


def _io(m: AtomMeasures) -> str | None:
    if not m.is_function or m.annotated:
        return None
    return "parameters and result are not annotated"


_DETAIL = {
    AtomicityCriterion.SIZE: _size,
    AtomicityCriterion.COMPLEXITY: _complexity,
    AtomicityCriterion.SINGLE_RESPONSIBILITY: _single,
    AtomicityCriterion.CLEAR_BOUNDARIES: _boundaries,
    AtomicityCriterion.INDEPENDENCE: _independence,
    AtomicityCriterion.CONTEXT: _context,
    AtomicityCriterion.TESTABLE: _testable,
    AtomicityCriterion.DETERMINISTIC: _deterministic,
    AtomicityCriterion.NO_SIDE_EFFECTS: _side_effects,
    AtomicityCriterion.CLEAR_IO: _io,
}
