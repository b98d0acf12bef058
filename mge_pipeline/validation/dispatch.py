"""Choosing the validator for an atom's language: Python in-process checks, JS/TS under Node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from mge_pipeline.domain import AtomSpec, Language, ValidationVerdict
from mge_pipeline.validation.node_validator import NodeAtomValidator
from mge_pipeline.validation.python_validator import PythonAtomValidator
from mge_pipeline.validation.sandbox import PythonSandbox


class AtomValidator(Protocol):
    async def validate(
        self, atom: AtomSpec, code: str, files: dict[str, str]
    ) -> ValidationVerdict: ...


class LanguageDispatchValidator:
    """One validator per language; missing tooling fails the atom as unavailable, never passes."""

    def __init__(
        self,
        sandbox: PythonSandbox,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
        names_by_file: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._python = PythonAtomValidator(
            sandbox,
            timeout_seconds=timeout_seconds,
            memory_mb=memory_mb,
            names_by_file=names_by_file,
        )
        self._node = NodeAtomValidator(sandbox, timeout_seconds=timeout_seconds)

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        if atom.language is Language.PYTHON:
            return await self._python.validate(atom, code, files)
        return await self._node.validate(atom, code, files)
