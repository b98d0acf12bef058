"""Check 3, atomicity: the ten criteria of an atom, in a simple self-contained form.

The criteria are those of the atomization spec (LOC ≤ 15, complexity < 3, single
responsibility, clear boundaries, independence, context completeness ≥ 95 %, testable,
deterministic, no side effects, clear inputs and outputs). Each unmet criterion is a warning
carrying the atom's score; only code several times larger than an atom is an error, because
then the model wrote a module where one unit was asked for.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from mge_pipeline.domain import AtomKind, ErrorCategory, ValidationIssue
from mge_pipeline.validation.checks.names import FUNCTION_NODES, calls_to, top_level_definitions
from mge_pipeline.validation.checks.subject import CheckSubject, error, mentions, warning

CHECK = "atomicity"
MAX_LOC = 15
MAX_COMPLEXITY = 2
OVERSIZE_FACTOR = 4
_BRANCHES = (
    ast.If,
    ast.IfExp,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ExceptHandler,
    ast.With,
    ast.Assert,
    ast.comprehension,
    ast.match_case,
)
_NONDETERMINISTIC = (
    "random.",
    "time.time",
    "time.monotonic",
    "datetime.now",
    "datetime.today",
    "date.today",
    "uuid.uuid",
    "secrets.",
    "input",
    "open",
    "os.urandom",
)


def logical_loc(tree: ast.Module) -> int:
    """Lines holding statements, docstrings excluded."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not _is_docstring(node):
            lines.add(node.lineno)
    return len(lines)


def complexity(node: ast.AST) -> int:
    """Cyclomatic complexity: 1 + decision points (boolean operators count once per operand)."""
    points = sum(isinstance(n, _BRANCHES) for n in ast.walk(node))
    points += sum(len(n.values) - 1 for n in ast.walk(node) if isinstance(n, ast.BoolOp))
    return 1 + points


def check_atomicity(subject: CheckSubject) -> list[ValidationIssue]:
    failed = [(name, message) for name, test in _CRITERIA if (message := test(subject))]
    score = 1.0 - len(failed) / len(_CRITERIA)
    issues = [
        warning(CHECK, ErrorCategory.CONTEXT, f"{name}: {message} (atomicity {score:.1f})")
        for name, message in failed
    ]
    loc, budget = (
        logical_loc(subject.tree),
        OVERSIZE_FACTOR * max(subject.atom.estimated_loc, MAX_LOC),
    )
    if loc > budget:
        message = (
            f"{loc} lines of code where an atom of about {subject.atom.estimated_loc} was asked for"
        )
        issues.insert(0, error(CHECK, ErrorCategory.CONTEXT, message))
    return issues


def _size(subject: CheckSubject) -> str | None:
    loc = logical_loc(subject.tree)
    return f"{loc} lines of code (at most {MAX_LOC})" if loc > MAX_LOC else None


def _complexity(subject: CheckSubject) -> str | None:
    worst = max(
        (complexity(n) for n in subject.tree.body if isinstance(n, FUNCTION_NODES | ast.ClassDef)),
        default=1,
    )
    return (
        f"cyclomatic complexity {worst} (below {MAX_COMPLEXITY + 1})"
        if worst > MAX_COMPLEXITY
        else None
    )


def _single_responsibility(subject: CheckSubject) -> str | None:
    units = [
        n
        for n, node in top_level_definitions(subject.tree).items()
        if isinstance(node, FUNCTION_NODES | ast.ClassDef) and not n.startswith("_")
    ]
    return f"{len(units)} public units ({', '.join(units)})" if len(units) > 1 else None


def _boundaries(subject: CheckSubject) -> str | None:
    found = [n for n in ast.walk(subject.tree) if isinstance(n, ast.Global | ast.Nonlocal)]
    return "reaches into enclosing scopes with global/nonlocal" if found else None


def _independence(subject: CheckSubject) -> str | None:
    module_names = set(top_level_definitions(subject.module_tree)) if subject.module_tree else set()
    module_names -= set(top_level_definitions(subject.tree))
    for node in ast.walk(subject.tree):
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store):
            root = node.value
            if isinstance(root, ast.Name) and root.id in module_names:
                return f"modifies `{root.id}`, which another atom defines"
    return None


def _completeness(subject: CheckSubject) -> str | None:
    atom = subject.atom
    parts = [
        bool(atom.description.strip()),
        bool(atom.signature.strip()),
        bool(atom.tests.strip()),
        "->" in atom.signature or ":" in atom.signature.removesuffix(":"),
        atom.depends_on is not None or bool(atom.context.imports),
    ]
    share = sum(parts) / len(parts)
    return f"the spec's context is {share:.0%} complete (needs 95%)" if share < 0.95 else None


def _testable(subject: CheckSubject) -> str | None:
    return None if subject.atom.tests.strip() else "the spec has no tests"


def _deterministic(subject: CheckSubject) -> str | None:
    if mentions(subject.atom, "random", "time", "clock", "uuid", "file", "read", "input"):
        return None
    used = sorted(
        {
            c
            for c, _ in calls_to(subject.tree)
            if c.startswith(_NONDETERMINISTIC) or c.endswith(".now")
        }
    )
    return f"not deterministic: calls {', '.join(used)}" if used else None


def _side_effects(subject: CheckSubject) -> str | None:
    if any(callee == "print" for callee, _ in calls_to(subject.tree)) and not mentions(
        subject.atom, "print"
    ):
        return "prints (a side effect)"
    return (
        "writes global state"
        if any(isinstance(n, ast.Global) for n in ast.walk(subject.tree))
        else None
    )


def _inputs_outputs(subject: CheckSubject) -> str | None:
    defined = top_level_definitions(subject.tree).get(subject.atom.name)
    if not isinstance(defined, FUNCTION_NODES) or subject.atom.kind is AtomKind.METHOD:
        return None
    returns = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(defined))
    if returns or _returns_none(defined) or _raises_only(defined):
        return None
    return "returns nothing and is not annotated `-> None`"


def _returns_none(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return isinstance(function.returns, ast.Constant) and function.returns.value is None


def _raises_only(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(n, ast.Raise | ast.Yield | ast.YieldFrom) for n in ast.walk(function))


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


_CRITERIA: tuple[tuple[str, Callable[[CheckSubject], str | None]], ...] = (
    ("size", _size),
    ("complexity", _complexity),
    ("single responsibility", _single_responsibility),
    ("clear boundaries", _boundaries),
    ("independence", _independence),
    ("context completeness", _completeness),
    ("testable", _testable),
    ("deterministic", _deterministic),
    ("no side effects", _side_effects),
    ("clear inputs and outputs", _inputs_outputs),
)
