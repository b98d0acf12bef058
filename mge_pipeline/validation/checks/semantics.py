"""Check 2, semantics: the atom defines exactly what its spec names, with the spec's signature,
reads no undefined name, and uses the arguments it takes."""

from __future__ import annotations

import ast

from mge_pipeline.domain import AtomKind, ErrorCategory, ValidationIssue
from mge_pipeline.validation.checks.names import (
    BUILTIN_NAMES,
    FUNCTION_NODES,
    parse_signature,
    top_level_definitions,
    undefined_names,
)
from mge_pipeline.validation.checks.subject import CheckSubject, error, warning

CHECK = "semantics"
_IGNORED_ARGS = frozenset({"self", "cls"})


def check_semantics(subject: CheckSubject) -> list[ValidationIssue]:
    atom = subject.atom
    definitions = top_level_definitions(subject.tree)
    defined = definitions.get(atom.name)
    if defined is None:
        message = f"the code does not define `{atom.name}` ({atom.kind}) at top level"
        return [error(CHECK, ErrorCategory.CONTEXT, message)]
    issues = _signature_issues(subject, defined)
    for name, line in undefined_names(subject.tree, subject.module_tree).items():
        if name in subject.sibling_names:
            message = f"'{name}' comes from an atom of this file not assembled yet (a cut cycle)"
            issues.append(warning(CHECK, ErrorCategory.DEPENDENCY, message, line))
        else:
            message = f"name '{name}' is not defined (import it?)"
            issues.append(error(CHECK, ErrorCategory.IMPORT, message, line))
    if isinstance(defined, FUNCTION_NODES):
        issues += _argument_issues(defined)
    extra = [n for n, node in definitions.items() if n != atom.name and _public_def(n, node)]
    if extra:
        message = f"defines more than the spec's `{atom.name}`: {', '.join(extra)}"
        issues.append(warning(CHECK, ErrorCategory.CONTEXT, message))
    return issues


def _public_def(name: str, node: ast.stmt) -> bool:
    return not name.startswith("_") and isinstance(node, FUNCTION_NODES | ast.ClassDef)


def _signature_issues(subject: CheckSubject, defined: ast.stmt) -> list[ValidationIssue]:
    spec = parse_signature(subject.atom)
    expected_function = spec.function
    if expected_function is not None and subject.atom.kind in (AtomKind.FUNCTION, AtomKind.METHOD):
        if not isinstance(defined, FUNCTION_NODES):
            return [
                error(CHECK, ErrorCategory.CONTEXT, "the spec asks for a function", defined.lineno)
            ]
        return _parameter_mismatch(expected_function, defined)
    if spec.klass is not None and isinstance(defined, ast.ClassDef):
        expected = [ast.unparse(base) for base in spec.klass.bases]
        actual = [ast.unparse(base) for base in defined.bases]
        if expected != actual:
            message = (
                f"class bases are ({', '.join(actual)}), the spec says ({', '.join(expected)})"
            )
            return [error(CHECK, ErrorCategory.CONTEXT, message, defined.lineno)]
    return []


def _parameter_mismatch(
    expected: ast.FunctionDef | ast.AsyncFunctionDef, actual: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if isinstance(expected, ast.AsyncFunctionDef) != isinstance(actual, ast.AsyncFunctionDef):
        kind = "async" if isinstance(expected, ast.AsyncFunctionDef) else "not async"
        issues.append(
            error(CHECK, ErrorCategory.CONTEXT, f"the spec's function is {kind}", actual.lineno)
        )
    want, got = _parameters(expected.args), _parameters(actual.args)
    if want != got:
        message = f"parameters are ({', '.join(got)}), the spec says ({', '.join(want)})"
        issues.append(error(CHECK, ErrorCategory.CONTEXT, message, actual.lineno))
    return issues


def _parameters(args: ast.arguments) -> list[str]:
    """Names with their kind markers, e.g. ['a', 'b', '*', 'key', '**kw']."""
    names = [a.arg for a in args.posonlyargs] + (["/"] if args.posonlyargs else [])
    names += [a.arg for a in args.args]
    if args.vararg:
        names.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        names.append("*")
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append("**" + args.kwarg.arg)
    return names


def _argument_issues(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ValidationIssue]:
    if _is_stub(function):
        return []
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    params = [a.arg for a in every if a is not None and a.arg not in _IGNORED_ARGS]
    read = {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    issues = [
        warning(CHECK, ErrorCategory.LOGIC, f"argument `{name}` is never used", function.lineno)
        for name in params
        if name not in read and not name.startswith("_")
    ]
    issues += [
        warning(CHECK, ErrorCategory.LOGIC, f"argument `{name}` shadows a builtin", function.lineno)
        for name in params
        if name in BUILTIN_NAMES
    ]
    return issues


def _is_stub(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [
        s
        for s in function.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    return not body or all(isinstance(s, ast.Raise | ast.Pass) for s in body)
