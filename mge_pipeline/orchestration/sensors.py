"""The sensor that launches masterplans submitted as ``ready`` (``mge submit``)."""

from collections.abc import Sequence

import dagster as dg

from mge_pipeline import constants as c
from mge_pipeline.orchestration.compiler import job_name_for
from mge_pipeline.orchestration.config import default_run_config
from mge_pipeline.orchestration.resources import StoreResource, fail_lost_runs
from mge_pipeline.store import MASTERPLAN_READY


def make_ready_masterplan_sensor(jobs: Sequence[dg.JobDefinition]) -> dg.SensorDefinition:
    """One run per masterplan revision: the run_key makes a second request for it a no-op."""
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
            if job_name not in job_names:
                unknown.append(plan.masterplan_id)
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"{plan.masterplan_id}:{plan.revision}",
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
                "ready masterplans not in this code location yet (reload it): " + ", ".join(unknown)
            )
        if not requests:
            return dg.SkipReason("no masterplan is ready")
        return dg.SensorResult(run_requests=requests)

    return ready_masterplan_sensor
