"""Atomized files into one masterplan: one task per file, one atom per unit, typed edges.

Python atoms must pass the v1 validator, which wants every atom to define its name at top
level and hoists imports, so two adjustments are made for Python files (TS/JS units map one to
one): a file's import statements travel as ``context.imports`` of the atoms that use them (the
unused ones, such as re-exports, with the file's first atom; ``from __future__`` imports with
every atom, since they change how each one compiles), and statements that bind no
name (a module docstring, ``if __name__ == "__main__":``) join the next atom that does (or the
previous one, at the end of a file). Each atom's code is its reference implementation; its
tests are its doctests when it has any, otherwise empty, so validation is syntax, the defined
name and importing the module built from it and its dependencies. Examples that need a later
atom (a class docstring calling its methods) are skipped there and run whole in the task's
``tests`` once the task is complete, under a test named after the atom.
"""

from __future__ import annotations

import ast
import doctest
import re
import textwrap
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

import networkx as nx

from mge_pipeline.atomization.atomicity import AtomicityReport, assess_atomicity
from mge_pipeline.atomization.atomizer import AtomizedFile
from mge_pipeline.atomization.context import AtomContextInfo, inject_context
from mge_pipeline.atomization.decomposer import decompose
from mge_pipeline.atomization.graph import (
    DependencyGraph,
    SymbolNode,
    TypedEdge,
    break_cycles,
    find_edges,
    merge_edges,
)
from mge_pipeline.atomization.parser import parse_source
from mge_pipeline.atomization.units import Unit, UnitKind
from mge_pipeline.domain import AtomKind, Language, MasterPlan
from mge_pipeline.domain.evidence import doctest_name_for
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.validation.python_validator import module_name_for

_ATOM_KIND = {
    UnitKind.FUNCTION: AtomKind.FUNCTION,
    UnitKind.CLASS: AtomKind.CLASS,
    UnitKind.CLASS_HEADER: AtomKind.CLASS,
    UnitKind.MEMBER: AtomKind.METHOD,
    UnitKind.TYPE: AtomKind.BLOCK,
    UnitKind.STATEMENTS: AtomKind.BLOCK,
    UnitKind.IMPORTS: AtomKind.BLOCK,
}
_SLUG = re.compile(r"[^A-Za-z0-9_]+")


@dataclass
class PlanAtom:
    """One atom of the plan: one unit, or (Python) a unit with the statements folded into it."""

    id: str
    file: AtomizedFile
    units: list[Unit]
    imports: list[str] = field(default_factory=list)
    name: str = ""

    @property
    def main(self) -> Unit:
        return next((u for u in self.units if u.name == self.name), self.units[-1])

    @property
    def code(self) -> str:
        return "".join(unit.code for unit in self.units).strip("\n") + "\n"


@dataclass(frozen=True)
class AtomizedPlan:
    plan: MasterPlan
    graph: DependencyGraph
    atomicity: dict[str, AtomicityReport]
    context: dict[str, AtomContextInfo]
    skipped: list[tuple[str, str]]


def build_masterplan(
    files: Sequence[AtomizedFile],
    *,
    plan_id: str,
    name: str,
    test_command: Sequence[str] = (),
    project_files: Mapping[str, str] | None = None,
) -> AtomizedPlan:
    atoms: list[PlanAtom] = []
    skipped: list[tuple[str, str]] = []
    import_lines: dict[str, dict[str, str]] = {}
    for file in files:
        file_atoms, lines = _atoms_of(file)
        if not file_atoms:
            skipped.append((file.path, "defines no name an atom could be named after"))
            continue
        atoms.extend(file_atoms)
        import_lines[file.relative] = lines
    if not atoms:
        paths = ", ".join(path for path, _ in skipped)
        raise MasterPlanError(
            [f"no atom: no file defines a name an atom can be named after ({paths})"]
        )
    _assign_ids(atoms)
    used_files = {atom.file.relative: atom.file for atom in atoms}
    graph = _atom_graph(atoms, list(used_files.values()))
    known = {name for atom in atoms for unit in atom.units for name in unit.defines}
    contexts: dict[str, AtomContextInfo] = {}
    reports: dict[str, AtomicityReport] = {}
    for atom in atoms:
        contexts[atom.id] = _context(atom, import_lines.get(atom.file.relative, {}), known)
        siblings = frozenset(
            other.name
            for other in atoms
            if other.main.parent_scope and other.main.parent_scope == atom.main.parent_scope
        )
        same_file = [
            dep for dep in graph.graph.predecessors(atom.id) if dep.startswith(_slug(atom.file))
        ]
        reports[atom.id] = assess_atomicity(
            atom.main, contexts[atom.id], siblings=siblings, dependencies=len(same_file)
        )
    document = _document(atoms, graph, contexts, reports, plan_id, name, list(test_command))
    if project_files:
        document["project_files"] = dict(project_files)
    return AtomizedPlan(MasterPlan.model_validate(document), graph, reports, contexts, skipped)


