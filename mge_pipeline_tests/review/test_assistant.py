"""The assistant's pattern findings (with fixes as before/after), alternatives, explanations."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.domain import AttemptRecord
from mge_pipeline.generation import price_for
from mge_pipeline.generation.anthropic_provider import AnthropicProvider
from mge_pipeline.generation.pricing import ModelPrice
from mge_pipeline.generation.simulated import SimulatedModel
from mge_pipeline.review.assistant import alternatives, find_issues
from mge_pipeline.review.explain import SIMULATED_DECLINE, explain_failure
from mge_pipeline.testing import MessagesApiServer
from mge_pipeline_tests.factories import make_atom

PYTHON = """import os
counter = 0
def load(items=[]):
    global counter
    try:
        print("loading")
        return open("/home/ana/data.txt").read()
    except:
        return None
"""

JAVASCRIPT = """var total = 0;
function add(a, b) {
  console.log(a, b);
  if (a == null) { return b; }
  window.lastSum = a + b;
  return a + b;
}
"""

TYPESCRIPT = (
    "function parse(raw: any): number {\n  const value = raw as any;\n"
    "  return value != 1 ? 0 : 1;\n}\n"
)


def _rules(code: str, language: str) -> dict[str, tuple[int, str, str]]:
    return {
        f.rule: (f.line, f.before.strip(), f.after.strip()) for f in find_issues(code, language)
    }


def test_python_findings_with_fixes() -> None:
    found = _rules(PYTHON, "python")
    assert found["bare-except"] == (8, "except:", "except Exception:")
    assert found["print-left-in"][0] == 6
    assert found["global-state"][0] == 4
    assert found["mutable-default"] == (3, "def load(items=[]):", "def load(items=None):")
    assert found["hard-coded-path"][0] == 7 and "/home/ana" not in found["hard-coded-path"][2]
    assert "loose-equality" not in found and "var-declaration" not in found


def test_javascript_and_typescript_findings_with_fixes() -> None:
    js = _rules(JAVASCRIPT, "javascript")
    assert js["var-declaration"] == (1, "var total = 0;", "const total = 0;")
    assert js["console-log-left-in"][0] == 3
    assert js["loose-equality"] == (
        4,
        "if (a == null) { return b; }",
        "if (a === null) { return b; }",
    )
    assert js["global-assignment"][0] == 5
    assert "any-type" not in js
    ts = find_issues(TYPESCRIPT, "typescript")
    anys = [f for f in ts if f.rule == "any-type"]
    assert [f.line for f in anys] == [1, 2] and "unknown" in anys[0].after
    loose = next(f for f in ts if f.rule == "loose-equality")
    assert "!== 1" in loose.after


def test_clean_code_has_no_findings() -> None:
    assert find_issues("def add(a: int, b: int) -> int:\n    return a + b\n", "python") == []
    assert (
        find_issues("export const add = (a: number, b: number): number => a + b;\n", "typescript")
        == []
    )


def test_alternatives_are_the_other_attempts_distinct_code() -> None:
    attempts = [
        AttemptRecord(
            atom_id="a", attempt_number=1, temperature=0.7, code="x = 1\n", errors=["e1"]
        ),
        AttemptRecord(atom_id="a", attempt_number=2, temperature=0.5, code="x = 2\n"),
        AttemptRecord(atom_id="a", attempt_number=3, temperature=0.3, code="x = 1\n"),
        AttemptRecord(atom_id="a", attempt_number=4, temperature=0.3, code=None),
    ]
    found = alternatives(attempts, "x = 2\n")
    assert [(a.attempt_number, a.errors) for a in found] == [(1, ["e1"])]


def test_the_simulated_model_declines_to_explain() -> None:
    explanation = asyncio.run(
        explain_failure(
            SimulatedModel(), price_for("claude-sonnet-4-5"), make_atom(), None, [], budget_usd=1.0
        )
    )
    assert explanation.text is None and explanation.declined == SIMULATED_DECLINE
    assert explanation.cost_usd == 0


def test_an_explanation_through_the_real_sdk_is_costed_and_guarded() -> None:
    price = ModelPrice(3.0, 15.0)
    with MessagesApiServer(lambda request: "The code adds where the spec multiplies.") as server:
        provider = AnthropicProvider(api_key="test", model="claude-sonnet-5-5", base_url=server.url)

        async def ask(budget: float):  # type: ignore[no-untyped-def]
            try:
                return await explain_failure(
                    provider,
                    price,
                    make_atom(),
                    "def add(a, b):\n    return a - b\n",
                    ["add(1, 2) != 3"],
                    budget_usd=budget,
                )
            finally:
                await provider.aclose()

        explained = asyncio.run(ask(1.0))
        assert explained.text == "The code adds where the spec multiplies."
        assert explained.cost_usd > 0 and explained.declined is None
        sent = server.requests[0]
        assert "add(1, 2) != 3" in sent.prompt and "return a - b" in sent.prompt
    with MessagesApiServer() as server:
        provider = AnthropicProvider(api_key="test", model="claude-sonnet-5-5", base_url=server.url)
        refused = asyncio.run(ask(0.000001))
        assert refused.text is None and refused.declined is not None
        assert refused.declined.startswith("no explanation requested: the call could cost")
        assert server.requests == [], "refused by the budget before any call"


@pytest.mark.parametrize("language", ["python", "javascript", "typescript"])
def test_comment_lines_are_not_findings(language: str) -> None:
    marker = "#" if language == "python" else "//"
    assert find_issues(f"{marker} print('x') console.log(1) var a == b\n", language) == []
