"""The simulated model: replays references, injects faults deterministically, never invents code."""

from __future__ import annotations

import asyncio
import random

import pytest

from mge_pipeline.generation import GenerationRequest, SimulatedModel, extract_code
from mge_pipeline.generation.faults import FaultKind, inject_fault
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.python_validator import PythonAtomValidator, module_name_for
from mge_pipeline_tests.factories import make_atom

ATOM = make_atom(
    id="span",
    signature="def span(values: list[int]) -> int:",
    reference_implementation=(
        "def span(values: list[int]) -> int:\n"
        '    """Largest minus smallest value; 0 for fewer than two values."""\n'
        "    if len(values) < 2:\n        return 0\n"
        "    return max(values) - min(values)\n"
    ),
    tests="assert span([]) == 0\nassert span([7]) == 0\nassert span([1, 5]) == 4\n"
    "assert span([3, 9, 4]) == 6\n",
)


def _request(attempt: int = 1, atom=ATOM) -> GenerationRequest:  # type: ignore[no-untyped-def]
    return GenerationRequest(
        atom=atom,
        system_blocks=(PromptBlock("s"),),
        prompt="p" * 400,
        temperature=0.7,
        max_tokens=100,
        attempt_number=attempt,
    )


def test_clean_answer_is_the_reference() -> None:
    model = SimulatedModel(fault_rate=0.0, latency_seconds=0)
    response = asyncio.run(model.generate(_request()))
    assert extract_code(response.text, ATOM).code == ATOM.reference_implementation
    assert response.input_tokens == 1 + 100 and response.output_tokens > 0


def test_same_seed_same_answers_other_seed_other_faults() -> None:
    def answers(seed: int) -> list[str]:
        model = SimulatedModel(seed=seed, fault_rate=0.5, latency_seconds=0)
        return [asyncio.run(model.generate(_request(n))).text for n in range(1, 30)]

    assert answers(1) == answers(1)
    assert answers(1) != answers(2)


def test_fault_rate_is_respected_over_many_atoms() -> None:
    model = SimulatedModel(seed=7, fault_rate=0.10)
    faults = sum(model.choose_fault(f"atom{i}", 1) is not None for i in range(2000))
    assert 150 <= faults <= 250


def test_atom_without_reference_gets_a_refusal_not_code() -> None:
    atom = make_atom(id="novel", reference_implementation=None)
    response = asyncio.run(SimulatedModel(latency_seconds=0).generate(_request(atom=atom)))
    assert response.refusal is not None and "real model" in response.refusal
    assert extract_code(response.text, atom).code is None


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        pytest.param(FaultKind.SYNTAX_ERROR, "syntax", id="syntax"),
        pytest.param(FaultKind.MISSING_IMPORT, "logic", id="missing-import-without-imports"),
        pytest.param(FaultKind.WRONG_RESULT, "logic", id="wrong-result"),
        pytest.param(FaultKind.EXCEPTION, "runtime", id="exception"),
        pytest.param(FaultKind.ENDLESS_LOOP, "timeout", id="endless-loop"),
    ],
)
def test_every_fault_is_caught_by_validation(kind: FaultKind, category: str) -> None:
    faulty = inject_fault(ATOM.reference_implementation or "", kind, random.Random(5))
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=2.0))
    files = {ATOM.file_path: faulty}
    verdict = asyncio.run(validator.validate(ATOM, faulty, files))
    assert not verdict.passed
    assert verdict.category == category, verdict.issues
    assert module_name_for(ATOM.file_path) == "pkg.core"


def test_the_simulated_model_bills_prompt_caching_like_the_api() -> None:
    model = SimulatedModel(fault_rate=0.0, latency_seconds=0)
    shared = PromptBlock("project context " * 400, cache=True)

    def bill(prompt: str) -> tuple[int, int, int]:
        request = GenerationRequest(atom=ATOM, system_blocks=(shared,), prompt=prompt,
                                    temperature=0.7, max_tokens=100, attempt_number=1)  # fmt: skip
        response = asyncio.run(model.generate(request))
        return response.input_tokens, response.cache_write_tokens, response.cache_read_tokens

    first, second = bill("atom one"), bill("atom two")
    assert first[1] == second[2] > 1024, "written once, then read"
    assert first[2] == 0 and second[1] == 0
    assert first[0] == second[0] == 2, "only the atom's own part is plain input"
