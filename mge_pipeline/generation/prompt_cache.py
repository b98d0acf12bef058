"""How the API bills prompt caching, as one small model both offline stand-ins share.

A prefix that ends at a ``cache_control`` block and is at least ``min_tokens`` long is written
to the cache the first time it is seen (billed as a cache write) and read from it afterwards
until its TTL expires (billed as a cache read); everything after the last cached prefix is
ordinary input. The simulated model and the local Messages API server both bill through it,
so offline runs show what caching saves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mge_pipeline.generation.pricing import estimate_tokens

DEFAULT_CACHE_MIN_TOKENS = 1024
CACHE_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class PromptBill:
    input_tokens: int
    cache_write_tokens: int
    """Written with the 5-minute TTL."""
    cache_read_tokens: int
    cache_write_1h_tokens: int = 0
    """Written with the 1-hour TTL (billed at 2x the input price instead of 1.25x)."""


class PromptCache:
    """Thread-safe; ``blocks`` are (text, TTL or None for an uncached block) in prompt order."""

    def __init__(
        self,
        *,
        min_tokens: int = DEFAULT_CACHE_MIN_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.min_tokens = min_tokens
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def bill(self, blocks: Sequence[tuple[str, str | None]], *, scope: str = "") -> PromptBill:
        """``scope`` separates caches: the API caches per model, so the server passes it."""
        total = sum(estimate_tokens(text) for text, _ in blocks)
        now = self._clock()
        read = write = 0
        write_ttl = "5m"
        prefix = f"{scope}\x00" if scope else ""
        prefix_tokens = 0
        with self._lock:
            for text, ttl in blocks:
                prefix += text
                prefix_tokens += estimate_tokens(text)
                if ttl is None or prefix_tokens < self.min_tokens:
                    continue
                if self._expiry.get(prefix, 0.0) > now:
                    read, write = prefix_tokens, 0
                else:
                    write, write_ttl = prefix_tokens - read, ttl
                self._expiry[prefix] = now + CACHE_TTL_SECONDS[ttl]
        if write_ttl == "1h":  # one TTL per prompt in MGE: the last written block's
            return PromptBill(total - read - write, 0, read, write)
        return PromptBill(total - read - write, write, read)
