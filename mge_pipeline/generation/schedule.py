"""The attempt schedule: which model, effort and temperature each generation attempt uses.

The seed varied only the temperature (0.7 → 0.5 → 0.3). Models from Opus 4.7 on and the 5-series
reject ``temperature``, so for them the schedule escalates instead: a cheap, fast model first,
then the run's model at rising effort, each with the previous attempt's errors in the prompt.
Most atoms pass on the first, cheap attempt; the expensive ones are paid only for the rest.
Models that accept a temperature (and the simulated model) keep the seed's schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

Effort = Literal["low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[str, ...] = get_args(Effort)

# The cheap first attempt of the escalating schedule.
FAST_MODEL = "claude-haiku-5-5"

_NO_TEMPERATURE_PREFIXES = (
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-haiku-5",
    "claude-fable",
    "claude-mythos",
)
# Effort (output_config.effort) arrived with Opus 4.5; Sonnet 4.5 and Haiku 4.5 reject it.
_EFFORT_PREFIXES = (
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    *_NO_TEMPERATURE_PREFIXES,
)


def _family(model: str) -> str:
    return model.removeprefix("anthropic.")


def accepts_temperature(model: str) -> bool:
    """False for the families whose API answers "`temperature` is deprecated for this model"."""
    return not _family(model).startswith(_NO_TEMPERATURE_PREFIXES)


def accepts_effort(model: str) -> bool:
    return _family(model).startswith(_EFFORT_PREFIXES)


@dataclass(frozen=True)
class AttemptStep:
    """One attempt's settings; ``None`` means "not sent" (or, for the model, the run's model)."""

    model: str | None = None
    effort: Effort | None = None
    temperature: float | None = None

    def label(self, default_model: str) -> str:
        parts = [self.model or default_model]
        if self.effort:
            parts.append(f"effort {self.effort}")
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class AttemptSchedule:
    """Attempt *n* uses ``steps[n-1]``; the last step repeats for further attempts."""

    steps: tuple[AttemptStep, ...]

    def step(self, attempt_number: int) -> AttemptStep:
        return self.steps[min(attempt_number, len(self.steps)) - 1]

    def models(self, default_model: str) -> list[str]:
        return list(dict.fromkeys(step.model or default_model for step in self.steps))

    def describe(self, default_model: str, attempts: int) -> str:
        shown = [self.step(n).label(default_model) for n in range(1, attempts + 1)]
        return " → ".join(shown)


def temperature_schedule(temperatures: Sequence[float]) -> AttemptSchedule:
    """The seed's schedule: the run's model at each temperature in turn."""
    return AttemptSchedule(tuple(AttemptStep(temperature=t) for t in temperatures))


def escalating_schedule(model: str) -> AttemptSchedule:
    """Fast model at low effort, then the run's model at medium, high and extra-high effort."""
    first = AttemptStep(FAST_MODEL, "low")
    if model.startswith(FAST_MODEL):
        return AttemptSchedule((first, AttemptStep(model, "high"), AttemptStep(model, "max")))
    return AttemptSchedule(
        (
            first,
            AttemptStep(model, "medium"),
            AttemptStep(model, "high"),
            AttemptStep(model, "xhigh"),
        )
    )


def default_schedule(model: str, temperatures: Sequence[float]) -> AttemptSchedule:
    """Temperatures where the model takes them (the simulated model too), else escalation."""
    if accepts_temperature(model):
        return temperature_schedule(temperatures)
    return escalating_schedule(model)


def schedule_problems(schedule: AttemptSchedule, default_model: str) -> list[str]:
    """One line per step the API would refuse: a 400 for every attempt is no schedule."""
    problems: list[str] = []
    for number, step in enumerate(schedule.steps, start=1):
        model = step.model or default_model
        if step.temperature is not None and not accepts_temperature(model):
            problems.append(f"schedule step {number}: model {model} does not accept a temperature")
        if step.temperature is not None and not 0.0 <= step.temperature <= 1.0:
            problems.append(f"schedule step {number}: temperature must be within 0..1")
        if step.effort is not None and not accepts_effort(model):
            problems.append(f"schedule step {number}: model {model} does not accept an effort")
    return problems


def parse_step(text: str) -> AttemptStep:
    """``model[:effort[:temperature]]``, any part may be empty: ``claude-haiku-5-5:low``."""
    model, _, rest = text.strip().partition(":")
    effort, _, temperature = rest.partition(":")
    if effort and effort not in EFFORTS:
        raise ValueError(f"effort '{effort}' is not one of {', '.join(EFFORTS)}")
    try:
        value = float(temperature) if temperature else None
    except ValueError:
        raise ValueError(f"temperature '{temperature}' is not a number") from None
    return AttemptStep(model or None, effort or None, value)  # type: ignore[arg-type]
