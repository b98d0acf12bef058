"""``dagster dev`` on loopback: a run launched and followed over GraphQL, then read in Dagit.

One ``dagster dev`` serves the module: the GraphQL test launches the small example and checks
the state published as run tags against the store; the browser test opens the job and that
run in headless Chromium and saves screenshots (to ``MGE_SCREENSHOT_DIR`` when set, which is
how docs/images was made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient

from mge_pipeline.observability.graphql import states_over_graphql
from mge_pipeline.orchestration import default_run_config
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.dagster_dev import running_dagster_dev

pytestmark = pytest.mark.e2e
JOB = "mge_small_textutils"


@dataclass
class Dagit:
    url: str
    port: int
    home: Path
    run_id: str


def _launch_and_wait(client: DagsterGraphQLClient, output: Path, seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while True:  # the code location may still be loading right after the server answers
        try:
            run_id = client.submit_job_execution(
                JOB, run_config=default_run_config(output_dir=str(output))
            )
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            assert status == "SUCCESS"
            return run_id
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish within {seconds}s")


@pytest.fixture(scope="module")
def dagit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagit]:
    root = tmp_path_factory.mktemp("dagit")
    with running_dagster_dev(root) as dev:
        client = DagsterGraphQLClient("127.0.0.1", port_number=dev.port)
        run_id = _launch_and_wait(client, root / "out")
        yield Dagit(dev.url, dev.port, dev.mge_home, run_id)


def test_state_over_graphql_matches_the_store(dagit: Dagit) -> None:
    states = {s.execution_id: s for s in states_over_graphql(dagit.url, "small_textutils")}
    published = states[dagit.run_id]
    stored = MgeStore(f"sqlite:///{dagit.home / 'mge.db'}").execution_state(dagit.run_id)
    assert stored is not None
    assert published.status.value == stored.status.value == "completed"
    for field in (
        "current_wave",
        "total_waves",
        "atoms_completed",
        "atoms_total",
        "atoms_succeeded",
        "atoms_failed",
        "started_at",
        "completed_at",
    ):
        assert getattr(published, field) == getattr(stored, field), field
    assert published.total_cost_usd == pytest.approx(stored.total_cost_usd)
    assert published.atoms_succeeded == 11


def test_mge_status_reads_graphql(dagit: Dagit) -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "mge_pipeline.cli",
            "status",
            "--graphql",
            dagit.url,
            "small_textutils",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if line.startswith(dagit.run_id[:8]))
    assert row.split()[1:5] == ["small_textutils", "completed", "6/6", "11/11"]


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)
def test_dagit_draws_the_waves_and_shows_the_attempts(dagit: Dagit, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    shots = Path(os.environ.get("MGE_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        job_text = _page(driver, f"{dagit.url}/locations/mge_pipeline/jobs/{JOB}", "wave_5_close")
        assert all(f"wave_{k}" in job_text for k in range(6)) and "finalize" in job_text
        driver.save_screenshot(str(shots / "dagit-job.png"))
        run_text = _page(
            driver, f"{dagit.url}/runs/{dagit.run_id}?logs=type:STEP_OUTPUT", "attempt_history"
        )
        assert "attempt_history" in run_text and "cost_usd" in run_text
        driver.save_screenshot(str(shots / "dagit-run.png"))
    finally:
        driver.quit()
    assert (shots / "dagit-job.png").stat().st_size > 10_000


def _page(driver: object, url: str, wanted: str, seconds: float = 60) -> str:
    """Load ``url``, dismiss Dagit's first-visit dialog, wait until ``wanted`` is on the page."""
    driver.get(url)  # type: ignore[attr-defined]
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        skip = "//button[normalize-space()='Skip']"
        for button in driver.find_elements("xpath", skip):  # type: ignore[attr-defined]
            button.click()
        text = driver.find_element("tag name", "body").text  # type: ignore[attr-defined]
        if wanted in text:
            return str(text)
        time.sleep(1)
    return str(text)
