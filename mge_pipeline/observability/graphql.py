"""Reading execution state back through Dagster's GraphQL API with dagster-graphql's client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from dagster_graphql import DagsterGraphQLClient

from mge_pipeline import constants as c
from mge_pipeline.domain import ExecutionState
from mge_pipeline.observability.status import RUNS_QUERY, states_from_runs


def client_for(url: str) -> DagsterGraphQLClient:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    return DagsterGraphQLClient(
        parsed.hostname or "127.0.0.1",
        port_number=parsed.port,
        use_https=parsed.scheme == "https",
    )


def states_over_graphql(
    url: str, masterplan_id: str | None = None, *, limit: int = 20
) -> list[ExecutionState]:
    """The latest runs' ExecutionState from their tags, newest first."""
    tags = [{"key": c.TAG_MASTERPLAN_ID, "value": masterplan_id}] if masterplan_id else []
    answer: dict[str, Any] = client_for(url)._execute(
        RUNS_QUERY, {"filter": {"tags": tags}, "limit": limit}
    )
    runs = answer["runsOrError"]
    if runs["__typename"] != "Runs":
        raise RuntimeError(f"GraphQL answered {runs['__typename']}: {runs.get('message', '')}")
    return states_from_runs(runs["results"])
