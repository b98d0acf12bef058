"""A real Prometheus scrapes `mge metrics serve` during a run; the values match the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline_tests.conftest import EXAMPLES, REPOSITORY_ROOT, free_port, stop_process

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="Debian's prometheus package is not installed (.ci/run installs it)",
    ),
]
ALERTS = REPOSITORY_ROOT / "deploy" / "prometheus" / "alerts.yml"


def _environment(home: Path, metrics_dir: Path) -> dict[str, str]:
    prefixes = ("MGE_", "ANTHROPIC_", "DAGSTER_", "PROMETHEUS_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**base, "MGE_HOME": str(home), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def _query(prometheus: str, expression: str) -> float | None:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as answer:
        result = json.load(answer)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _wait_for(
    prometheus: str, expression: str, expected: float, seconds: float = 60
) -> float | None:
    """Scrapes happen every second; poll until the value arrives (bounded)."""
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        value = _query(prometheus, expression)
        if value is not None and abs(value - expected) < 1e-9:
            return value
        time.sleep(0.5)
    return value


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``mge metrics serve`` plus a Prometheus scraping it every second, on loopback."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = _environment(tmp_path / "home", metrics_dir)
    metrics_port, prometheus_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{ALERTS}']\n"
        "scrape_configs:\n"
        f"  - job_name: mge\n    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "mge_pipeline.cli", "metrics", "serve", "--port", str(metrics_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{prometheus_port}"
    try:
        yield url, env
    finally:
        for process in (prometheus, serve):
            stop_process(process)


def test_prometheus_reads_what_the_report_says(
    stack: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prometheus, env = stack
    output = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mge_pipeline.cli",
            "run",
            str(EXAMPLES / "small_textutils.yaml"),
            "--latency",
            "0",
            "--output",
            str(output),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((output / "report.json").read_text())
    plan = 'masterplan="small_textutils"'
    succeeded = _wait_for(
        prometheus, f"sum(v2_atoms_succeeded_total{{{plan}}})", report["atoms_validated"]
    )
    assert succeeded == report["atoms_validated"]
    cost = _wait_for(
        prometheus, f"sum(v2_execution_cost_usd_total{{{plan}}})", report["total_cost_usd"]
    )
    assert cost == pytest.approx(report["total_cost_usd"], abs=1e-9)
    assert (
        _query(prometheus, f"v2_execution_precision_percent{{{plan}}}")
        == report["precision_percent"]
    )
    with urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=5) as answer:
        groups = json.load(answer)["data"]["groups"]
    assert sum(len(group["rules"]) for group in groups) == 4


def test_promtool_accepts_the_alert_rules() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
