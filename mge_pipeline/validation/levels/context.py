"""What the level checks share: the plan's atoms with code, the assembled files and their trees,
and which atom defines which name, so every finding can name the atoms it implicates."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mge_pipeline.domain import (
    AtomSpec,
    ErrorCategory,
    LevelIssue,
    LevelValidation,
    MasterPlan,
    Severity,
    ValidationLevel,
)
from mge_pipeline.validation.checks.names import parse_or_none, top_level_definitions
from mge_pipeline.validation.python_validator import module_name_for

ERROR_WEIGHT = 0.2
WARNING_WEIGHT = 0.02
COMPLETENESS = "completeness"


@dataclass
class LevelContext:
    plan: MasterPlan
    codes: dict[str, str]
    files: dict[str, str]
    trees: dict[str, ast.Module] = field(default_factory=dict)
    atoms: dict[str, AtomSpec] = field(default_factory=dict)

    @classmethod
    def build(cls, plan: MasterPlan, codes: dict[str, str], files: dict[str, str]) -> LevelContext:
        trees = {
            path: tree
            for path, source in files.items()
            if path.endswith(".py") and (tree := parse_or_none(source)) is not None
        }
        return cls(plan, codes, files, trees, plan.atom_map())

    def code_tree(self, atom_id: str) -> ast.Module | None:
        return parse_or_none(self.codes.get(atom_id))

    def definers(self, atom_ids: Iterable[str]) -> dict[str, list[str]]:
        """Top-level name → the atoms (among ``atom_ids``) whose code defines it."""
        found: dict[str, list[str]] = {}
        for atom_id in atom_ids:
            tree = self.code_tree(atom_id)
            if tree is not None and self.atoms[atom_id].context.parent_scope is None:
                for name in top_level_definitions(tree):
                    found.setdefault(name, []).append(atom_id)
        return found

    def readers(self, atom_ids: Iterable[str], name: str) -> list[str]:
        """The atoms whose code reads ``name`` (as a name or the root of an attribute chain)."""
        return [
            atom_id
            for atom_id in atom_ids
            if (tree := self.code_tree(atom_id)) is not None
            and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))
        ]

    def atoms_in_file(self, path: str, among: Iterable[str]) -> list[str]:
        return [a for a in among if self.atoms[a].file_path == path]

    def module_files(self, atom_ids: Iterable[str]) -> dict[str, str]:
        """Module name → file, for the Python files the atoms live in."""
        paths = sorted({self.atoms[a].file_path for a in atom_ids})
        return {module_name_for(p): p for p in paths if p in self.trees}


def issue(
    severity: Severity,
    category: ErrorCategory,
    check: str,
    message: str,
    atom_ids: Sequence[str] = (),
) -> LevelIssue:
    return LevelIssue(
        severity=severity,
        category=category,
        check=check,
        message=message,
        atom_ids=list(dict.fromkeys(atom_ids)),
    )


def verdict(
    level: ValidationLevel, scope_id: str, issues: list[LevelIssue], duration: float
) -> LevelValidation:
    """Score: 1 minus 0.2 per error and 0.02 per warning, never below 0; passed = no error."""
    errors = sum(1 for i in issues if i.severity is Severity.ERROR)
    warnings = len(issues) - errors
    score = max(0.0, 1.0 - ERROR_WEIGHT * errors - WARNING_WEIGHT * warnings)
    return LevelValidation(
        level=level,
        scope_id=scope_id,
        score=round(score, 3),
        passed=errors == 0,
        issues=issues,
        duration_seconds=duration,
    )


def missing_atoms(context: LevelContext, atom_ids: Sequence[str]) -> list[LevelIssue]:
    missing = [a for a in atom_ids if a not in context.codes]
    if not missing:
        return []
    message = f"{len(missing)} atom(s) did not validate: {', '.join(missing)}"
    return [issue(Severity.ERROR, ErrorCategory.DEPENDENCY, COMPLETENESS, message, missing)]
