"""The one exception tree of MGE; SDK and subprocess errors are translated at the boundary.

MgeError
├── MasterPlanError          a plan that cannot run: bad file, schema, ids, dependencies
├── ProviderError            an LLM call failed in a way worth retrying (transport, 429, 5xx)
│   └── ProviderFatalError   retrying cannot help (auth, bad request, spend limit)
├── BudgetExceededError      the run's cost budget cannot cover another call
├── RunStoppedError          the run stopped (stop rule, fatal provider error): no new calls
├── StoreError               the store cannot be read or written (SQLAlchemy errors, translated)
└── SandboxUnavailableError  the sandbox cannot run a check (a failed attempt, never a crash)

Where each is handled: a ProviderError is retried by the retry loop (``execution/retry.py``;
``should_retry`` in ``generation/retries.py`` says why); ProviderFatalError and
BudgetExceededError skip the atom and stop the run; RunStoppedError skips the atom;
SandboxUnavailableError becomes a failed attempt of category ``unavailable``; MasterPlanError
and StoreError reach the CLI as one line.
"""

from __future__ import annotations


class MgeError(Exception):
    """Root of every error MGE raises on purpose."""


class MasterPlanError(MgeError):
    """A masterplan is rejected before any LLM call; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RunConfigError(MgeError):
    """The run config cannot work (e.g. a schedule step the API would refuse); one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ProviderError(MgeError):
    """A transient LLM failure: retried with backoff, without consuming a generation attempt."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class ProviderFatalError(ProviderError):
    """An LLM failure that no retry can fix; the run stops instead of burning attempts."""


# Below this, a ledger sum is floating-point residue of settled reservations, not money.
_NOTHING_USD = 1e-9


class BudgetExceededError(MgeError):
    """The budget cannot take the next call's reservation right now.

    ``may_fit_later`` tells the two cases apart: calls in flight still hold reservations and
    what is left once they settle could cover the call (wait and try again), or even then it
    could not (the run stops, and this message says exactly why).
    """

    def __init__(
        self, message: str, *, needed_usd: float = 0.0, reserved_usd: float = 0.0,
        left_usd: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.needed_usd = needed_usd
        self.reserved_usd = reserved_usd
        self.left_usd = left_usd

    @property
    def may_fit_later(self) -> bool:
        affordable_once_settled = self.needed_usd <= self.left_usd + self.reserved_usd
        return self.reserved_usd > _NOTHING_USD and affordable_once_settled

    @classmethod
    def refused(
        cls, *, budget_usd: float, spent_usd: float, reserved_usd: float, needed_usd: float
    ) -> BudgetExceededError:
        left = max(0.0, budget_usd - spent_usd - reserved_usd)
        in_flight = (
            f", ${reserved_usd:.4f} reserved by calls in flight"
            if reserved_usd > _NOTHING_USD
            else ", nothing in flight"
        )
        return cls(
            f"cost budget of ${budget_usd:g} cannot cover the next call (up to "
            f"${needed_usd:.4f}): ${spent_usd:.4f} spent{in_flight}, ${left:.4f} left; "
            "no new LLM calls were started",
            needed_usd=needed_usd,
            reserved_usd=reserved_usd,
            left_usd=left,
        )


class RunStoppedError(MgeError):
    """The run has a stop reason; an atom that has not called yet is skipped with it."""


class StoreError(MgeError):
    """The store is unreachable or inconsistent."""


class OutputBusyError(MgeError):
    """Another running execution writes the output directory this one would write."""


class SandboxUnavailableError(MgeError):
    """The sandbox cannot isolate checks (and weak isolation was not allowed), or its parent
    died: no check may run."""
