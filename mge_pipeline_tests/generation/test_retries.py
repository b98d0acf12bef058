"""should_retry: the SDK's judgement of which failed calls are worth repeating, with a reason."""

from __future__ import annotations

import pytest

from mge_pipeline.generation.retries import should_retry


@pytest.mark.parametrize(
    ("status", "headers", "retry", "why"),
    [
        pytest.param(None, {}, True, "no answer", id="connection"),
        pytest.param(408, {}, True, "request timeout (408)", id="408"),
        pytest.param(409, {}, True, "lock conflict (409)", id="409"),
        pytest.param(429, {}, True, "rate limited (429)", id="429"),
        pytest.param(500, {}, True, "server error (500)", id="500"),
        pytest.param(529, {}, True, "server error (529)", id="529-overloaded"),
        pytest.param(400, {}, False, "request rejected (400)", id="400"),
        pytest.param(401, {}, False, "request rejected (401)", id="401"),
        pytest.param(400, {"x-should-retry": "true"}, True, "x-should-retry: true", id="hdr-true"),
        pytest.param(500, {"x-should-retry": "false"}, False, "x-should-retry: false", id="hdr-no"),
    ],
)
def test_should_retry(status: int | None, headers: dict[str, str], retry: bool, why: str) -> None:
    decision = should_retry(status, headers)
    assert decision.retry is retry and why in decision.why


def test_retry_after_is_read_like_the_sdk() -> None:
    from email.utils import formatdate

    from mge_pipeline.generation.retries import parse_retry_after

    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after": formatdate(1030.0, usegmt=True)}, now=1000.0) == 30.0
    assert parse_retry_after({"retry-after": "0"}) is None, "no wait asked"
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
