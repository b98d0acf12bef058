"""Token prices in USD per million tokens, and the cost of one call.

Every price carries the date it was read and where, because a cost figure is only as true as
the price behind it; the run config can override any of them (``price_overrides``). Cache
writes cost 1.25x the input price with the 5-minute TTL and 2x with the 1-hour TTL; cache
reads 0.1x, except where the price list says otherwise (Sonnet 5.5 and Opus 5.5 read the
cache at 0.05x). The Message Batches API halves input and output (``BATCH_DISCOUNT``).

Haiku 5.5 has a second price band for prompts over 100,000 tokens (5x); MGE's prompts are a
few thousand tokens, so only the first band is in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CACHE_WRITE_MULTIPLIER = 1.25
CACHE_WRITE_1H_MULTIPLIER = 2.0
CACHE_READ_MULTIPLIER = 0.1
BATCH_DISCOUNT = 0.5

_PRICING_PAGE = "https://platform.claude.com/docs/en/about-claude/pricing"


@dataclass(frozen=True)
class ModelPrice:
    input_per_mtok: float
    output_per_mtok: float
    cache_read_multiplier: float = CACHE_READ_MULTIPLIER
    as_of: str = ""
    """The date the price was read (ISO), empty for a price given in the run config."""
    source: str = ""

    @property
    def cache_write_per_mtok(self) -> float:
        return self.input_per_mtok * CACHE_WRITE_MULTIPLIER

    @property
    def cache_read_per_mtok(self) -> float:
        return self.input_per_mtok * self.cache_read_multiplier

    def batched(self) -> ModelPrice:
        """The Message Batches price: half of input and output (cache rates follow input)."""
        return ModelPrice(
            self.input_per_mtok * BATCH_DISCOUNT,
            self.output_per_mtok * BATCH_DISCOUNT,
            self.cache_read_multiplier,
            self.as_of,
            f"{self.source} (Message Batches: 50% off)",
        )


def _price(
    input_per_mtok: float, output_per_mtok: float, as_of: str, source: str, read: float = 0.1
) -> ModelPrice:
    return ModelPrice(input_per_mtok, output_per_mtok, read, as_of, source)


_SONNET_5_5 = "https://platform.claude.com/docs/en/models/sonnet-5-5/overview"
_HAIKU_5_5 = "https://platform.claude.com/docs/en/models/haiku-5-5/overview"
_OPUS_5_5 = "https://platform.claude.com/docs/en/models/opus-5-5/overview"
_OPUS_5 = "https://platform.claude.com/docs/en/about-claude/models/whats-new-opus-5"
_SONNET_5 = "https://platform.claude.com/docs/en/models/sonnet-5/overview"
_HAIKU_4_5 = "https://platform.claude.com/docs/en/models/haiku-4-5/overview"
_FABLE = "https://platform.claude.com/docs/en/models/fable-5-1/overview"

SONNET = _price(3.0, 15.0, "2025-09-29", _PRICING_PAGE)
HAIKU = _price(1.0, 5.0, "2026-11-30", _HAIKU_4_5)
OPUS_NEW = _price(5.0, 25.0, "2025-11-24", _PRICING_PAGE)
OPUS_OLD = _price(15.0, 75.0, "2025-08-05", _PRICING_PAGE)
# Current families (read 2026-11-30). Sonnet 5.5's cache reads went from 0.1x to 0.05x on
# 2026-10-07; Opus 5.5 launched at 0.05x.
SONNET_5_5 = _price(2.0, 10.0, "2026-11-30", _SONNET_5_5, read=0.05)
SONNET_5 = _price(2.0, 10.0, "2026-11-30", _SONNET_5)
HAIKU_5_5 = _price(0.10, 0.50, "2026-11-30", _HAIKU_5_5)
OPUS_5_5 = _price(4.0, 20.0, "2026-11-30", _OPUS_5_5, read=0.05)
OPUS_5 = _price(5.0, 25.0, "2026-11-30", _OPUS_5)
FABLE_5_1 = _price(10.0, 50.0, "2026-11-30", _FABLE)

DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-sonnet-5-5": SONNET_5_5,
    "claude-sonnet-5": SONNET_5,
    "claude-haiku-5-5": HAIKU_5_5,
    "claude-opus-5-5": OPUS_5_5,
    "claude-opus-5": OPUS_5,
    "claude-fable-5-1": FABLE_5_1,
    "claude-sonnet-4-6": SONNET,
    "claude-sonnet-4-5": SONNET,
    "claude-sonnet-4-0": SONNET,
    "claude-sonnet-4": SONNET,
    "claude-haiku-4-5": HAIKU,
    "claude-opus-4-5": OPUS_NEW,
    "claude-opus-4-1": OPUS_OLD,
    "claude-opus-4-0": OPUS_OLD,
    "claude-opus-4": OPUS_OLD,
}


def price_for(model: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """Exact name, else the longest known prefix: dated snapshots share their family's price.

    A name with no entry and no known prefix is priced by family (haiku/opus/sonnet at the
    older, higher list prices), so an unknown model is never under-reserved against the budget.
    """
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(f"{name}-")]
    if matches:
        return table[max(matches, key=len)]
    if "haiku" in model:
        return HAIKU
    if "opus" in model or "fable" in model or "mythos" in model:
        return OPUS_OLD
    return SONNET


@dataclass(frozen=True)
class PriceBook:
    """The run's prices: the table with the run config's overrides; picklable between steps."""

    overrides: tuple[tuple[str, ModelPrice], ...] = ()
    batch: bool = False
    """Calls go through the Message Batches API, at half price."""

    def price(self, model: str) -> ModelPrice:
        price = price_for(model, dict(self.overrides))
        return price.batched() if self.batch else price


def call_cost(
    price: ModelPrice,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
) -> float:
    """``cache_write_tokens`` are 5-minute writes; 1-hour writes are counted apart."""
    return (
        input_tokens * price.input_per_mtok
        + output_tokens * price.output_per_mtok
        + cache_write_tokens * price.cache_write_per_mtok
        + cache_write_1h_tokens * price.input_per_mtok * CACHE_WRITE_1H_MULTIPLIER
        + cache_read_tokens * price.cache_read_per_mtok
    ) / 1_000_000


def worst_case_cost(price: ModelPrice, *, prompt_tokens: int, max_tokens: int) -> float:
    """What a call can cost at most: the budget reserves this before calling."""
    return call_cost(price, input_tokens=prompt_tokens, output_tokens=max_tokens)


def estimate_tokens(text: str) -> int:
    """About four characters per token for English and code; used before a call is made."""
    return max(1, (len(text) + 3) // 4)
