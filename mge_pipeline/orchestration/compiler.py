"""The job compiler: one masterplan in, one Dagster job out, its waves drawn as fan-outs.

    prepare ─┬→ wave_0 ─map→ wave_0_generate_atom ─collect→ wave_0_close ─┐
             ├→ wave_1 ─map→ wave_1_generate_atom ─collect→ wave_1_close ─┼→ finalize
             └→ …                                                       ─┘

Each wave's fan-out yields one DynamicOutput per atom that needs generating; each atom is its
own async op. No wave waits for the previous one in the graph: an atom step waits on the run's
settlement board for what it needs (its dependencies, or the previous wave's close under
``scheduling: waves``), and the call gate keeps ``max_concurrent`` LLM calls in flight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from mge_pipeline import constants as c
from mge_pipeline.domain import MasterPlan
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.orchestration.config import default_run_config
from mge_pipeline.orchestration.environment import ResourceOptions, make_resources
from mge_pipeline.orchestration.executor import mge_async_executor
from mge_pipeline.orchestration.executors import job_executor
from mge_pipeline.orchestration.ops import (
    make_finalize_op,
    make_generate_atom_op,
    make_prepare_op,
    make_wave_close_op,
    make_wave_fan_out_op,
)
from mge_pipeline.planning import load_masterplan


def job_name_for(masterplan_id: str) -> str:
    return c.JOB_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", masterplan_id)


def compile_masterplan_job(
    plan: MasterPlan, *, resources: Mapping[str, Any] | None = None
) -> dg.JobDefinition:
    """Pure function of the plan; raises MasterPlanError for a plan that cannot run.

    Without ``resources`` the job gets them from ``Definitions``; with them it is standalone.
    """
    return compile_bundle(bundle_masterplan(plan), resources=resources)


def compile_masterplan_job_from_file(
    path: str, options: Mapping[str, Any] | None = None
) -> dg.JobDefinition:
    """The reconstructor used by ``mge run``: rebuilds a standalone job from the file."""
    resources = make_resources(ResourceOptions(**(options or {})))
    return compile_masterplan_job(load_masterplan(Path(path)), resources=resources)


def compile_bundle(
    bundle: PlanBundle, *, resources: Mapping[str, Any] | None = None
) -> dg.JobDefinition:
    plan = bundle.plan
    prepare = make_prepare_op(bundle)
    generate = make_generate_atom_op(bundle)
    fan_outs = [make_wave_fan_out_op(bundle, k) for k in range(len(bundle.waves))]
    closes = [make_wave_close_op(bundle, k) for k in range(len(bundle.waves))]
    finalize = make_finalize_op(bundle)
    executor = job_executor()
    barrier = executor.name != mge_async_executor.name

    @dg.job(
        name=job_name_for(plan.id),
        description=_describe(bundle),
        executor_def=executor,
        config=default_run_config(),
        tags={c.TAG_MASTERPLAN_ID: plan.id, c.TAG_MASTERPLAN_REVISION: plan.revision()},
        resource_defs=dict(resources) if resources else None,
    )
    def masterplan_job() -> None:
        run = prepare.alias("prepare")()
        closed: list[Any] = []
        for k, (fan_out, close) in enumerate(zip(fan_outs, closes, strict=True)):
            # Earlier waves' steps start first: every step is ready at once without a barrier,
            # and wave 0's calls should not wait behind the start-up of the later waves' steps.
            priority = len(bundle.waves) - k
            first = {
                c.TAG_DAGSTER_PRIORITY: str(priority),
                c.TAG_CELERY_PRIORITY: str(min(9, priority)),  # RabbitMQ's range is 0-9
            }
            # On Celery a waiting atom step holds a worker process: steps waiting for later
            # waves could fill every worker while the atoms they wait for sit in the queue.
            # There the waves are a barrier (each fan-out after the previous close).
            after = {"after": closed[-1]} if barrier and closed else {}
            tickets, started = fan_out.alias(f"wave_{k}").tag(first)(run, **after)
            settled = tickets.map(generate.alias(f"wave_{k}_generate_atom").tag(first))
            closed.append(
                close.alias(f"wave_{k}_close")(wave=started, atoms_settled=settled.collect())
            )
        finalize.alias("finalize")(run=run, waves_closed=closed)

    return masterplan_job


def _describe(bundle: PlanBundle) -> str:
    widths = ", ".join(str(len(wave)) for wave in bundle.waves)
    return (
        f"{bundle.plan.name}: {len(bundle.atoms)} atoms in {len(bundle.waves)} waves "
        f"(widths {widths}). {bundle.plan.description}".strip()
    )
