"""Cross-checking a weakly tested atom against independent samples (N-version testing).

An answer can pass tests that never try the input it gets wrong (``if n < 2`` written
``if n < 3``, never run on 2). When mutation testing shows the atom's tests are weak, another
implementation of the same atom, drawn independently from the model, is run beside the answer
on the calls the atom's tests make and on type-preserving neighbours of them
(``cross_inputs.py``), and the outcomes are compared — the differential testing of CodeT and
AlphaCode's clustering. Agreement on every input is evidence of kind ``cross_check``: weaker
than tests, since two samples of one model can share a mistake, but it is what catches a
wrong result the tests do not reach. A disagreement alone proves nothing (either sample may be
the wrong one), so a third sample decides by majority, input by input: the answer is rejected
only when the majority is against it, or when there is none.

Everything generated runs in the sandbox, each sample in a check of its own, each call under a
small time limit; only strings come back. The model calls are not made here: the caller passes
``draw``, which returns the code of the k-th independent sample once it passed the atom's own
validation, or None (no usable code) — the retry loop pays and records those calls
(``execution/retry.py``), the benchmark draws them from the simulated model.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mge_pipeline.domain import AtomKind, AtomSpec, Language, MutationOutcome
from mge_pipeline.validation.cross_inputs import (
    MAX_RECORDED_CALLS,
    CallInput,
    Outcome,
    disagreements,
    inputs_for,
    majority,
    parse_outcomes,
    parse_recorded,
)
from mge_pipeline.validation.mutation import MUTANT_TIMEOUT_SECONDS, run_mutants
from mge_pipeline.validation.python_validator import module_name_for
from mge_pipeline.validation.sandbox import PythonSandbox

WEAKNESS_PROBE_MUTANTS = 24
"""Mutants (integer constants both one higher and one lower) tried on a passing answer whose
reported mutants all died, before calling its tests strong; the probe stops at the first
survivor. Four round-robin mutants miss most weak spots a wrong answer sits in (measured:
``benchmarks/README.md``, fault_catch)."""
PER_CALL_SECONDS = 0.5
"""Each input's call is interrupted after this long (it counts as "timed out")."""
MAX_DRAWS = 3
"""Independent samples one cross-check may ask for, those that fail validation included."""
_RECORDED = "__mge_recorded_calls__"
_OUTCOMES = "__mge_outcomes__"

Draw = Callable[[int], Awaitable[str | None]]
FilesFor = Callable[[str], dict[str, str]]


class CrossCheckMode(StrEnum):
    """Which validated atoms are cross-checked (run config ``cross_check``)."""

    WEAK = "weak"
    """Those whose tests let a mutant of the answer survive (the default; the reported mutants,
    then a wider probe, ``weak_spot``): the tests are weak there, and an extra call is worth it."""
    ALL = "all"
    """Every function atom with tests: one extra call (at least) per validated atom."""
    OFF = "off"


class CrossCheckStatus(StrEnum):
    AGREED = "agreed"
    """On every input, the answer's outcome is that of an independent sample (or a majority)."""
    REJECTED = "rejected"
    """The majority disagrees with the answer on an input, or there is no majority."""
    INCONCLUSIVE = "inconclusive"
    """Nothing to compare: no literal calls in the tests, no usable sample, or the answer
    could not be run on the inputs. The answer stands, without cross-check evidence."""
    NOT_APPLICABLE = "not_applicable"
    """Not a Python module-level function with tests (methods and classes need an instance)."""


@dataclass(frozen=True)
class CrossCheckResult:
    status: CrossCheckStatus
    message: str
    """Feedback for a rejected answer; otherwise what was done, for the attempt's record."""
    inputs: int = 0
    samples_drawn: int = 0
    samples_compared: int = 0


def applicable(atom: AtomSpec, code: str) -> bool:
    """A Python function atom with tests whose code defines that function at module level."""
    if atom.language is not Language.PYTHON or atom.kind is not AtomKind.FUNCTION:
        return False
    if not atom.tests.strip():
        return False
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == atom.name for node in tree.body)


def record_script(name: str, tests: str) -> str:
    """The atom's tests, with the function wrapped to record the literal arguments of every
    outermost call (recursive calls are not recorded) under ``__mge_recorded_calls__``."""
    prelude = f"""
import ast as _mge_ast
import functools as _mge_functools
{_RECORDED} = []
_mge_depth = [0]
_mge_original = globals()[{name!r}]


def _mge_literal(value):
    try:
        text = repr(value)
        return len(text) <= 300 and _mge_ast.literal_eval(text) == value
    except Exception:
        return False


@_mge_functools.wraps(_mge_original)
def _mge_recording(*args, **kwargs):
    if _mge_depth[0] == 0 and len({_RECORDED}) < {MAX_RECORDED_CALLS * 4}:
        values = [*args, *kwargs.values()]
        if all(_mge_literal(v) for v in values):
            call = repr((tuple(args), dict(kwargs)))
            if call not in {_RECORDED}:
                {_RECORDED}.append(call)
    _mge_depth[0] += 1
    try:
        return _mge_original(*args, **kwargs)
    finally:
        _mge_depth[0] -= 1


globals()[{name!r}] = _mge_recording
"""
    return prelude + "\n" + tests


