"""Which atoms a passing test command exercised: the plan-level evidence given to atoms.

A command that passes says nothing about an atom whose code it never ran, so only atoms whose
code ran get the evidence: a function or method that was called, a class one of whose methods
was called. A block (constants, module-level statements) runs when its file is imported, so a
loaded file exercises its blocks. Node commands say only which files they loaded; their atoms
are taken as exercised when their file was loaded, which is weaker and documented as such.
"""

from __future__ import annotations

from collections.abc import Iterable

from mge_pipeline.domain import AtomKind, AtomSpec, Language


def qualified_name(atom: AtomSpec) -> str:
    """The name Python gives the atom's code object: ``Class.method`` or ``function``."""
    scope = atom.context.parent_scope
    return f"{scope}.{atom.name}" if scope and atom.kind is AtomKind.METHOD else atom.name


def exercised_atoms(
    atoms: Iterable[AtomSpec],
    called: set[tuple[str, str]] | None,
    loaded_files: Iterable[str] | None,
) -> list[str]:
    """The ids of the atoms whose code the command ran, in the order given."""
    loaded = set(loaded_files or ())
    return [atom.id for atom in atoms if _exercised(atom, called, loaded)]


def _exercised(atom: AtomSpec, called: set[tuple[str, str]] | None, loaded: set[str]) -> bool:
    if atom.file_path not in loaded:
        return False
    if atom.language is not Language.PYTHON or atom.kind is AtomKind.BLOCK:
        return True
    if called is None:
        return False
    name = qualified_name(atom)
    prefix = name + "."
    return any(
        file == atom.file_path and (qualname == name or qualname.startswith(prefix))
        for file, qualname in called
    )
