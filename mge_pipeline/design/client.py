"""Which provider can plan: only one that talks to the Messages API.

Planning needs structured JSON answers written for a request nobody has answered before; the
simulated model replays known code and has nothing to replay, so it declines with a message
saying what is needed instead of inventing a plan.
"""

from __future__ import annotations

import anthropic

from mge_pipeline.exceptions import MgeError
from mge_pipeline.generation import AnthropicProvider, LLMProvider
from mge_pipeline.generation.simulated import NO_PLAN_MESSAGE


class PlanningUnavailableError(MgeError):
    """The configured provider cannot plan (the simulated model); nothing was called."""


def check_can_plan(provider: LLMProvider) -> AnthropicProvider:
    """The provider itself if it can plan; PlanningUnavailableError (nothing called) if not."""
    if isinstance(provider, AnthropicProvider):
        return provider
    raise PlanningUnavailableError(NO_PLAN_MESSAGE)


def planning_client(provider: LLMProvider) -> anthropic.AsyncAnthropic:
    """A client of its own, with the provider's key, address and timeout, for one stage.

    Its connections belong to the event loop it is used on, so the stage closes it there
    (``async with``); the provider's client stays the generation's.
    """
    source = check_can_plan(provider).client
    return anthropic.AsyncAnthropic(
        api_key=source.api_key,
        base_url=str(source.base_url),
        timeout=source.timeout,
        max_retries=0,  # the stage loop retries, as the provider's own client does not
    )
