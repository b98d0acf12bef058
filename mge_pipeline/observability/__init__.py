"""Prometheus metrics and execution status published through Dagster.

prometheus-client picks single- or multi-process mode when it is first imported, from
``PROMETHEUS_MULTIPROC_DIR``; importing this package sets that variable first (to
``settings.metrics_dir()``), so every submodule can import prometheus-client normally. Nothing
else in MGE imports prometheus-client.
"""

from mge_pipeline import settings

settings.metrics_dir()
