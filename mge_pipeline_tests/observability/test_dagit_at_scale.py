"""49 and 800 atoms in Dagit: every atom reachable from its wave's table; screenshots for docs.

Slow (an 800-atom run on the simulated model, a few minutes). With ``MGE_SCREENSHOT_DIR``
set, the screenshots are written there (how docs/images was made).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from mge_pipeline.orchestration import default_run_config
from mge_pipeline_tests.conftest import REPOSITORY_ROOT, free_port, stop_process
from mge_pipeline_tests.observability.test_dagit import _page, _wait_until_up
from mge_pipeline_tests.observability.test_dagit_outcomes import (
    _dismiss_welcome,
    _graphql,
    _runs_of,
)

pytestmark = pytest.mark.e2e

STEP_OUTPUTS = """
query Outputs($runId: ID!) { logsForRun(runId: $runId, limit: 100000) {
  ... on EventConnection { events { __typename ... on ExecutionStepOutputEvent {
    stepKey metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } } } } } }
"""


STEP_LINK = r"step%3A(wave_\d+_generate_atom%5B\w+%5D)"


def _benchmark_plan(atoms: int, waves: int, plan_id: str) -> dict[str, object]:
    sys.path.insert(0, str(REPOSITORY_ROOT / "benchmarks"))
    try:
        from orchestration import build_masterplan  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return dict(build_masterplan(atoms, waves, plan_id=plan_id))


def _wait_finished(url: str, plan_id: str, seconds: float) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = _runs_of(url, plan_id)
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return dict(runs[0])
        time.sleep(3)
    raise AssertionError(f"{plan_id} did not finish within {seconds}s")


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="Debian's chromium and chromium-driver are not installed",
)
def test_every_atom_of_an_800_atom_run_is_linked_from_its_wave(tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    shots = Path(os.environ.get("MGE_SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(REPOSITORY_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    prefixes = ("MGE_", "ANTHROPIC_", "DAGSTER_", "PROMETHEUS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update({"DAGSTER_HOME": str(dagster_home), "MGE_HOME": str(tmp_path / "mge")})
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPOSITORY_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(flag)
    driver = None
    try:
        _wait_until_up(url, process)
        plan_file = tmp_path / "bench_800.yaml"
        plan_file.write_text(yaml.safe_dump(_benchmark_plan(800, 10, "bench_800"), sort_keys=False))
        submitted = subprocess.run(
            [sys.executable, "-m", "mge_pipeline.cli", "submit", str(plan_file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert submitted.returncode == 0, submitted.stderr
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        deadline = time.monotonic() + 120
        while True:  # the location may still be loading right after the server answers
            try:
                client.submit_job_execution(
                    "mge_ledger_library", run_config=default_run_config(output_dir=str(tmp_path))
                )
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(2)
        run49 = _wait_finished(url, "ledger_library", 600)
        run800 = _wait_finished(url, "bench_800", 900)
        assert run49["status"] == run800["status"] == "SUCCESS"

        events = _graphql(url, STEP_OUTPUTS, {"runId": run800["runId"]})["logsForRun"]["events"]
        linked: set[str] = set()
        for event in events:
            if event.get("stepKey", "").endswith("_close"):
                for entry in event["metadataEntries"]:
                    if entry["label"] == "atoms":
                        linked |= set(re.findall(STEP_LINK, entry["mdStr"]))
        assert len(linked) == 800, "every atom's step is linked from its wave's table"

        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        for run, name in ((run49, "dagit-run-49.png"), (run800, "dagit-run-800.png")):
            text = _page(driver, f"{url}/runs/{run['runId']}", "Succeeded")
            assert "Errored (0)" in text.replace("\n", " ") or "No steps have errored" in text
            _dismiss_welcome(driver)
            driver.save_screenshot(str(shots / name))
        step = "step%3Awave_7_generate_atom%5Ba_7_42%5D"
        text = _page(driver, f"{url}/runs/{run800['runId']}?logs={step}", "[Show Markdown]")
        assert "wave_7_generate_atom[a_7_42]" in text and "code" in text
        _page(driver, f"{url}/runs", "mge/state")
        _dismiss_welcome(driver)
        driver.save_screenshot(str(shots / "dagit-runs.png"))
    finally:
        if driver is not None:
            driver.quit()
        stop_process(process, group=True)
