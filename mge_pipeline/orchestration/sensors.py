"""The sensors: masterplans submitted as ``ready`` (``mge submit``), and review decisions."""

from collections.abc import Callable, Sequence

import dagster as dg

from mge_pipeline import constants as c
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.domain.review import ReviewEntry
from mge_pipeline.orchestration.compiler import job_name_for
from mge_pipeline.orchestration.config import default_run_config
from mge_pipeline.orchestration.resources import StoreResource, fail_lost_runs
from mge_pipeline.store import MASTERPLAN_READY
from mge_pipeline.store.review_repository import ReviewRepository


def make_ready_masterplan_sensor(
    jobs: Sequence[dg.JobDefinition], launchable: Callable[[str], bool] = lambda _name: True
) -> dg.SensorDefinition:
    """One run per submission: the run_key makes a second request for it a no-op.

    ``launchable`` says whether the daemon can launch a job yet; with the live repository a
    plan submitted after the location loaded waits for the daemon's next refresh.
    """
    job_names = {job.name for job in jobs}

    @dg.sensor(
        name="ready_masterplan_sensor",
        jobs=list(jobs) or None,
        minimum_interval_seconds=30,
        description="Launches the job of every masterplan whose status is 'ready'.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def ready_masterplan_sensor(
        context: dg.SensorEvaluationContext, store: StoreResource
    ) -> dg.SensorResult | dg.SkipReason:
        fail_lost_runs(context.instance, store.get_store())  # dead workers' runs end failed
        ready = store.get_store().masterplans(status=MASTERPLAN_READY)
        requests = []
        unknown = []
        for plan in ready:
            job_name = job_name_for(plan.masterplan_id)
            if job_name not in job_names or not launchable(job_name):
                unknown.append(plan.masterplan_id)
                continue
            # Keyed by submission too: a plan submitted again (mge submit --again, or after
            # a failed run) is launched again, once per submission.
            submitted = plan.updated_at.isoformat() if plan.updated_at else ""
            requests.append(
                dg.RunRequest(
                    run_key=f"{plan.masterplan_id}:{plan.revision}:{submitted}",
                    job_name=job_name,
                    run_config=default_run_config(),
                    tags={
                        c.TAG_MASTERPLAN_ID: plan.masterplan_id,
                        c.TAG_MASTERPLAN_REVISION: plan.revision,
                    },
                )
            )
        if unknown and not requests:
            return dg.SkipReason(
                "ready masterplans whose jobs the daemon has not loaded yet (its next refresh "
                "of the code location, within 60 s, brings them): " + ", ".join(unknown)
            )
        if not requests:
            return dg.SkipReason("no masterplan is ready")
        for request in requests:  # launched: no longer waiting (finalize sets the outcome)
            plan_id = (request.tags or {})[c.TAG_MASTERPLAN_ID]
            store.get_store().set_masterplan_status(plan_id, MasterplanStatus.RUNNING)
        return dg.SensorResult(run_requests=requests)

    return ready_masterplan_sensor


TAG_REVIEW_ENTRIES = "mge/review_entries"


def make_review_decision_sensor(jobs: Sequence[dg.JobDefinition]) -> dg.SensorDefinition:
    """Runs a masterplan again once a reviewer's edit or regeneration waits for a run.

        The run serves validated atoms and the edit from the store, generates a regenerated atom
        with the reviewer's feedback in its prompt, and runs the atoms that were blocked behind
        it; its finalize marks the decisions carried out. The run_key names the decisions (entry
        and version), so a tick while that run is under way requests nothing new; a masterplan
        with a run still going, or paused, is left until it ends (a resumed execution reads the
    decisions too).
    """
    job_names = {job.name for job in jobs}

    @dg.sensor(
        name="review_decision_sensor",
        jobs=list(jobs) or None,
        minimum_interval_seconds=30,
        description="Runs a masterplan again when review decisions wait for a run.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def review_decision_sensor(
        context: dg.SensorEvaluationContext, store: StoreResource
    ) -> dg.SensorResult | dg.SkipReason:
        repository = store.get_store()
        by_plan: dict[str, list[ReviewEntry]] = {}
        for entry in ReviewRepository(repository).awaiting_run():
            by_plan.setdefault(entry.masterplan_id, []).append(entry)
        requests, waiting = [], []
        for masterplan_id, entries in sorted(by_plan.items()):
            job_name = job_name_for(masterplan_id)
            latest = repository.executions(masterplan_id, limit=1)
            if job_name not in job_names:
                waiting.append(f"{masterplan_id} (not in this code location; reload it)")
                continue
            if latest and latest[0].status is ExecutionStatus.RUNNING:
                waiting.append(f"{masterplan_id} (run {latest[0].execution_id} still running)")
                continue
            if latest and latest[0].status is ExecutionStatus.PAUSED:
                waiting.append(
                    f"{masterplan_id} (execution {latest[0].execution_id} is paused: "
                    "mge resume it, and it carries the decisions out)"
                )
                continue
            info = repository.execution_info(latest[0].execution_id) if latest else None
            prepare = {"output_dir": info.output_dir} if info and info.output_dir else {}
            decisions = ",".join(f"{e.entry_id}.{e.version}" for e in entries)
            requests.append(
                dg.RunRequest(
                    run_key=f"review:{masterplan_id}:{decisions}",
                    job_name=job_name,
                    run_config=default_run_config(**prepare),
                    tags={
                        c.TAG_MASTERPLAN_ID: masterplan_id,
                        TAG_REVIEW_ENTRIES: ",".join(str(e.entry_id) for e in entries),
                    },
                )
            )
        if not requests:
            if waiting:
                return dg.SkipReason("review decisions waiting: " + "; ".join(waiting))
            return dg.SkipReason("no review decision waits for a run")
        return dg.SensorResult(run_requests=requests)

    return review_decision_sensor