def _atoms_of(file: AtomizedFile) -> tuple[list[PlanAtom], dict[str, str]]:
    units = list(file.decomposition.units)
    if file.decomposition.language is not Language.PYTHON:
        return [PlanAtom("", file, [unit], name=unit.name) for unit in units], {}
    lines = _import_lines([u for u in units if u.kind is UnitKind.IMPORTS])
    atoms: list[PlanAtom] = []
    pending: list[Unit] = []
    for unit in units:
        if unit.kind is UnitKind.IMPORTS:
            continue
        visible = _visible_name(unit)
        if visible is None:
            pending.append(unit)
            continue
        atoms.append(PlanAtom("", file, [*pending, unit], name=visible))
        pending = []
    if pending and atoms:
        last = atoms[-1]
        if last.main.kind is UnitKind.MEMBER:
            return _atoms_of_whole_classes(file), lines
        last.units.extend(pending)
    if atoms:
        atoms[0].imports = list(dict.fromkeys(lines.values()))
    future = [line for line in lines.values() if line.startswith("from __future__")]
    for atom in atoms[1:]:
        atom.imports.extend(dict.fromkeys(future))
    return atoms, lines


def _atoms_of_whole_classes(file: AtomizedFile) -> list[PlanAtom]:
    """Statements after a split class at the end of a file: keep classes whole instead."""
    parsed = parse_source(file.decomposition.source, Language.PYTHON)
    whole = replace(file, decomposition=decompose(parsed, file.relative, split_classes=False))
    atoms, _ = _atoms_of(whole)
    return atoms


