"""The simulated model: replays reference implementations with realistic injected faults.

It lets the whole pipeline (retries, costs, timing, concurrency) run offline and reproducibly.
It never invents code: an atom without a reference implementation gets a refusal that fails
validation and says that a real model is needed.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field

from mge_pipeline.generation.faults import FaultKind, inject_fault
from mge_pipeline.generation.pricing import estimate_tokens
from mge_pipeline.generation.prompt_cache import PromptBill, PromptCache
from mge_pipeline.generation.provider import GenerationRequest, GenerationResponse

SIMULATED_MODEL_NAME = "simulated-claude-sonnet-4-5"
NO_REFERENCE_MESSAGE = (
    "The simulated model has no reference implementation for atom '{atom_id}' and does not "
    "write code it was not given; run this atom with a real model (provider=anthropic)."
)
NO_PLAN_MESSAGE = (
    "The simulated model replays reference implementations and has no plan to replay: "
    "planning from a request (discovery, masterplan, decomposition) needs a real model "
    "(ANTHROPIC_API_KEY, --provider anthropic) or the scripted Messages API server "
    "(python -m mge_pipeline.testing --script build, with ANTHROPIC_BASE_URL pointing at it)."
)
_PREAMBLES = ("", "Here is the implementation:\n\n", "Sure.\n\n")


@dataclass
class SimulatedModel:
    """Deterministic for a given seed: the same atom and attempt always get the same answer."""

    seed: int = 0
    fault_rate: float = 0.10
    latency_seconds: float = 0.2
    latency_sigma: float = 0.0
    """Spread of the call time: 0 is a constant ``latency_seconds``; above 0 the time is
    log-normal with median ``latency_seconds`` (real API latencies have a long right tail)."""
    model: str = SIMULATED_MODEL_NAME
    name: str = "simulated"

    cache: PromptCache = field(default_factory=PromptCache, repr=False)
    """Bills the cacheable prompt prefix the way the API does, so offline costs show caching."""

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        latency = self.latency_for(request.atom.id, request.attempt_number, request.sample)
        if latency > 0:
            await asyncio.sleep(latency)
        blocks = [(b.text, "5m" if b.cache else None) for b in request.system_blocks]
        bill = self.cache.bill([*blocks, (request.prompt, None)])
        reference = request.atom.reference_implementation
        if not reference:
            message = NO_REFERENCE_MESSAGE.format(atom_id=request.atom.id)
            return self._response(message, bill, refusal=message, model=self.played(request))
        rng = random.Random(_stream(self.seed, request.atom.id, request.attempt_number,
                                    request.sample))  # fmt: skip
        code = reference
        if rng.random() < self.fault_rate:
            kind = rng.choice(list(FaultKind))
            code = inject_fault(reference, kind, rng, language=request.atom.language)
        fence = f"```{request.atom.language}\n{code.rstrip()}\n```\n"
        return self._response(
            rng.choice(_PREAMBLES) + fence,
            bill,
            max_tokens=request.max_tokens,
            model=self.played(request),
        )

    def played(self, request: GenerationRequest) -> str:
        """The name answers carry: never a real model's bare name, since none was called."""
        if not request.model or request.model == self.model:
            return self.model
        return f"simulated-{request.model}"

    def latency_for(self, atom_id: str, attempt_number: int, sample: int = 0) -> float:
        """Seconds the given call takes; deterministic, so a benchmark can compute its bound."""
        if self.latency_sigma <= 0:
            return self.latency_seconds
        stream = _stream(self.seed, atom_id, attempt_number, sample)
        rng = random.Random(f"{stream}:latency")
        return self.latency_seconds * math.exp(self.latency_sigma * rng.gauss(0.0, 1.0))

    def choose_fault(self, atom_id: str, attempt_number: int, sample: int = 0) -> FaultKind | None:
        """The fault the given call will carry, for tests and reports; None for clean answers."""
        rng = random.Random(_stream(self.seed, atom_id, attempt_number, sample))
        return rng.choice(list(FaultKind)) if rng.random() < self.fault_rate else None

    def _response(
        self,
        text: str,
        bill: PromptBill,
        *,
        refusal: str | None = None,
        max_tokens: int = 0,
        model: str = SIMULATED_MODEL_NAME,
    ) -> GenerationResponse:
        """Like the real API, never more than ``max_tokens`` of output: the budget reserves on
        that promise. A longer answer is cut there, with stop reason ``max_tokens``."""
        stop_reason = "end_turn"
        if max_tokens and estimate_tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        return GenerationResponse(
            text=text,
            input_tokens=bill.input_tokens,
            output_tokens=min(estimate_tokens(text), max_tokens or estimate_tokens(text)),
            stop_reason=stop_reason,
            model=model,
            cache_read_tokens=bill.cache_read_tokens,
            cache_write_tokens=bill.cache_write_tokens,
            refusal=refusal,
        )


def _stream(seed: int, atom_id: str, attempt_number: int, sample: int) -> str:
    """The seed of one call's draw. A cross-check sample (``sample`` ≥ 1) draws from its own
    stream, so it is independent of the answer it checks (same atom, same attempt) and of the
    other samples, and reproducible; answers keep the stream they always had."""
    base = f"{seed}:{atom_id}:{attempt_number}"
    return base if sample == 0 else f"{base}:cross-check-{sample}"
