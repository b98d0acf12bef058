"""Checking generated code: static checks, then the atom's tests in a sandbox process."""

from mge_pipeline.validation.python_validator import (
    PythonAtomValidator,
    module_name_for,
    static_issues,
)
from mge_pipeline.validation.sandbox import (
    PythonSandbox,
    SandboxOutcome,
    SandboxUnavailableError,
    probe_isolation,
)

__all__ = [
    "PythonAtomValidator",
    "PythonSandbox",
    "SandboxOutcome",
    "SandboxUnavailableError",
    "module_name_for",
    "probe_isolation",
    "static_issues",
]
