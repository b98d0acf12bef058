"""The execution endpoints against a real ``dagster dev``: runs launched, paused, resumed and
cancelled through the API (which goes through Dagster's GraphQL API), read back from the
store. One ``dagster dev`` serves the module; the API shares its MGE home (the store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.orchestration.remote import DagsterRemote
from mge_pipeline.planning import load_masterplan
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.api.helpers import OPERATOR, RunningApi, running_api
from mge_pipeline_tests.conftest import EXAMPLES
from mge_pipeline_tests.dagster_dev import running_dagster_dev
from mge_pipeline_tests.factories import chain_plan

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    root = tmp_path_factory.mktemp("api-dagster")
    (root / "mge").mkdir()
    database_url = f"sqlite:///{root / 'mge' / 'mge.db'}"
    store = MgeStore(database_url)
    store.create_all()
    store.save_masterplan(
        load_masterplan(EXAMPLES / "ledger_library.yaml"), status=MasterplanStatus.DRAFT
    )
    store.dispose()
    with running_dagster_dev(root) as dev, running_api(database_url, dev.url) as running:
        yield running


def _until(check: Callable[[], Any], what: str, seconds: float = 300) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {seconds}s")


def _start(client: httpx.Client, **body: Any) -> str:
    """The code location may still be loading right after the server answers."""

    def launched() -> str | None:
        answer = client.post("/api/v2/execution/start", json=body)
        if answer.status_code == 502:
            return None
        assert answer.status_code == 202, answer.text
        return str(answer.json()["execution_id"])

    return str(_until(launched, "a launch", 180))


def _status(client: httpx.Client, execution_id: str) -> str | None:
    answer = client.get(f"/api/v2/execution/{execution_id}/status")
    return answer.json()["status"] if answer.status_code == 200 else None


def test_a_plan_stored_after_dagster_loaded_is_launched_and_read(
    api: RunningApi, tmp_path: Path
) -> None:
    api.store.save_masterplan(chain_plan(3, id="api_chain"), status=MasterplanStatus.DRAFT)
    client = api.client(OPERATOR)
    execution_id = _start(client, masterplan_id="api_chain", output_dir=str(tmp_path / "out"))
    base = f"/api/v2/execution/{execution_id}"
    final = _until(
        lambda: _status(client, execution_id) in ("completed", "failed", "cancelled"),
        "the run's end",
    )
    assert final and _status(client, execution_id) == "completed"
    progress = client.get(f"{base}/progress").json()
    assert progress["percent"] == 100.0 and progress["total_waves"] == 3
    assert client.get(f"{base}/waves/2").json()["atoms"] == {"f2": "succeeded"}
    assert client.get(f"{base}/atoms/f1").json()["attempts"][0]["atom_id"] == "f1"
    assert client.get(f"{base}/metrics").json()["precision_percent"] == 100.0
    assert (tmp_path / "out" / "report.json").exists()
    assert api.store.execution_info(execution_id) is not None
    for action in ("cancel", "pause"):
        refused = client.post(f"{base}/{action}")
        assert refused.status_code == 409
        assert refused.json()["detail"] == f"execution '{execution_id}' is completed, not running"
    assert client.post(f"{base}/resume").status_code == 409
    busy_free = client.get("/api/v2/execution", params={"masterplan_id": "api_chain"}).json()
    assert [e["execution_id"] for e in busy_free] == [execution_id]


def test_pause_resume_and_cancel_a_running_execution(api: RunningApi, tmp_path: Path) -> None:
    client = api.client(OPERATOR)
    execution_id = _start(
        client, masterplan_id="ledger_library", output_dir=str(tmp_path / "a"), fresh=True
    )
    base = f"/api/v2/execution/{execution_id}"
    _until(lambda: _status(client, execution_id) == "running", "the execution's start")
    busy = client.post(
        "/api/v2/execution/start",
        json={"masterplan_id": "ledger_library", "output_dir": str(tmp_path / "a")},
    )
    assert busy.status_code == 409 and f"execution {execution_id} is running" in busy.text
    paused = client.post(f"{base}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["run_ids"] == [execution_id]
    _until(lambda: _status(client, execution_id) == "paused", "the pause")
    done_before = client.get(f"{base}/progress").json()["atoms_succeeded"]
    resumed = client.post(f"{base}/resume")
    assert resumed.status_code == 200, resumed.text
    second_run = resumed.json()["run_ids"][0]
    assert second_run != execution_id
    _until(lambda: _status(client, execution_id) in ("completed", "failed"), "the resumed end")
    state = client.get(f"{base}/status").json()
    assert state["status"] == "completed", state["reason"]
    assert state["atoms_succeeded"] == 49 >= done_before
    assert api.store.executions("ledger_library", limit=5)[0].execution_id == execution_id

    other = _start(
        client, masterplan_id="ledger_library", output_dir=str(tmp_path / "b"), fresh=True
    )
    cancelled = client.post(f"/api/v2/execution/{other}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["run_ids"] == [other]
    _until(
        lambda: (
            api.store.execution_info(other) is None
            or _status(client, other) in ("cancelled", "completed", "failed")
        ),
        "the cancelled run's end",
    )
    remote = DagsterRemote(api.dagster_url)
    _until(lambda: remote.run_status(other) in ("CANCELED", "SUCCESS", "FAILURE"), "CANCELED")
    assert remote.run_status(other) == "CANCELED"
    if api.store.execution_info(other) is not None:
        assert _status(client, other) == "cancelled"
