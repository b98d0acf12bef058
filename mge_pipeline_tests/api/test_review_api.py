"""The review endpoints over HTTP against a real run's store: the queue, an entry, the five
decisions with the CLI's rules, statistics and bulk creation; 401/403/404/409/422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline_tests.api.helpers import OPERATOR, READER, REVIEWER, RunningApi, running_api

pytestmark = pytest.mark.integration
FIXED = "def broken(a: int, b: int) -> int:\n    return a + b\n"


@pytest.fixture
def api(api_database: str) -> Iterator[RunningApi]:
    with running_api(api_database) as running:
        yield running


def _ids(api: RunningApi) -> tuple[int, int]:
    """The failed atom's entry and the first validated one's."""
    entries = ReviewRepository(api.store).entries("api_plan")
    broken = next(e for e in entries if e.atom_id == "broken")
    passing = next(e for e in entries if e.atom_status == "succeeded")
    return broken.entry_id, passing.entry_id


@pytest.mark.parametrize(
    ("token", "status", "detail"),
    [
        pytest.param(
            None, 401, "missing bearer token (Authorization: Bearer <token>)", id="missing"
        ),
        pytest.param("x" * 20, 401, "unknown bearer token", id="wrong"),
        pytest.param(READER, 403, "token 'rita' lacks the 'review' scope", id="read-only"),
        pytest.param(OPERATOR, 403, "token 'ops' lacks the 'review' scope", id="operator"),
    ],
)
def test_a_decision_without_the_right_token_changes_nothing(
    api: RunningApi, token: str | None, status: int, detail: str
) -> None:
    _, passing = _ids(api)
    before = ReviewRepository(api.store).entry(passing)
    answer = api.client(token).post(f"/api/v2/review/entries/{passing}/approve")
    assert answer.status_code == status
    assert answer.json() == {"detail": detail}
    assert ReviewRepository(api.store).entry(passing) == before
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


def test_queue_filters_sorts_and_names_a_bad_parameter(api: RunningApi) -> None:
    client = api.client()
    queue = client.get("/api/v2/review/queue").json()
    assert len(queue) == 3 and queue[0]["atom_id"] == "broken" and queue[0]["priority"] == 100
    by_confidence = client.get("/api/v2/review/queue", params={"sort": "confidence"}).json()
    confidences = [e["confidence"] for e in by_confidence]
    assert confidences == sorted(confidences)
    by_date = client.get("/api/v2/review/queue", params={"sort": "date"}).json()
    assert [e["created_at"] for e in by_date] == sorted(
        (e["created_at"] for e in by_date), reverse=True
    )
    assert [e["atom_id"] for e in client.get("/api/v2/review/queue?q=BROK").json()] == ["broken"]
    assert client.get("/api/v2/review/queue?status=approved").json() == []
    assert len(client.get("/api/v2/review/queue?masterplan_id=api_plan&limit=2").json()) == 2
    bad = client.get("/api/v2/review/queue?status=done")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.status: ")
    assert (
        client.get("/api/v2/review/queue?limit=0").json()["problems"][0].startswith("query.limit: ")
    )


def test_an_entry_has_code_attempts_findings_and_decisions(api: RunningApi) -> None:
    broken, passing = _ids(api)
    client = api.client()
    detail = client.get(f"/api/v2/review/entries/{passing}").json()
    assert detail["entry"]["entry_id"] == passing and detail["language"] == "python"
    assert detail["code"].startswith("def ") and detail["signature"].startswith("def ")
    assert detail["attempts"] and detail["attempts"][-1]["passed"] is True
    assert isinstance(detail["findings"], list) and detail["decisions"] == []
    if detail["previous_attempt"] is not None:  # a fault was retried: the diff shows it
        assert detail["diff"][0].startswith("--- attempt ")
    failed = client.get(f"/api/v2/review/entries/{broken}").json()
    assert failed["entry"]["atom_status"] == "failed" and failed["validation_errors"]
    missing = client.get("/api/v2/review/entries/999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "review entry 999 does not exist"}
    assert client.get("/api/v2/review/entries/abc").status_code == 422


def test_decisions_follow_the_rules_of_mge_review(api: RunningApi) -> None:
    broken, passing = _ids(api)
    reviewer, reviews = api.client(REVIEWER), ReviewRepository(api.store)
    url = f"/api/v2/review/entries/{passing}"

    refused = reviewer.post(f"/api/v2/review/entries/{broken}/approve")
    assert refused.status_code == 409 and "did not validate" in refused.json()["detail"]
    no_feedback = reviewer.post(f"{url}/reject", json={"feedback": "  "})
    assert no_feedback.status_code == 422
    assert (
        no_feedback.json()["detail"] == "body.feedback: reject needs feedback saying what is wrong"
    )
    extra = reviewer.post(f"{url}/reject", json={"feedback": "x", "severity": 3})
    assert extra.status_code == 422 and extra.json()["detail"].startswith("body.severity: ")
    assert reviews.entry(passing).status == "pending"  # type: ignore[union-attr]

    assigned = reviewer.post(f"{url}/assign").json()
    assert assigned["status"] == "in_review" and assigned["assignee"] == "ana"
    assert reviewer.post(f"{url}/assign").status_code == 409
    rejected = reviewer.post(f"{url}/reject", json={"feedback": "too clever"}).json()
    assert rejected["status"] == "rejected" and rejected["feedback"] == "too clever"
    again = reviewer.post(f"{url}/approve")
    assert again.status_code == 409
    assert (
        "is rejected; approve is allowed only when it is pending, in_review"
        in again.json()["detail"]
    )
    regenerating = reviewer.post(f"{url}/regenerate", json={"feedback": "simpler"}).json()
    assert regenerating["status"] == "regenerating"
    decisions = reviewer.get(url).json()["decisions"]
    assert [d["action"] for d in decisions] == ["assign", "reject", "regenerate"]
    assert {d["reviewer"] for d in decisions} == {"ana"}
    assert reviewer.post("/api/v2/review/entries/999/approve").status_code == 404


def test_an_edit_is_validated_before_it_is_accepted(api: RunningApi) -> None:
    broken, _ = _ids(api)
    reviewer, reviews = api.client(REVIEWER), ReviewRepository(api.store)
    url = f"/api/v2/review/entries/{broken}/edit"
    wrong = reviewer.post(url, json={"code": "def broken(a, b):\n    return a - b\n"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("body.code: the edited code does not validate: ")
    assert reviewer.post(url, json={}).json()["detail"] == "body.code: Field required"
    assert reviews.entry(broken).status == "pending"  # type: ignore[union-attr]
    edited = reviewer.post(url, json={"code": FIXED, "feedback": "plain sum"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "edited"
    entry = reviews.entry(broken)
    assert entry is not None and entry.code == FIXED
    assert api.store.validated_codes_by_hash([entry.spec_hash]) == {entry.spec_hash: FIXED}
    assert reviewer.post(url, json={"code": FIXED}).status_code == 409


def test_statistics_and_bulk_creation(api: RunningApi, reviewed_store: tuple[Path, str]) -> None:
    execution_id = reviewed_store[1]
    reader, reviewer = api.client(), api.client(REVIEWER)
    stats = reader.get("/api/v2/review/statistics/api_plan").json()
    assert stats["total"] == 3 and stats["by_status"] == {"pending": 3}
    assert reader.get("/api/v2/review/statistics/nope").status_code == 404

    bad = reviewer.post("/api/v2/review/bulk", json={"execution_id": execution_id, "percent": 150})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("body.percent: ")
    unknown = reviewer.post("/api/v2/review/bulk", json={"execution_id": "nope", "percent": 10})
    assert unknown.status_code == 404
    assert (
        reader.post(
            "/api/v2/review/bulk", json={"execution_id": execution_id, "percent": 1}
        ).status_code
        == 403
    )
    everything = reviewer.post(
        "/api/v2/review/bulk", json={"execution_id": execution_id, "percent": 100}
    ).json()
    assert len(everything["entry_ids"]) == 5, "the failed atom and all four validated"
    assert reader.get("/api/v2/review/statistics/api_plan").json()["total"] == 5
