"""Prices: the current Claude models, cache multipliers, worst-case reservations."""

from __future__ import annotations

import pytest

from mge_pipeline.generation.pricing import ModelPrice, call_cost, price_for, worst_case_cost


@pytest.mark.parametrize(
    ("model", "input_price", "output_price"),
    [
        pytest.param("claude-sonnet-4-5", 3.0, 15.0, id="sonnet"),
        pytest.param("claude-sonnet-4-5-20250929", 3.0, 15.0, id="dated-sonnet"),
        pytest.param("claude-haiku-4-5", 1.0, 5.0, id="haiku"),
        pytest.param("claude-opus-4-5", 5.0, 25.0, id="opus-4-5"),
        pytest.param("claude-opus-4-1", 15.0, 75.0, id="opus-4-1"),
    ],
)
def test_price_table(model: str, input_price: float, output_price: float) -> None:
    price = price_for(model)
    assert (price.input_per_mtok, price.output_per_mtok) == (input_price, output_price)


def test_overrides_win() -> None:
    assert (
        price_for("claude-sonnet-4-5", {"claude-sonnet-4-5": ModelPrice(1, 2)}).output_per_mtok == 2
    )


def test_call_cost_with_cache() -> None:
    cost = call_cost(
        price_for("claude-sonnet-4-5"),
        input_tokens=1_000_000,
        output_tokens=100_000,
        cache_write_tokens=1_000_000,
        cache_read_tokens=1_000_000,
    )
    assert cost == pytest.approx(3.0 + 1.5 + 3.75 + 0.3)


def test_worst_case_assumes_every_output_token() -> None:
    price = price_for("claude-haiku-4-5")
    assert worst_case_cost(price, prompt_tokens=2000, max_tokens=1000) == pytest.approx(0.007)


def test_one_hour_cache_writes_cost_twice_the_input_price() -> None:
    cost = call_cost(
        price_for("claude-haiku-4-5"),
        input_tokens=0,
        output_tokens=0,
        cache_write_1h_tokens=1_000_000,
    )
    assert cost == pytest.approx(2.0)
