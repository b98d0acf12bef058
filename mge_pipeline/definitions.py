"""The one Definitions: a compiled job per masterplan (examples and store), the sensor, resources.

A plan that fails to load or compile is left out with a warning rather than taking the whole
code location down: one bad file must not hide every other masterplan from Dagit. The
definitions are lazy: importing this module reads no store and creates no directory; Dagster
builds them when it loads the code location, and again (at most every few seconds) when the
location's snapshot is fetched, so a newly submitted plan gets its job without a reload
(orchestration/live_repository.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg

from mge_pipeline import settings
from mge_pipeline.domain import MasterPlan
from mge_pipeline.exceptions import MgeError
from mge_pipeline.orchestration import compile_masterplan_job
from mge_pipeline.orchestration.build import make_build_job
from mge_pipeline.orchestration.environment import make_resources
from mge_pipeline.orchestration.failure_sensor import make_run_failure_sensor
from mge_pipeline.orchestration.live_repository import known_to_the_daemon, live_repository
from mge_pipeline.orchestration.schedules import make_schedules
from mge_pipeline.orchestration.sensors import (
    make_ready_masterplan_sensor,
    make_review_decision_sensor,
)
from mge_pipeline.planning import load_masterplan
from mge_pipeline.store import MgeStore

logger = logging.getLogger(__name__)


def example_masterplans(directory: Path) -> list[MasterPlan]:
    plans = []
    for path in sorted(
        [*directory.glob("*.yaml"), *directory.glob("*.yml"), *directory.glob("*.json")]
    ):
        try:
            plans.append(load_masterplan(path))
        except MgeError as exc:
            logger.warning("skipping masterplan %s: %s", path, exc)
    return plans


def stored_masterplans(database_url: str) -> list[MasterPlan]:
    try:
        store = MgeStore(database_url)
        try:
            return store.stored_plans()
        finally:
            store.dispose()
    except (MgeError, ValueError) as exc:  # a bad store must not take the code location down
        logger.warning("cannot read masterplans from the store: %s", exc)
        return []


def build_definitions() -> dg.Definitions:
    plans: dict[str, MasterPlan] = {}
    for plan in [
        *stored_masterplans(settings.database_url()),
        *example_masterplans(settings.examples_dir()),
    ]:
        plans[plan.id] = plan  # the example file wins over an older stored copy of the same id
    jobs = []
    for plan in plans.values():
        try:
            jobs.append(compile_masterplan_job(plan))
        except MgeError as exc:
            logger.warning("skipping masterplan %s: %s", plan.id, exc)
    sensors = [
        make_ready_masterplan_sensor(jobs, known_to_the_daemon),
        make_review_decision_sensor(jobs),
        make_run_failure_sensor(),
    ]
    schedules = make_schedules(jobs)
    builds = [make_build_job(generate=False), make_build_job(generate=True)]  # mge plan / build
    return dg.Definitions(
        jobs=[*jobs, *builds], sensors=sensors, schedules=schedules, resources=make_resources()
    )


# Not @dg.definitions: those are built once per process, and a plan submitted later would wait
# for a reload of the code location. The live repository rebuilds them as the store changes.
defs = live_repository(build_definitions)
