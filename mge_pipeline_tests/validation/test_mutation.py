"""Mutation testing: few deterministic mutants per atom, run in the sandbox against its tests."""

from __future__ import annotations

import asyncio

from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.mutation import mutants, run_mutants
from mge_pipeline_tests.factories import make_atom

CODE = (
    "def net(entries: list[int]) -> int:\n"
    '    """Sum of the positive entries."""\n'
    "    total = 0\n"
    "    for cents in entries:\n"
    "        if cents > 0:\n"
    "            total += cents\n"
    "    return total\n"
)


def test_mutants_take_each_operator_in_turn_and_are_deterministic() -> None:
    found = mutants(CODE, 4)
    assert [m.description.split(" ")[0] for m in found] == [
        "flipped",
        "off-by-one",
        "swapped",
        "removed",
    ]
    assert found == mutants(CODE, 4)
    assert all(m.code != CODE and "Sum of the positive entries" in m.code for m in found)
    assert len(mutants(CODE, 20)) == len({m.code for m in mutants(CODE, 20)})


def test_signatures_imports_and_module_constants_are_not_mutated() -> None:
    assert mutants("import math\nLIMIT = 3\n\ndef f(x: int = 2) -> int:\n    pass\n") == []
    assert mutants("def broken(:\n") == []
    assert len(mutants(CODE, 0)) == 0


def test_weak_tests_let_a_mutant_survive_strong_tests_kill_them_all() -> None:
    weak = make_atom(id="net", signature="def net(entries: list[int]) -> int:",
                     tests="assert net([5, -3]) == 5\n")  # fmt: skip
    strong = make_atom(
        id="net", signature="def net(entries: list[int]) -> int:",
        tests="assert net([5, -3, 1, 0]) == 6\nassert net([]) == 0\nassert net([2, 2]) == 4\n",
    )  # fmt: skip
    sandbox = PythonSandbox(timeout_seconds=5.0)

    def outcome(atom):  # type: ignore[no-untyped-def]
        return asyncio.run(run_mutants(sandbox, atom, CODE, lambda code: {atom.file_path: code}))

    weak_result, strong_result = outcome(weak), outcome(strong)
    assert weak_result is not None and strong_result is not None
    assert weak_result.tested == strong_result.tested == 4
    assert weak_result.survivors == ["off-by-one constant `0` → `1` (line 5)"]
    assert strong_result.survivors == []


def test_mutation_is_skipped_without_tests_or_when_switched_off() -> None:
    sandbox = PythonSandbox(timeout_seconds=5.0)
    untested = make_atom(id="net", tests=" ")
    tested = make_atom(id="net")
    files = lambda code: {"pkg/core.py": code}  # noqa: E731
    assert asyncio.run(run_mutants(sandbox, untested, CODE, files)) is None
    assert asyncio.run(run_mutants(sandbox, tested, CODE, files, limit=0)) is None


def test_both_ways_adds_constants_one_lower_and_the_first_survivor_ends_the_run() -> None:
    lower = [
        m.description for m in mutants(CODE, 20, both_ways=True) if "`0` → `-1`" in m.description
    ]
    assert sorted(lower) == [
        "off-by-one constant `0` → `-1` (line 3)",
        "off-by-one constant `0` → `-1` (line 5)",
    ]
    assert not any("→ `-1`" in m.description for m in mutants(CODE, 20))
    weak = make_atom(id="net", signature="def net(entries: list[int]) -> int:",
                     tests="assert net([5, -3]) == 5\n")  # fmt: skip
    sandbox = PythonSandbox(timeout_seconds=5.0)
    files = lambda code: {weak.file_path: code}  # noqa: E731
    every = asyncio.run(run_mutants(sandbox, weak, CODE, files, limit=20, both_ways=True))
    first = asyncio.run(
        run_mutants(sandbox, weak, CODE, files, limit=20, both_ways=True, first_survivor=True)
    )
    assert every is not None and first is not None and len(every.survivors) > 1
    assert first.survivors == every.survivors[:1] and first.tested < every.tested
