"""Which failed API calls are worth repeating, and why: one rule, modelled on the SDK's own.

The SDK's retries are off (``max_retries=0``) so that the retry loop is the only layer that
waits; this function keeps its judgement, so turning them off loses nothing. Every decision
carries its reason, which ends up in the attempt's error and the log.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    why: str


def should_retry(status_code: int | None, headers: Mapping[str, str]) -> RetryDecision:
    """``x-should-retry`` first (the server knows best), then the status code.

    ``None`` is a call that got no answer at all (connection dropped, timeout): always worth
    another try.
    """
    explicit = (headers.get("x-should-retry") or "").strip().lower()
    if explicit == "true":
        return RetryDecision(True, "the server asked for a retry (x-should-retry: true)")
    if explicit == "false":
        return RetryDecision(False, "the server asked not to retry (x-should-retry: false)")
    if status_code is None:
        return RetryDecision(True, "no answer (connection or timeout)")
    if status_code == 408:
        return RetryDecision(True, "request timeout (408)")
    if status_code == 409:
        return RetryDecision(True, "lock conflict (409)")
    if status_code == 429:
        return RetryDecision(True, "rate limited (429)")
    if status_code >= 500:
        return RetryDecision(True, f"server error ({status_code})")
    return RetryDecision(False, f"request rejected ({status_code})")


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, as the SDK reads them; ``None`` if it did not ask.

    ``retry-after-ms`` (the API's precise form) first, then ``retry-after`` as seconds, then as
    an HTTP date. Zero or negative waits count as no request.
    """
    seconds: float | None = None
    try:
        seconds = float(headers.get("retry-after-ms") or "") / 1000
    except ValueError:
        value = headers.get("retry-after")
        try:
            seconds = float(value) if value is not None else None
        except ValueError:
            parsed = email.utils.parsedate_tz(value or "")
            if parsed is not None:
                seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    return seconds if seconds is not None and seconds > 0 else None
