"""Inputs for cross-checking an atom against an independent sample, and how outcomes compare.

Pure: no sandbox, no I/O. An input is a call of the atom's function: positional arguments and
keyword arguments, each a Python literal carried as its ``repr`` text (the sandbox reads it back
with ``ast.literal_eval``, so nothing but data crosses). The inputs are the calls the atom's own
tests make, plus *type-preserving neighbours* of them — an int one more or less, 0, 1, 2, -1; a
string empty, shortened, one character longer, a digit one up or down, a number written with
one more digit, reversed; a list empty, one element dropped or added, reversed, its first
element moved to a neighbour; then two arguments changed together — because a weak test suite
usually misses exactly the value next to one it tried (``n < 2`` written ``n < 3`` is never
run on 2).
Neighbours may lie outside what the function must accept; that is why two outcomes that are
both an exception agree (two implementations that refuse an input agree that it is invalid),
and why one disagreement never rejects an answer on its own (``cross_check.py``: majority).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_RECORDED_CALLS = 32
"""Distinct calls of the function kept from one run of the atom's tests."""
MAX_INPUTS = 128
"""Inputs run per sample: the recorded calls first, then their neighbours, round-robin."""
MAX_DIGIT_STEPS = 6
"""Digits of a string argument whose neighbours (one lower, one higher) are tried."""
MAX_LITERAL_CHARS = 300
"""A recorded argument longer than this is not kept (nor a neighbour built from it)."""
PAIR_NEIGHBOURS = 4
"""Neighbours of each argument combined when two arguments change together."""
SHOWN_CHARS = 120
"""How much of a result the feedback shows."""


