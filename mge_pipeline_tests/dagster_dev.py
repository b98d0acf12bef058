"""A real ``dagster dev`` on loopback for end-to-end tests, started the way an operator starts it.

Each test module that needs one starts its own (a module fixture): its own ``DAGSTER_HOME`` with
the repository's ``dagster.yaml``, its own MGE home, an environment without the developer's
``MGE_``/``DAGSTER_``/``ANTHROPIC_`` settings, a free port. The server answering
``/server_info`` is not the code location being loaded: callers that launch runs retry until
the job is known.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mge_pipeline_tests.conftest import REPOSITORY_ROOT, free_port, stop_process

UP_SECONDS = 120
_CLEARED_PREFIXES = ("MGE_", "ANTHROPIC_", "DAGSTER_", "PROMETHEUS_")


@dataclass(frozen=True)
class DagsterDev:
    url: str
    port: int
    mge_home: Path
    env: dict[str, str]
    """The environment the server runs with; CLI calls made with it share its store."""


def dev_environment(root: Path) -> dict[str, str]:
    """``DAGSTER_HOME`` (with the repository's ``dagster.yaml``) and ``MGE_HOME`` under root."""
    dagster_home = root / "dagster"
    dagster_home.mkdir(exist_ok=True)
    shutil.copyfile(REPOSITORY_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    (root / "mge").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env.update({"DAGSTER_HOME": str(dagster_home), "MGE_HOME": str(root / "mge")})
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = UP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster dev exited"
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"dagster dev did not answer on {url} within {seconds}s")


@contextmanager
def running_dagster_dev(root: Path) -> Iterator[DagsterDev]:
    """``dagster dev`` serving the repository's workspace; stopped (whole process group) after."""
    env = dev_environment(root)
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
    try:
        wait_until_up(url, process)
        yield DagsterDev(url, port, root / "mge", env)
    finally:
        stop_process(process, group=True)
