"""The dependency graph: inferred edges, waves as topological generations, statistics."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from mge_pipeline.domain import MasterPlan
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.execution.plan_bundle import spec_hashes
from mge_pipeline.planning import (
    build_dependency_graph,
    check_masterplan,
    compute_waves,
    plan_statistics,
)
from mge_pipeline_tests.factories import chain_plan, make_atom, make_plan


def test_waves_follow_dependencies_in_plan_order() -> None:
    plan = make_plan(
        make_atom(id="z"),
        make_atom(id="a"),
        make_atom(id="m", depends_on=["z", "a"]),
        make_atom(id="n", depends_on=["a"]),
        make_atom(id="top", depends_on=["m"]),
    )
    assert compute_waves(build_dependency_graph(plan)) == [["z", "a"], ["m", "n"], ["top"]]


def test_omitted_depends_on_is_inferred_from_used_names() -> None:
    helper = make_atom(id="helper_atom", name="helper")
    user = make_atom(
        id="user",
        depends_on=None,
        reference_implementation="def user(a: int, b: int) -> int:\n    return helper(a, b) + 1\n",
    )
    unrelated = make_atom(id="other", depends_on=None)
    graph = build_dependency_graph(make_plan(helper, user, unrelated))
    assert set(graph.predecessors("user")) == {"helper_atom"}
    assert set(graph.predecessors("other")) == set()


def test_inference_uses_signature_types_and_imports() -> None:
    record = make_atom(
        id="record",
        name="Record",
        kind="class",
        signature="class Record:",
        file_path="pkg/models.py",
        tests="",
        reference_implementation="class Record:\n    pass\n",
    )
    loader = make_atom(
        id="load",
        name="load",
        depends_on=None,
        file_path="pkg/io.py",
        signature="def load(text: str) -> Record:",
        context={"imports": ["from pkg.models import Record"]},
        reference_implementation=None,
    )
    graph = build_dependency_graph(make_plan(record, loader))
    assert list(graph.predecessors("load")) == ["record"]


def test_methods_depend_on_their_class() -> None:
    cls = make_atom(
        id="cls",
        name="Box",
        kind="class",
        signature="class Box:",
        tests="",
        reference_implementation="class Box:\n    size = 1\n",
    )
    method = make_atom(
        id="grow",
        name="grow",
        kind="method",
        signature="def grow(self) -> int:",
        context={"parent_scope": "Box"},
        tests="",
    )
    graph = build_dependency_graph(make_plan(cls, method))
    assert list(graph.predecessors("grow")) == ["cls"]


def test_statistics_of_a_chain_and_a_fan() -> None:
    stats = plan_statistics(build_dependency_graph(chain_plan(4)))
    assert (stats.atoms, stats.waves, stats.max_wave_width, stats.critical_path_length) == (
        4,
        4,
        1,
        4,
    )
    assert stats.theoretical_parallelism == 1.0
    fan = make_plan(
        *[make_atom(id=f"a{i}") for i in range(6)], make_atom(id="sink", depends_on=["a0", "a1"])
    )
    stats = plan_statistics(build_dependency_graph(fan))
    assert (stats.waves, stats.max_wave_width, stats.critical_path_length, stats.edges) == (
        2,
        6,
        2,
        2,
    )
    assert stats.theoretical_parallelism == 3.5


def test_project_files_are_relative_paths_that_no_atom_targets() -> None:
    document = make_plan(make_atom(id="f", file_path="pkg/core.py")).model_dump(mode="json")
    for bad in ("../tsconfig.json", "/etc/passwd", "a//b.json", "__mge_check__.js"):
        with pytest.raises(ValidationError, match="project_files"):
            MasterPlan.model_validate({**document, "project_files": {bad: "{}"}})
    clash = MasterPlan.model_validate({**document, "project_files": {"pkg/core.py": ""}})
    with pytest.raises(MasterPlanError) as raised:
        check_masterplan(clash)
    assert raised.value.problems == [
        "project_files 'pkg/core.py': it is also the target file of atom 'f'"
    ]


def test_a_task_test_that_is_not_python_is_refused_with_one_line() -> None:
    plan = make_plan(task_tests="def test_x(:\n    pass\n")
    with pytest.raises(MasterPlanError) as raised:
        check_masterplan(plan)
    assert raised.value.problems == [
        "task 't1' field 'tests': not valid Python: line 1: invalid syntax"
    ]
    check_masterplan(make_plan(task_tests="def test_x():\n    assert True\n"))


def test_task_tests_change_the_keys_of_their_atoms_only_when_set() -> None:
    """Older plans (no task tests) keep their cache keys and revision; tests change both."""
    plain = make_plan(make_atom(id="a"), make_atom(id="b", name="b", signature="def b():"))
    tested = make_plan(
        make_atom(id="a"),
        make_atom(id="b", name="b", signature="def b():"),
        task_tests="def test_a():\n    assert True\n",
    )
    before = spec_hashes(plain, check_masterplan(plain))
    after = spec_hashes(tested, check_masterplan(tested))
    assert before != after and set(before.values()).isdisjoint(after.values())
    document = plain.model_dump(mode="json")
    del document["phases"][0]["milestones"][0]["tasks"][0]["tests"]
    payload = json.dumps(document, sort_keys=True)
    assert plain.revision() == hashlib.sha256(payload.encode()).hexdigest()[:16]
    assert tested.revision() != plain.revision()
