"""Choosing the validator for an atom's language; a language without one fails loudly."""

from __future__ import annotations

from typing import Protocol

from mge_pipeline.domain import (
    AtomSpec,
    ErrorCategory,
    Language,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.validation.python_validator import PythonAtomValidator
from mge_pipeline.validation.sandbox import PythonSandbox


class AtomValidator(Protocol):
    async def validate(
        self, atom: AtomSpec, code: str, files: dict[str, str]
    ) -> ValidationVerdict: ...


class LanguageDispatchValidator:
    """Python is validated; other languages are reported unavailable, never silently passed."""

    def __init__(
        self,
        sandbox: PythonSandbox,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
    ) -> None:
        self._python = PythonAtomValidator(
            sandbox, timeout_seconds=timeout_seconds, memory_mb=memory_mb
        )

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        if atom.language is Language.PYTHON:
            return await self._python.validate(atom, code, files)
        issue = ValidationIssue(
            category=ErrorCategory.CONTEXT,
            message=f"no validator for {atom.language} is available yet; the atom is not accepted",
        )
        return ValidationVerdict(passed=False, issues=[issue])
