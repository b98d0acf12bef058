"""Serving and pushing the merged metrics of every MGE process."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, push_to_gateway, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from mge_pipeline import settings


def merged_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.metrics_dir()))  # type: ignore[no-untyped-call]
    return registry


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
