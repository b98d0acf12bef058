"""Scale-out: the compiled job of a masterplan on dagster-celery with two worker processes.

RabbitMQ on 127.0.0.1:5672 is the broker, PostgreSQL holds Dagster's storage and MGE's
store; both workers are real ``celery worker`` processes. The test checks the run succeeded,
that atom steps ran on both workers (Dagster's "in celery worker" engine events name the
worker), and that every atom validated in the shared store.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableRepository
from sqlalchemy.engine import make_url

from mge_pipeline.domain import AtomStatus, ExecutionStatus
from mge_pipeline.orchestration import default_run_config
from mge_pipeline.store import MgeStore
from mge_pipeline.store.engine import normalise_database_url
from mge_pipeline_tests.conftest import REPOSITORY_ROOT, stop_process
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan
from mge_pipeline_tests.postgres import fresh_database

pytestmark = pytest.mark.e2e
JOB = "mge_small_textutils"
BROKER = ("127.0.0.1", 5672)


def _broker_reachable() -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(BROKER) == 0


@pytest.fixture
def team_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    if not _broker_reachable():
        pytest.skip(f"no RabbitMQ broker at {BROKER[0]}:{BROKER[1]}")
    with fresh_database() as database_url:
        url = make_url(normalise_database_url(database_url))
        home = tmp_path / "dagster"
        home.mkdir()
        shutil.copyfile(REPOSITORY_ROOT / "deploy" / "team" / "dagster.yaml", home / "dagster.yaml")
        values = {
            "DAGSTER_HOME": str(home),
            "MGE_HOME": str(tmp_path / "mge"),
            "MGE_DATABASE_URL": database_url,
            "MGE_EXECUTOR": "celery",
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": url.database or "",
            "DAGSTER_PG_USERNAME": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "",
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        yield values


def _worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return _start(name, env, output)


def _start(name: str, env: dict[str, str], output: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mge_pipeline.orchestration.celery_app",
            "worker",
            "-Q",
            "dagster",
            "-c",
            "3",
            "-n",
            f"{name}@%h",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPOSITORY_ROOT,
        env={**os.environ, **env},
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def _two_workers(env: dict[str, str], logs: Path) -> Iterator[None]:
    """Two ``celery worker`` processes on the ``dagster`` queue, stopped (process group) after."""
    names = ("mge17w1", "mge17w2")
    workers = [_worker(n, env, logs / f"{n}.log") for n in names]
    try:
        for worker, name in zip(workers, names, strict=True):
            deadline = time.monotonic() + 120
            while b"ready" not in (logs / f"{name}.log").read_bytes():
                assert worker.poll() is None, (logs / f"{name}.log").read_text()
                assert time.monotonic() < deadline, f"worker {name} did not start"
                time.sleep(1)
        yield
    finally:
        for worker in workers:
            stop_process(worker, group=True)


def test_a_plan_runs_across_two_celery_workers(team_env: dict[str, str], tmp_path: Path) -> None:
    with _two_workers(team_env, tmp_path):
        job = ReconstructableRepository.for_module(
            "mge_pipeline.definitions", "defs", working_directory=str(REPOSITORY_ROOT)
        ).get_reconstructable_job(JOB)
        with dg.DagsterInstance.get() as instance:
            result = dg.execute_job(
                job,
                instance=instance,
                run_config=default_run_config(output_dir=str(tmp_path / "out")),
            )
            assert result.success
            run_id = result.run_id
            records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    hosts: dict[str, str] = {}
    for record in records:
        event = record.dagster_event
        data = event.engine_event_data if event is not None else None
        worker = data.metadata.get("Celery worker") if data is not None else None
        if event is not None and worker is not None:
            hosts[event.step_key or ""] = str(worker.value)
    atom_hosts = {host for step, host in hosts.items() if "generate_atom" in step}
    assert {h.split("@")[0] for h in atom_hosts} == {"mge17w1", "mge17w2"}, hosts
    store = MgeStore(team_env["MGE_DATABASE_URL"])
    state = store.execution_state(run_id)
    assert state is not None and state.status is ExecutionStatus.COMPLETED
    statuses = set(store.atom_statuses(run_id).values())
    assert statuses <= {AtomStatus.SUCCEEDED, AtomStatus.CACHED}
    assert len(store.atom_statuses(run_id)) == 11
    store.dispose()


def test_a_failed_atom_on_celery_is_a_failed_step_and_the_run_still_finalizes(
    team_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 12's outcome rule on Celery: the failed atom is a failed step, its wave closes.

    ``broken`` has no reference implementation, so the simulated model cannot make it
    validate. The other atoms, the wave closes and ``finalize`` must still run on the
    workers: the report is written, the store closes the execution as failed naming
    ``broken``, and nothing is left running.
    """
    plan = make_plan(
        make_atom(id="broken", reference_implementation=None),
        make_atom(id="ok1"),
        make_atom(id="ok2"),
        make_atom(id="needs_ok", depends_on=["ok1"]),
        make_atom(id="needs_broken", depends_on=["broken"]),
    )
    database_url = team_env["MGE_DATABASE_URL"]
    with _two_workers(team_env, tmp_path), dg.DagsterInstance.get() as instance:
        run = run_plan(plan, tmp_path, database_url, instance=instance, wave_stop_threshold=0)
        on_workers = {
            record.dagster_event.step_key
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            if record.dagster_event is not None
            and record.dagster_event.engine_event_data is not None
            and "Celery worker" in record.dagster_event.engine_event_data.metadata
        }
    assert "wave_0_generate_atom[broken]" in on_workers and "finalize" in on_workers, on_workers
    assert run.dagster_status == dg.DagsterRunStatus.FAILURE
    states = run.step_states
    assert states["wave_0_generate_atom[broken]"] == "FAILURE"
    assert states["wave_1_generate_atom[needs_broken]"] == "FAILURE"
    for ok in ("wave_0_generate_atom[ok1]", "wave_0_generate_atom[ok2]"):
        assert states[ok] == "SUCCESS", ok
    assert states["wave_1_generate_atom[needs_ok]"] == "SUCCESS"
    assert states["wave_0_close"] == "SUCCESS" and states["wave_1_close"] == "SUCCESS"
    assert "STEP_START" in run.step_events["finalize"], "finalize ran (it fails: atoms failed)"
    assert "IN_PROGRESS" not in states.values(), states
    assert run.report is not None, "finalize wrote the report"
    assert run.report["status"] == "failed"
    assert {a["atom_id"]: a["status"] for a in run.report["atoms"]} == {
        "broken": "failed",
        "ok1": "succeeded",
        "ok2": "succeeded",
        "needs_ok": "succeeded",
        "needs_broken": "blocked",
    }
    store = MgeStore(database_url)
    try:
        state = store.execution_state(run.run_id)
        assert state is not None and state.status is ExecutionStatus.FAILED
        assert "broken" in (state.reason or ""), state.reason
        assert AtomStatus.PENDING not in store.atom_statuses(run.run_id).values()
    finally:
        store.dispose()
