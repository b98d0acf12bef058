"""Check 4, type safety: type hints are present and agree with the spec's signature.

Annotations are compared after canonicalisation (``Optional[X]`` and ``Union`` become ``|``
unions with sorted members, ``typing.List`` becomes ``list``, quotes and module prefixes go),
so two spellings of one type never count as a mismatch.
"""

from __future__ import annotations

import ast

from mge_pipeline.domain import ErrorCategory, ValidationIssue
from mge_pipeline.validation.checks.names import (
    FUNCTION_NODES,
    parse_signature,
    top_level_definitions,
)
from mge_pipeline.validation.checks.subject import CheckSubject, error, warning

CHECK = "type_safety"
_UNTYPED_OK = frozenset({"self", "cls"})
_ALIASES = {
    "List": "list",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Tuple": "tuple",
    "Type": "type",
    "DefaultDict": "defaultdict",
}


def check_type_safety(subject: CheckSubject) -> list[ValidationIssue]:
    defined = top_level_definitions(subject.tree).get(subject.atom.name)
    spec = parse_signature(subject.atom).node
    if isinstance(defined, FUNCTION_NODES):
        expected = spec if isinstance(spec, FUNCTION_NODES) else None
        return _function_types(defined, expected)
    if isinstance(defined, ast.AnnAssign) and isinstance(spec, ast.AnnAssign):
        return _compare("the constant's type", spec.annotation, defined.annotation, defined.lineno)
    return []


def _function_types(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    spec: ast.FunctionDef | ast.AsyncFunctionDef | None,
) -> list[ValidationIssue]:
    expected = _annotations(spec) if spec is not None else {}
    issues: list[ValidationIssue] = []
    for name, annotation in _annotations(function).items():
        want = expected.get(name)
        label = "the return type" if name == "return" else f"`{name}`"
        if annotation is None and name not in _UNTYPED_OK:
            message = f"{label} has no type hint" + (
                f" (the spec says {ast.unparse(want)})" if want is not None else ""
            )
            issues.append(warning(CHECK, ErrorCategory.TYPE, message, function.lineno))
        elif annotation is not None and want is not None:
            issues += _compare(label, want, annotation, function.lineno)
    return issues


def _annotations(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr | None]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    found: dict[str, ast.expr | None] = {a.arg: a.annotation for a in every if a is not None}
    found["return"] = function.returns
    return found


def _compare(label: str, want: ast.expr, got: ast.expr, line: int) -> list[ValidationIssue]:
    if canonical(want) == canonical(got):
        return []
    message = f"{label} is annotated {ast.unparse(got)}, the spec says {ast.unparse(want)}"
    return [error(CHECK, ErrorCategory.TYPE, message, line)]


def canonical(annotation: ast.expr) -> str:
    """One spelling per type: members of unions sorted, typing aliases lowered."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return canonical(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return annotation.value.replace(" ", "")
    members = _union_members(annotation)
    if members is not None:
        return "|".join(sorted({canonical(member) for member in members}))
    if isinstance(annotation, ast.Attribute):
        return _ALIASES.get(annotation.attr, annotation.attr)
    if isinstance(annotation, ast.Name):
        return _ALIASES.get(annotation.id, annotation.id)
    if isinstance(annotation, ast.Subscript):
        inner = annotation.slice
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return f"{canonical(annotation.value)}[{','.join(canonical(p) for p in parts)}]"
    if isinstance(annotation, ast.List | ast.Tuple):
        return "[" + ",".join(canonical(element) for element in annotation.elts) + "]"
    return ast.unparse(annotation).replace(" ", "")


def _union_members(annotation: ast.expr) -> list[ast.expr] | None:
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return [
            *(_union_members(annotation.left) or [annotation.left]),
            *(_union_members(annotation.right) or [annotation.right]),
        ]
    if isinstance(annotation, ast.Subscript):
        head = canonical(annotation.value)
        inner = annotation.slice
        parts = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        if head == "Optional":
            return [*parts, ast.Constant(None)]
        if head == "Union":
            return parts
    return None
