"""Checking generated code: static checks, then the atom's tests in a sandbox process."""

from mge_pipeline.validation.python_validator import (
    PythonAtomValidator,
    module_name_for,
    static_issues,
)
from mge_pipeline.validation.sandbox import PythonSandbox, SandboxOutcome

__all__ = [
    "PythonAtomValidator",
    "PythonSandbox",
    "SandboxOutcome",
    "module_name_for",
    "static_issues",
]
