"""Shared fixtures: a clean environment, a temporary MGE home and store, example plans."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.store import MgeStore
from mge_pipeline.testing import MessagesApiServer

# prometheus-client fixes its mode at first import: give this test process one metrics
# directory of its own before anything imports it (subprocesses get their own, see mge()).
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mge-test-metrics-")

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY_ROOT / "examples" / "masterplans"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now, for servers the tests start."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 30 s (a loaded machine can be slow to
    shut a server down); always reaped, so no test inherits a half-dead child."""
    send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    try:
        send(signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            send(signal.SIGKILL)
    process.wait()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees a real API key or a developer's database; each gets its own MGE home."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "MGE_DATABASE_URL",
        "MGE_PROVIDER",
        "MGE_MODEL",
        "MGE_OUTPUT_DIR",
        "DAGSTER_HOME",
        "MGE_EXAMPLES_DIR",
        # Team deployment (issue 17): none of a developer's deployment settings leak in.
        "MGE_EXECUTOR",
        "MGE_LLM_SLOTS",
        "MGE_SCHEDULES",
        "MGE_RETRY_SCHEDULE",
        "MGE_REVALIDATE_SCHEDULE",
        "DAGSTER_PG_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "mge-home"
    monkeypatch.setenv("MGE_HOME", str(home))
    return home


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(database_url: str) -> Iterator[MgeStore]:
    repository = MgeStore(database_url)
    repository.create_all()
    yield repository
    repository.dispose()


@pytest.fixture
def messages_api() -> Iterator[MessagesApiServer]:
    """The local Messages API on 127.0.0.1; script it with ``enqueue(Answer(...), Fault(...))``."""
    with MessagesApiServer() as server:
        yield server
