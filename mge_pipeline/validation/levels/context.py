"""What the level checks share: the plan's atoms with code, the assembled files and their trees,
and which atom defines which name, so every finding can name the atoms it implicates.

Validation runs once over every atom of a run, and the checks of all three levels ask the same
questions many times (an atom's tree, a file's definitions, which atoms live in a file). The
context answers each from a cache filled on first use, so every atom's code and every file is
parsed and walked once per validation: the cost is linear in the number of atoms.
"""

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
from mge_pipeline.validation.checks.names import (
    parse_or_none,
    top_level_definitions,
    undefined_names,
)
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
    _code_trees: dict[str, ast.Module | None] = field(default_factory=dict, repr=False)
    _names_read: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _code_definitions: dict[str, dict[str, ast.stmt]] = field(default_factory=dict, repr=False)
    _imports: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _definitions: dict[str, dict[str, ast.stmt]] = field(default_factory=dict, repr=False)
    _undefined: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _modules: dict[str, str] | None = field(default=None, repr=False)
    file_imports: dict[str, list[tuple[str, tuple[str, ...], str]]] = field(
        default_factory=dict, repr=False
    )
    """Per file: (imported plan module, names, statement), filled by ``interfaces``."""

    @classmethod
    def build(cls, plan: MasterPlan, codes: dict[str, str], files: dict[str, str]) -> LevelContext:
        trees = {
            path: tree
            for path, source in files.items()
            if path.endswith(".py") and (tree := parse_or_none(source)) is not None
        }
        return cls(plan, codes, files, trees, plan.atom_map())

    def code_tree(self, atom_id: str) -> ast.Module | None:
        """The atom's code parsed once; None when it has no code or does not parse."""
        if atom_id not in self._code_trees:
            self._code_trees[atom_id] = parse_or_none(self.codes.get(atom_id))
        return self._code_trees[atom_id]

    def code_definitions(self, atom_id: str) -> dict[str, ast.stmt]:
        """Top-level definitions of the atom's code (empty when it has none or does not parse)."""
        if atom_id not in self._code_definitions:
            tree = self.code_tree(atom_id)
            self._code_definitions[atom_id] = top_level_definitions(tree) if tree else {}
        return self._code_definitions[atom_id]

    def names_read(self, atom_id: str) -> frozenset[str]:
        """Every name the atom's code mentions (as a name or the root of an attribute chain)."""
        if atom_id not in self._names_read:
            tree = self.code_tree(atom_id)
            self._names_read[atom_id] = (
                frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
                if tree is not None
                else frozenset()
            )
        return self._names_read[atom_id]

    def import_statements(self, atom_id: str) -> frozenset[str]:
        """The atom's imports, as ``ast.unparse`` writes them: its context's and its code's."""
        if atom_id not in self._imports:
            statements = set(self.atoms[atom_id].context.imports)
            tree = self.code_tree(atom_id)
            if tree is not None:
                statements |= {
                    ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
                }
            self._imports[atom_id] = frozenset(s.strip() for s in statements)
        return self._imports[atom_id]

    def file_definitions(self, path: str) -> dict[str, ast.stmt]:
        """Top-level definitions of an assembled file (empty when it does not parse)."""
        if path not in self._definitions:
            tree = self.trees.get(path)
            self._definitions[path] = top_level_definitions(tree) if tree is not None else {}
        return self._definitions[path]

    def file_undefined_names(self, path: str) -> dict[str, int]:
        """Names an assembled file reads that nothing binds → first line."""
        if path not in self._undefined:
            tree = self.trees.get(path)
            self._undefined[path] = undefined_names(tree, None) if tree is not None else {}
        return self._undefined[path]

    def definers(self, atom_ids: Iterable[str]) -> dict[str, list[str]]:
        """Top-level name → the atoms (among ``atom_ids``) whose code defines it."""
        found: dict[str, list[str]] = {}
        for atom_id in atom_ids:
            if self.atoms[atom_id].context.parent_scope is None:
                for name in self.code_definitions(atom_id):
                    found.setdefault(name, []).append(atom_id)
        return found

    def readers(self, atom_ids: Iterable[str], name: str) -> list[str]:
        """The atoms whose code reads ``name`` (as a name or the root of an attribute chain)."""
        return [atom_id for atom_id in atom_ids if name in self.names_read(atom_id)]

    def atoms_in_file(self, path: str, among: Iterable[str]) -> list[str]:
        return [a for a in among if self.atoms[a].file_path == path]

    def atoms_by_file(self, atom_ids: Iterable[str]) -> dict[str, list[str]]:
        """File → its atoms among ``atom_ids``, in their order: one pass, not one per file."""
        grouped: dict[str, list[str]] = {}
        for atom_id in atom_ids:
            grouped.setdefault(self.atoms[atom_id].file_path, []).append(atom_id)
        return grouped

    def module_files(self, atom_ids: Iterable[str]) -> dict[str, str]:
        """Module name → file, for the Python files the atoms live in."""
        return self.modules_of({self.atoms[a].file_path for a in atom_ids})

    def modules_of(self, paths: Iterable[str]) -> dict[str, str]:
        """Module name → file, for those of ``paths`` that are parsed Python files."""
        return {module_name_for(p): p for p in sorted(paths) if p in self.trees}

    def plan_modules(self) -> dict[str, str]:
        """Module name → file for every Python file of the plan (computed once)."""
        if self._modules is None:
            self._modules = self.module_files(self.atoms)
        return self._modules


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
