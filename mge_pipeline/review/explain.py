"""An optional explanation of an atom's failure by the configured model, inside a budget.

The worst case of the call (its prompt and output cap) must fit its own small budget before
it is made, as a generation call's reservation must; a budget too small refuses it without a
call. The simulated model only replays reference implementations, so it declines instead of
passing a replayed snippet off as an explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mge_pipeline.domain import AtomSpec
from mge_pipeline.exceptions import ProviderError
from mge_pipeline.generation import GenerationRequest, LLMProvider, ModelPrice, call_cost
from mge_pipeline.generation.pricing import estimate_tokens, worst_case_cost
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.generation.schedule import accepts_temperature

EXPLAIN_SYSTEM = (
    "You help a human reviewer. Explain in at most five sentences why the code below fails "
    "its spec and what a correct version must do differently. Do not write the whole code."
)
SIMULATED_DECLINE = (
    "the simulated model does not explain failures (it only replays reference "
    "implementations); set MGE_PROVIDER=anthropic for an explanation"
)


@dataclass(frozen=True)
class Explanation:
    text: str | None
    declined: str | None
    cost_usd: float = 0.0


def explanation_prompt(atom: AtomSpec, code: str | None, errors: Sequence[str]) -> str:
    shown = (code or "(no code was produced)").strip()
    lines = [
        f"Atom `{atom.name}` in `{atom.file_path}` ({atom.language}).",
        f"Signature: {atom.signature}",
        f"Spec: {atom.description}",
        f"Tests:\n```{atom.language}\n{atom.tests.strip()}\n```",
        f"Code under review:\n```{atom.language}\n{shown}\n```",
        "Validation errors:",
        *[f"- {error}" for error in errors[:10]],
    ]
    return "\n".join(lines)


async def explain_failure(
    provider: LLMProvider,
    price: ModelPrice,
    atom: AtomSpec,
    code: str | None,
    errors: Sequence[str],
    *,
    budget_usd: float,
    max_tokens: int = 400,
) -> Explanation:
    if provider.name == "simulated":
        return Explanation(None, SIMULATED_DECLINE)
    prompt = explanation_prompt(atom, code, errors)
    request = GenerationRequest(
        atom=atom,
        system_blocks=(PromptBlock(EXPLAIN_SYSTEM),),
        prompt=prompt,
        temperature=0.2 if accepts_temperature(provider.model) else None,
        max_tokens=max_tokens,
        attempt_number=1,
    )
    tokens = estimate_tokens(request.system) + estimate_tokens(prompt)
    worst = worst_case_cost(price, prompt_tokens=tokens, max_tokens=max_tokens)
    if worst > budget_usd:
        return Explanation(
            None,
            f"no explanation requested: the call could cost up to ${worst:.4f}, over the "
            f"${budget_usd:.4f} allowed (--explain-budget)",
        )
    try:
        response = await provider.generate(request)
    except ProviderError as exc:
        return Explanation(None, f"the model could not be asked: {exc}")
    cost = call_cost(
        price,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cache_write_tokens=response.cache_write_tokens,
        cache_read_tokens=response.cache_read_tokens,
    )
    if response.refusal:
        return Explanation(None, f"the model declined: {response.refusal}", cost)
    return Explanation(response.text.strip(), None, cost)
