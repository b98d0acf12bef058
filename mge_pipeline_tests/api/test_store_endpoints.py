"""Execution reads, lifecycle refusals, atomization, dependencies, validation and the OpenAPI
document over HTTP, on a real run's store with Dagster unreachable (502 where it is needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline_tests.api.helpers import OPERATOR, READER, REVIEWER, RunningApi, running_api

pytestmark = pytest.mark.integration
SOURCE = '''"""Tiny module."""


def double(x: int) -> int:
    return x * 2


def quadruple(x: int) -> int:
    return double(double(x))
'''


@pytest.fixture
def api(api_database: str) -> Iterator[RunningApi]:
    with running_api(api_database) as running:
        yield running


@pytest.fixture
def execution_id(reviewed_store: tuple[Path, str]) -> str:
    return reviewed_store[1]


def test_execution_reads(api: RunningApi, execution_id: str) -> None:
    client = api.client()
    base = f"/api/v2/execution/{execution_id}"
    listed = client.get("/api/v2/execution", params={"masterplan_id": "api_plan"}).json()
    assert [e["execution_id"] for e in listed] == [execution_id]
    status = client.get(f"{base}/status").json()
    assert status["status"] == "failed" and status["atoms_total"] == 5
    progress = client.get(f"{base}/progress").json()
    assert progress["percent"] == 100.0 and progress["by_status"] == {"succeeded": 4, "failed": 1}
    wave = client.get(f"{base}/waves/0").json()
    assert wave["atoms"]["broken"] == "failed" and wave["summary"]["atoms_total"] == 5
    atom = client.get(f"{base}/atoms/add").json()
    assert atom["status"] == "succeeded" and atom["code"].startswith("def add")
    assert atom["attempts"][-1]["passed"] is True
    metrics = client.get(f"{base}/metrics").json()
    assert metrics["precision_percent"] == 80.0 and metrics["attempts"] >= 5
    assert 0 < metrics["budget_used_ratio"] < 1 and metrics["tokens"]["input"] > 0
    for path, detail in [
        ("/api/v2/execution/nope/status", "execution 'nope' does not exist"),
        (f"{base}/waves/7", f"execution '{execution_id}' has no wave 7 (0-0)"),
        (f"{base}/atoms/nope", "masterplan 'api_plan' has no atom 'nope'"),
        ("/api/v2/execution/nope/metrics", "execution 'nope' does not exist"),
        ("/api/v2/execution/nope/progress", "execution 'nope' does not exist"),
    ]:
        answer = client.get(path)
        assert (answer.status_code, answer.json()["detail"]) == (404, detail), path


def test_lifecycle_refusals_and_an_unreachable_dagster(api: RunningApi, execution_id: str) -> None:
    operator, base = api.client(OPERATOR), f"/api/v2/execution/{execution_id}"
    assert api.client(REVIEWER).post(f"{base}/cancel").status_code == 403
    assert api.client(READER).post("/api/v2/execution/start", json={}).status_code == 403
    for action in ("cancel", "pause"):
        answer = operator.post(f"{base}/{action}")
        assert answer.status_code == 409
        assert answer.json()["detail"] == f"execution '{execution_id}' is failed, not running"
    changed_plan = operator.post(f"{base}/resume")
    assert changed_plan.status_code == 502, "failed is resumable: the launch needs Dagster"
    assert changed_plan.json()["detail"].startswith("Dagster at http://127.0.0.1:")
    assert operator.post("/api/v2/execution/nope/pause").status_code == 404
    assert operator.post("/api/v2/execution/nope/resume").status_code == 404
    assert operator.post("/api/v2/execution/nope/cancel").status_code == 502
    unknown = operator.post("/api/v2/execution/start", json={"masterplan_id": "nope"})
    assert unknown.status_code == 404
    bad = operator.post(
        "/api/v2/execution/start", json={"masterplan_id": "api_plan", "budget_usd": -1}
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("body.budget_usd: ")
    down = operator.post("/api/v2/execution/start", json={"masterplan_id": "api_plan"})
    assert down.status_code == 502 and "Dagster" in down.json()["detail"]
    assert api.store.executions("api_plan")[0].execution_id == execution_id, "nothing started"


def test_atomize_dependencies_and_waves(api: RunningApi) -> None:
    operator = api.client(OPERATOR)
    body = {"files": [{"path": "tiny.py", "content": SOURCE}], "masterplan_id": "tiny"}
    answer = operator.post("/api/v2/atomization/atomize", json={**body, "store": True})
    assert answer.status_code == 200, answer.text
    atomized = answer.json()
    assert atomized["atoms"] >= 2 and atomized["stored"] is True
    assert atomized["masterplan"]["id"] == "tiny"
    assert api.client(READER).post("/api/v2/atomization/atomize", json=body).status_code == 403
    outside = {**body, "files": [{"path": "../x.py", "content": SOURCE}]}
    assert operator.post("/api/v2/atomization/atomize", json=outside).status_code == 422
    nothing = {**body, "files": [{"path": "notes.txt", "content": "hello"}]}
    refused = operator.post("/api/v2/atomization/atomize", json=nothing)
    assert refused.status_code == 422 and "no file could be atomized" in refused.json()["detail"]
    bad_id = operator.post("/api/v2/atomization/atomize", json={**body, "masterplan_id": "1x"})
    assert bad_id.json()["detail"].startswith("body.masterplan_id: ")

    reader = api.client()
    graph = reader.get("/api/v2/masterplans/tiny/dependencies").json()
    quadruple = next(n for n in graph["nodes"] if "quadruple" in n)
    double = next(n for n in graph["nodes"] if n.endswith("double") and n != quadruple)
    assert {"source": double, "target": quadruple, "type": "FUNCTION_CALL"} in graph["edges"]
    waves = reader.get("/api/v2/masterplans/tiny/waves").json()
    assert len(waves["waves"]) >= 2 and waves["statistics"]["atoms"] == str(atomized["atoms"])
    assert reader.get("/api/v2/masterplans/nope/waves").status_code == 404
    assert reader.get("/api/v2/masterplans/nope/dependencies").status_code == 404


def test_validate_one_atom(api: RunningApi) -> None:
    operator, url = api.client(OPERATOR), "/api/v2/validation/atom"
    good = {
        "masterplan_id": "api_plan",
        "atom_id": "broken",
        "code": "def broken(a, b):\n    return a + b\n",
    }
    passed = operator.post(url, json=good).json()
    assert passed["passed"] is True and passed["issues"] == []
    failed = operator.post(url, json={**good, "code": "def broken(a, b):\n    return 0\n"}).json()
    assert failed["passed"] is False and failed["issues"][0]["category"]
    assert operator.post(url, json={**good, "atom_id": "nope"}).status_code == 404
    missing = operator.post(url, json={"masterplan_id": "api_plan", "atom_id": "add"})
    assert missing.json()["detail"] == "body.code: Field required"


def test_openapi_document_lists_every_endpoint(api: RunningApi) -> None:
    client = api.client(None)
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v2/execution/start",
        "/api/v2/execution/{execution_id}/status",
        "/api/v2/execution/{execution_id}/progress",
        "/api/v2/execution/{execution_id}/waves/{wave_index}",
        "/api/v2/execution/{execution_id}/atoms/{atom_id}",
        "/api/v2/execution/{execution_id}/pause",
        "/api/v2/execution/{execution_id}/resume",
        "/api/v2/execution/{execution_id}/cancel",
        "/api/v2/execution/{execution_id}/metrics",
        "/api/v2/review/queue",
        "/api/v2/review/entries/{entry_id}",
        "/api/v2/review/entries/{entry_id}/approve",
        "/api/v2/review/entries/{entry_id}/reject",
        "/api/v2/review/entries/{entry_id}/edit",
        "/api/v2/review/entries/{entry_id}/regenerate",
        "/api/v2/review/entries/{entry_id}/assign",
        "/api/v2/review/statistics/{masterplan_id}",
        "/api/v2/review/bulk",
        "/api/v2/atomization/atomize",
        "/api/v2/masterplans/{masterplan_id}/dependencies",
        "/api/v2/masterplans/{masterplan_id}/waves",
        "/api/v2/validation/atom",
    ):
        assert path in paths, path
    assert client.get("/docs").status_code == 200
    assert client.get("/api/v2/review/queue").status_code == 401


def test_the_page_needs_a_token_and_names_an_unknown_entry(api: RunningApi) -> None:
    browser = api.client(None)
    assert browser.get("/review").status_code == 401
    assert browser.get("/review/entries/1").status_code == 401
    signed = browser.post("/review/login", data={"token": READER}, follow_redirects=False)
    assert signed.status_code == 303 and "httponly" in signed.headers["set-cookie"].lower()
    page = browser.get("/review/entries/999")
    assert page.status_code == 404 and "review entry 999 does not exist" in page.text
    assert browser.get("/review?status=done").status_code == 422
    denied = browser.post("/review/entries/1/approve")
    assert denied.status_code == 403 and "lacks the &#39;review&#39; scope" in denied.text
    assert browser.get("/api/v2/review/queue").status_code == 401, "the JSON API takes no cookie"
    foreign = api.client(None)
    foreign.post("/review/login", data={"token": REVIEWER})
    forged = foreign.post("/review/entries/1/approve", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403 and forged.json()["detail"].startswith("form posted from")
