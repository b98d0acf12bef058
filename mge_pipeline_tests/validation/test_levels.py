"""Hierarchical validation: each check of the task, milestone and masterplan levels, the
atoms a failure implicates, the task's test command, storage and the run's outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mge_pipeline.domain import (
    AtomResult,
    AtomStatus,
    ExecutionStatus,
    LevelValidation,
    MasterPlan,
    Severity,
    ValidationLevel,
)
from mge_pipeline.execution.assembly import assemble_files
from mge_pipeline.execution.finalize import finalize
from mge_pipeline.execution.plan_bundle import bundle_masterplan
from mge_pipeline.execution.prepare import prepare_run
from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.execution.run_context import RunSettings
from mge_pipeline.execution.run_service import open_run_services
from mge_pipeline.generation import SimulatedModel
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.store import MgeStore
from mge_pipeline.validation import PythonSandbox, SandboxOutcome
from mge_pipeline.validation.levels import validate_levels
from mge_pipeline.validation.test_command import LAUNCHER


class FakeRunner:
    """Answers every command with a fixed return code and remembers what it ran."""

    def __init__(self, returncode: int = 0, output: str = "{}") -> None:
        self.returncode = returncode
        self.output = output
        self.commands: list[list[str]] = []

    async def run_command(
        self,
        files: dict[str, str],
        argv: list[str],
        *,
        timeout_seconds: float = 0,
        limit_address_space: bool = True,
    ) -> SandboxOutcome:
        self.commands.append(argv)
        output = self.output if argv[:2] == ["python", "-c"] else "1 failed"
        code = 0 if argv[:2] == ["python", "-c"] else self.returncode
        return SandboxOutcome(
            result=None, timed_out=False, returncode=code, stderr_tail=output, duration_seconds=0
        )


def atom(atom_id: str, code: str, **fields: Any) -> dict[str, Any]:
    name = fields.pop("name", atom_id)
    return {
        "id": atom_id,
        "name": name,
        "description": f"{name}.",
        "file_path": fields.pop("file_path", "pkg/core.py"),
        "signature": fields.pop("signature", f"def {name}():"),
        "depends_on": fields.pop("depends_on", []),
        "reference_implementation": code,
        **fields,
    }


def plan(*tasks: list[dict[str, Any]], **fields: Any) -> MasterPlan:
    """One milestone per task list given, each with one task."""
    milestones = [
        {
            "id": f"m{i}",
            "name": f"M{i}",
            "tasks": [{"id": f"t{i}", "name": f"T{i}", "atoms": atoms}],
        }
        for i, atoms in enumerate(tasks)
    ]
    for key in ("task_fields",):
        for milestone in milestones:
            milestone["tasks"][0].update(fields.pop(key, {}))
    document = {
        "id": "p",
        "name": "P",
        "phases": [{"id": "ph", "name": "Ph", "milestones": milestones}],
        **fields,
    }
    return MasterPlan.model_validate(document)


def one_milestone(*tasks: list[dict[str, Any]], **fields: Any) -> MasterPlan:
    document = {
        "id": "p",
        "name": "P",
        "phases": [
            {
                "id": "ph",
                "name": "Ph",
                "milestones": [
                    {
                        "id": "m0",
                        "name": "M0",
                        "tasks": [
                            {"id": f"t{i}", "name": f"T{i}", "atoms": atoms}
                            for i, atoms in enumerate(tasks)
                        ],
                    }
                ],
            }
        ],
        **fields,
    }
    return MasterPlan.model_validate(document)


def levels(
    masterplan: MasterPlan, runner: Any = None, skip: tuple[str, ...] = ()
) -> list[LevelValidation]:
    codes = {a.id: a.reference_implementation or "" for a in masterplan.atoms() if a.id not in skip}
    files = assemble_files(masterplan.atom_map(), codes, bundle_masterplan(masterplan).graph)
    return asyncio.run(validate_levels(masterplan, codes, files, runner or FakeRunner()))


def finding(results: list[LevelValidation], level: ValidationLevel, check: str):  # type: ignore[no-untyped-def]
    return [i for r in results if r.level is level for i in r.issues if i.check == check]


F = "def f() -> int:\n    return 1\n"
G = "def g() -> int:\n    return f()\n"


def test_a_clean_plan_passes_every_level_with_full_scores() -> None:
    results = levels(plan([atom("f", F), atom("g", G, depends_on=["f"])]))
    assert [(r.level.value, r.scope_id, r.passed, r.score) for r in results] == [
        ("task", "t0", True, 1.0),
        ("milestone", "m0", True, 1.0),
        ("masterplan", "p", True, 1.0),
    ]


@pytest.mark.parametrize(
    ("masterplan", "level", "check", "severity", "implicated"),
    [
        pytest.param(
            plan([atom("f", F), atom("g", "def g() -> int:\n    return h()\n")]),
            ValidationLevel.TASK,
            "integration",
            Severity.ERROR,
            ["g"],
            id="task-unresolved-name",
        ),
        pytest.param(
            plan([atom("f", F), atom("f2", F, name="f")]),
            ValidationLevel.TASK,
            "integration",
            Severity.ERROR,
            ["f", "f2"],
            id="task-duplicate",
        ),
        pytest.param(
            plan(
                [
                    atom("f", "from json import loads\n\ndef f() -> int:\n    return loads('1')\n"),
                    atom(
                        "g", "from pickle import loads\n\ndef g() -> int:\n    return loads(b'')\n"
                    ),
                ]
            ),
            ValidationLevel.TASK,
            "imports",
            Severity.ERROR,
            ["f", "g"],
            id="task-import-conflict",
        ),
        pytest.param(
            plan([atom("f", "def other() -> int:\n    return 1\n")]),
            ValidationLevel.TASK,
            "contracts",
            Severity.ERROR,
            ["f"],
            id="task-contract",
        ),
        pytest.param(
            plan([atom("fooBar", "def fooBar() -> int:\n    return 1\n")]),
            ValidationLevel.TASK,
            "naming",
            Severity.WARNING,
            ["fooBar"],
            id="task-naming",
        ),
        pytest.param(
            one_milestone(
                [
                    atom(
                        "f",
                        "def f(a: int) -> int:\n    return a\n",
                        signature="def f(a: int) -> int:",
                    )
                ],
                [atom("g", "def g() -> int:\n    return f(1, 2)\n", depends_on=["f"])],
            ),
            ValidationLevel.MILESTONE,
            "interfaces",
            Severity.ERROR,
            ["g"],
            id="milestone-interface",
        ),
        pytest.param(
            one_milestone(
                [
                    atom(
                        "a",
                        "from pkg.b import g\n\ndef f() -> int:\n    return g()\n",
                        file_path="pkg/a.py",
                    )
                ],
                [
                    atom(
                        "g",
                        "from pkg.a import f\n\ndef g() -> int:\n    return 1\n",
                        file_path="pkg/b.py",
                    )
                ],
            ),
            ValidationLevel.MILESTONE,
            "circular_dependencies",
            Severity.ERROR,
            ["a", "g"],
            id="milestone-cycle",
        ),
        pytest.param(
            one_milestone(
                [atom("f", F)], [atom("doThing", "def doThing() -> int:\n    return 1\n")]
            ),
            ValidationLevel.MILESTONE,
            "api_naming",
            Severity.WARNING,
            ["doThing"],
            id="milestone-naming",
        ),
        pytest.param(
            plan(
                [atom("f", F, file_path="pkg/core/a.py")],
                [
                    atom(
                        "g",
                        "from pkg.core.a import f\n\ndef g() -> int:\n    return f()\n",
                        file_path="pkg/api/b.py",
                        depends_on=["f"],
                    )
                ],
                [
                    atom(
                        "h",
                        "from pkg.api.b import g\n\ndef h() -> int:\n    return g()\n",
                        file_path="pkg/core/c.py",
                        depends_on=["g"],
                    )
                ],
                layers=["pkg.core", "pkg.api"],
            ),
            ValidationLevel.MASTERPLAN,
            "architecture",
            Severity.ERROR,
            ["h"],
            id="plan-layering",
        ),
        pytest.param(
            plan(
                [atom("f", F, file_path="pkg/a.py")],
                [
                    atom(
                        "g",
                        "from pkg.a import nope\n\ndef g() -> int:\n    return nope()\n",
                        file_path="pkg/b.py",
                        depends_on=["f"],
                    )
                ],
            ),
            ValidationLevel.MASTERPLAN,
            "contracts",
            Severity.ERROR,
            ["g"],
            id="plan-contract",
        ),
        pytest.param(
            plan([atom("f", F), atom("g", "def g() -> int:\n    return 2\n", depends_on=["f"])]),
            ValidationLevel.MASTERPLAN,
            "dependency_graph",
            Severity.WARNING,
            ["g"],
            id="plan-unused-dependency",
        ),
        pytest.param(
            plan(
                [
                    atom(
                        "f",
                        "def f(xs: list[int]) -> int:\n"
                        "    return sum(1 for a in xs for b in xs if a == b)\n",
                        signature="def f(xs: list[int]) -> int:",
                    )
                ]
            ),
            ValidationLevel.MASTERPLAN,
            "performance",
            Severity.WARNING,
            ["f"],
            id="plan-quadratic",
        ),
        pytest.param(
            plan(
                [
                    atom(
                        "f",
                        "def f(db, name: str) -> int:\n"
                        "    return db.execute(f'SELECT * FROM t WHERE n = {name}')\n",
                        signature="def f(db, name: str) -> int:",
                    )
                ]
            ),
            ValidationLevel.MASTERPLAN,
            "security",
            Severity.ERROR,
            ["f"],
            id="plan-sql-injection",
        ),
        pytest.param(
            plan(
                [
                    atom(
                        "f",
                        "API_KEY = 'sk-ant-api03-abcdefghijklmnop'\n\ndef f() -> str:\n"
                        "    return API_KEY\n",
                    )
                ]
            ),
            ValidationLevel.MASTERPLAN,
            "security",
            Severity.ERROR,
            ["f"],
            id="plan-secret",
        ),
    ],
)
def test_each_level_check_names_the_atoms_it_implicates(
    masterplan: MasterPlan,
    level: ValidationLevel,
    check: str,
    severity: Severity,
    implicated: list[str],
) -> None:
    results = levels(masterplan)
    found = finding(results, level, check)
    assert found, [r.issues for r in results]
    assert found[0].severity is severity
    assert found[0].atom_ids == implicated
    scope = next(r for r in results if r.level is level and any(i in found for i in r.issues))
    assert scope.score < 1.0
    assert scope.passed is (severity is Severity.WARNING)


def test_atoms_that_did_not_validate_are_named_at_every_level() -> None:
    results = levels(plan([atom("f", F), atom("g", G, depends_on=["f"])]), skip=("g",))
    assert all(not r.passed for r in results)
    assert all(r.implicated_atoms == ["g"] for r in results)


def test_the_task_test_command_runs_and_its_failure_implicates_the_task() -> None:
    masterplan = plan([atom("f", F)], task_fields={"test_command": ["python", "-m", "pytest"]})
    runner = FakeRunner(returncode=1)
    results = levels(masterplan, runner)
    assert ["python", LAUNCHER, "-m", "pytest"] in runner.commands
    assert finding(results, ValidationLevel.TASK, "test_command")[0].atom_ids == ["f"]
    assert levels(masterplan, FakeRunner(returncode=0))[0].passed


def test_the_task_test_command_tests_the_rebuilt_files_not_an_installed_copy() -> None:
    """``yaml/reader.py`` rebuilt alone: the bare command would import the installed PyYAML's
    reader (which has ``Reader``) and pass; through the launcher it sees the rebuilt file."""
    code = "def add(a: int, b: int) -> int:\n    return a + b\n"
    reader = atom("add", code, file_path="yaml/reader.py")
    check = "import yaml.reader as r\nassert hasattr(r, 'Reader')\n"
    masterplan = plan([reader], task_fields={"test_command": ["python", "-c", check]})
    found = finding(
        levels(masterplan, PythonSandbox(timeout_seconds=10)), ValidationLevel.TASK, "test_command"
    )
    assert found and "AssertionError" in found[0].message


def test_a_task_command_that_loads_none_of_the_rebuilt_files_fails() -> None:
    masterplan = plan([atom("f", F)], task_fields={"test_command": ["python", "-c", "pass"]})
    found = finding(
        levels(masterplan, PythonSandbox(timeout_seconds=10)), ValidationLevel.TASK, "test_command"
    )
    assert found and "loaded none of the rebuilt files" in found[0].message


def test_milestone_integration_imports_every_module_in_the_sandbox() -> None:
    broken = atom("f", "raise RuntimeError('at import')\n\ndef f() -> int:\n    return 1\n")
    results = levels(plan([broken]), PythonSandbox(timeout_seconds=10))
    found = finding(results, ValidationLevel.MILESTONE, "integration")
    assert found and "RuntimeError: at import" in found[0].message
    assert found[0].atom_ids == ["f"]


def test_a_real_task_command_runs_against_the_assembled_files() -> None:
    check = "from pkg.core import f\nassert f() == 2\n"
    masterplan = plan([atom("f", F)], task_fields={"test_command": ["python", "-c", check]})
    results = levels(masterplan, PythonSandbox(timeout_seconds=10))
    assert finding(results, ValidationLevel.TASK, "test_command")


def test_finalize_stores_the_levels_reports_them_and_fails_the_run(
    store: MgeStore, tmp_path: Path
) -> None:
    masterplan = plan([atom("f", F), atom("g", "def g() -> int:\n    return h()\n")])
    bundle = bundle_masterplan(masterplan)
    settings = RunSettings(1.0, RetryPolicy(), 5.0, 256, 0.5, str(tmp_path / "out"))
    run = prepare_run(bundle, settings, store, "exec-1", SimulatedModel())
    for atom_id in ("f", "g"):
        code = bundle.atoms[atom_id].reference_implementation
        result = AtomResult(atom_id=atom_id, status=AtomStatus.SUCCEEDED, code=code)
        store.record_atom_result("exec-1", wave_index=0, spec_hash=atom_id, result=result)
    sandbox = PythonSandbox(timeout_seconds=10)
    services = open_run_services(
        bundle, run, store=store, provider=SimulatedModel(), sandbox=sandbox, gate=CallGate()
    )
    report = asyncio.run(finalize(services))
    assert report.status == ExecutionStatus.FAILED.value
    assert report.reason == "task validation failed for t0 (implicated atoms: g)"
    assert report.sandbox_isolation == "bubblewrap"
    assert [lv.level.value for lv in store.level_validations("exec-1")] == [
        "task",
        "milestone",
        "masterplan",
    ]
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## Hierarchical validation" in markdown and "`h` is read" in markdown