@dataclass(frozen=True)
class CallInput:
    """One call of the function: positional and keyword arguments as literal texts."""

    args: tuple[str, ...]
    kwargs: tuple[tuple[str, str], ...] = ()

    def wire(self) -> list[Any]:
        """The form the probe script reads: ``[[arg, …], [[name, value], …]]``."""
        return [list(self.args), [list(pair) for pair in self.kwargs]]

    def shown(self, name: str) -> str:
        """``name(1, 'a', key=2)``, for feedback."""
        parts = [*self.args, *(f"{key}={value}" for key, value in self.kwargs)]
        return _clip(f"{name}({', '.join(parts)})")


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``returned`` (with the result's canonical text), ``raised`` (with the
    exception's type) or ``timed out``; ``key`` is a digest of the full canonical text, so
    results longer than what is shown still compare exactly."""

    kind: str
    shown: str
    key: str

    def agrees(self, other: Outcome) -> bool:
        """Equal results agree; so do two exceptions of any type (both refuse the input)."""
        if self.kind == "raised" and other.kind == "raised":
            return True
        return self.kind == other.kind and self.key == other.key

    def describe(self) -> str:
        if self.kind == "returned":
            return f"returned {self.shown}"
        if self.kind == "raised":
            return f"raised {self.shown}"
        return "did not return within the time limit"


def parse_recorded(lines: Sequence[str]) -> list[CallInput]:
    """Calls recorded by the probe (one ``repr((args, kwargs))`` per line), each read back as
    literals and bounded; anything else (a forged or garbled line) is dropped."""
    found: list[CallInput] = []
    for line in lines:
        call = _parse_call(line)
        if call is not None and call not in found:
            found.append(call)
        if len(found) >= MAX_RECORDED_CALLS:
            break
    return found


def _parse_call(line: str) -> CallInput | None:
    value = _literal(line)
    if not (isinstance(value, tuple) and len(value) == 2):
        return None
    args, kwargs = value
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        return None
    if not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        return None
    texts = [_text(v) for v in args]
    named = [(k, _text(v)) for k, v in kwargs.items()]
    if any(t is None for t in texts) or any(t is None for _, t in named):
        return None
    return CallInput(
        tuple(t for t in texts if t is not None),
        tuple((k, t) for k, t in named if t is not None),
    )


def inputs_for(recorded: Sequence[CallInput], limit: int = MAX_INPUTS) -> list[CallInput]:
    """The recorded calls, then their neighbours taken round-robin (the first neighbour of
    every call, then the second, …), each input once, at most ``limit``."""
    chosen: list[CallInput] = []
    seen: set[CallInput] = set()

    def add(call: CallInput) -> None:
        if call not in seen and len(chosen) < limit:
            seen.add(call)
            chosen.append(call)

    for call in recorded:
        add(call)
    pools = [list(call_neighbours(call)) for call in recorded]
    while len(chosen) < limit and any(pools):
        for pool in pools:
            if pool:
                add(pool.pop(0))
    return chosen


def call_neighbours(call: CallInput) -> Iterator[CallInput]:
    """Each argument in turn replaced by each of its neighbours, the others kept; the
    positions interleaved so that every argument gets its first neighbours early."""
    per_position: list[list[CallInput]] = []
    for index, text in enumerate(call.args):
        variants = []
        for neighbour in value_neighbours(_literal(text)):
            args = (*call.args[:index], neighbour, *call.args[index + 1 :])
            variants.append(CallInput(args, call.kwargs))
        per_position.append(variants)
    for index, (key, text) in enumerate(call.kwargs):
        variants = []
        for neighbour in value_neighbours(_literal(text)):
            kwargs = (*call.kwargs[:index], (key, neighbour), *call.kwargs[index + 1 :])
            variants.append(CallInput(call.args, kwargs))
        per_position.append(variants)
    pairs = list(_pair_neighbours(call, per_position))
    while any(per_position):
        for variants in per_position:
            if variants:
                yield variants.pop(0)
    yield from pairs


def _pair_neighbours(call: CallInput, per_position: list[list[CallInput]]) -> Iterator[CallInput]:
    """Two positional arguments changed together, each to one of its first neighbours: a
    fault may show only when both move (a longer list *and* a larger limit)."""
    firsts = [[v.args[i] for v in variants[:PAIR_NEIGHBOURS]] for i, variants in
              enumerate(per_position[: len(call.args)])]  # fmt: skip
    for i in range(len(firsts)):
        for j in range(i + 1, len(firsts)):
            for left in firsts[i]:
                for right in firsts[j]:
                    args = list(call.args)
                    args[i], args[j] = left, right
                    yield CallInput(tuple(args), call.kwargs)


def value_neighbours(value: Any) -> list[str]:
    """Literal texts of values of the same type next to ``value`` (never ``value`` itself)."""
    own = _text(value)
    texts: list[str] = []
    for candidate in _neighbour_values(value):
        text = _text(candidate)
        if text is not None and text != own and text not in texts:
            texts.append(text)
    return texts


def _neighbour_values(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, 0, 1, 2, -1]
    if isinstance(value, float):
        return [value + 1.0, value - 1.0, 0.0, -value, value / 2]
    if isinstance(value, str):
        grown = value + (value[-1] if value else "a")
        # A number in text written longer (``'14.5'`` → ``'14.50'``, ``'7'`` → ``'70'``).
        zero = [value + "0"] if value[-1:].isdigit() else []
        return ["", value[:-1], *_digit_steps(value), *zero, value[1:], grown, value[::-1],
                value.upper()]  # fmt: skip
    if isinstance(value, list | tuple):
        kind = type(value)
        items = list(value)
        if not items:
            return []
        changed_first = [kind([first, *items[1:]]) for first in _neighbour_values(items[0])[:2]]
        return [kind(), kind(items[:-1]), kind(items[1:]), kind([*items, items[-1]]),
                kind(items[::-1]), *changed_first]  # fmt: skip
    if isinstance(value, dict) and value:
        return [{}, dict(list(value.items())[:-1])]
    return []


def _digit_steps(text: str) -> list[str]:
    """The string with one of its first digits one lower, or one higher (``'04-31'`` →
    ``'04-30'``): dates, versions and numbers in text have boundaries too."""
    steps: list[str] = []
    digits = [i for i, char in enumerate(text) if char.isdigit()][:MAX_DIGIT_STEPS]
    for index in digits:
        value = int(text[index])
        for new in (value - 1, value + 1):
            if 0 <= new <= 9:
                steps.append(f"{text[:index]}{new}{text[index + 1 :]}")
    return steps


def parse_outcomes(lines: Sequence[str] | None, expected: int) -> list[Outcome] | None:
    """The probe's outcome lines (``kind<TAB>key<TAB>shown``), one per input, or None when the
    run did not give one per input (it died or was cut short)."""
    if lines is None or len(lines) != expected:
        return None
    outcomes = []
    for line in lines:
        kind, _, rest = line.partition("\t")
        key, _, shown = rest.partition("\t")
        if kind not in ("returned", "raised", "timeout"):
            return None
        outcomes.append(Outcome(kind, _clip(shown), key))
    return outcomes


def disagreements(first: Sequence[Outcome], second: Sequence[Outcome]) -> list[int]:
    """Indexes of the inputs on which the two samples' outcomes do not agree."""
    return [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if not a.agrees(b)]


def majority(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The outcome more than half of the samples agree with, or None."""
    for candidate in outcomes:
        if sum(candidate.agrees(other) for other in outcomes) * 2 > len(outcomes):
            return candidate
    return None


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _text(value: Any) -> str | None:
    """``repr`` of a value that reads back equal and is short enough, else None."""
    try:
        text = repr(value)
    except Exception:
        return None
    if len(text) > MAX_LITERAL_CHARS or _literal(text) != value:
        return None
    if value is None and text != "None":
        return None
    return text


def _clip(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
