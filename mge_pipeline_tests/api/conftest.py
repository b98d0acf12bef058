"""One real run of a small plan (a failing atom, four validated ones, half of them queued for
review) whose store each test gets a copy of."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline.domain import MasterPlan
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.api.helpers import copy_database
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan


def review_plan() -> MasterPlan:
    return make_plan(
        make_atom(id="add"),
        make_atom(id="plus", name="plus"),
        make_atom(id="broken", name="broken", reference_implementation=None),
        make_atom(id="sum3", name="sum3"),
        make_atom(id="sum4", name="sum4"),
        id="api_plan",
    )


@pytest.fixture(scope="session")
def reviewed_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The store file after the run, and the run's execution id."""
    root = tmp_path_factory.mktemp("api-run")
    url = f"sqlite:///{root / 'store.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MGE_REVIEW_BOTTOM_PERCENT", "50")
        patch.setenv("MGE_HOME", str(root / "home"))
        run = run_plan(review_plan(), root, url, wave_stop_threshold=0.0, fault_rate=0.5, seed=7)
    store = MgeStore(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return root / "store.db", run.run_id


@pytest.fixture
def api_database(reviewed_store: tuple[Path, str], tmp_path: Path) -> str:
    return copy_database(reviewed_store[0], tmp_path / "api.db")
