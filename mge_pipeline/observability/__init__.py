"""Prometheus metrics and execution status published through Dagster.

prometheus-client picks single- or multi-process mode when it is first imported, from
``PROMETHEUS_MULTIPROC_DIR``; importing this package sets that variable first (to
``settings.metrics_dir()``), so every submodule can import prometheus-client normally. Nothing
else in MGE imports prometheus-client. The directory itself is made only when the first sample
is recorded, so importing (say, ``definitions.py``) leaves the disk alone.
"""

from mge_pipeline import settings

settings.metrics_dir(create=False)
