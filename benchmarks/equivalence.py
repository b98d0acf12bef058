"""Which uncaught faults change behaviour at all: random differential testing against the reference.

``fault_catch.py`` counts a fault as behaviour-changing whenever the code differs, so an
*equivalent* fault (``if e > m`` written ``if e >= m`` in ``max_element``: no input tells
them apart) counts as a miss that no test could ever catch. Mutation testing calls this the
equivalent-mutant problem, and its usual answer is to exclude equivalents from the score after
inspection. Here an uncaught fault is excluded only when **both** hold:

1. a person read it and wrote down why no input of the specified domain tells it apart
   (``JUDGED_EQUIVALENT``, keyed by the atom and the changed line, so a different fault on
   the same atom is not covered), and
2. random differential testing finds no input on which it and the reference behave
   differently: ``RANDOM_INPUTS`` calls shaped like the ones the atom's own tests make, with
   random values (ints around the tests' range, strings over the tests' characters, lists
   of random length), both run in the sandbox, outcomes compared as the cross-check
   compares them.

A difference found, even on an input outside the documented domain, keeps the fault counted
(the conservative side). The random generator is not the cross-check's neighbour generator,
so a fault the cross-check missed is not excused by the same blind spot.
"""

from __future__ import annotations

import ast
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mge_pipeline.domain import AtomSpec
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.cross_check import record_calls, run_inputs
from mge_pipeline.validation.cross_inputs import CallInput

RANDOM_INPUTS = 1500
BATCH = 250
"""Inputs per sandbox check (each call has the cross-check's own time limit)."""

JUDGED_EQUIVALENT: dict[tuple[str, str], str] = {
    ("HumanEval_35", "if e > m: → if e >= m:"): (
        "the maximum is the same value whichever equal element is kept"
    ),
    ("HumanEval_38", "groups = [s[3 * i:min(3 * i + 3, len(s))] for i in range((len(s) + 2) // 3)]"
     " → groups = [s[3 * i:min(3 * i + 3, len(s))]"): (
        "`(len(s) + 3) // 3` differs from `(len(s) + 2) // 3` only when len(s) is a multiple "
        "of 3, and the extra group is then the empty string, which decodes to itself"
    ),
    ("HumanEval_59", "for j in range(2, n + 1): → for j in range(2, n + 2):"): (
        "`n + 1` never divides `n`"
    ),
    ("HumanEval_69", "frq = [0] * (max(lst) + 1) → frq = [0] * (max(lst) + 2)"): (
        "the extra counter stays 0, and 0 >= i never holds for i >= 1"
    ),
    ("HumanEval_75", "for j in range(2, 101): → for j in range(2, 102):"): (
        "the specified domain is a < 100, and no product with the factor 101 is below 100"
    ),
    ("HumanEval_108", "if n < 0: → if n <= 0:"): "0 has digit sum 0 with either sign",
    ("HumanEval_111", "if list1.count(i) > t and i != '': → if list1.count(i) >= t and i != '':"): (
        "with `>=` the running maximum `t` is only assigned the value it already has"
    ),
    ("HumanEval_116", "return sorted(sorted(arr), key=lambda x: bin(x)[2:].count('1')) → return "
     "sorted(sorted(arr), key=lambda x: bin(x)[3:].co"): (
        "for the documented domain (non-negative integers) `bin(x)[3:]` drops the leading 1, "
        "so every key is one lower and the order is the same; negative x keep their count"
    ),
    ("HumanEval_124", "if month in [4, 6, 9, 11] and day < 1 or day > 30: → if month in [4, 6, 9, "
     "11] and day < 1 or day >= 30:"): (
        "by operator precedence the February line already rejects any day > 29 for every "
        "month, so day 30 is rejected either way"
    ),
    ("HumanEval_127", "if length > 0 and is_prime(length): → if length >= 0 and is_prime(length):"): (
        "`is_prime(0)` is false"
    ),
    ("HumanEval_128", "prod = 0 if 0 in arr else (-1) ** len(list(filter(lambda x: x < 0, arr))) "
     "→ prod = 0 if 0 in arr else (-1) ** len(list(f"): (
        "an array containing 0 is answered before the filter, so `x <= 0` counts the same"
    ),
    ("HumanEval_137", "return a if float(temp_a) > float(temp_b) else b → return a if "
     "float(temp_a) >= float(temp_b) else b"): "equal values return None on the line before",
    ("HumanEval_159", "if need <= remaining: → if need < remaining:"): (
        "when need == remaining both branches return [number + need, 0]"
    ),
    ("HumanEval_161", "flg = 1 → flg = 2"): "the flag is only ever compared with 0",
}  # fmt: skip


