"""The rules a planning answer must pass beyond its schema: ids, dependencies, cycles, small
atoms with tests; and the assembly of checked answers into a masterplan."""

from __future__ import annotations

from typing import Any

import pytest

from mge_pipeline.design import (
    assemble_masterplan,
    decomposition_problems,
    import_statement,
    outline_problems,
)
from mge_pipeline.domain import Language
from mge_pipeline.domain.design import Discovery, PlannedTask, PlanOutline, TaskDecomposition

TESTS = "def test_it():\n    assert True\n"


def make_task(**overrides: Any) -> dict[str, Any]:
    task = {
        "id": "core",
        "name": "Core",
        "description": "The core.",
        "file_path": "pkg/core.py",
        "depends_on": [],
        "provides": ["f"],
        "acceptance_tests": TESTS,
    }
    return task | overrides


def make_outline(*tasks: dict[str, Any]) -> PlanOutline:
    milestone = {"id": "m", "name": "M", "tasks": list(tasks) or [make_task()]}
    return PlanOutline.model_validate(
        {"name": "P", "phases": [{"id": "p", "name": "P", "milestones": [milestone]}]}
    )


def make_atom(**overrides: Any) -> dict[str, Any]:
    atom = {
        "id": "f",
        "name": "f",
        "signature": "def f(x: int) -> int:",
        "description": "Doubles x.",
        "tests": "assert f(2) == 4",
        "estimated_loc": 3,
    }
    return atom | overrides


def decomposition(*atoms: dict[str, Any]) -> TaskDecomposition:
    return TaskDecomposition.model_validate({"atoms": list(atoms)})


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        pytest.param([make_task()], [], id="valid"),
        pytest.param(
            [make_task(), make_task()],
            ["task id 'core' is used 2 times"],
            id="duplicate-task",
        ),
        pytest.param(
            [make_task(depends_on=["nowhere"])],
            ["task 'core' depends_on: unknown task 'nowhere'"],
            id="unknown-dependency",
        ),
        pytest.param(
            [
                make_task(id="a", depends_on=["b"], acceptance_tests="def test_a():\n    pass\n"),
                make_task(id="b", depends_on=["a"], acceptance_tests="def test_b():\n    pass\n"),
            ],
            ["task cycle: a -> b -> a"],
            id="cycle",
        ),
        pytest.param(
            [make_task(file_path="../core.py")],
            ["task 'core' file_path '../core.py': must be relative, inside the output directory"],
            id="escaping-path",
        ),
        pytest.param(
            [make_task(file_path="other/core.ts")],
            [
                "task 'core' file_path 'other/core.ts': must be under the package folder 'pkg/'",
                "task 'core' file_path 'other/core.ts': not a python file",
            ],
            id="wrong-package-and-language",
        ),
        pytest.param(
            [make_task(acceptance_tests="assert True")],
            ["task 'core' acceptance_tests: defines no test_ function"],
            id="no-test-function",
        ),
        pytest.param(
            [make_task(id="a"), make_task(id="b", file_path="pkg/b.py")],
            ["acceptance test id 'test_it' is used 2 times"],
            id="test-names-clash",
        ),
    ],
)
def test_outline_problems(tasks: list[dict[str, Any]], expected: list[str]) -> None:
    assert outline_problems(make_outline(*tasks), Language.PYTHON, "pkg") == expected


USER = PlannedTask.model_validate(
    make_task(id="user", file_path="pkg/user.py", depends_on=["core"], provides=["g"])
)
PROVIDED = {"core": ["f"], "user": ["g"]}


@pytest.mark.parametrize(
    ("atoms", "expected"),
    [
        pytest.param([make_atom(id="g", name="g", signature="def g():")], [], id="valid"),
        pytest.param(
            [make_atom(id="g", name="g", signature="def g():", depends_on=["core.f"])],
            [],
            id="provided-name-of-a-dependency",
        ),
        pytest.param(
            [make_atom(id="g", name="g", signature="def g():")] * 2,
            ["task 'user' atom id 'g' is used 2 times"],
            id="duplicate-atom",
        ),
        pytest.param(
            [make_atom(id="g", name="g", signature="def g():", depends_on=["h", "core.zz", "x.f"])],
            [
                "task 'user' atom 'g' depends_on: unknown atom 'h' (another task's name is "
                "written 'task_id.name')",
                "task 'user' atom 'g' depends_on: task 'core' provides no 'zz'",
                "task 'user' atom 'g' depends_on: 'x.f' is in task 'x', which task 'user' does "
                "not depend on",
            ],
            id="unresolvable",
        ),
        pytest.param(
            [make_atom(id="g", name="g", signature="def g():", estimated_loc=16, tests="")],
            [
                "task 'user' atom 'g' estimated_loc: 16 lines is not an atom (at most 15); "
                "split it into smaller atoms",
                "task 'user' atom 'g' tests: no test (an assert or a test_ function)",
            ],
            id="large-and-untested",
        ),
        pytest.param(
            [make_atom(id="g", name="g", signature="def g():", tests="assert (")],
            ["task 'user' atom 'g' tests: does not parse (line 1: '(' was never closed)"],
            id="tests-do-not-parse",
        ),
        pytest.param(
            [make_atom(id="h", name="h", signature="def h():")],
            ["task 'user': no atom defines 'g', which the task provides"],
            id="provides-unmet",
        ),
        pytest.param(
            [
                make_atom(id="g", name="g", signature="def g():", depends_on=["h"]),
                make_atom(id="h", name="h", signature="def h():", depends_on=["g"]),
            ],
            ["task 'user' atom cycle: g -> h -> g"],
            id="cycle",
        ),
        pytest.param(
            [make_atom(id="g", name="g", signature="def other():")],
            ["task 'user' atom 'g' signature: does not name 'g'"],
            id="signature-names-another",
        ),
    ],
)
def test_decomposition_problems(atoms: list[dict[str, Any]], expected: list[str]) -> None:
    assert decomposition_problems(USER, decomposition(*atoms), PROVIDED) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        pytest.param(Language.PYTHON, "from pkg.core import f", id="python"),
        pytest.param(Language.TYPESCRIPT, "import { f } from '../pkg/core';", id="typescript"),
        pytest.param(Language.JAVASCRIPT, "const { f } = require('../pkg/core');", id="js"),
    ],
)
def test_import_statement(language: Language, expected: str) -> None:
    assert import_statement(language, "app/user.py", "pkg/core.py", name="f") == expected


def test_assembly_prefixes_ids_and_resolves_provided_names() -> None:
    discovery = Discovery.model_validate(
        {
            "project_id": "demo",
            "goal": "A demo.",
            "users": ["dev"],
            "operations": ["double"],
            "language": "python",
            "package": "pkg",
        }
    )
    outline = make_outline(
        make_task(),
        make_task(
            id="user",
            file_path="pkg/user.py",
            depends_on=["core"],
            provides=["g"],
            acceptance_tests="def test_g():\n    pass\n",
        ),
    )
    plan = assemble_masterplan(
        "make a demo",
        discovery,
        outline,
        {
            "core": decomposition(make_atom()),
            "user": decomposition(
                make_atom(id="g", name="g", signature="def g():", depends_on=["core.f"])
            ),
        },
    )
    g = plan.atom_map()["user.g"]
    assert g.depends_on == ["core.f"]
    assert g.context.imports == ["from pkg.core import f"]
    assert plan.id == "demo" and "def test_g" in plan.acceptance_tests
