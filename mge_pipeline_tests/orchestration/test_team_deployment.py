"""Team deployment end to end: ``dagster dev`` (webserver and daemon) on deploy/team/dagster.yaml
with Dagster's storage and MGE's store in PostgreSQL; ``mge submit`` marks the plan ready, the
daemon's sensor launches it through the run queue, and the re-validation schedule (turned on
and set to every minute) launches it again once it completed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.store import MgeStore
from mge_pipeline.store.engine import normalise_database_url
from mge_pipeline_tests.conftest import EXAMPLES, REPOSITORY_ROOT, stop_process
from mge_pipeline_tests.postgres import fresh_database

pytestmark = pytest.mark.e2e
PLAN_ID = "small_textutils"


def _environment(root: Path, database_url: str) -> dict[str, str]:
    url = make_url(normalise_database_url(database_url))
    prefixes = ("MGE_", "ANTHROPIC_", "DAGSTER_", "PROMETHEUS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        {
            "DAGSTER_HOME": str(root / "dagster"),
            "MGE_HOME": str(root / "mge"),
            # A plain postgresql:// URL: MGE normalises it to psycopg2.
            "MGE_DATABASE_URL": database_url.replace("postgresql+psycopg2://", "postgresql://"),
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": url.database or "",
            "DAGSTER_PG_USERNAME": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "",
            "MGE_SCHEDULES": "running",
            "MGE_REVALIDATE_SCHEDULE": "* * * * *",
            "MGE_RETRY_SCHEDULE": "0 0 1 1 *",
        }
    )
    return env


def _wait_for(what: str, check: object, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster dev exited"
        if callable(check) and check():
            return
        time.sleep(2)
    raise AssertionError(f"{what} did not happen within {seconds}s")


def test_a_masterplan_runs_on_postgresql_launched_by_the_daemon(tmp_path: Path) -> None:
    with fresh_database() as database_url:
        (tmp_path / "dagster").mkdir()
        shutil.copyfile(
            REPOSITORY_ROOT / "deploy" / "team" / "dagster.yaml",
            tmp_path / "dagster" / "dagster.yaml",
        )
        env = _environment(tmp_path, database_url)
        submitted = subprocess.run(
            [
                sys.executable,
                "-m",
                "mge_pipeline.cli",
                "submit",
                str(EXAMPLES / "small_textutils.yaml"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert submitted.returncode == 0, submitted.stderr
        log = (tmp_path / "dagster-dev.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", "0"],
            cwd=REPOSITORY_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        store = MgeStore(database_url)
        try:

            def completed() -> list[str]:
                return [
                    e.execution_id
                    for e in store.executions(PLAN_ID)
                    if e.status is ExecutionStatus.COMPLETED
                ]

            _wait_for("the sensor's run", lambda: len(completed()) >= 1, 300, process)
            _wait_for("the schedule's run", lambda: len(completed()) >= 2, 240, process)
            (tmp_path / "reader").mkdir()
            with dg.instance_for_test(
                temp_dir=str(tmp_path / "reader"),
                overrides={
                    "storage": {"postgres": {"postgres_url": normalise_database_url(database_url)}}
                },
            ) as instance:
                runs = {r.run_id: r for r in instance.get_runs()}
                triggers = {runs[i].tags.get("mge/trigger") for i in completed()[:2]}
                sensor_runs = [r for r in runs.values() if r.tags.get("dagster/sensor_name")]
                assert sensor_runs and sensor_runs[0].tags["dagster/sensor_name"] == (
                    "ready_masterplan_sensor"
                )
                assert "revalidate" in triggers
        finally:
            store.dispose()
            stop_process(process, group=True)
            log.close()
