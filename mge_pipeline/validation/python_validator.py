"""The atomic validator for Python: the five static checks, then the atom's tests in the sandbox.

Static errors stop the attempt before any process starts; warnings travel with the verdict.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Mapping

from mge_pipeline.domain import (
    AtomSpec,
    ErrorCategory,
    EvidenceKind,
    Severity,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.domain.evidence import (
    evidence_of_tests,
    has_top_level_checks,
    normalize_evidence,
)
from mge_pipeline.validation.checks import run_python_checks
from mge_pipeline.validation.harness import OUTPUT_LIMIT_BYTES
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


def static_issues(
    atom: AtomSpec, code: str, module_source: str | None = None
) -> list[ValidationIssue]:
    """The errors of the five static checks (syntax, semantics, atomicity, types, safety)."""
    return [i for i in run_python_checks(atom, code, module_source) if i.severity is Severity.ERROR]


class PythonAtomValidator:
    """Runs the checks in order and stops at the first failing one, as a reviewer would."""

    def __init__(
        self,
        sandbox: PythonSandbox,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
        names_by_file: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.names_by_file = names_by_file or {}

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        started = time.perf_counter()
        siblings = self.names_by_file.get(atom.file_path, frozenset()) - {atom.name}
        findings = run_python_checks(atom, code, files.get(atom.file_path), sibling_names=siblings)
        issues = [i for i in findings if i.severity is Severity.ERROR]
        warnings = [i for i in findings if i.severity is Severity.WARNING]
        evidence: tuple[EvidenceKind, ...] = ()
        if not issues:
            outcome = await self.sandbox.run_tests(
                files,
                module_name_for(atom.file_path),
                atom.tests,
                timeout_seconds=self.timeout_seconds,
                memory_mb=self.memory_mb,
            )
            issues = [_not_yet_defined(i, siblings, files) for i in issues_from_outcome(outcome)]
            evidence = () if issues else evidence_from_outcome(outcome, atom.tests)
        return ValidationVerdict(
            passed=not issues,
            issues=issues,
            warnings=warnings,
            duration_seconds=time.perf_counter() - started,
            evidence=evidence,
        )


_UNDEFINED_NAME = re.compile(r"NameError: name '(\w+)' is not defined")


def _not_yet_defined(
    issue: ValidationIssue, siblings: frozenset[str], files: Mapping[str, str]
) -> ValidationIssue:
    """A name of the atom's own file that another atom defines but the check's files lack (an
    atom of a later wave, or one cut off by a broken cycle): the check cannot run yet. It is a
    structural failure (category ``dependency``), which the stop rule does not count."""
    match = _UNDEFINED_NAME.search(issue.message)
    if match is None or match.group(1) not in siblings:
        return issue
    name = match.group(1)
    if any(re.search(rf"^\s*(def|class|async def)\s+{name}\b|^{name}\s*[:=]", code, re.M)
           for code in files.values()):  # fmt: skip
        return issue
    message = (
        f"{issue.message} (`{name}` is another atom of this file, not available to this check)"
    )
    return issue.model_copy(update={"category": ErrorCategory.DEPENDENCY, "message": message})


def evidence_from_outcome(outcome: SandboxOutcome, tests: str) -> tuple[EvidenceKind, ...]:
    """The kinds of the test functions that ran and passed, and the atom's own tests when its
    test text checks behaviour at top level (it all ran, or the outcome would not be ok)."""
    result = outcome.result or {}
    names = result.get("test_names")
    if not result.get("ok") or not isinstance(names, list):
        return ()
    top_level = (EvidenceKind.OWN_TESTS,) if has_top_level_checks(tests) else ()
    return normalize_evidence([*evidence_of_tests(str(name) for name in names), *top_level])


def issues_from_outcome(outcome: SandboxOutcome) -> list[ValidationIssue]:
    if outcome.timed_out:
        return [
            _issue(ErrorCategory.TIMEOUT, "did not finish within the time limit (endless loop?)")
        ]
    result = outcome.result
    if result is None:
        return [_died(outcome)]
    if result.get("ok"):
        return []
    exc_type = str(result.get("exc_type", "Exception"))
    category = _CATEGORY_BY_EXCEPTION.get(exc_type, ErrorCategory.RUNTIME)
    message = str(result.get("message", exc_type))
    test_line = result.get("test_line")
    if "[Errno 27]" in message:
        message += f" (the sandbox's {OUTPUT_LIMIT_BYTES // 2**20} MB file and output size limit)"
    if test_line:
        message = f"{message} (in test: {test_line})"
    if result.get("phase") == "import":
        message = f"importing the module failed: {message}"
    location = result.get("location")
    line = location.get("line") if isinstance(location, dict) else None
    return [_issue(category, message, line if isinstance(line, int) else None)]


# Exit codes of a process killed by a signal: -SIGNAL. Each limit has its own signal.
_DEATHS: dict[int, tuple[ErrorCategory, str]] = {
    -signal.SIGXCPU: (ErrorCategory.TIMEOUT, "used up its CPU time (endless loop?)"),
    -signal.SIGXFSZ: (
        ErrorCategory.RUNTIME,
        f"wrote more than the {OUTPUT_LIMIT_BYTES // 2**20} MB file and output size limit",
    ),
    -signal.SIGKILL: (ErrorCategory.RUNTIME, "was killed (out of memory or processes?)"),
    -signal.SIGSEGV: (ErrorCategory.RUNTIME, "crashed (segmentation fault)"),
}


def _died(outcome: SandboxOutcome) -> ValidationIssue:
    known = _DEATHS.get(outcome.returncode or 0)
    if known:
        return _issue(known[0], f"the sandbox process {known[1]}")
    detail = outcome.stderr_tail.strip().splitlines()[-1:] or [f"exit code {outcome.returncode}"]
    return _issue(ErrorCategory.RUNTIME, f"the sandbox process died: {detail[0]}")


def _issue(category: ErrorCategory, message: str, line: int | None = None) -> ValidationIssue:
    return ValidationIssue(category=category, message=message, line=line, check="tests")
