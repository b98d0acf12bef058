"""Cross-check inputs and outcome comparison: pure, no sandbox."""

from __future__ import annotations

from mge_pipeline.validation.cross_inputs import (
    CallInput,
    Outcome,
    disagreements,
    inputs_for,
    majority,
    parse_outcomes,
    parse_recorded,
    value_neighbours,
)


def test_neighbours_keep_the_type_and_never_repeat_the_value() -> None:
    assert value_neighbours(1) == ["2", "0", "-1"]
    assert value_neighbours(5) == ["6", "4", "0", "1", "2", "-1"]
    assert value_neighbours(True) == ["False"]
    # A digit one lower or higher: '04-31' → '04-30', the boundary the tests skipped.
    assert value_neighbours("04-31")[:6] == ["''", "'04-3'", "'14-31'", "'03-31'", "'05-31'",
                                              "'04-21'"]  # fmt: skip
    assert "'04-30'" in value_neighbours("04-31")
    assert value_neighbours("abc") == ["''", "'ab'", "'bc'", "'abcc'", "'cba'", "'ABC'"]
    assert value_neighbours([3, 1]) == [
        "[]",
        "[3]",
        "[1]",
        "[3, 1, 1]",
        "[1, 3]",
        "[4, 1]",
        "[2, 1]",
    ]
    assert value_neighbours((1,)) == ["()", "(1, 1)", "(2,)", "(0,)"]
    assert value_neighbours({"a": 1}) == ["{}"]
    assert value_neighbours(None) == [] and value_neighbours([]) == []


def test_inputs_are_the_recorded_calls_then_neighbours_round_robin_within_the_limit() -> None:
    recorded = [CallInput(("1",)), CallInput(("10",))]
    found = inputs_for(recorded)
    assert found[:2] == recorded
    assert [c.args[0] for c in found[2:6]] == ["2", "11", "0", "9"]
    assert len(found) == len(set(found))
    assert "2" in {c.args[0] for c in found}  # is_prime(1)'s neighbour: the value tests skip
    assert len(inputs_for(recorded, limit=3)) == 3


def test_every_argument_gets_neighbours_and_keywords_too() -> None:
    call = CallInput(("'ab'", "3"), (("strict", "True"),))
    found = inputs_for([call])
    assert CallInput(("'a'", "3"), (("strict", "True"),)) in found
    assert CallInput(("'ab'", "4"), (("strict", "True"),)) in found
    assert CallInput(("'ab'", "3"), (("strict", "False"),)) in found
    assert call.shown("f") == "f('ab', 3, strict=True)"


def test_recorded_lines_are_read_as_literals_and_anything_else_is_dropped() -> None:
    lines = ["((1, 'a'), {})", "((1, 'a'), {})", "((), {'k': [1, 2]})", "__import__('os')",
             "((1,), {'not valid': 2})", "(1, 2, 3)", "garbage("]  # fmt: skip
    assert parse_recorded(lines) == [CallInput(("1", "'a'")), CallInput((), (("k", "[1, 2]"),))]


def test_results_agree_when_equal_and_any_two_exceptions_agree() -> None:
    true, false = Outcome("returned", "True", "t"), Outcome("returned", "False", "f")
    value_error, index_error = (
        Outcome("raised", "ValueError", "v"),
        Outcome("raised", "IndexError", "i"),
    )
    slow = Outcome("timeout", "", "s")
    assert true.agrees(Outcome("returned", "True", "t")) and not true.agrees(false)
    assert value_error.agrees(index_error) and not value_error.agrees(true)
    assert not slow.agrees(true) and slow.agrees(Outcome("timeout", "", "s"))
    assert disagreements([true, true, value_error], [true, false, index_error]) == [1]
    assert majority([true, false, Outcome("returned", "True", "t")]) == true
    assert majority([true, false, value_error]) is None
    assert majority([true, false]) is None


def test_outcome_lines_must_be_one_per_input() -> None:
    lines = ["returned\tabc\t[1, 2]", "raised\tdef\tValueError", "timeout\tghi\t"]
    parsed = parse_outcomes(lines, 3)
    assert parsed is not None and [o.describe() for o in parsed] == [
        "returned [1, 2]", "raised ValueError", "did not return within the time limit",
    ]  # fmt: skip
    assert parse_outcomes(lines, 4) is None
    assert parse_outcomes(["lied\tx\ty"], 1) is None
    assert parse_outcomes(None, 0) is None


def test_a_number_in_text_is_also_tried_with_one_more_digit() -> None:
    """``closest_integer('14.5')`` never tried ``'14.50'``: a trailing-zero fault hid there."""
    assert "'14.50'" in value_neighbours("14.5")
    assert "'abc0'" not in value_neighbours("abc")


def test_after_single_changes_two_arguments_move_together() -> None:
    """``will_it_fly([3, 2, 3], 9)``: a fault that needs a longer list *and* a larger weight."""
    call = CallInput(("[3, 2, 3]", "9"))
    inputs = inputs_for([call], limit=1000)
    singles = [c for c in inputs if (c.args[0] == "[3, 2, 3]") != (c.args[1] == "9")]
    pairs = [c for c in inputs if c.args[0] != "[3, 2, 3]" and c.args[1] != "9"]
    assert CallInput(("[3, 2, 3, 3]", "10")) in pairs
    assert inputs.index(pairs[0]) > max(inputs.index(c) for c in singles)
    assert len(set(inputs)) == len(inputs)
