"""The three planning stages through the real SDK against the scripted Messages API server:
each answer validated against its schema and the plan's rules, and repaired with feedback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import anthropic
import pytest

from mge_pipeline.design import (
    PlanningError,
    PlanningServices,
    PlanningUnavailableError,
    StageSettings,
    assemble_masterplan,
    decompose,
    discover,
    plan_outline,
    planning_client,
)
from mge_pipeline.domain import Language
from mge_pipeline.domain.design import Discovery, PlanOutline
from mge_pipeline.exceptions import BudgetExceededError, ProviderFatalError
from mge_pipeline.execution.budget import InMemoryCostGuard
from mge_pipeline.generation import SimulatedModel
from mge_pipeline.generation.pricing import price_for
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.testing import (
    BUILD_REQUEST,
    Answer,
    Fault,
    FaultKind,
    MessagesApiServer,
    build_responder,
)

MODEL = "claude-sonnet-5-5"
R = TypeVar("R")


@pytest.fixture
def scripted() -> Iterator[MessagesApiServer]:
    with MessagesApiServer(build_responder()) as server:
        yield server


def _run(
    server: MessagesApiServer,
    stage: Callable[[PlanningServices], Awaitable[R]],
    *,
    budget: float = 5.0,
    max_answers: int = 4,
) -> tuple[R, InMemoryCostGuard]:
    guard = InMemoryCostGuard(budget)

    async def go() -> R:
        client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=server.url, max_retries=0)
        services = PlanningServices(
            client=client,
            guard=guard,
            price=price_for(MODEL),
            settings=StageSettings(model=MODEL, max_answers=max_answers, effort="medium"),
            gate=CallGate(max_in_flight=2),
            sleep=lambda seconds: asyncio.sleep(0),
        )
        try:
            return await stage(services)
        finally:
            await client.close()

    return asyncio.run(go()), guard


def _discovery(server: MessagesApiServer) -> Discovery:
    result, _ = _run(server, lambda s: discover(s, BUILD_REQUEST))
    return result.value


def test_discovery_that_fails_its_schema_is_repaired_with_the_errors(
    scripted: MessagesApiServer,
) -> None:
    result, guard = _run(scripted, lambda s: discover(s, BUILD_REQUEST, Language.PYTHON))
    assert result.value.project_id == "textkit" and result.value.package == "textkit"
    (rejected,) = result.rejected
    assert any(line.startswith("- project_id: String should match pattern") for line in rejected)
    assert "- package: Field required" in rejected
    first, repair = scripted.requests
    assert first.body["output_config"]["format"]["schema"]["title"] == "Discovery"
    assert first.body["output_config"]["effort"] == "medium"
    assert BUILD_REQUEST in first.body["messages"][0]["content"]
    assert "- package: Field required" in repair.body["messages"][2]["content"]
    assert result.usage.calls == 2
    assert guard.spent_usd == pytest.approx(scripted.billed_usd()) == result.usage.cost_usd
    assert guard.reserved_usd == pytest.approx(0.0)


def test_a_language_the_request_names_is_kept(scripted: MessagesApiServer) -> None:
    with pytest.raises(PlanningError) as caught:
        _run(scripted, lambda s: discover(s, BUILD_REQUEST, Language.TYPESCRIPT), max_answers=2)
    assert caught.value.problems == ["- language: the request asks for typescript"]
    assert caught.value.usage.calls == 2


def test_an_outline_with_an_unknown_task_dependency_is_sent_back(
    scripted: MessagesApiServer,
) -> None:
    discovery = _discovery(scripted)
    result, _ = _run(scripted, lambda s: plan_outline(s, discovery))
    assert result.rejected == (("- task 'stats' depends_on: unknown task 'tokenizer'",),)
    assert [t.id for t in result.value.tasks()] == ["text", "stats"]
    repair = scripted.requests[-1]
    assert "breaks the plan's rules" in repair.body["messages"][2]["content"]


def _outline(server: MessagesApiServer, discovery: Discovery) -> PlanOutline:
    result, _ = _run(server, lambda s: plan_outline(s, discovery))
    return result.value


def test_decompositions_are_checked_and_repaired_then_assembled(
    scripted: MessagesApiServer,
) -> None:
    discovery = _discovery(scripted)
    outline = _outline(scripted, discovery)
    text, stats = outline.tasks()
    done_text, _ = _run(scripted, lambda s: decompose(s, discovery, outline, text))
    done_stats, _ = _run(scripted, lambda s: decompose(s, discovery, outline, stats))
    assert done_text.rejected == (
        (
            "- task 'text' atom 'slugify' estimated_loc: 40 lines is not an atom (at most 15); "
            "split it into smaller atoms",
            "- task 'text' atom 'slugify' tests: no test (an assert or a test_ function)",
        ),
    )
    assert done_stats.rejected == (
        ("- task 'stats' atom cycle: top_word -> word_frequencies -> top_word",),
    )
    plan = assemble_masterplan(
        BUILD_REQUEST,
        discovery,
        outline,
        {"text": done_text.value, "stats": done_stats.value},
    )
    atoms = plan.atom_map()
    assert list(atoms) == [
        "text.normalize_space",
        "text.slugify",
        "stats.word_count",
        "stats.word_frequencies",
        "stats.top_word",
    ]
    count = atoms["stats.word_count"]
    assert count.depends_on == ["text.normalize_space"]
    assert count.context.imports == ["from textkit.text import normalize_space"]
    assert count.file_path == "textkit/stats.py" and count.reference_implementation is None
    assert "def test_counts_and_top_word" in plan.acceptance_tests
    assert BUILD_REQUEST in plan.description


def test_a_stage_that_never_passes_fails_with_the_last_problems(
    scripted: MessagesApiServer,
) -> None:
    discovery = _discovery(scripted)
    scripted.enqueue(Answer("not json"), Answer('{"atoms": []}'))
    with pytest.raises(PlanningError) as caught:
        _run(scripted, lambda s: plan_outline(s, discovery), max_answers=2)
    assert str(caught.value).startswith("planning: no answer passed its checks in 2 answers")
    assert any("phases: Field required" in p for p in caught.value.problems)


def test_api_errors_are_retried_without_spending_an_answer(
    scripted: MessagesApiServer,
) -> None:
    scripted.enqueue(Fault(FaultKind.OVERLOADED), Fault(FaultKind.RATE_LIMIT, retry_after=0))
    result, guard = _run(scripted, lambda s: discover(s, BUILD_REQUEST))
    assert result.usage.calls == 2, "the two faults were retried, not answers"
    assert len(scripted.requests) == 4
    assert guard.spent_usd == pytest.approx(scripted.billed_usd())


def test_the_budget_refuses_a_call_it_cannot_cover(scripted: MessagesApiServer) -> None:
    with pytest.raises(BudgetExceededError):
        _run(scripted, lambda s: discover(s, BUILD_REQUEST), budget=0.001)
    assert scripted.requests == [], "refused before any call"


def test_the_simulated_model_declines_planning() -> None:
    with pytest.raises(PlanningUnavailableError) as caught:
        planning_client(SimulatedModel())
    assert "has no plan to replay" in str(caught.value)
    assert "needs a real model" in str(caught.value)


def test_an_answer_cut_off_at_max_tokens_is_asked_again_shorter(
    scripted: MessagesApiServer,
) -> None:
    scripted.enqueue(Fault(FaultKind.TRUNCATED))
    result, _ = _run(scripted, lambda s: discover(s, BUILD_REQUEST))
    assert result.rejected[0] == (
        "- the answer was cut off at max_tokens; answer with a shorter JSON object",
    )
    assert result.value.project_id == "textkit"


def test_an_error_no_retry_can_fix_stops_the_stage_at_once(scripted: MessagesApiServer) -> None:
    scripted.enqueue(Fault(FaultKind.AUTHENTICATION))
    with pytest.raises(ProviderFatalError) as caught:
        _run(scripted, lambda s: discover(s, BUILD_REQUEST))
    assert "request rejected (401)" in str(caught.value)
    assert len(scripted.requests) == 1, "not retried"