def compare_script(name: str, inputs: Sequence[CallInput]) -> str:
    """Calls the function on every input, each under ``PER_CALL_SECONDS``, and leaves one line
    per input: ``returned|raised|timeout``, a digest of the canonical result and its start.
    Canonical: sets sorted, floats to 9 significant digits, addresses (``at 0x…``) dropped,
    generators read (up to 1000 items), and the arguments after the call when it changed them."""
    wired = json.dumps([call.wire() for call in inputs])
    return f"""
import ast as _mge_ast
import hashlib as _mge_hashlib
import inspect as _mge_inspect
import itertools as _mge_itertools
import json as _mge_json
import re as _mge_re
import signal as _mge_signal

{_OUTCOMES} = []


class _MgeSlow(BaseException):
    pass


def _mge_alarm(signum, frame):
    raise _MgeSlow()


def _mge_canon(value, depth=0):
    if depth > 20:
        return "..."
    if isinstance(value, float):
        return "f" + format(value, ".9g")
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_mge_canon(v, depth + 1) for v in value)
        return ("[%s]" if isinstance(value, list) else "(%s)") % inner
    if isinstance(value, (set, frozenset)):
        return "{{%s}}" % ", ".join(sorted(_mge_canon(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return "{{%s}}" % ", ".join(
            _mge_canon(k, depth + 1) + ": " + _mge_canon(v, depth + 1) for k, v in value.items()
        )
    if _mge_inspect.isgenerator(value):
        return "generator" + _mge_canon(list(_mge_itertools.islice(value, 1000)), depth + 1)
    return _mge_re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


_mge_function = globals()[{name!r}]
_mge_signal.signal(_mge_signal.SIGALRM, _mge_alarm)
for _mge_args, _mge_kwargs in _mge_json.loads({wired!r}):
    _mge_a = [_mge_ast.literal_eval(v) for v in _mge_args]
    _mge_k = {{k: _mge_ast.literal_eval(v) for k, v in _mge_kwargs}}
    _mge_before = _mge_canon(_mge_a) + _mge_canon(_mge_k)
    _mge_signal.setitimer(_mge_signal.ITIMER_REAL, {PER_CALL_SECONDS})
    try:
        _mge_text = _mge_canon(_mge_function(*_mge_a, **_mge_k))
        _mge_after = _mge_canon(_mge_a) + _mge_canon(_mge_k)
        if _mge_after != _mge_before:
            _mge_text += " (arguments changed to " + _mge_after + ")"
        _mge_kind = "returned"
    except _MgeSlow:
        _mge_kind, _mge_text = "timeout", ""
    except BaseException as _mge_exc:
        _mge_kind, _mge_text = "raised", type(_mge_exc).__name__
    finally:
        _mge_signal.setitimer(_mge_signal.ITIMER_REAL, 0)
    _mge_key = _mge_hashlib.sha256(_mge_text.encode("utf-8", "replace")).hexdigest()[:16]
    {_OUTCOMES}.append(_mge_kind + "\\t" + _mge_key + "\\t" + _mge_text[:200])
"""


async def weak_spot(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    code: str,
    files_for: FilesFor,
    mutation: MutationOutcome | None,
    *,
    timeout_seconds: float = MUTANT_TIMEOUT_SECONDS,
) -> str | None:
    """A mutant of ``code`` its tests let through, or None: the reported mutants' first
    survivor, else the first survivor of a wider probe (``WEAKNESS_PROBE_MUTANTS``)."""
    if mutation is not None and mutation.survivors:
        return mutation.survivors[0]
    probe = await run_mutants(
        sandbox, atom, code, files_for, limit=WEAKNESS_PROBE_MUTANTS,
        timeout_seconds=timeout_seconds, both_ways=True, first_survivor=True,
    )  # fmt: skip
    return probe.survivors[0] if probe is not None and probe.survivors else None


async def record_calls(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    code: str,
    files_for: FilesFor,
    *,
    timeout_seconds: float | None = None,
) -> list[CallInput]:
    """The calls of the atom's function its own tests make, on ``code``, in the sandbox."""
    outcome = await sandbox.run_tests(
        files_for(code),
        module_name_for(atom.file_path),
        record_script(atom.name, atom.tests),
        timeout_seconds=timeout_seconds,
        collect=_RECORDED,
    )
    result = outcome.result or {}
    lines = result.get("collected")
    if outcome.timed_out or not result.get("ok") or not isinstance(lines, list):
        return []
    return parse_recorded([str(line) for line in lines])


