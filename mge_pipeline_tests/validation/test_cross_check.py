"""Cross-checking an answer against independent samples, every sample run in the real sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mge_pipeline.domain import AtomKind, AtomSpec
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.cross_check import (
    CrossCheckStatus,
    cross_check,
    record_calls,
    run_inputs,
    weak_spot,
)
from mge_pipeline.validation.cross_inputs import CallInput
from mge_pipeline.validation.mutation import run_mutants
from mge_pipeline_tests.factories import make_atom

GOOD = (
    "def is_prime(n: int) -> bool:\n"
    "    if n < 2:\n"
    "        return False\n"
    "    return all(n % k for k in range(2, n))\n"
)
WRONG_AT_2 = GOOD.replace("n < 2", "n < 3")
WEAK_TESTS = "assert is_prime(5)\nassert not is_prime(1)\nassert not is_prime(4)\n"


@pytest.fixture
def sandbox() -> Iterator[PythonSandbox]:
    found = PythonSandbox(timeout_seconds=5.0)
    yield found
    found.close()


def _atom(**overrides: object) -> AtomSpec:
    fields: dict[str, object] = {
        "id": "is_prime", "signature": "def is_prime(n: int) -> bool:", "tests": WEAK_TESTS,
        "description": "whether n is a prime number",
    }  # fmt: skip
    fields.update(overrides)
    return make_atom(**fields)


def _files(code: str) -> dict[str, str]:
    return {"pkg/core.py": code}


def _draws(*codes: str | None) -> tuple[list[int], object]:
    asked: list[int] = []

    async def draw(sample: int) -> str | None:
        asked.append(sample)
        return codes[sample - 1]

    return asked, draw


def _check(sandbox: PythonSandbox, code: str, *samples: str | None, atom: AtomSpec | None = None):  # type: ignore[no-untyped-def]
    asked, draw = _draws(*samples)
    result = asyncio.run(cross_check(sandbox, atom or _atom(), code, _files, draw))  # type: ignore[arg-type]
    return result, asked


def test_the_tests_calls_are_recorded_outer_calls_only_literals_only(
    sandbox: PythonSandbox,
) -> None:
    code = "def fact(n: int) -> int:\n    return 1 if n <= 1 else n * fact(n - 1)\n"
    tests = (
        "assert fact(3) == 6\nassert fact(n=4) == 24\n"
        "def test_more():\n    assert fact(int('5')) == 120\n    assert fact(3) == 6\n"
        "class Box:\n    pass\n"
        "try:\n    fact(Box())\nexcept TypeError:\n    pass\n"
    )
    atom = make_atom(id="fact", signature="def fact(n: int) -> int:", tests=tests)
    found = asyncio.run(record_calls(sandbox, atom, code, _files))
    assert found == [CallInput(("3",)), CallInput((), (("n", "4"),)), CallInput(("5",))]


def test_outcomes_are_canonical_and_each_call_has_its_own_time_limit(
    sandbox: PythonSandbox,
) -> None:
    code = (
        "def f(x: int):\n"
        "    if x == 0:\n        while True:\n            pass\n"
        "    if x == 1:\n        raise KeyError(x)\n"
        "    if x == 2:\n        return {'b', 'a', 'c'}\n"
        "    if x == 3:\n        return 0.1 + 0.2\n"
        "    return object()\n"
    )
    atom = make_atom(id="f", signature="def f(x: int):", tests="f(2)\n")
    inputs = [CallInput((str(x),)) for x in (0, 1, 2, 3, 4)]
    outcomes = asyncio.run(run_inputs(sandbox, atom, code, _files, inputs))
    assert outcomes is not None
    assert [o.describe() for o in outcomes] == [
        "did not return within the time limit",
        "raised KeyError",
        "returned {'a', 'b', 'c'}",
        "returned f0.3",
        "returned <object object>",
    ]


def test_an_argument_changed_in_place_is_part_of_the_outcome(sandbox: PythonSandbox) -> None:
    sorts = "def order(xs: list) -> None:\n    xs.sort()\n"
    keeps = "def order(xs: list) -> None:\n    sorted(xs)\n"
    atom = make_atom(id="order", signature="def order(xs: list) -> None:", tests="order([2, 1])\n")
    inputs = [CallInput(("[2, 1]",))]
    first = asyncio.run(run_inputs(sandbox, atom, sorts, _files, inputs))
    second = asyncio.run(run_inputs(sandbox, atom, keeps, _files, inputs))
    assert first is not None and second is not None
    assert first[0].describe() == "returned None (arguments changed to [[1, 2]]{})"
    assert not first[0].agrees(second[0])


def test_a_wrong_result_the_tests_miss_is_rejected_by_the_majority(sandbox: PythonSandbox) -> None:
    result, asked = _check(sandbox, WRONG_AT_2, GOOD, GOOD)
    assert result.status is CrossCheckStatus.REJECTED
    assert "on input is_prime(2) this answer returned False" in result.message
    assert "2 of 2 independent implementations returned True" in result.message
    assert asked == [1, 2] and result.samples_compared == 2


def test_one_agreeing_sample_settles_it(sandbox: PythonSandbox) -> None:
    result, asked = _check(sandbox, GOOD, GOOD)
    assert result.status is CrossCheckStatus.AGREED and asked == [1]
    assert result.message.startswith("agreed with an independent sample on all")
    assert result.inputs > 3  # the three calls of the tests and their neighbours


def test_a_correct_answer_survives_a_faulty_sample_by_majority(sandbox: PythonSandbox) -> None:
    result, asked = _check(sandbox, GOOD, WRONG_AT_2, GOOD)
    assert result.status is CrossCheckStatus.AGREED and asked == [1, 2]
    assert result.message.startswith("agreed by majority with 2 independent samples")


def test_without_a_majority_the_answer_fails_and_the_feedback_names_the_input(
    sandbox: PythonSandbox,
) -> None:
    three_way = GOOD.replace("    if n < 2:", "    if n == 2:\n        return None\n    if n < 2:")
    result, _ = _check(sandbox, GOOD, WRONG_AT_2, three_way)
    assert result.status is CrossCheckStatus.REJECTED
    assert (
        "no majority on input is_prime(2): this answer returned True, the others: "
        "returned False; returned None" in result.message
    )


def test_exceptions_on_an_input_outside_the_domain_do_not_disagree(sandbox: PythonSandbox) -> None:
    refuses = GOOD.replace("if n < 2:", "if n < 0:\n        raise ValueError(n)\n    if n < 2:")
    fails_differently = GOOD.replace(
        "if n < 2:", "if n < 0:\n        raise TypeError(n)\n    if n < 2:"
    )
    result, asked = _check(sandbox, refuses, fails_differently)
    assert result.status is CrossCheckStatus.AGREED and asked == [1]


def test_samples_that_fail_validation_are_no_votes_and_draws_are_bounded(
    sandbox: PythonSandbox,
) -> None:
    result, asked = _check(sandbox, GOOD, None, GOOD)
    assert result.status is CrossCheckStatus.AGREED and asked == [1, 2]
    result, asked = _check(sandbox, WRONG_AT_2, None, None, None)
    assert result.status is CrossCheckStatus.INCONCLUSIVE and asked == [1, 2, 3]
    assert "none of 3 independent samples passed" in result.message
    result, asked = _check(sandbox, WRONG_AT_2, GOOD, None, None)
    assert result.status is CrossCheckStatus.REJECTED and asked == [1, 2, 3]


def test_methods_and_untested_atoms_are_not_cross_checked(sandbox: PythonSandbox) -> None:
    method = _atom(kind=AtomKind.METHOD)
    assert _check(sandbox, GOOD, GOOD, atom=method)[0].status is CrossCheckStatus.NOT_APPLICABLE
    untested = _atom(tests="")
    assert _check(sandbox, GOOD, GOOD, atom=untested)[0].status is CrossCheckStatus.NOT_APPLICABLE
    no_literals = _atom(
        tests="assert not is_prime(len([1, 2, 3, 4]) * 1)\n" + "x = 4\nassert not is_prime(x + 0)\n"
    )
    result, asked = _check(sandbox, GOOD, GOOD, atom=no_literals)
    assert result.status is CrossCheckStatus.AGREED  # computed arguments are still literals
    assert asked == [1]


def test_the_weakness_probe_finds_the_spot_four_mutants_miss(sandbox: PythonSandbox) -> None:
    """``n < 3`` passes tests that never try 2 or 3, and its four reported mutants all die;
    the wider probe finds a constant of that line the tests do not pin down."""
    tests = "assert is_prime(5)\nassert not is_prime(1)\nassert not is_prime(4)\n"
    atom = _atom(tests=tests)
    reported = asyncio.run(run_mutants(sandbox, atom, WRONG_AT_2, _files))
    assert reported is not None and reported.survivors == []
    spot = asyncio.run(weak_spot(sandbox, atom, WRONG_AT_2, _files, reported))
    assert spot is not None and spot.startswith("off-by-one constant `3` → ") and "(line 2)" in spot
    strong = _atom(tests=tests + "assert is_prime(2)\nassert is_prime(3)\nassert not is_prime(0)\n")
    assert asyncio.run(weak_spot(sandbox, strong, GOOD, _files, None)) is None
