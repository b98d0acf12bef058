"""The review machinery's hooks: the sensor is in the Definitions; a bad setting never fails
the run that calls the queue hook."""

from __future__ import annotations

import logging

import pytest

from mge_pipeline.definitions import build_definitions
from mge_pipeline.review.queue import queue_for_review
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline_tests.factories import make_plan


def test_the_review_sensor_is_registered(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    defs = build_definitions()
    assert defs.resolve_sensor_def("review_decision_sensor") is not None
    assert defs.resolve_sensor_def("ready_masterplan_sensor") is not None


def test_a_bad_percentage_is_logged_and_writes_nothing(
    store: MgeStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MGE_REVIEW_BOTTOM_PERCENT", "lots")
    with caplog.at_level(logging.WARNING):
        assert queue_for_review(store, make_plan(), "run-1", [], 4) == []
    assert "MGE_REVIEW_BOTTOM_PERCENT='lots' is not a percentage (0-100)" in caplog.text
    assert ReviewRepository(store).entries() == []