async def run_inputs(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    code: str,
    files_for: FilesFor,
    inputs: Sequence[CallInput],
) -> list[Outcome] | None:
    """One sample's outcome per input, from its own sandbox check; None if the check died."""
    outcome = await sandbox.run_tests(
        files_for(code),
        module_name_for(atom.file_path),
        compare_script(atom.name, inputs),
        timeout_seconds=min(60.0, 2.0 + PER_CALL_SECONDS * len(inputs)),
        collect=_OUTCOMES,
    )
    result = outcome.result or {}
    lines = result.get("collected")
    if outcome.timed_out or not result.get("ok") or not isinstance(lines, list):
        return None
    return parse_outcomes([str(line) for line in lines], len(inputs))


async def cross_check(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    code: str,
    files_for: FilesFor,
    draw: Draw,
    *,
    max_draws: int = MAX_DRAWS,
) -> CrossCheckResult:
    """Compare ``code`` with independent samples from ``draw`` on the tests' calls and their
    neighbours; decide by majority when the first sample disagrees.

    Samples are asked for one at a time and only as long as they are needed: one that agrees
    on every input settles it (usually one extra call); one that disagrees brings a third.
    A sample that fails the atom's own validation (``draw`` returns None) or cannot be run on
    the inputs is not a vote; at most ``max_draws`` samples are asked for."""
    if not applicable(atom, code):
        return CrossCheckResult(CrossCheckStatus.NOT_APPLICABLE, "not a tested Python function")
    recorded = await record_calls(sandbox, atom, code, files_for)
    if not recorded:
        message = f"the tests make no call of {atom.name} with literal arguments to compare on"
        return CrossCheckResult(CrossCheckStatus.INCONCLUSIVE, message)
    inputs = inputs_for(recorded)
    mine = await run_inputs(sandbox, atom, code, files_for, inputs)
    if mine is None:
        message = f"this answer could not be run on the {len(inputs)} cross-check inputs"
        return CrossCheckResult(CrossCheckStatus.INCONCLUSIVE, message, len(inputs))
    others: list[list[Outcome]] = []
    drawn = 0
    while drawn < max_draws and len(others) < 2:
        drawn += 1
        sample = await draw(drawn)
        outcomes = None if sample is None else await run_inputs(
            sandbox, atom, sample, files_for, inputs
        )  # fmt: skip
        if outcomes is None:
            continue
        others.append(outcomes)
        if len(others) == 1 and not disagreements(mine, outcomes):
            message = (
                f"agreed with an independent sample on all {len(inputs)} inputs "
                f"({len(recorded)} from the tests, {len(inputs) - len(recorded)} neighbours)"
            )
            return CrossCheckResult(CrossCheckStatus.AGREED, message, len(inputs), drawn, 1)
    return _judge(atom, inputs, mine, others, drawn)


def _judge(
    atom: AtomSpec,
    inputs: Sequence[CallInput],
    mine: Sequence[Outcome],
    others: Sequence[Sequence[Outcome]],
    drawn: int,
) -> CrossCheckResult:
    counts = (len(inputs), drawn, len(others))
    if not others:
        message = f"none of {drawn} independent samples passed the atom's own checks"
        return CrossCheckResult(CrossCheckStatus.INCONCLUSIVE, message, *counts)
    losses: list[tuple[int, Outcome]] = []
    ties: list[int] = []
    for index in range(len(inputs)):
        votes = [mine[index], *(other[index] for other in others)]
        winner = majority(votes)
        if winner is None:
            ties.append(index)
        elif not winner.agrees(mine[index]):
            losses.append((index, winner))
    call_of = {i: inputs[i].shown(atom.name) for i in range(len(inputs))}
    if losses:
        index, winner = losses[0]
        agreeing = sum(winner.agrees(other[index]) for other in others)
        more = f" ({len(losses) - 1} more inputs like it)" if len(losses) > 1 else ""
        message = (
            f"cross-check against independent implementations: on input {call_of[index]} "
            f"this answer {mine[index].describe()}, but {agreeing} of {len(others)} "
            f"independent implementations {winner.describe()}{more}; check this input "
            "against the description"
        )
        return CrossCheckResult(CrossCheckStatus.REJECTED, message, *counts)
    if ties:
        index = ties[0]
        theirs = "; ".join(other[index].describe() for other in others)
        more = f" ({len(ties) - 1} more inputs like it)" if len(ties) > 1 else ""
        message = (
            f"cross-check against independent implementations found no majority on input "
            f"{call_of[index]}: this answer {mine[index].describe()}, the others: {theirs}"
            f"{more}; check this input against the description"
        )
        return CrossCheckResult(CrossCheckStatus.REJECTED, message, *counts)
    message = (
        f"agreed by majority with {len(others)} independent samples on all {len(inputs)} inputs"
    )
    return CrossCheckResult(CrossCheckStatus.AGREED, message, *counts)
