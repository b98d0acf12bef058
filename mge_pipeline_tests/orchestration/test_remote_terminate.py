"""Cancelling a run that was launched a moment ago: Dagster refuses until it has a process.

A real ``dagster dev`` answers ``TerminateRunFailure`` when the run's worker has not started
yet (seen in CI: a cancel right after a start got a 502). The race cannot be forced against a
real server, so the GraphQL client is replaced by one that answers as dagster-graphql's does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from dagster_graphql import DagsterGraphQLClientError

from mge_pipeline.orchestration import remote
from mge_pipeline.orchestration.remote import DagsterRemote, DagsterUnavailableError


@dataclass
class RefusingClient:
    refusals: int
    calls: list[str] = field(default_factory=list)

    def terminate_run(self, run_id: str) -> None:
        self.calls.append(run_id)
        if len(self.calls) <= self.refusals:
            raise DagsterGraphQLClientError(
                "TerminateRunFailure", f"Unable to terminate run {run_id}"
            )


def _remote(client: RefusingClient, monkeypatch: pytest.MonkeyPatch) -> DagsterRemote:
    monkeypatch.setattr(remote, "TERMINATE_RETRY_SECONDS", 0.01)
    dagster = DagsterRemote("http://127.0.0.1:1")
    monkeypatch.setattr(dagster, "_client", lambda: client)
    return dagster


def test_a_cancel_right_after_a_start_is_asked_again_until_the_run_can_be_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = RefusingClient(refusals=3)
    _remote(client, monkeypatch).terminate("r1")
    assert client.calls == ["r1"] * 4


def test_a_run_that_never_becomes_stoppable_is_reported_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote, "TERMINATE_WAIT_SECONDS", 0.1)
    client = RefusingClient(refusals=10_000)
    with pytest.raises(DagsterUnavailableError) as raised:
        _remote(client, monkeypatch).terminate("r2")
    assert "Unable to terminate run r2" in str(raised.value) and "\n" not in str(raised.value)
    assert len(client.calls) > 1
