"""The job compiler: waves as fan-out ops, limits in the run config, names from the plan."""

from __future__ import annotations

import pytest

from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.orchestration import compile_masterplan_job
from mge_pipeline_tests.factories import chain_plan, make_atom, make_plan


def test_one_fan_out_per_wave_with_mapped_atoms_and_a_close() -> None:
    plan = make_plan(
        make_atom(id="a"),
        make_atom(id="b"),
        make_atom(id="c", depends_on=["a", "b"]),
        id="demo-plan",
    )
    job = compile_masterplan_job(plan)
    assert job.name == "mge_demo_plan"
    assert set(job.graph.node_dict) == {
        "prepare",
        "wave_0",
        "wave_0_generate_atom",
        "wave_0_close",
        "wave_1",
        "wave_1_generate_atom",
        "wave_1_close",
        "finalize",
    }
    assert job.graph.node_named("wave_0").definition.output_dict["atoms"].is_dynamic
    deps = job.graph.dependency_structure
    assert deps.is_dynamic_mapped(job.graph.node_named("wave_0_generate_atom").name)
    assert job.executor_def.name == "mge_async_executor"
    # No barrier in the graph: every fan-out follows prepare, finalize follows every close.
    assert _upstream(job, "wave_1") == {"prepare"}
    assert _upstream(job, "finalize") == {"prepare", "wave_0_close", "wave_1_close"}


def _upstream(job, node: str) -> set[str]:  # type: ignore[no-untyped-def]
    deps = job.graph.dependency_structure
    handles = deps.input_to_upstream_outputs_for_node(node)
    return {output.node.name for outputs in handles.values() for output in outputs}


def test_defaults_are_visible_in_the_launchpad_config() -> None:
    job = compile_masterplan_job(chain_plan(2))
    config = job.run_config
    assert config is not None
    assert "execution" not in config  # the executor may start every step; the gate limits calls
    prepare = config["ops"]["prepare"]["config"]
    assert prepare["max_concurrent"] == 100 and prepare["scheduling"] == "dependencies"
    assert prepare["budget_usd"] == 25.0
    assert prepare["max_attempts"] == 4
    assert prepare["temperatures"] == [0.7, 0.5, 0.3, 0.3]
    assert prepare["wave_stop_threshold"] == 0.5


def test_bad_plans_are_rejected_before_compiling() -> None:
    with pytest.raises(MasterPlanError, match="unknown atom 'nope'"):
        compile_masterplan_job(make_plan(make_atom(id="a", depends_on=["nope"])))
