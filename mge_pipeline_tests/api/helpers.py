"""The API on loopback for tests: uvicorn in a thread on a free port, over a real store."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from mge_pipeline.api import create_app
from mge_pipeline.api.auth import parse_tokens
from mge_pipeline.api.context import ApiContext
from mge_pipeline.orchestration.remote import DagsterRemote
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.conftest import free_port

READER, REVIEWER, OPERATOR = ("r" * 20, "v" * 20, "o" * 20)
TOKENS = [f"rita:{READER}:read", f"ana:{REVIEWER}:review", f"ops:{OPERATOR}:operate"]


@dataclass
class RunningApi:
    url: str
    store: MgeStore
    dagster_url: str
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = READER) -> httpx.Client:
        """Closed when the server stops."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=120)
        self.clients.append(client)
        return client


@contextmanager
def running_api(database_url: str, dagster_url: str | None = None) -> Iterator[RunningApi]:
    """``dagster_url`` None: a port nothing listens on, so Dagster is unreachable (502)."""
    store = MgeStore(database_url)
    dagster = dagster_url or f"http://127.0.0.1:{free_port()}"
    context = ApiContext(store=store, tokens=parse_tokens(TOKENS), dagster=DagsterRemote(dagster))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(context), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    running = RunningApi(f"http://127.0.0.1:{port}", store, dagster)
    try:
        yield running
    finally:
        for client in running.clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=30)
        store.dispose()


def copy_database(source: Path, target: Path) -> str:
    """A test's own copy of a prepared SQLite store (with its WAL), so tests never share
    state."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"
