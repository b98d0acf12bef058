"""Validation v1 for Python atoms: syntax, the required definition, then tests in the sandbox."""

from __future__ import annotations

import ast
import time

from mge_pipeline.domain import (
    AtomKind,
    AtomSpec,
    ErrorCategory,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.validation.sandbox import PythonSandbox, SandboxOutcome

_CATEGORY_BY_EXCEPTION: dict[str, ErrorCategory] = {
    "SyntaxError": ErrorCategory.SYNTAX,
    "IndentationError": ErrorCategory.SYNTAX,
    "TabError": ErrorCategory.SYNTAX,
    "ImportError": ErrorCategory.IMPORT,
    "ModuleNotFoundError": ErrorCategory.IMPORT,
    "NameError": ErrorCategory.IMPORT,
    "TypeError": ErrorCategory.TYPE,
    "AttributeError": ErrorCategory.TYPE,
    "AssertionError": ErrorCategory.LOGIC,
}


def module_name_for(file_path: str) -> str:
    """'pkg/sub/mod.py' → 'pkg.sub.mod'; 'pkg/__init__.py' → 'pkg'."""
    parts = file_path.replace("\\", "/").removesuffix(".py").split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def static_issues(atom: AtomSpec, code: str) -> list[ValidationIssue]:
    """Checks that need no process: the code parses and defines what the spec names."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [ValidationIssue(category=ErrorCategory.SYNTAX, message=exc.msg, line=exc.lineno)]
    if atom.name not in _top_level_names(tree, atom.kind):
        return [
            ValidationIssue(
                category=ErrorCategory.CONTEXT,
                message=f"the code does not define `{atom.name}` ({atom.kind}) at top level",
            )
        ]
    return []


def _top_level_names(tree: ast.Module, kind: AtomKind) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


class PythonAtomValidator:
    """Runs the checks in order and stops at the first failing one, as a reviewer would."""

    def __init__(
        self,
        sandbox: PythonSandbox,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        started = time.perf_counter()
        issues = static_issues(atom, code)
        if not issues:
            outcome = await self.sandbox.run_tests(
                files,
                module_name_for(atom.file_path),
                atom.tests,
                timeout_seconds=self.timeout_seconds,
                memory_mb=self.memory_mb,
            )
            issues = issues_from_outcome(outcome)
        return ValidationVerdict(
            passed=not issues, issues=issues, duration_seconds=time.perf_counter() - started
        )


def issues_from_outcome(outcome: SandboxOutcome) -> list[ValidationIssue]:
    if outcome.timed_out:
        return [
            _issue(ErrorCategory.TIMEOUT, "did not finish within the time limit (endless loop?)")
        ]
    result = outcome.result
    if result is None:
        detail = outcome.stderr_tail.strip().splitlines()[-1:] or [
            f"exit code {outcome.returncode}"
        ]
        category = ErrorCategory.TIMEOUT if outcome.returncode == -24 else ErrorCategory.RUNTIME
        return [_issue(category, f"the sandbox process died: {detail[0]}")]
    if result.get("ok"):
        return []
    exc_type = str(result.get("exc_type", "Exception"))
    category = _CATEGORY_BY_EXCEPTION.get(exc_type, ErrorCategory.RUNTIME)
    message = str(result.get("message", exc_type))
    test_line = result.get("test_line")
    if test_line:
        message = f"{message} (in test: {test_line})"
    if result.get("phase") == "import":
        message = f"importing the module failed: {message}"
    location = result.get("location")
    line = location.get("line") if isinstance(location, dict) else None
    return [_issue(category, message, line if isinstance(line, int) else None)]


def _issue(category: ErrorCategory, message: str, line: int | None = None) -> ValidationIssue:
    return ValidationIssue(category=category, message=message, line=line)
