"""The one small async interface every LLM provider implements.

Providers raise ``ProviderError`` for transient failures (the retry orchestrator backs off and
calls again without consuming an attempt) and ``ProviderFatalError`` when retrying cannot help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from mge_pipeline.domain import AtomSpec
from mge_pipeline.generation.prompts import PromptBlock


@dataclass(frozen=True)
class GenerationRequest:
    atom: AtomSpec
    system_blocks: tuple[PromptBlock, ...]
    prompt: str
    temperature: float | None
    max_tokens: int
    attempt_number: int
    model: str | None = None
    """The model to ask; ``None`` is the provider's own (``LLMProvider.model``)."""
    effort: str | None = None
    """``output_config.effort``; ``None`` sends none (the model's default)."""
    sample: int = 0
    """0: the attempt's answer. k ≥ 1: the k-th independent sample drawn to cross-check that
    answer (``validation/cross_check.py``); its prompt says so, so it is a distinct request
    (a batch never answers it with the answer's result) and a distinct draw."""

    @property
    def system(self) -> str:
        return "".join(block.text for block in self.system_blocks)


@dataclass(frozen=True)
class GenerationResponse:
    text: str
    input_tokens: int
    output_tokens: int
    model: str
    stop_reason: str = "end_turn"
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    """Cache writes with the 5-minute TTL."""
    cache_write_1h_tokens: int = 0
    """Cache writes with the 1-hour TTL (batch mode, when batches outlast five minutes)."""
    refusal: str | None = field(default=None)
    """Set when the provider knows no retry can produce code (e.g. simulated, no reference)."""


@runtime_checkable
class LLMProvider(Protocol):
    name: str
    model: str

    async def generate(self, request: GenerationRequest) -> GenerationResponse: ...
