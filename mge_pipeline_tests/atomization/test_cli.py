"""`mge atomize` → `mge run` → the module's own tests, and `mge graph`, as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mge_pipeline import constants
from mge_pipeline.generation import SimulatedModel
from mge_pipeline.generation.faults import FaultKind
from mge_pipeline_tests.atomization.helpers import SAMPLE
from mge_pipeline_tests.cli.test_cli import mge

pytestmark = pytest.mark.e2e


def _project(root: Path) -> tuple[Path, Path]:
    """The sample module under src/ (with two files atomize must skip) and its tests apart."""
    source, tests = root / "src", root / "tests"
    source.mkdir()
    tests.mkdir()
    shutil.copy(SAMPLE / "textstats.py", source / "textstats.py")
    shutil.copy(SAMPLE / "tests" / "check_textstats.py", tests / "test_textstats.py")
    (source / "README.md").write_text("# notes\n")
    (source / "broken.py").write_text("def f(:\n")
    return source, tests


def test_an_atomized_module_is_rebuilt_and_passes_its_own_tests(
    clean_environment: Path, tmp_path: Path
) -> None:
    source, tests = _project(tmp_path)
    plan = tmp_path / "plan.yaml"
    command = f"python -m pytest -q -p no:cacheprovider {tests}"
    result = mge(
        "atomize",
        str(source),
        "-o",
        str(plan),
        "--root",
        str(source),
        "--id",
        "textstats",
        "--test-command",
        command,
        home=clean_environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"skipped {source / 'README.md'}: not Python, TypeScript or JavaScript",
        f"skipped {source / 'broken.py'}: syntax error: line 1, column 7: missing ')'",
    ]
    assert "atomized 1 files into 15 atoms" in result.stdout
    assert "cycle broken: removed dependency textstats.is_even -> " in result.stdout
    assert "characterization tests: 5 atoms, from calls recorded" in result.stdout

    output = tmp_path / "out"
    # Fault rate 0: atoms without doctests are validated by syntax and import only, so an
    # injected wrong result would be caught by the test command alone, failing the run.
    run = mge(
        "run",
        str(plan),
        *("--output", str(output), "--latency", "0", "--fault-rate", "0"),
        home=clean_environment,
        env={"MGE_SANDBOX_READ_ONLY": str(tests)},  # the sandbox shows checks no host file else
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "completed", report["reason"]
    assert report["test_command"] == "passed"
    assert (output / "textstats.py").exists()
    evidence = {a["atom_id"]: a["evidence"] for a in report["atoms"]}
    assert "characterization" in evidence["textstats.flesch"]
    unverified = [atom_id for atom_id, kinds in evidence.items() if not kinds]
    assert unverified == ["textstats.WordIndex.__hash__"], "the module's tests never hash one"
    assert "test_command" in evidence["textstats.WordIndex.lookup"]
    assert report["atoms_verified"] == 14

    dot, mermaid = tmp_path / "g.dot", tmp_path / "g.mmd"
    graph = mge(
        "graph", str(plan), "--dot", str(dot), "--mermaid", str(mermaid), home=clean_environment
    )
    assert graph.returncode == 0, graph.stderr
    assert "critical path (atoms)" in graph.stdout and "FUNCTION_CALL" in graph.stdout
    assert dot.read_text().startswith('digraph "textstats" {')
    assert mermaid.read_text().startswith("flowchart LR")


def test_atomize_fails_when_nothing_could_be_atomized(
    clean_environment: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = mge("atomize", str(notes), "-o", str(tmp_path / "p.yaml"), home=clean_environment)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"skipped {notes}: not Python, TypeScript or JavaScript",
        "error: no file could be atomized",
    ]


def test_atomize_carries_project_files_and_refuses_one_outside_the_root(
    clean_environment: Path, tmp_path: Path
) -> None:
    source = tmp_path / "src" / "half.ts"
    source.parent.mkdir()
    source.write_text("export function half(x: number): number {\n  return x / 2;\n}\n")
    config = tmp_path / "tsconfig.json"
    config.write_text('{"compilerOptions": {"strict": true}}\n')
    out = tmp_path / "plan.yaml"
    root = ["--root", str(tmp_path)]
    result = mge("atomize", str(source), "-o", str(out), *root, "--project-file", str(config),
                 home=clean_environment)  # fmt: skip
    assert result.returncode == 0, result.stderr
    plan = yaml.safe_load(out.read_text())
    assert plan["project_files"] == {"tsconfig.json": config.read_text()}
    assert plan["phases"][0]["milestones"][0]["tasks"][0]["atoms"][0]["file_path"] == "src/half.ts"
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text("{}")
    refused = tmp_path / "refused.yaml"
    result = mge("atomize", str(source), "-o", str(refused), *root, "--project-file",
                 str(outside), home=clean_environment)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: --project-file {outside}: not under the root {tmp_path.resolve()}"
    ]
    assert not refused.exists()


def test_at_the_default_fault_rate_a_fault_its_checks_miss_is_sent_back_and_repaired(
    clean_environment: Path, tmp_path: Path
) -> None:
    """Seed 2 at the default rate: only `WordIndex.lookup` (no tests of its own) gets a fault
    on its first attempt, one validation cannot see; the module's own tests catch it after
    assembly, the traceback leads back to it, and it is regenerated until they pass."""
    source, tests = _project(tmp_path)
    plan = tmp_path / "plan.yaml"
    command = f"python -m pytest -q -p no:cacheprovider {tests}"
    atomized = mge("atomize", str(source), "-o", str(plan), "--root", str(source), "--id",
                   "textstats", "--test-command", command, home=clean_environment)  # fmt: skip
    assert atomized.returncode == 0, atomized.stderr
    output = tmp_path / "out"
    run = mge(
        "run", str(plan), *("--output", str(output), "--latency", "0", "--seed", "2"),
        home=clean_environment, env={"MGE_SANDBOX_READ_ONLY": str(tests)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "completed" and report["test_command"] == "passed"
    assert len(report["repairs"]) == 1
    assert "regenerated textstats.WordIndex.lookup" in report["repairs"][0]
    lookup = next(a for a in report["atoms"] if a["atom_id"] == "textstats.WordIndex.lookup")
    assert lookup["attempts"] == 2


STACK_ATOMS = [
    "stack.Stack", "stack.Stack.__init__", "stack.Stack.push", "stack.Stack.pop",
    "stack.Stack.peek", "stack.Stack.__len__",
]  # fmt: skip
_UNSEEN_FAULTS = {FaultKind.EXCEPTION, FaultKind.WRONG_RESULT, FaultKind.MISSING_IMPORT}


def _atomized_stack(home: Path, tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(SAMPLE / "stack.py", source / "stack.py")
    plan = tmp_path / "plan.yaml"
    result = mge("atomize", str(source), "-o", str(plan), "--root", str(source), "--id",
                 "stack", home=home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return plan


def test_a_class_doctest_that_needs_its_methods_runs_at_the_task_and_is_its_evidence(
    clean_environment: Path, tmp_path: Path
) -> None:
    """The class docstring's examples call methods that are atoms of later waves: the class's
    own check cannot run them, so they go to the task's tests and run once the task is done."""
    plan_file = _atomized_stack(clean_environment, tmp_path)
    document = yaml.safe_load(plan_file.read_text())
    task = document["phases"][0]["milestones"][0]["tasks"][0]
    atoms = {atom["id"]: atom for atom in task["atoms"]}
    assert list(atoms) == STACK_ATOMS
    assert atoms["stack.Stack"]["tests"] == "", "every example needs a method (or `s` after one)"
    assert "def test_doctests_of_stack_Stack():" in task["tests"]
    output = tmp_path / "out"
    run = mge("run", str(plan_file), "--output", str(output), "--latency", "0", "--fault-rate",
              "0", home=clean_environment)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "completed", report["reason"]
    evidence = {a["atom_id"]: a["evidence"] for a in report["atoms"]}
    assert evidence["stack.Stack"] == ["doctests"]
    assert evidence["stack.Stack.peek"] == [], "only the class's own test names it"
    task_level = next(level for level in report["levels"] if level["scope_id"] == "task.stack")
    assert task_level["passed"], task_level


