"""The default model is current, every price says where it comes from, schedules are valid."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from anthropic._data import DEPRECATED_MODELS
from anthropic.types.model_param import ModelParam

from mge_pipeline import constants as c
from mge_pipeline.generation.pricing import DEFAULT_PRICES, ModelPrice, PriceBook, price_for
from mge_pipeline.generation.schedule import (
    FAST_MODEL,
    AttemptSchedule,
    AttemptStep,
    accepts_effort,
    accepts_temperature,
    default_schedule,
    parse_step,
    schedule_problems,
)
from mge_pipeline.generation.simulated import SIMULATED_MODEL_NAME

SDK_MODELS: tuple[str, ...] = get_args(get_args(ModelParam)[0])
SEED_TEMPERATURES = (0.7, 0.5, 0.3, 0.3)


def test_the_default_model_is_not_in_the_sdks_deprecation_table() -> None:
    assert c.DEFAULT_MODEL not in DEPRECATED_MODELS, DEPRECATED_MODELS[c.DEFAULT_MODEL]
    assert c.DEFAULT_MODEL in SDK_MODELS


def test_the_escalation_model_is_current_too() -> None:
    assert FAST_MODEL not in DEPRECATED_MODELS and FAST_MODEL in SDK_MODELS


def test_every_table_price_has_a_date_and_a_source() -> None:
    for model, price in DEFAULT_PRICES.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.as_of), model
        assert price.source.startswith("https://"), model


@pytest.mark.parametrize(
    ("model", "input_price", "output_price", "cache_read"),
    [
        pytest.param("claude-sonnet-5-5", 2.0, 10.0, 0.10, id="sonnet-5-5"),
        pytest.param("claude-haiku-5-5", 0.10, 0.50, 0.01, id="haiku-5-5"),
        pytest.param("claude-opus-5-5", 4.0, 20.0, 0.20, id="opus-5-5"),
        pytest.param("claude-opus-5", 5.0, 25.0, 0.50, id="opus-5"),
        pytest.param("claude-sonnet-5", 2.0, 10.0, 0.20, id="sonnet-5"),
        pytest.param("claude-fable-5-1", 10.0, 50.0, 1.0, id="fable-5-1"),
    ],
)
def test_current_families_are_priced(
    model: str, input_price: float, output_price: float, cache_read: float
) -> None:
    price = price_for(model)
    assert (price.input_per_mtok, price.output_per_mtok) == (input_price, output_price)
    assert price.cache_read_per_mtok == pytest.approx(cache_read)


def test_a_dated_snapshot_gets_its_familys_price_but_a_longer_name_does_not() -> None:
    assert price_for("claude-sonnet-4-5-20250929") == price_for("claude-sonnet-4-5")
    assert price_for("claude-sonnet-5-5").input_per_mtok == 2.0
    assert price_for("claude-opus-5-5").input_per_mtok == 4.0, "not Opus 5's price"


def test_unknown_models_are_priced_high_never_low() -> None:
    assert price_for("claude-opus-9").input_per_mtok >= 15.0
    assert price_for("claude-haiku-9").input_per_mtok >= 1.0


def test_the_price_book_applies_overrides_and_the_batch_discount() -> None:
    book = PriceBook(overrides=(("claude-haiku-5-5", ModelPrice(1.0, 2.0)),))
    assert book.price("claude-haiku-5-5").output_per_mtok == 2.0
    assert book.price("claude-sonnet-5-5").output_per_mtok == 10.0
    batch = PriceBook(batch=True)
    assert batch.price("claude-sonnet-5-5").input_per_mtok == 1.0
    assert batch.price("claude-sonnet-5-5").output_per_mtok == 5.0


@pytest.mark.parametrize(
    ("model", "temperature", "effort"),
    [
        ("claude-sonnet-5-5", False, True),
        ("claude-haiku-5-5", False, True),
        ("claude-opus-4-7", False, True),
        ("claude-sonnet-4-6", True, True),
        ("claude-opus-4-5", True, True),
        ("claude-sonnet-4-5", True, False),
        ("claude-haiku-4-5", True, False),
        (SIMULATED_MODEL_NAME, True, False),
    ],
)
def test_which_models_take_temperature_and_effort(
    model: str, temperature: bool, effort: bool
) -> None:
    assert accepts_temperature(model) is temperature
    assert accepts_effort(model) is effort


def test_models_with_a_temperature_keep_the_seeds_schedule() -> None:
    for model in (SIMULATED_MODEL_NAME, "claude-sonnet-4-6"):
        schedule = default_schedule(model, SEED_TEMPERATURES)
        assert [schedule.step(n).temperature for n in range(1, 6)] == [0.7, 0.5, 0.3, 0.3, 0.3]
        assert {schedule.step(n).model for n in range(1, 5)} == {None}


def test_current_models_escalate_from_the_fast_model() -> None:
    schedule = default_schedule("claude-sonnet-5-5", SEED_TEMPERATURES)
    steps = [(s.model, s.effort, s.temperature) for s in schedule.steps]
    assert steps == [
        ("claude-haiku-5-5", "low", None),
        ("claude-sonnet-5-5", "medium", None),
        ("claude-sonnet-5-5", "high", None),
        ("claude-sonnet-5-5", "xhigh", None),
    ]
    assert schedule_problems(schedule, "claude-sonnet-5-5") == []


def test_steps_the_api_would_refuse_are_named_one_line_each() -> None:
    schedule = AttemptSchedule(
        (
            AttemptStep("claude-sonnet-5-5", temperature=0.5),
            AttemptStep("claude-haiku-4-5", "low"),
            AttemptStep(temperature=1.5),
        )
    )
    assert schedule_problems(schedule, "claude-sonnet-4-6") == [
        "schedule step 1: model claude-sonnet-5-5 does not accept a temperature",
        "schedule step 2: model claude-haiku-4-5 does not accept an effort",
        "schedule step 3: temperature must be within 0..1",
    ]


def test_parse_step() -> None:
    assert parse_step("claude-haiku-5-5:low") == AttemptStep("claude-haiku-5-5", "low")
    assert parse_step("::0.5") == AttemptStep(temperature=0.5)
    assert parse_step(":high") == AttemptStep(effort="high")
    with pytest.raises(ValueError, match="effort 'huge' is not one of"):
        parse_step("m:huge")
    with pytest.raises(ValueError, match="temperature 'hot' is not a number"):
        parse_step("m::hot")
