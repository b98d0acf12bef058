"""Definitions load with one job per example plan; the ready-masterplan sensor launches once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from mge_pipeline.definitions import build_definitions
from mge_pipeline.orchestration import StoreResource, compile_masterplan_job
from mge_pipeline.orchestration.sensors import make_ready_masterplan_sensor
from mge_pipeline.store import MASTERPLAN_READY, MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan


def test_every_example_gets_a_job_and_the_sensor_is_there(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    defs = build_definitions()
    names = {job.name for job in defs.resolve_all_job_defs()}
    assert {"mge_small_textutils", "mge_ledger_library"} <= names
    assert {"plan_from_request_job", "build_from_request_job"} <= names, "mge plan / build"
    assert defs.resolve_sensor_def("ready_masterplan_sensor") is not None
    ledger = defs.resolve_job_def("mge_ledger_library")
    assert sum(1 for name in ledger.graph.node_dict if name.endswith("_close")) >= 5


def test_stored_plans_get_jobs_and_broken_files_are_skipped(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    MgeStore(database_url).save_masterplan(make_plan(id="stored_plan"), status="draft")
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "broken.yaml").write_text("id: [unclosed\n")
    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    monkeypatch.setenv("MGE_EXAMPLES_DIR", str(examples))
    names = {job.name for job in build_definitions().resolve_all_job_defs()}
    assert names == {"mge_stored_plan", "plan_from_request_job", "build_from_request_job"}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as found:
        yield found


def test_sensor_requests_each_ready_revision_once(
    store: MgeStore, instance: dg.DagsterInstance
) -> None:
    plan = make_plan(make_atom(id="a"), id="ready_plan")
    revision = store.save_masterplan(plan, status=MASTERPLAN_READY)
    store.save_masterplan(make_plan(id="draft_plan"), status="draft")
    jobs = [compile_masterplan_job(plan), compile_masterplan_job(make_plan(id="draft_plan"))]
    sensor = make_ready_masterplan_sensor(jobs)
    resources = {"store": StoreResource(database_url=store.url)}
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        result = sensor.evaluate_tick(context)
    requests = result.run_requests or []
    assert [r.job_name for r in requests] == ["mge_ready_plan"]
    assert (requests[0].run_key or "").startswith(f"ready_plan:{revision}:")
    assert requests[0].run_config["ops"]["prepare"]["config"]["max_concurrent"] == 100
    # Launched: no longer ready, so the next tick asks for nothing.
    assert {p.masterplan_id: p.status.value for p in store.masterplans()}["ready_plan"] == "running"
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        assert not sensor.evaluate_tick(context).run_requests


def test_the_live_repository_has_a_job_for_a_plan_stored_after_it_loaded(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    from mge_pipeline.definitions import build_definitions
    from mge_pipeline.orchestration.live_repository import LiveRepositoryData

    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    monkeypatch.setenv("MGE_EXAMPLES_DIR", str(tmp_path))  # no examples
    data = LiveRepositoryData(build_definitions, max_age_seconds=0)
    builds = ["build_from_request_job", "plan_from_request_job"]  # mge build / mge plan
    assert sorted(data.get_job_names()) == builds
    MgeStore(database_url).save_masterplan(make_plan(id="late_plan"), status=MASTERPLAN_READY)
    assert sorted(data.get_job_names()) == sorted(["mge_late_plan", *builds])
    sensor = data.get_sensor("ready_masterplan_sensor")
    assert [t.job_name for t in sensor.targets] == ["mge_late_plan"], "it targets the new job"


def test_a_job_built_after_the_first_load_waits_for_the_daemons_refresh(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    """The sensor must not request a job the daemon's snapshot lacks (the tick would fail)."""
    from mge_pipeline.definitions import build_definitions
    from mge_pipeline.orchestration import live_repository as live

    monkeypatch.setattr(live, "_first_seen", {})
    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    monkeypatch.setenv("MGE_EXAMPLES_DIR", str(tmp_path))
    store = MgeStore(database_url)
    store.save_masterplan(make_plan(id="early_plan"), status="draft")
    data = live.LiveRepositoryData(build_definitions, max_age_seconds=0)
    data.get_job_names()
    store.save_masterplan(make_plan(id="later_plan"), status="draft")
    data.get_job_names()
    assert live.known_to_the_daemon("mge_early_plan"), "loaded with the location"
    assert not live.known_to_the_daemon("mge_later_plan"), "not before the daemon's refresh"
    monkeypatch.setattr(live, "DAEMON_REFRESH_SECONDS", -live.MAX_AGE_SECONDS - 1)
    assert live.known_to_the_daemon("mge_later_plan"), "after it"


def test_sensor_skips_when_nothing_is_ready_or_the_job_is_unknown(
    store: MgeStore, instance: dg.DagsterInstance
) -> None:
    sensor = make_ready_masterplan_sensor([compile_masterplan_job(make_plan(id="other"))])
    resources = {"store": StoreResource(database_url=store.url)}
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        assert sensor.evaluate_tick(context).skip_message == "no masterplan is ready"
    store.save_masterplan(make_plan(id="new_plan"), status=MASTERPLAN_READY)
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        tick = sensor.evaluate_tick(context)
    assert not tick.run_requests and "new_plan" in (tick.skip_message or "")
