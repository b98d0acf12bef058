"""Which run failures are worth running again: the cause went away, the plan did not change.

Transient: the API was out (overload, 5xx, connection, timeouts, rate limits) or the cost
budget ran out (an operator may raise it afterwards). Anything else (a plan that cannot
compile, generated code that keeps failing, a bug) fails again the same way and is left to a
person.
"""

from __future__ import annotations

import re

_TRANSIENT = re.compile(
    r"overloaded|\b5\d\d\b|rate.?limit|\b429\b|timed? ?out|timeout|connection (error|reset|refused)"
    r"|api.?(error|outage|unavailable)|service unavailable|cost budget|budget",
    re.IGNORECASE,
)


def is_transient_failure(*messages: str | None) -> bool:
    """True when any of the run's failure messages names a transient cause."""
    return any(message and _TRANSIENT.search(message) for message in messages)
