"""Serving and pushing the merged metrics of every MGE process."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, push_to_gateway, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from mge_pipeline import settings


def merged_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_LiveCollector(str(settings.metrics_dir())))
    return registry


class _LiveCollector:
    """Dagster's run workers come and go: the live series of dead ones are dropped first."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._merged = MultiProcessCollector(None, path=path)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        drop_dead_workers(self._path)
        return self._merged.collect()  # type: ignore[no-untyped-call,no-any-return]


def drop_dead_workers(path: str) -> None:
    """``mark_process_dead`` for every pid with live-mode files that no longer runs here."""
    pids = {
        int(match.group(1))
        for file in Path(path).glob("gauge_live*_*.db")
        if (match := re.search(r"_(\d+)\.db$", file.name))
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:
            continue  # alive, another user's


def serve_metrics(host: str, port: int, *, stop: threading.Event | None = None) -> None:
    """Blocks, serving /metrics until ``stop`` is set (or forever)."""
    server, thread = start_http_server(port, addr=host, registry=merged_registry())
    try:
        (stop or threading.Event()).wait()
    finally:
        server.shutdown()
        thread.join(timeout=5)


def push_metrics(gateway: str, *, job: str = "mge") -> None:
    """For short-lived runs when Prometheus cannot scrape them: one push at the end."""
    push_to_gateway(gateway, job=job, registry=merged_registry())
