"""A code location whose jobs follow the store: a submitted plan needs no reload.

Dagster builds a code location's definitions once per process, and a plan submitted after
that (``mge submit``, a file dropped into the examples directory) had no job until someone
reloaded the location. Dagster's documented way to control how a repository's members are
created is a ``RepositoryData`` subclass (``@repository`` accepts one); this one delegates to
the ``Definitions`` built by ``build``, and builds them again when they are older than
``max_age_seconds``. Every fetch of the location's snapshot by the daemon (it refreshes its
workspace every 60 s) or a run worker therefore sees the plans the store holds now, and the
``ready_masterplan_sensor`` — rebuilt with them — launches a new plan's job.

What stays as it was: Dagit's webserver keeps the snapshot it loaded until the location is
reloaded (its job list; the new run's page works at once, from the run's own snapshot).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.repository_definition.repository_data import RepositoryData

MAX_AGE_SECONDS = 5.0
DAEMON_REFRESH_SECONDS = 60.0
"""How often the daemon fetches the code location's snapshot (dagster/_daemon/controller.py)."""

_first_seen: dict[str, float] = {}
"""Job name → when this process first built it (0: at its first build, known to everyone)."""


def known_to_the_daemon(job_name: str) -> bool:
    """Whether the daemon's snapshot surely has the job, so a RunRequest for it can launch.

    A job built at the process's first build was in the snapshot every process loaded. A later
    one reaches the daemon at its next refresh of the location; a request before that would
    fail the sensor's tick (the daemon resolves the job in its own snapshot).
    """
    if not _first_seen:  # no live repository in this process: jobs are all there from the start
        return True
    seen = _first_seen.get(job_name)
    if seen is None:
        return False
    return seen == 0.0 or time.monotonic() - seen > DAEMON_REFRESH_SECONDS + MAX_AGE_SECONDS


class LiveRepositoryData(RepositoryData):
    def __init__(
        self, build: Callable[[], dg.Definitions], *, max_age_seconds: float = MAX_AGE_SECONDS
    ) -> None:
        self._build = build
        self._max_age = max_age_seconds
        self._lock = threading.Lock()
        self._data: RepositoryData | None = None
        self._built_at = 0.0

    def current(self) -> RepositoryData:
        """The delegate, rebuilt when stale; one snapshot's calls land within its age."""
        with self._lock:
            if self._data is None or time.monotonic() - self._built_at > self._max_age:
                repository = self._build().get_repository_def()
                first = self._data is None
                self._data = repository._repository_data  # the one way in
                self._built_at = time.monotonic()
                for name in self._data.get_job_names():
                    _first_seen.setdefault(name, 0.0 if first else self._built_at)
            return self._data

    def get_top_level_resources(self) -> Mapping[str, Any]:
        return self.current().get_top_level_resources()

    def get_env_vars_by_top_level_resource(self) -> Mapping[str, Any]:
        return self.current().get_env_vars_by_top_level_resource()

    def get_all_jobs(self) -> Sequence[dg.JobDefinition]:
        return self.current().get_all_jobs()

    def get_job_names(self) -> Sequence[str]:
        return self.current().get_job_names()

    def has_job(self, job_name: str) -> bool:
        return self.current().has_job(job_name)

    def get_job(self, job_name: str) -> dg.JobDefinition:
        return self.current().get_job(job_name)

    def get_all_schedules(self) -> Sequence[dg.ScheduleDefinition]:
        return self.current().get_all_schedules()

    def get_schedule_names(self) -> Sequence[str]:
        return self.current().get_schedule_names()

    def get_schedule(self, schedule_name: str) -> dg.ScheduleDefinition:
        return self.current().get_schedule(schedule_name)

    def has_schedule(self, schedule_name: str) -> bool:
        return self.current().has_schedule(schedule_name)

    def get_all_sensors(self) -> Sequence[dg.SensorDefinition]:
        return self.current().get_all_sensors()

    def get_sensor_names(self) -> Sequence[str]:
        return self.current().get_sensor_names()

    def get_sensor(self, sensor_name: str) -> dg.SensorDefinition:
        return self.current().get_sensor(sensor_name)

    def has_sensor(self, sensor_name: str) -> bool:
        return self.current().has_sensor(sensor_name)

    def get_source_assets_by_key(self) -> Mapping[Any, Any]:
        return self.current().get_source_assets_by_key()

    def get_assets_defs_by_key(self) -> Mapping[Any, Any]:
        return self.current().get_assets_defs_by_key()

    def get_asset_checks_defs_by_key(self) -> Mapping[Any, Any]:
        return self.current().get_asset_checks_defs_by_key()

    def get_asset_job_nodes(self) -> Sequence[Any]:
        return self.current().get_asset_job_nodes()

    def load_all_definitions(self) -> None:
        self.current().load_all_definitions()  # type: ignore[no-untyped-call]


def live_repository(build: Callable[[], dg.Definitions]) -> dg.RepositoryDefinition:
    """The code location's one repository, named as ``Definitions`` would name it."""

    @dg.repository(name="__repository__")  # type: ignore[arg-type]  # RepositoryData is documented
    def repository() -> RepositoryData:
        return LiveRepositoryData(build)

    return repository
