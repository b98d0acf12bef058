"""A running ``dagster dev``: submitted plans launch with no reload, failed atoms show red.

The plans are submitted with ``mge submit`` after the server is up, so their jobs did not
exist when the code location loaded: nothing here calls a reload. One plan validates, one has
a failed atom with a blocked dependent; the browser test reads both in Dagit (screenshots go to
``MGE_SCREENSHOT_DIR`` when set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from mge_pipeline.orchestration import default_run_config
from mge_pipeline_tests.dagster_dev import running_dagster_dev
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.observability.test_dagit import _page

pytestmark = pytest.mark.e2e
LAUNCH_SECONDS = 240  # the sensor's 30 s, the daemon's 60 s workspace refresh, a loaded machine


@dataclass
class Dev:
    url: str
    port: int
    root: Path
    env: dict[str, str]
    runs: dict[str, dict[str, Any]]
    """Masterplan id → its run (runId, status) as GraphQL reports it."""


RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status jobName } } }
}
"""


def _graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer["data"]


def _runs_of(url: str, masterplan_id: str) -> list[dict[str, Any]]:
    """Newest first; none while the webserver cannot answer yet (it may still be loading)."""
    tags = [{"key": "mge/masterplan_id", "value": masterplan_id}]
    try:
        data = _graphql(url, RUNS, {"filter": {"tags": tags}})
    except OSError:
        return []
    return list(data["runsOrError"]["results"])


def _mge(dev_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge_pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=dev_env,
        timeout=120,
        check=False,
    )


def _write(plan: Any, path: Path) -> Path:
    path.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    root = tmp_path_factory.mktemp("dev")
    with running_dagster_dev(root) as server:
        env, url = server.env, server.url
        good = make_plan(make_atom(id="a"), make_atom(id="b", depends_on=["a"]), id="good_plan")
        mixed = make_plan(
            make_atom(id="ok_a"),
            make_atom(id="broken_b", reference_implementation=None),
            make_atom(id="needs_b", depends_on=["broken_b"]),
            make_atom(id="needs_a", depends_on=["ok_a"]),
            id="mixed_plan",
        )
        for plan in (good, mixed):
            submitted = _mge(env, "submit", str(_write(plan, root / f"{plan.id}.yaml")))
            assert submitted.returncode == 0, submitted.stderr
        runs = _wait_for_runs(url, ["good_plan", "mixed_plan"], LAUNCH_SECONDS)
        yield Dev(url, server.port, root, env, runs)


def _wait_for_runs(url: str, plan_ids: list[str], seconds: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + seconds
    finished: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(finished) < len(plan_ids):
        for plan_id in plan_ids:
            runs = _runs_of(url, plan_id)
            if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                finished[plan_id] = runs[0]
        time.sleep(2)
    missing = sorted(set(plan_ids) - set(finished))
    assert not missing, f"no finished run within {seconds}s for {missing} (no reload was made)"
    return finished


def test_submitted_plans_run_with_no_reload_and_failed_atoms_fail_the_run(dev: Dev) -> None:
    assert dev.runs["good_plan"]["jobName"] == "mge_good_plan"
    assert dev.runs["good_plan"]["status"] == "SUCCESS"
    assert dev.runs["mixed_plan"]["status"] == "FAILURE"


def test_an_unchanged_plan_submitted_again_is_already_done(dev: Dev) -> None:
    again = _mge(dev.env, "submit", str(dev.root / "good_plan.yaml"))
    assert again.returncode == 0
    assert "already done" in again.stdout and dev.runs["good_plan"]["runId"] in again.stdout
    assert str(dev.root / "mge" / "output" / "good_plan") in again.stdout
    status = _mge(dev.env, "status", "good_plan")
    assert "completed" in status.stdout


def test_an_invalid_run_config_is_refused_when_launched(dev: Dev) -> None:
    client = DagsterGraphQLClient("127.0.0.1", port_number=dev.port)
    config = default_run_config()
    config["ops"]["prepare"]["config"]["budget_usd"] = -1
    run_id = client.submit_job_execution("mge_small_textutils", run_config=config)
    deadline = time.monotonic() + 60
    while client.get_run_status(run_id).value not in ("FAILURE", "SUCCESS", "CANCELED"):
        assert time.monotonic() < deadline, "the invalid run was neither refused nor run"
        time.sleep(1)
    assert client.get_run_status(run_id).value == "FAILURE"
    query = """
    query Events($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection {
      events { __typename ... on MessageEvent { message } } } } }
    """
    events = _graphql(dev.url, query, {"runId": run_id})["logsForRun"]["events"]
    kinds = {e["__typename"] for e in events}
    assert "ExecutionStepStartEvent" not in kinds, "no step ran"
    failure = next(e["message"] for e in events if e["__typename"] == "RunFailureEvent")
    assert "ops.prepare.config.budget_usd" in failure and "-1" in failure


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="Debian's chromium and chromium-driver are not installed",
)
def test_dagit_shows_the_failed_atom_failed_and_an_atom_step_its_code(
    dev: Dev, tmp_path: Path
) -> None:
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
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1600,1200",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    run_id = dev.runs["mixed_plan"]["runId"]
    try:
        text = _page(driver, f"{dev.url}/runs/{run_id}", "Errored")
        errored = text[text.index("Errored") : text.index("Succeeded")]
        assert "wave_0_generate_atom[broken_b]" in errored
        assert "wave_1_generate_atom[needs_b]" in errored
        assert "wave_0_generate_atom[ok_a]" not in errored
        failures = f"{dev.url}/runs/{run_id}?logs=type%3ASTEP_FAILURE"
        text = _page(driver, failures, "atom broken_b failed")
        assert "atom needs_b blocked: blocked by dependencies that did not validate" in text
        _dismiss_welcome(driver)
        driver.save_screenshot(str(shots / "dagit-failed-atoms.png"))

        step = "step%3Awave_0_generate_atom%5Bok_a%5D"
        text = _page(driver, f"{dev.url}/runs/{run_id}?logs={step}", "[Show Markdown]")
        assert "code" in text
        rows = driver.find_elements("xpath", "//tr[td[normalize-space()='code']]")
        assert rows, "the atom step has a code entry"
        links = rows[0].find_elements("xpath", ".//*[normalize-space()='[Show Markdown]']")
        links[-1].click()  # the innermost element: the link itself, not its cell
        deadline = time.monotonic() + 20
        body = ""
        while time.monotonic() < deadline and "return a + b" not in body:
            time.sleep(0.5)
            body = driver.find_element("tag name", "body").text
        assert "def ok_a(a: int, b: int) -> int:" in body and "return a + b" in body
        _dismiss_welcome(driver)
        driver.save_screenshot(str(shots / "dagit-atom-code.png"))
    finally:
        driver.quit()


def _dismiss_welcome(driver: Any) -> None:
    """Dagit's first-visit dialog can open after the page has loaded: close it for the shot."""
    for button in driver.find_elements("xpath", "//button[normalize-space()='Skip']"):
        button.click()
        time.sleep(0.5)
