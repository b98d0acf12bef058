"""The masterplan as its authors write it: phases → milestones → tasks → atoms.

These models are the contract at the edge of the system (YAML/JSON files, the store, the
JSON Schema printed by ``mge schema``), so they are strict: unknown fields are errors, ids
are identifiers, and every atom says what it must define.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"


class Language(StrEnum):
    PYTHON = "python"
    TYPESCRIPT = "typescript"
    JAVASCRIPT = "javascript"


class AtomKind(StrEnum):
    FUNCTION = "function"
    CLASS = "class"
    METHOD = "method"
    BLOCK = "block"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AtomContext(_Strict):
    """What the atom may rely on: the imports its module offers and the scope it lives in."""

    imports: list[str] = Field(
        default_factory=list,
        description="Import statements the atom's module provides, e.g. 'from pkg.x import Row'.",
    )
    parent_scope: str | None = Field(
        default=None, description="Enclosing class for methods; None for module level."
    )
    notes: str | None = Field(default=None, description="Free-form hints for the model.")


class AtomSpec(_Strict):
    """One unit of about ten lines that the model writes and the validator checks."""

    id: str = Field(pattern=ID_PATTERN, description="Unique across the whole masterplan.")
    name: str = Field(
        min_length=1, description="The symbol the atom defines (function, class or constant)."
    )
    description: str = Field(min_length=1, description="What the code must do.")
    language: Language = Language.PYTHON
    file_path: str = Field(min_length=1, description="Target file, relative to the output root.")
    kind: AtomKind = AtomKind.FUNCTION
    signature: str = Field(min_length=1, description="The exact signature the code must have.")
    depends_on: list[str] | None = Field(
        default=None,
        description="Ids of atoms this one needs; omitted means inferred from the symbols used.",
    )
    tests: str = Field(
        default="",
        description="Asserts and/or test_* functions that must pass in the atom's module.",
    )
    estimated_loc: int = Field(default=10, ge=1, le=400)
    context: AtomContext = Field(default_factory=AtomContext)
    reference_implementation: str | None = Field(
        default=None,
        description="Known-good code; the simulated model replays it, real models never see it.",
    )

    @field_validator("file_path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if value.startswith("/") or ".." in parts:
            raise ValueError("must be a relative path inside the output directory")
        return value

    def content_hash(self) -> str:
        """Hash of the spec alone; combine with dependency hashes for a cache key."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


class Task(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str = ""
    atoms: list[AtomSpec] = Field(min_length=1)
    test_command: list[str] | None = Field(
        default=None,
        description=(
            "Argv run in the sandbox against the assembled files once the task's atoms are "
            "done, e.g. ['python', '-m', 'pytest', 'tests/test_parse.py']; a leading 'python' "
            "is the engine's interpreter."
        ),
    )
    tests: str = Field(
        default="",
        description=(
            "Python test code (pytest-style test_* functions importing the task's modules) run "
            "under pytest in the sandbox against the assembled files once the task's atoms are "
            "done. A test named test_doctests_of_<atom id with . and - as _> belongs to that "
            "atom: passing, it is the atom's doctest evidence; failing, the atom is regenerated."
        ),
    )


class Milestone(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str = ""
    tasks: list[Task] = Field(min_length=1)


class Phase(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str = ""
    milestones: list[Milestone] = Field(min_length=1)


class MasterPlan(_Strict):
    """The whole plan; its id names the Dagster job and the output directory."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str = ""
    version: str = "1"
    layers: list[str] = Field(
        default_factory=list,
        description=(
            "Architecture layers as module prefixes, lowest first (e.g. ['pkg.core', 'pkg.api']):"
            " a module may import from its own layer and lower ones, never from a higher one."
        ),
    )
    phases: list[Phase] = Field(min_length=1)
    acceptance_tests: str = Field(
        default="",
        description="Python test code run against the assembled output (pytest-style functions).",
    )
    test_command: list[str] = Field(
        default_factory=list,
        description=(
            "A command (argv) run in the assembled output when every atom validated, e.g. the "
            "project's own test suite; a leading 'python' means the sandbox's interpreter."
        ),
    )
    project_files: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Files the plan supplies as they are (path → text), e.g. tsconfig.json, package.json "
            "or .d.ts declarations: present beside every atom's check, at every level and in "
            "the output, and part of every atom's cache key."
        ),
    )

    @field_validator("project_files")
    @classmethod
    def _project_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            parts = path.replace("\\", "/").split("/")
            if not path or path.startswith("/") or ".." in parts or "" in parts:
                raise ValueError(f"'{path}' must be a relative path inside the output directory")
            if parts[-1].startswith("__mge"):
                raise ValueError(f"'{path}': names starting with __mge are MGE's own")
        return value

    def atoms(self) -> Iterator[AtomSpec]:
        for phase in self.phases:
            for milestone in phase.milestones:
                for task in milestone.tasks:
                    yield from task.atoms

    def atom_map(self) -> dict[str, AtomSpec]:
        return {atom.id: atom for atom in self.atoms()}

    def task_of(self) -> dict[str, str]:
        """Atom id → task id, for reports grouped by task."""
        return {
            atom.id: task.id
            for phase in self.phases
            for milestone in phase.milestones
            for task in milestone.tasks
            for atom in task.atoms
        }

    def revision(self) -> str:
        """Short content hash; a sensor's run_key so one revision never runs twice. A task
        without tests hashes as before the field existed, so older plans keep their revision."""
        document = self.model_dump(mode="json")
        for phase in document["phases"]:
            for milestone in phase["milestones"]:
                for task in milestone["tasks"]:
                    if not task["tests"]:
                        del task["tests"]
        payload = json.dumps(document, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
