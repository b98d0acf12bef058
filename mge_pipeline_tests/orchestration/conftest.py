"""Fixtures of the orchestration tests: every compiled-job test runs under both schedulings."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["dependencies", "waves"])
def scheduling(request: pytest.FixtureRequest) -> str:
    """``dependencies`` (no barrier, the default) and ``waves`` (the seed's barrier)."""
    return str(request.param)
