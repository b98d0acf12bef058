"""JSON answers through the SDK's schema support, repaired when they do not validate."""

from __future__ import annotations

import asyncio

import anthropic
import pytest
from pydantic import BaseModel, Field

from mge_pipeline.generation.structured import (
    StructuredAnswer,
    StructuredOutputError,
    ask_structured,
)
from mge_pipeline.testing import Answer, MessagesApiServer


class Step(BaseModel):
    name: str
    count: int = Field(ge=0)


class Plan(BaseModel):
    steps: list[Step] = Field(min_length=1)


def _ask(server: MessagesApiServer, max_repairs: int = 2) -> StructuredAnswer[Plan]:
    async def go() -> StructuredAnswer[Plan]:
        client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=server.url, max_retries=0)
        try:
            return await ask_structured(
                client,
                Plan,
                model="claude-haiku-5-5",
                prompt="Plan it.",
                system="You plan.",
                effort="low",
                max_repairs=max_repairs,
            )
        finally:
            await client.close()

    return asyncio.run(go())


def test_an_invalid_answer_is_repaired_with_its_problems(messages_api: MessagesApiServer) -> None:
    messages_api.enqueue(
        Answer('{"steps": [{"name": "a", "count": -1}]}'),
        Answer('{"steps": [{"name": "a", "count": 1}]}'),
    )
    answer = _ask(messages_api)
    assert answer.value == Plan(steps=[Step(name="a", count=1)])
    first, repair = messages_api.requests
    output_format = first.body["output_config"]["format"]
    assert (
        output_format["type"] == "json_schema" and "steps" in output_format["schema"]["properties"]
    )
    assert first.body["output_config"]["effort"] == "low"
    turns = repair.body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert "- steps.0.count: Input should be greater than or equal to 0" in turns[2]["content"]
    assert answer.usage.calls == 2
    assert answer.usage.cost_usd == pytest.approx(messages_api.billed_usd()), "failed call counted"


def test_no_valid_answer_after_the_repairs_says_what_is_wrong(
    messages_api: MessagesApiServer,
) -> None:
    messages_api.enqueue(Answer("not json"), Answer('{"steps": []}'))
    with pytest.raises(StructuredOutputError) as caught:
        _ask(messages_api, max_repairs=1)
    assert caught.value.usage.calls == 2
    assert caught.value.problems == [
        "- steps: List should have at least 1 item after validation, not 0"
    ]
