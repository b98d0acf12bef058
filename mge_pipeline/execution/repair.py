"""Plan-level test failures sent back to the atoms that caused them.

When a task's tests, the plan's acceptance tests or its test command fail on the assembled
files, the atoms behind the failure are generated again with the failing output as feedback,
within their attempt and budget limits, and the plan's checks run again (``finalize``).
Suspects come from the evidence at hand, best first: atoms whose code a traceback of the
output passes through (deepest frame first), then the atoms a failed doctest example names,
then the atoms the failing tests called — when the command ran pytest, the launcher records
calls per test, so an atom only a passing test ran is not suspected; otherwise the whole
command's calls stand in — the least proven first (no behavioural evidence of their own, then
surviving mutants). Bounded: at most ``MAX_SUSPECTS`` atoms per round, ``repair_rounds``
rounds (run config).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence

from mge_pipeline.domain import AtomSpec
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.evidence import exercised_atoms, qualified_name
from mge_pipeline.validation.test_command import PerTestOutcomes

MAX_SUSPECTS = 3
FEEDBACK_CHARS = 1500
_FRAME = re.compile(r'File "([^"]+)", line (\d+)|^([\w./-]+\.py):(\d+)', re.MULTILINE)


def traceback_atoms(output: str, files: Mapping[str, str], atoms: Iterable[AtomSpec]) -> list[str]:
    """Atoms whose code the output's tracebacks pass through, deepest (last) frame first."""
    by_place = {(a.file_path, qualified_name(a)): a.id for a in atoms}
    found: list[str] = []
    for match in _FRAME.finditer(output):
        if _is_doctest_header(output, match.end()):
            continue
        path, line = match.group(1) or match.group(3), int(match.group(2) or match.group(4))
        relative = next((f for f in files if path == f or path.endswith("/" + f)), None)
        if relative is None:
            continue
        scope = enclosing_scope(files[relative], line)
        atom_id = by_place.get((relative, scope)) if scope else None
        if atom_id is None and scope and "." in scope:
            atom_id = by_place.get((relative, scope.split(".", 1)[0]))
        if atom_id is not None:
            found.append(atom_id)
    return list(dict.fromkeys(reversed(found)))


def _is_doctest_header(output: str, end: int) -> bool:
    """A doctest report's ``File "m.py", line 12, in m.Stack`` followed by ``Failed example:``
    says where the example is written (a docstring), not code that ran: no frame."""
    line_end = output.find("\n", end)
    return line_end != -1 and output.startswith("Failed example:", line_end + 1)


def enclosing_scope(source: str, line: int) -> str | None:
    """The qualified name of the innermost function or class around ``line``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: list[str] = []
    body: Sequence[ast.stmt] = tree.body
    while True:
        inner = next(
            (
                node
                for node in body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.lineno <= line <= (node.end_lineno or node.lineno)
            ),
            None,
        )
        if inner is None:
            return ".".join(names) or None
        names.append(inner.name)
        body = inner.body


def suspects(
    traced: Sequence[str],
    called: Sequence[str],
    results: Mapping[str, AtomResultRecord],
    limit: int = MAX_SUSPECTS,
) -> list[str]:
    """Traced atoms first, then called ones by how little their own checks prove."""

    def weakness(atom_id: str) -> tuple[int, int]:
        row = results.get(atom_id)
        own = [k for k in (row.evidence if row else ()) if k.value != "test_command"]
        survivors = len(row.mutation.survivors) if row and row.mutation else 0
        return (1 if own else 0, -survivors)

    ranked = list(traced) + sorted((a for a in called if a not in traced), key=weakness)
    return [a for a in dict.fromkeys(ranked) if a in results and results[a].validated][:limit]


def failure_feedback(outputs: Iterable[str]) -> str:
    """The failing output as the regenerated atom's feedback, bounded."""
    text = "\n".join(o.strip() for o in outputs if o.strip())
    lines = [line for line in text.splitlines() if not line.startswith("MGE-")]
    return "\n".join(lines)[-FEEDBACK_CHARS:]


def failing_tests_atoms(
    outcomes: PerTestOutcomes | None, atoms: Iterable[AtomSpec]
) -> list[str] | None:
    """The atoms whose code the failing tests ran, in the order given; None when that is not
    known — the command did not run pytest, no failing test was listed, more failed than were
    listed, or a failing test's calls did not fit in the output — so the whole command's calls
    stand in."""
    if outcomes is None or not outcomes.failed or not outcomes.complete:
        return None
    called: set[tuple[str, str]] = set()
    for by_test in outcomes.failed.values():
        if by_test is None:
            return None
        called |= by_test
    return exercised_atoms(atoms, called, {file for file, _ in called})


_FAILED_EXAMPLE = re.compile(r"^Failed example:\n((?:[ \t]+.*\n?)+)", re.MULTILINE)


def doctest_example_atoms(output: str, candidates: Iterable[AtomSpec]) -> list[str]:
    """Of ``candidates``, the atoms whose name a failed doctest example of the output uses,
    in the order given: a wrong ``>>> s.peek()`` points at ``peek`` before anything else the
    docstring's test ran. The candidates are what the failing tests called, so a name shared
    by unrelated atoms elsewhere in the plan is not taken for them."""
    sources = [match.group(1) for match in _FAILED_EXAMPLE.finditer(output)]
    if not sources:
        return []
    text = "\n".join(sources)
    return [
        atom.id
        for atom in candidates
        if re.search(rf"(?<![\w]){re.escape(atom.name)}(?![\w])", text)
    ]