@dataclass(frozen=True)
class Equivalence:
    judged: str | None
    """Why a person found no input of the domain that tells it apart, or None (not judged)."""
    difference: str | None
    """An input on which fault and reference differ, as found by random testing, or None."""
    inputs: int
    """Random inputs run on both (0: the tests make no literal call to vary)."""

    @property
    def excluded(self) -> bool:
        """Not behaviour-changing: judged equivalent and no difference found."""
        return self.judged is not None and self.difference is None and self.inputs > 0


async def equivalence(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    reference: str,
    fault: str,
    change: str,
    files_for: Callable[[str], dict[str, str]],
) -> Equivalence:
    judged = JUDGED_EQUIVALENT.get((atom.id, change))
    recorded = await record_calls(sandbox, atom, reference, files_for)
    if not recorded:
        return Equivalence(judged, None, 0)
    rng = random.Random(f"equivalence:{atom.id}:{change}")
    inputs = random_inputs(recorded, RANDOM_INPUTS, rng)
    for start in range(0, len(inputs), BATCH):
        batch = inputs[start : start + BATCH]
        theirs = await run_inputs(sandbox, atom, reference, files_for, batch)
        ours = await run_inputs(sandbox, atom, fault, files_for, batch)
        if theirs is None or ours is None:
            return Equivalence(judged, "(a check did not finish: counted as a difference)", start)
        for call, a, b in zip(batch, theirs, ours, strict=True):
            if not a.agrees(b):
                shown = f"{call.shown(atom.name)}: reference {a.describe()}, fault {b.describe()}"
                return Equivalence(judged, shown, start + len(batch))
    return Equivalence(judged, None, len(inputs))


def random_inputs(recorded: list[CallInput], count: int, rng: random.Random) -> list[CallInput]:
    """Calls shaped like recorded ones (same arity, keyword names), with random values."""
    shapes = [[_literal(text) for text in call.args] for call in recorded]
    pools = _pools(recorded)
    found: list[CallInput] = []
    seen: set[CallInput] = set()
    for _ in range(count * 4):
        if len(found) >= count:
            break
        index = rng.randrange(len(recorded))
        call = recorded[index]
        args = tuple(_text(_random_like(v, rng, pools)) for v in shapes[index])
        kwargs = tuple(
            (key, _text(_random_like(_literal(text), rng, pools))) for key, text in call.kwargs
        )
        made = CallInput(args, kwargs)
        if made not in seen:
            seen.add(made)
            found.append(made)
    return found


@dataclass(frozen=True)
class _Pools:
    low: int
    high: int
    alphabet: str


def _pools(recorded: list[CallInput]) -> _Pools:
    ints: list[int] = []
    chars: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            ints.append(value)
        elif isinstance(value, str):
            chars.update(value)
        elif isinstance(value, list | tuple | set):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)

    for call in recorded:
        for text in [*call.args, *(t for _, t in call.kwargs)]:
            walk(_literal(text))
    low, high = (min(ints), max(ints)) if ints else (0, 10)
    alphabet = "".join(sorted(chars)) or string.ascii_lowercase
    return _Pools(min(low, 0) - 3, max(high, 3) + 3, alphabet)


def _random_like(value: Any, rng: random.Random, pools: _Pools) -> Any:
    if isinstance(value, bool):
        return rng.random() < 0.5
    if isinstance(value, int):
        return rng.randint(pools.low, pools.high)
    if isinstance(value, float):
        return round(rng.uniform(pools.low, pools.high), rng.choice((0, 1, 2)))
    if isinstance(value, str):
        if value and rng.random() < 0.5:  # the tests' own string, a few characters changed
            chars = list(value)
            for _ in range(rng.randint(1, 3)):
                where = rng.randrange(len(chars) + 1)
                if rng.random() < 0.5 and where < len(chars):
                    chars[where] = rng.choice(pools.alphabet)
                else:
                    chars.insert(where, rng.choice(pools.alphabet))
            return "".join(chars)
        return "".join(rng.choice(pools.alphabet) for _ in range(rng.randint(0, len(value) + 4)))
    if isinstance(value, list | tuple):
        template = list(value) or [0]
        items = [
            _random_like(rng.choice(template), rng, pools)
            for _ in range(rng.randint(0, len(value) + 3))
        ]
        return type(value)(items)
    return value


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _text(value: Any) -> str:
    return repr(value)
