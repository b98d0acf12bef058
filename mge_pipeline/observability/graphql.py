"""Reading execution state back through Dagster's GraphQL API.

A plain HTTP POST of one documented query (``status.RUNS_QUERY``): the dagster-graphql client
has no public method for arbitrary queries, and its private one may change under us.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from mge_pipeline import constants as c
from mge_pipeline.domain import ExecutionState
from mge_pipeline.exceptions import MgeError
from mge_pipeline.observability.status import RUNS_QUERY, states_from_runs

TIMEOUT_SECONDS = 30.0


def graphql_endpoint(url: str) -> str:
    """The webserver's address, with or without its ``/graphql`` path, as a user may give it."""
    base = (url if "://" in url else f"http://{url}").rstrip("/")
    return base if base.endswith("/graphql") else base + "/graphql"


def states_over_graphql(
    url: str, masterplan_id: str | None = None, *, limit: int = 20
) -> list[ExecutionState]:
    """The latest runs' ExecutionState from their tags, newest first."""
    tags = [{"key": c.TAG_MASTERPLAN_ID, "value": masterplan_id}] if masterplan_id else []
    variables = {"filter": {"tags": tags}, "limit": limit}
    runs = graphql_query(url, RUNS_QUERY, variables)["runsOrError"]
    if runs["__typename"] != "Runs":
        raise MgeError(f"GraphQL answered {runs['__typename']}: {runs.get('message', '')}")
    return states_from_runs(runs["results"])


def graphql_query(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """POST one query to the webserver at ``url``; its ``data``, or one-line MgeError."""
    endpoint = graphql_endpoint(url)
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MgeError(f"cannot query Dagster's GraphQL API at {endpoint}: {reason}") from exc
    if answer.get("errors"):
        raise MgeError(f"GraphQL errors from {endpoint}: {answer['errors'][0].get('message')}")
    data: dict[str, Any] = answer["data"]
    return data
