"""Small builders with overridable fields, so each test states only what it is about."""

from __future__ import annotations

from typing import Any

from mge_pipeline.domain import AtomSpec, MasterPlan


def make_atom(**overrides: Any) -> AtomSpec:
    atom_id = overrides.pop("id", "add")
    name = overrides.pop("name", atom_id)
    fields: dict[str, Any] = {
        "id": atom_id,
        "name": name,
        "description": f"{name}: adds two integers",
        "file_path": "pkg/core.py",
        "signature": f"def {name}(a: int, b: int) -> int:",
        "depends_on": [],
        "tests": f"assert {name}(1, 2) == 3\nassert {name}(-1, 1) == 0\n",
        "reference_implementation": f"def {name}(a: int, b: int) -> int:\n    return a + b\n",
    }
    fields.update(overrides)
    return AtomSpec(**fields)


def make_plan(*atoms: AtomSpec, **overrides: Any) -> MasterPlan:
    """One phase, one milestone, one task holding the given atoms (``task_tests``: its tests)."""
    task = {
        "id": "t1",
        "name": "Task 1",
        "atoms": [a.model_dump() for a in (atoms or (make_atom(),))],
    }
    if "task_tests" in overrides:
        task["tests"] = overrides.pop("task_tests")
    document: dict[str, Any] = {
        "id": overrides.pop("id", "plan"),
        "name": overrides.pop("name", "Test plan"),
        "phases": [
            {
                "id": "p1",
                "name": "Phase 1",
                "milestones": [{"id": "m1", "name": "Milestone 1", "tasks": [task]}],
            }
        ],
    }
    document.update(overrides)
    return MasterPlan.model_validate(document)


def chain_plan(length: int = 3, **overrides: Any) -> MasterPlan:
    """f0 ← f1 ← … : each atom calls the previous one, so there are ``length`` waves."""
    atoms = [make_atom(id="f0")]
    for index in range(1, length):
        prev = f"f{index - 1}"
        name = f"f{index}"
        atoms.append(
            make_atom(
                id=name,
                depends_on=[prev],
                signature=f"def {name}(a: int, b: int) -> int:",
                reference_implementation=(
                    f"def {name}(a: int, b: int) -> int:\n    return {prev}(a, b)\n"
                ),
                tests=f"assert {name}(1, 2) == 3\n",
            )
        )
    return make_plan(*atoms, **overrides)
