"""Launching, stopping and finding runs on a running Dagster webserver, over its GraphQL API.

``mge serve`` holds no Dagster instance of its own: runs are Dagster's, so the API asks the
webserver (``MGE_DAGSTER_URL``) to launch and terminate them with dagster-graphql's public
client, and finds an execution's runs by its ``mge/execution_id`` tag with one documented
query. Every client error leaves as a one-line ``DagsterUnavailableError`` or
``RunNotFoundError``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from mge_pipeline import constants as c
from mge_pipeline.exceptions import MgeError
from mge_pipeline.observability.graphql import graphql_query
from mge_pipeline.orchestration.compiler import job_name_for
from mge_pipeline.orchestration.config import default_run_config

__all__ = ["DagsterRemote", "DagsterUnavailableError", "LaunchedRun", "RunNotFoundError"]

CODE_LOCATION = "mge_pipeline"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
TERMINATE_WAIT_SECONDS = 20.0
"""How long a refused termination is asked again (a just-launched run has no process yet)."""
TERMINATE_RETRY_SECONDS = 0.5
_RUNS_BY_TAG = """
query MgeRunsByTag($filter: RunsFilter) {
  runsOrError(filter: $filter) { __typename ... on Runs { results { runId status } } }
}
"""


class DagsterUnavailableError(MgeError):
    """The webserver cannot be reached or refused the request."""


class RunNotFoundError(MgeError):
    """Dagster has no run of that id."""


@dataclass(frozen=True)
class LaunchedRun:
    run_id: str
    job_name: str


class DagsterRemote:
    """One webserver; a client per call keeps no connection state between requests."""

    def __init__(self, url: str) -> None:
        self.url = url if "://" in url else f"http://{url}"

    def _client(self) -> DagsterGraphQLClient:
        parts = urlsplit(self.url)
        return DagsterGraphQLClient(
            parts.hostname or "127.0.0.1",
            port_number=parts.port,
            use_https=parts.scheme == "https",
            timeout=60,
            path_prefix=parts.path.rstrip("/"),
        )

    def launch(self, masterplan_id: str, tags: dict[str, str], **prepare: Any) -> LaunchedRun:
        """Submit the plan's job with its full default run config plus ``prepare`` overrides;
        a job the code location does not have yet (a plan stored since it loaded) is found
        after one reload of the location."""
        job = job_name_for(masterplan_id)
        config = default_run_config(**prepare)
        all_tags = {c.TAG_MASTERPLAN_ID: masterplan_id, **tags}
        try:
            client = self._client()
            try:
                run_id = client.submit_job_execution(job, run_config=config, tags=all_tags)
            except DagsterGraphQLClientError as exc:
                if "NotFoundError" not in str(exc.args[0] if exc.args else ""):
                    raise
                client.reload_repository_location(CODE_LOCATION)
                run_id = client.submit_job_execution(job, run_config=config, tags=all_tags)
        except DagsterGraphQLClientError as exc:
            raise DagsterUnavailableError(
                f"Dagster at {self.url} refused the launch: {_line(exc)}"
            ) from exc
        except Exception as exc:  # requests/gql errors below the client's own translation
            raise DagsterUnavailableError(
                f"cannot reach Dagster at {self.url}: {_line(exc)}"
            ) from exc
        return LaunchedRun(run_id=str(run_id), job_name=job)

    def terminate(self, run_id: str) -> None:
        """Marks the run CANCELING; the run worker sees it within a second and stops.

        A run launched a moment ago may have no process to signal yet, and Dagster answers
        ``TerminateRunFailure``; the request is repeated for up to ``TERMINATE_WAIT_SECONDS``
        (a cancel right after a start must still stop the run), then reported."""
        deadline = time.monotonic() + TERMINATE_WAIT_SECONDS
        while True:
            try:
                self._client().terminate_run(run_id)
                return
            except DagsterGraphQLClientError as exc:
                kind = exc.args[0] if exc.args else None
                if kind == "RunNotFoundError":
                    raise RunNotFoundError(f"no run '{run_id}' in Dagster at {self.url}") from exc
                if kind == "TerminateRunFailure" and time.monotonic() < deadline:
                    time.sleep(TERMINATE_RETRY_SECONDS)
                    continue
                raise DagsterUnavailableError(f"Dagster at {self.url}: {_line(exc)}") from exc
            except Exception as exc:
                raise DagsterUnavailableError(
                    f"cannot reach Dagster at {self.url}: {_line(exc)}"
                ) from exc

    def run_status(self, run_id: str) -> str:
        try:
            return str(self._client().get_run_status(run_id).value)
        except DagsterGraphQLClientError as exc:
            if exc.args and exc.args[0] == "RunNotFoundError":
                raise RunNotFoundError(f"no run '{run_id}' in Dagster at {self.url}") from exc
            raise DagsterUnavailableError(f"Dagster at {self.url}: {_line(exc)}") from exc
        except Exception as exc:
            raise DagsterUnavailableError(
                f"cannot reach Dagster at {self.url}: {_line(exc)}"
            ) from exc

    def runs_of_execution(self, execution_id: str) -> dict[str, str]:
        """Run id → status of every run that worked on the execution (a resume adds one)."""
        variables = {"filter": {"tags": [{"key": c.TAG_EXECUTION_ID, "value": execution_id}]}}
        try:
            answer = graphql_query(self.url, _RUNS_BY_TAG, variables)["runsOrError"]
        except MgeError as exc:
            raise DagsterUnavailableError(str(exc)) from exc
        if answer["__typename"] != "Runs":
            raise DagsterUnavailableError(f"Dagster answered {answer['__typename']}")
        return {run["runId"]: run["status"] for run in answer["results"]}


def _line(exc: BaseException) -> str:
    """The client wraps transport errors in a message that quotes the whole query: the cause
    says what went wrong."""
    shown = exc.__cause__ or exc
    text = " ".join(str(part) for part in shown.args) if shown.args else ""
    return text.splitlines()[0][:300] if text.strip() else type(shown).__name__
