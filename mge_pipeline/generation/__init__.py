"""LLM providers (Anthropic, simulated), prompts, code extraction and pricing."""

from mge_pipeline.generation.anthropic_provider import AnthropicProvider
from mge_pipeline.generation.extraction import ExtractedCode, extract_code
from mge_pipeline.generation.pricing import ModelPrice, call_cost, price_for, worst_case_cost
from mge_pipeline.generation.prompts import SYSTEM_PROMPT, build_prompt
from mge_pipeline.generation.provider import GenerationRequest, GenerationResponse, LLMProvider
from mge_pipeline.generation.simulated import SimulatedModel

__all__ = [
    "SYSTEM_PROMPT",
    "AnthropicProvider",
    "ExtractedCode",
    "GenerationRequest",
    "GenerationResponse",
    "LLMProvider",
    "ModelPrice",
    "SimulatedModel",
    "build_prompt",
    "call_cost",
    "extract_code",
    "price_for",
    "worst_case_cost",
]