def _seed_with_a_fault_only_in_peek() -> int:
    """At the default fault rate: the first answer for ``peek`` carries a fault its checks
    cannot see (it has no tests), every other first answer and every second one is clean."""
    for seed in range(5000):
        model = SimulatedModel(seed=seed, fault_rate=constants.DEFAULT_FAULT_RATE)
        if (
            model.choose_fault("stack.Stack.peek", 1) in _UNSEEN_FAULTS
            and all(model.choose_fault(a, 1) is None for a in STACK_ATOMS if "peek" not in a)
            and all(model.choose_fault(a, 2) is None for a in STACK_ATOMS)
        ):
            return seed
    raise AssertionError("no seed found")


def test_a_fault_only_the_class_doctest_exercises_is_caught_at_the_task_and_repaired(
    clean_environment: Path, tmp_path: Path
) -> None:
    plan_file = _atomized_stack(clean_environment, tmp_path)
    output = tmp_path / "out"
    seed = str(_seed_with_a_fault_only_in_peek())
    run = mge("run", str(plan_file), "--output", str(output), "--latency", "0", "--seed", seed,
              home=clean_environment)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "completed", report["reason"]
    assert len(report["repairs"]) == 1, report["repairs"]
    repair = report["repairs"][0]
    assert repair.startswith("round 1 after the tests of task task.stack failed: ")
    assert "test_doctests_of_stack_Stack" in repair
    assert "regenerated stack.Stack.peek" in repair, "the failed example `s.peek()` names it"
    atoms = {a["atom_id"]: a for a in report["atoms"]}
    assert atoms["stack.Stack.peek"]["attempts"] == 2
    assert atoms["stack.Stack"]["evidence"] == ["doctests"]
    assert (
        "def peek(self) -> int:\n        return self.items[-1]" in (output / "stack.py").read_text()
    )
