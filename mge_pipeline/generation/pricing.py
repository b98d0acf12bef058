"""Token prices in USD per million tokens, and the cost of one call.

Cache writes are billed at 1.25x the input price with the 5-minute TTL and 2x with the 1-hour
TTL; cache reads at 0.1x.
"""

from __future__ import annotations

from dataclasses import dataclass

CACHE_WRITE_MULTIPLIER = 1.25
CACHE_WRITE_1H_MULTIPLIER = 2.0
CACHE_READ_MULTIPLIER = 0.1


@dataclass(frozen=True)
class ModelPrice:
    input_per_mtok: float
    output_per_mtok: float

    @property
    def cache_write_per_mtok(self) -> float:
        return self.input_per_mtok * CACHE_WRITE_MULTIPLIER

    @property
    def cache_read_per_mtok(self) -> float:
        return self.input_per_mtok * CACHE_READ_MULTIPLIER


SONNET = ModelPrice(3.0, 15.0)
HAIKU = ModelPrice(1.0, 5.0)
OPUS_NEW = ModelPrice(5.0, 25.0)
OPUS_OLD = ModelPrice(15.0, 75.0)

DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-sonnet-4-5": SONNET,
    "claude-sonnet-4-0": SONNET,
    "claude-sonnet-4": SONNET,
    "claude-haiku-4-5": HAIKU,
    "claude-opus-4-5": OPUS_NEW,
    "claude-opus-4-1": OPUS_OLD,
    "claude-opus-4-0": OPUS_OLD,
    "claude-opus-4": OPUS_OLD,
}


def price_for(model: str, overrides: dict[str, ModelPrice] | None = None) -> ModelPrice:
    """Exact name, else the longest known prefix: dated snapshots share their family's price."""
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    if matches:
        return table[max(matches, key=len)]
    if "haiku" in model:
        return HAIKU
    if "opus" in model:
        return OPUS_NEW
    return SONNET


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
