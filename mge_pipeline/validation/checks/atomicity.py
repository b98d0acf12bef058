"""Check 3, atomicity: the ten criteria of an atom, measured on the model's code with ``ast``.

The rule — criteria, thresholds, severities, score — is ``mge_pipeline.domain.atomicity``,
shared with the atomizer; this module only measures the candidate (and its spec, for context
and tests) into :class:`AtomMeasures`. Each unmet criterion is a warning carrying the atom's
score; only code several times larger than an atom is an error, because then the model wrote
a module where one unit was asked for.
"""

from __future__ import annotations

import ast

from mge_pipeline.domain import ErrorCategory, ValidationIssue
from mge_pipeline.domain.atomicity import (
    MAX_LOC,
    NONDETERMINISTIC,
    AtomMeasures,
    judge_atomicity,
)
from mge_pipeline.validation.checks.names import (
    FUNCTION_NODES,
    bound_names,
    top_level_definitions,
)
from mge_pipeline.validation.checks.subject import CheckSubject, error, mentions, warning

CHECK = "atomicity"
OVERSIZE_FACTOR = 4
_IMPORTS = ast.Import | ast.ImportFrom
_BRANCHES = (
    ast.If,
    ast.IfExp,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ExceptHandler,
    ast.match_case,
)
_ASKS_FOR_NONDETERMINISM = ("random", "time", "clock", "uuid", "file", "read", "input")


def check_atomicity(subject: CheckSubject) -> list[ValidationIssue]:
    measures = measure_code(subject)
    report = judge_atomicity(measures)
    issues = [
        warning(
            CHECK,
            ErrorCategory.CONTEXT,
            f"{v.criterion.label}: {v.detail} (atomicity {report.score:.1f})",
        )
        for v in report.violations
    ]
    budget = OVERSIZE_FACTOR * max(subject.atom.estimated_loc, MAX_LOC)
    if measures.loc > budget:
        message = (
            f"{measures.loc} lines of code where an atom of about "
            f"{subject.atom.estimated_loc} was asked for"
        )
        issues.insert(0, error(CHECK, ErrorCategory.CONTEXT, message))
    return issues


def measure_code(subject: CheckSubject) -> AtomMeasures:
    tree, atom = subject.tree, subject.atom
    defined = top_level_definitions(tree).get(atom.name)
    function = defined if isinstance(defined, FUNCTION_NODES) else None
    missing = _missing_context(subject)
    return AtomMeasures(
        loc=code_loc(subject.code, tree),
        complexity=complexity(tree),
        names=module_names(tree),
        uses=free_names(tree),
        imports_only=bool(tree.body) and all(isinstance(n, _IMPORTS) for n in tree.body),
        is_function=function is not None,
        annotated=function is not None and _annotated(function),
        has_tests=bool(atom.tests.strip()),
        global_writes=frozenset(
            name
            for n in ast.walk(tree)
            if isinstance(n, ast.Global | ast.Nonlocal)
            for name in n.names
        ),
        sibling_uses=_modified_siblings(subject),
        completeness=round(1.0 - len(missing) / 5, 2),
        missing_context=missing,
        requested=_requested(subject),
    )


def code_loc(code: str, tree: ast.Module) -> int:
    """Non-blank lines that are not only a comment, outside top-level import statements."""
    imports = {
        line
        for node in tree.body
        if isinstance(node, _IMPORTS)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    return sum(
        1
        for number, line in enumerate(code.splitlines(), start=1)
        if number not in imports and line.strip() and not line.lstrip().startswith("#")
    )


def complexity(node: ast.AST) -> int:
    """1 + decision points; a boolean operator counts once per extra operand, a comprehension
    once per ``for`` and once per ``if``."""
    points = 0
    for n in ast.walk(node):
        if isinstance(n, _BRANCHES):
            points += 1
        elif isinstance(n, ast.BoolOp):
            points += len(n.values) - 1
        elif isinstance(n, ast.comprehension):
            points += 1 + len(n.ifs)
    return 1 + points


def module_names(tree: ast.Module) -> frozenset[str]:
    """Names bound at module level (inside module-level blocks too), imports excluded."""
    names: set[str] = set()
    stack: list[ast.AST] = [n for n in tree.body if not isinstance(n, _IMPORTS)]
    while stack:
        node = stack.pop()
        if isinstance(node, FUNCTION_NODES | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif not isinstance(node, _IMPORTS | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return frozenset(names)


def free_names(tree: ast.Module) -> frozenset[str]:
    """Names read that neither a function of the code nor its own module level binds."""
    local: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, FUNCTION_NODES):
            local |= bound_names(node.args).union(*(bound_names(stmt) for stmt in node.body))
        elif isinstance(node, ast.Lambda):
            local |= bound_names(node.args)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return frozenset(read - local - module_names(tree))


def _annotated(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return function.returns is not None or any(a is not None and a.annotation for a in every)


def _modified_siblings(subject: CheckSubject) -> frozenset[str]:
    """Module names another atom defines that this code modifies (``x.attr = …``, ``x[k] = …``)."""
    if subject.module_tree is None:
        return frozenset()
    others = set(top_level_definitions(subject.module_tree)) - set(
        top_level_definitions(subject.tree)
    )
    return frozenset(
        node.value.id
        for node in ast.walk(subject.tree)
        if isinstance(node, ast.Attribute | ast.Subscript)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id in others
    )


def _missing_context(subject: CheckSubject) -> tuple[str, ...]:
    """The five components of a spec's context, 20 % each."""
    atom = subject.atom
    parts = {
        "description": bool(atom.description.strip()),
        "signature": bool(atom.signature.strip()),
        "tests": bool(atom.tests.strip()),
        "types": "->" in atom.signature or ":" in atom.signature.removesuffix(":"),
        "dependencies": atom.depends_on is not None or bool(atom.context.imports),
    }
    return tuple(name for name, present in parts.items() if not present)


def _requested(subject: CheckSubject) -> frozenset[str]:
    """What the spec asks for: randomness, time, files or input; printing."""
    requested: set[str] = set()
    if mentions(subject.atom, *_ASKS_FOR_NONDETERMINISM):
        requested |= NONDETERMINISTIC | {"open"}
    if mentions(subject.atom, "print"):
        requested.add("print")
    return frozenset(requested)
