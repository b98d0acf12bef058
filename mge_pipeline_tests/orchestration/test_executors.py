"""Deployment settings: the executor compiled jobs run on, and the deployment-wide LLM limit."""

from __future__ import annotations

import pytest

from mge_pipeline import settings
from mge_pipeline.orchestration import compile_masterplan_job
from mge_pipeline_tests.factories import make_atom, make_plan

PLAN = make_plan(make_atom(id="a"), make_atom(id="b", depends_on=["a"]), id="p1")


def test_jobs_run_on_the_async_executor_unless_celery_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (
        compile_masterplan_job(PLAN).executor_def.name == "mge_async_executor"
    )  # issue 12: failed atoms, then close
    monkeypatch.setenv("MGE_EXECUTOR", "celery")
    monkeypatch.setenv("MGE_CELERY_BROKER", "redis://127.0.0.1:6379/9")
    job = compile_masterplan_job(PLAN)
    assert job.executor_def.name == "mge_celery_executor"
    monkeypatch.setenv("MGE_EXECUTOR", "threads")
    with pytest.raises(ValueError, match="MGE_EXECUTOR='threads' is neither"):
        compile_masterplan_job(PLAN)


def test_atom_steps_carry_celery_priorities_earlier_waves_first() -> None:
    job = compile_masterplan_job(PLAN)
    priorities = {
        node.name: node.tags.get("dagster-celery/priority")
        for node in job.graph.node_dict.values()
        if "generate_atom" in node.name
    }
    assert priorities == {"wave_0_generate_atom": "2", "wave_1_generate_atom": "1"}


def test_the_llm_slot_limit_is_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.llm_slots() is None
    monkeypatch.setenv("MGE_LLM_SLOTS", "12")
    assert settings.llm_slots() == 12
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("MGE_LLM_SLOTS", bad)
        with pytest.raises(ValueError, match=f"MGE_LLM_SLOTS='{bad}' is not a positive"):
            settings.llm_slots()


def test_on_celery_each_wave_starts_after_the_previous_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A waiting atom step would hold a Celery worker: there, waves are a barrier."""

    def upstream_of_wave_1(job_executor: str) -> set[str]:
        monkeypatch.setenv("MGE_EXECUTOR", job_executor)
        job = compile_masterplan_job(PLAN)
        deps = job.graph.dependency_structure.input_to_upstream_outputs_for_node("wave_1")
        return {output.node.name for outputs in deps.values() for output in outputs}

    assert upstream_of_wave_1("async") == {"prepare"}
    assert upstream_of_wave_1("celery") == {"prepare", "wave_0_close"}
