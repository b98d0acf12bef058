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


def planning_client(provider: LLMProvider) -> anthropic.AsyncAnthropic:
    if isinstance(provider, AnthropicProvider):
        return provider.client
    raise PlanningUnavailableError(NO_PLAN_MESSAGE)