def _visible_name(unit: Unit) -> str | None:
    """The name the v1 validator sees defined at the top of the unit's code, if any."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(unit.code)
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    if unit.name in names:
        return unit.name
    return names[0] if names else None


def _import_lines(units: list[Unit]) -> dict[str, str]:
    """Bound name → the one-line import statement that binds it."""
    lines: dict[str, str] = {}
    for unit in units:
        try:
            tree = ast.parse(unit.code)
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            statement = ast.unparse(node)
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                lines.setdefault(bound, statement)
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                lines.setdefault(f"*{statement}", statement)
    return lines


def _slug(file: AtomizedFile) -> str:
    parts = PurePosixPath(file.relative).with_suffix("").parts
    slug = ".".join(_SLUG.sub("_", part).strip("_") or "_" for part in parts) or "file"
    return slug if slug[0].isalpha() or slug[0] == "_" else f"_{slug}"


def _assign_ids(atoms: list[PlanAtom]) -> None:
    seen: dict[str, int] = defaultdict(int)
    for atom in atoms:
        scope = atom.main.parent_scope
        parts = [*([scope] if scope else []), atom.name]
        base = ".".join([_slug(atom.file), *(_SLUG.sub("_", part) or "_" for part in parts)])
        seen[base] += 1
        atom.id = base if seen[base] == 1 else f"{base}-{seen[base]}"


def _atom_graph(atoms: list[PlanAtom], files: Sequence[AtomizedFile]) -> DependencyGraph:
    """Unit-level edges projected onto atoms; Python imports become context, not edges."""
    owner: dict[tuple[str, int], PlanAtom] = {}
    for atom in atoms:
        for unit in atom.units:
            owner[(atom.file.relative, unit.start_line)] = atom
    units = {
        f"{file.relative}:{unit.start_line}": unit
        for file in files
        for unit in file.decomposition.units
    }
    nodes = [_symbol_node(file, unit) for file in files for unit in file.decomposition.units]
    graph = nx.DiGraph()
    for order, atom in enumerate(atoms):
        graph.add_node(atom.id, order=order)
    projected: dict[tuple[str, str], list[TypedEdge]] = defaultdict(list)
    by_key = {node.key: node for node in nodes}
    for edge in find_edges(nodes):
        source_file, source_line = _location(edge.source)
        target_file, target_line = _location(edge.target)
        source = owner.get((source_file, source_line))
        target = owner.get((target_file, target_line))
        if target is None:
            continue
        if source is None:
            if by_key[edge.source].kind is UnitKind.IMPORTS:
                target.imports.extend(_statements_for(edge, units[edge.source]))
            continue
        if source.id != target.id:
            projected[(source.id, target.id)].append(
                replace(edge, source=source.id, target=target.id)
            )
    edges = [merge_edges(group) for group in projected.values()]
    for edge in edges:
        graph.add_edge(edge.source, edge.target, edge=edge)
    removed = break_cycles(graph)
    return DependencyGraph(graph, tuple(edges), tuple(removed))


def _location(key: str) -> tuple[str, int]:
    file, line = key.rsplit(":", 1)
    return file, int(line)


def _symbol_node(file: AtomizedFile, unit: Unit) -> SymbolNode:
    return SymbolNode(
        key=f"{file.relative}:{unit.start_line}",
        file_path=file.relative,
        kind=unit.kind,
        name=unit.name,
        defines=unit.defines,
        uses=unit.uses,
        parent_scope=unit.parent_scope,
        imported=_imported(file, unit),
    )


def _imported(file: AtomizedFile, unit: Unit) -> dict[str, tuple[str, str]]:
    """Python `from pkg.mod import x` → {'x': ('pkg/mod.py', 'x')} (also pkg/mod/__init__.py)."""
    if unit.kind is not UnitKind.IMPORTS or file.decomposition.language is not Language.PYTHON:
        return {}
    try:
        tree = ast.parse(unit.code)
    except SyntaxError:
        return {}
    package = PurePosixPath(file.relative).parent
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.parent
            module = node.module.replace(".", "/")
            target = (base / module) if node.level else PurePosixPath(module)
            for alias in node.names:
                found[alias.asname or alias.name] = (f"{target}.py", alias.name)
    return found


def _statements_for(edge: TypedEdge, unit: Unit) -> list[str]:
    lines = _import_lines([unit])
    return [lines[name] for name in edge.names if name in lines]


def _context(atom: PlanAtom, import_lines: dict[str, str], known: set[str]) -> AtomContextInfo:
    return inject_context(
        atom.main, atom.file.decomposition.language, import_lines=import_lines, known_names=known
    )


def _document(
    atoms: list[PlanAtom],
    graph: DependencyGraph,
    contexts: dict[str, AtomContextInfo],
    reports: dict[str, AtomicityReport],
    plan_id: str,
    name: str,
    test_command: list[str],
) -> dict[str, Any]:
    removed_by_target: dict[str, list[TypedEdge]] = defaultdict(list)
    for edge in graph.removed:
        removed_by_target[edge.target].append(edge)
    tasks: dict[str, dict[str, Any]] = {}
    for atom in atoms:
        task = tasks.setdefault(
            atom.file.relative,
            {
                "id": "task." + _slug(atom.file),
                "name": atom.file.relative,
                "description": f"Rebuild {atom.file.relative} ({atom.file.decomposition.language})",
                "atoms": [],
            },
        )
        deps = sorted(
            graph.graph.predecessors(atom.id), key=lambda d: graph.graph.nodes[d]["order"]
        )
        available = nx.ancestors(graph.graph, atom.id) | {atom.id}
        unavailable = sorted(
            {other.name for other in atoms if other.file is atom.file and other.id not in available}
            - {atom.name}
        )
        task["atoms"].append(
            _atom_document(
                atom, deps, contexts[atom.id], reports[atom.id], removed_by_target, unavailable
            )
        )
        if atom.file.decomposition.language is Language.PYTHON:
            examples = _split_examples(atom, unavailable)
            if examples is not None and examples.deferred:
                deferred = task.setdefault("tests", "")
                task["tests"] = deferred + ("\n\n" if deferred else "") + _task_doctests(atom)
    return {
        "id": plan_id,
        "name": name,
        "description": "Atomized from existing code; each atom's original code is its reference.",
        "phases": [
            {
                "id": "atomized",
                "name": "Atomized sources",
                "milestones": [
                    {"id": "rebuild", "name": "Rebuild the sources", "tasks": list(tasks.values())}
                ],
            }
        ],
        "test_command": test_command,
    }


def _atom_document(
    atom: PlanAtom,
    deps: list[str],
    context: AtomContextInfo,
    report: AtomicityReport,
    removed: dict[str, list[TypedEdge]],
    unavailable: Sequence[str] = (),
) -> dict[str, Any]:
    main = atom.main
    language = atom.file.decomposition.language
    first, last = atom.units[0].start_line, atom.units[-1].end_line
    notes = [f"atomicity {report.score:.1f}, context completeness {context.completeness:.0%}"]
    notes += [f"violation: {violation}" for violation in report.violations]
    notes += [
        f"cycle broken: depends on {edge.source} ({edge.type.value}: {', '.join(edge.names)}), "
        "generated from its signature only"
        for edge in removed.get(atom.id, [])
    ]
    code = atom.code
    return {
        "id": atom.id,
        "name": atom.name,
        "description": _description(atom, main, first, last),
        "language": language.value,
        "file_path": atom.file.relative,
        "kind": _ATOM_KIND[main.kind].value,
        "signature": _signature(code, atom.name),
        "depends_on": deps,
        "tests": _atom_doctests(atom, context, unavailable) if language is Language.PYTHON else "",
        "estimated_loc": min(max(sum(u.loc for u in atom.units), 1), 400),
        "context": {
            "imports": list(dict.fromkeys(atom.imports)),
            "parent_scope": main.parent_scope,
            "notes": "\n".join(notes),
        },
        "reference_implementation": code,
    }


def _description(atom: PlanAtom, main: Unit, first: int, last: int) -> str:
    what = f"{main.kind.value.replace('_', ' ')} `{atom.name}`"
    if main.parent_scope:
        what += f" of class `{main.parent_scope}`"
    text = f"Rebuild the {what} from {atom.file.relative} lines {first}-{last}."
    if main.whole_reason:
        text += f" Kept whole ({main.loc} LOC): {main.whole_reason}."
    return text


def _signature(code: str, name: str) -> str:
    """The declaration's first line (with overloads, each signature), never a comment line."""
    lines = [line for line in _without_comments(code).splitlines() if line.strip()]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("def ", "async def ", "class ")) and name in stripped:
            signature = [stripped]
            for more in lines[index + 1 :]:
                if signature[-1].endswith(":"):
                    break
                signature.append(more.strip())
            return " ".join(signature)[:400]
    code_lines = [line.strip() for line in lines]
    overloads = [line for line in code_lines if _SCRIPT_SIGNATURE.match(line)]
    if len(overloads) > 1:
        return " ".join(overloads)[:400]
    naming = [line for line in code_lines if re.search(rf"(?<![\w$]){re.escape(name)}\b", line)]
    return (naming or code_lines or [name])[0][:400]


