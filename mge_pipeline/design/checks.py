"""What a schema cannot say about the model's plan, checked before the answer is accepted.

Each check returns one line per violation, naming the task or atom and what is wrong; the
lines go back to the model as feedback (``design/stages.py``), exactly like validation errors
go back to an atom's generator. An empty list means the answer is accepted.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx

from mge_pipeline.domain import Language
from mge_pipeline.domain.atomicity import MAX_LOC
from mge_pipeline.domain.design import PlannedTask, PlanOutline, TaskDecomposition

# An atom is "about ten lines": the model's estimate may not exceed the atomicity criterion's
# LOC limit, the same number the validator measures generated code against.
MAX_ATOM_LOC = MAX_LOC
_TEST_MARKERS = ("assert", "test(", "def test_")


_EXTENSIONS = {
    Language.PYTHON: (".py",),
    Language.TYPESCRIPT: (".ts", ".tsx"),
    Language.JAVASCRIPT: (".js", ".mjs", ".cjs"),
}


def outline_problems(
    outline: PlanOutline, language: Language, package: str | None = None
) -> list[str]:
    """Unique ids at every level, resolvable task dependencies, no cycle, files of the package
    in its language, acceptance tests that parse with test names unique across the plan."""
    tasks = outline.tasks()
    problems = _duplicates("phase", [p.id for p in outline.phases])
    problems += _duplicates("milestone", [m.id for p in outline.phases for m in p.milestones])
    problems += _duplicates("task", [t.id for t in tasks])
    known = {t.id for t in tasks}
    for task in tasks:
        problems += [
            f"task '{task.id}' depends_on: unknown task '{dep}'"
            for dep in task.depends_on
            if dep not in known
        ]
        if task.id in task.depends_on:
            problems.append(f"task '{task.id}' depends_on: a task cannot depend on itself")
        problems += _file_problems(task, language, package)
        problems += _duplicates(f"task '{task.id}' provides", task.provides)
        if language is Language.PYTHON:
            problems += _python_problems(
                f"task '{task.id}' acceptance_tests", task.acceptance_tests
            )
    if language is Language.PYTHON and not problems:
        names = [name for t in tasks for name in _test_names(t.acceptance_tests)]
        problems += _duplicates("acceptance test", names)
    if not problems:
        edges = [(dep, t.id) for t in tasks for dep in t.depends_on]
        problems += cycle_problems("task", known, edges)
    return problems


def decomposition_problems(
    task: PlannedTask,
    decomposition: TaskDecomposition,
    provided: Mapping[str, Sequence[str]],
    language: Language = Language.PYTHON,
) -> list[str]:
    """Unique ids, every dependency resolvable, no cycles, small atoms, tests, provides met.

    ``provided`` maps every task id to the names it provides: an atom may depend on
    ``task_id.name`` for a task its own task depends on.
    """
    atoms = decomposition.atoms
    where = f"task '{task.id}'"
    problems = _duplicates(f"{where} atom", [a.id for a in atoms])
    local = {a.id for a in atoms}
    for atom in atoms:
        problems += [
            f"{where} atom '{atom.id}' depends_on: {why}"
            for dep in atom.depends_on
            if (why := _unresolved(dep, atom.id, local, task, provided))
        ]
        if atom.estimated_loc > MAX_ATOM_LOC:
            problems.append(
                f"{where} atom '{atom.id}' estimated_loc: {atom.estimated_loc} lines is not an "
                f"atom (at most {MAX_ATOM_LOC}); split it into smaller atoms"
            )
        if not any(marker in atom.tests for marker in _TEST_MARKERS):
            problems.append(
                f"{where} atom '{atom.id}' tests: no test (an assert or a test_ function)"
            )
        elif language is Language.PYTHON:
            problems += _parse_problems(f"{where} atom '{atom.id}' tests", atom.tests)
        if atom.name not in atom.signature:
            problems.append(f"{where} atom '{atom.id}' signature: does not name '{atom.name}'")
    names = {a.name for a in atoms}
    problems += [
        f"{where}: no atom defines '{name}', which the task provides"
        for name in task.provides
        if name not in names
    ]
    if not problems:
        edges = [(dep, a.id) for a in atoms for dep in a.depends_on if dep in local]
        problems += cycle_problems(f"{where} atom", local, edges)
    return problems


def cycle_problems(kind: str, nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """One line per elementary cycle, in a stable order, e.g. ``task cycle: a -> b -> a``."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    rotated = []
    for cycle in nx.simple_cycles(graph):
        start = cycle.index(min(cycle))
        rotated.append(cycle[start:] + cycle[:start])
    return [f"{kind} cycle: " + " -> ".join([*cycle, cycle[0]]) for cycle in sorted(rotated)[:10]]


def _unresolved(
    dep: str,
    atom_id: str,
    local: set[str],
    task: PlannedTask,
    provided: Mapping[str, Sequence[str]],
) -> str | None:
    if dep == atom_id:
        return "an atom cannot depend on itself"
    if dep in local:
        return None
    other, _, name = dep.partition(".")
    if not name:
        return f"unknown atom '{dep}' (another task's name is written 'task_id.name')"
    if other not in task.depends_on:
        return f"'{dep}' is in task '{other}', which task '{task.id}' does not depend on"
    if name not in provided.get(other, ()):
        return f"task '{other}' provides no '{name}'"
    return None


def _duplicates(kind: str, ids: Sequence[str]) -> list[str]:
    return [f"{kind} id '{i}' is used {n} times" for i, n in Counter(ids).items() if n > 1]


def _file_problems(task: PlannedTask, language: Language, package: str | None) -> list[str]:
    where = f"task '{task.id}' file_path '{task.file_path}'"
    parts = task.file_path.replace("\\", "/").split("/")
    if task.file_path.startswith("/") or ".." in parts:
        return [f"{where}: must be relative, inside the output directory"]
    problems = []
    if package and parts[0] != package:
        problems.append(f"{where}: must be under the package folder '{package}/'")
    if not task.file_path.endswith(_EXTENSIONS[language]):
        problems.append(f"{where}: not a {language.value} file")
    return problems


def _test_names(code: str) -> list[str]:
    tree = ast.parse(code)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def _parse_problems(where: str, code: str) -> list[str]:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return [f"{where}: does not parse (line {exc.lineno}: {exc.msg})"]
    return []


def _python_problems(where: str, code: str) -> list[str]:
    problems = _parse_problems(where, code)
    if problems:
        return problems
    tree = ast.parse(code)
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    return [] if tests else [f"{where}: defines no test_ function"]