_SCRIPT_SIGNATURE = re.compile(r"^(export\s+)?(declare\s+)?function\b[^{]*\)[^{]*;$")


def _without_comments(code: str) -> str:
    """Python ``#`` lines and JS/TS ``//`` lines and ``/* … */`` blocks blanked."""
    code = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count("\n"), code, flags=re.DOTALL)
    return "\n".join(
        "" if line.strip().startswith(("#", "//")) else line for line in code.splitlines()
    )


def _atom_doctests(atom: PlanAtom, context: AtomContextInfo, unavailable: Sequence[str]) -> str:
    """The atom's own doctest runner: the examples its check can run, if any."""
    examples = _split_examples(atom, unavailable)
    if examples is None:  # no docstring the doctest parser reads: the examples as found
        runnable = _runnable(context.test_cases, unavailable)
        return _doctest_runner(atom, unavailable) if runnable else ""
    if not examples.runnable:
        return ""
    return _doctest_runner(atom, examples.skipped_names)


@dataclass(frozen=True)
class _Examples:
    runnable: int
    """Examples the atom's own check runs."""
    deferred: int
    """Examples that need a later atom: the whole docstring then runs at the task level."""
    skipped_names: list[str]
    """What the atom's runner skips examples by: the names it does not have, then the names
    an example it skips binds or changes (``s.push(1)`` skipped: ``s`` is not what the next
    example expects, so an example that reads ``s`` is skipped as well)."""


def _split_examples(atom: PlanAtom, unavailable: Sequence[str]) -> _Examples | None:
    """The atom's doctest examples, split into those its check can run and those deferred to
    its task; None when its docstring cannot be read here."""
    docstring = _docstring(atom.main.code, atom.name)
    if docstring is None:
        return None
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        return None
    if not examples:
        return None
    session = set().union(*(_bound_names(e.source) for e in examples))
    skipped = list(dict.fromkeys(unavailable))
    while skipped:
        pattern = _word_pattern(skipped)
        deferred = [e.source for e in examples if pattern.search(e.source)]
        touched = {
            name for source in deferred for name in session if _word_pattern([name]).search(source)
        }
        grown = list(dict.fromkeys([*skipped, *sorted(touched)]))
        if grown == skipped:
            break
        skipped = grown
    final = _word_pattern(skipped) if skipped else None
    deferred_count = sum(1 for e in examples if final is not None and final.search(e.source))
    return _Examples(len(examples) - deferred_count, deferred_count, skipped)


def _word_pattern(names: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


def _docstring(code: str, name: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == name
        ):
            return ast.get_docstring(node)
    return None


def _bound_names(source: str) -> set[str]:
    """Names an example binds for the examples after it (``s = Stack()``, ``import re``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _task_doctests(atom: PlanAtom) -> str:
    """The task-level test of an atom some of whose examples need later atoms: once the task
    is complete, every example of its docstring runs, in order, in the assembled module."""
    target = f"{atom.main.parent_scope}.{atom.name}" if atom.main.parent_scope else atom.name
    module = module_name_for(atom.file.relative)
    return (
        f"def {doctest_name_for(atom.id)}():\n"
        "    import doctest\n"
        "    import importlib\n"
        f"    module = importlib.import_module({module!r})\n"
        "    target = module\n"
        f"    for part in {target.split('.')!r}:\n"
        "        target = getattr(target, part)\n"
        "    globs = dict(vars(module))\n"
        "    globs.setdefault(module.__name__.rpartition('.')[2], module)\n"
        "    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)\n"
        "    finder = doctest.DocTestFinder(recurse=False)\n"
        f"    for test in finder.find(target, {target!r}, globs=globs):\n"
        "        runner.run(test)\n"
        "    assert runner.tries > 0, 'no doctest example found'\n"
        "    assert runner.failures == 0, "
        f"f'{{runner.failures}} doctest examples of {target} failed'\n"
    )


def _runnable(examples: Sequence[str], unavailable: Sequence[str]) -> bool:
    """Some example uses only names the atom's check will have."""
    if not unavailable:
        return bool(examples)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, unavailable)) + r")\b")
    return any(not pattern.search(example) for example in examples)


def _doctest_runner_without(atom: PlanAtom, target: str, unavailable: list[str]) -> str:
    return (
        f"def test_doctests_of_{_SLUG.sub('_', atom.name)}():\n"
        "    import doctest\n"
        "    import re\n"
        "    import sys\n"
        f"    unavailable = re.compile(r'\\b(' + '|'.join({unavailable!r}) + r')\\b')\n"
        "    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)\n"
        "    finder = doctest.DocTestFinder(recurse=False)\n"
        "    globs = dict(globals())\n"
        "    globs.setdefault(__name__.rpartition('.')[2], sys.modules[__name__])\n"
        "    ran = 0\n"
        f"    for test in finder.find({target}, {target!r}, globs=globs):\n"
        "        test.examples = [e for e in test.examples if not unavailable.search(e.source)]\n"
        "        ran += len(test.examples)\n"
        "        runner.run(test)\n"
        "    assert ran > 0, 'every example uses a name this atom does not depend on'\n"
        "    assert runner.failures == 0, f'{runner.failures} doctest examples failed'\n"
    )


def _doctest_runner(atom: PlanAtom, unavailable: Sequence[str] = ()) -> str:
    """Runs the atom's doctests in its module's namespace; examples often name the module
    itself (``textwrap.shorten(...)``), so it is there under its own name too.

    An example that uses a name of the same file which the atom does not depend on (a
    docstring of ``camelize`` showing ``camelize(underscore(...))``, a class docstring calling
    methods that are atoms of later waves) cannot run when the atom is checked; it is skipped
    here, at least one example must run, and the whole docstring runs in the task's tests
    once the task is complete (``_task_doctests``)."""
    target = f"{atom.main.parent_scope}.{atom.name}" if atom.main.parent_scope else atom.name
    if unavailable:
        return _doctest_runner_without(atom, target, list(unavailable))
    return (
        f"def test_doctests_of_{_SLUG.sub('_', atom.name)}():\n"
        "    import doctest\n"
        "    import sys\n"
        "    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)\n"
        "    finder = doctest.DocTestFinder(recurse=False)\n"
        "    globs = dict(globals())\n"
        "    globs.setdefault(__name__.rpartition('.')[2], sys.modules[__name__])\n"
        f"    for test in finder.find({target}, {target!r}, globs=globs):\n"
        "        runner.run(test)\n"
        "    assert runner.failures == 0, f'{runner.failures} doctest examples failed'\n"
    )
