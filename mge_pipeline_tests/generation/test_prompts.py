"""Prompts: a shared, cacheable prefix; each atom's own part last; dependencies within budget."""

from __future__ import annotations

from mge_pipeline.domain import ErrorCategory, ValidationIssue
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.generation.prompts import (
    DependencyContext,
    build_prompt,
    feedback_section,
    system_blocks,
)
from mge_pipeline.planning import load_masterplan
from mge_pipeline_tests.conftest import EXAMPLES
from mge_pipeline_tests.factories import make_atom


def test_the_cached_prefix_is_identical_for_every_atom_of_a_file() -> None:
    bundle = bundle_masterplan(load_masterplan(EXAMPLES / "ledger_library.yaml"))
    prefixes = {
        tuple(
            block.text
            for block in system_blocks(
                bundle.project_prompt, bundle.file_prompts[atom.file_path], cache=True
            )
        )
        for atom in bundle.atoms.values()
    }
    assert len(prefixes) == len(bundle.file_prompts), "one prefix per file"
    assert len({prefix[0] for prefix in prefixes}) == 1, "the first block is shared by all"
    blocks = system_blocks(bundle.project_prompt, "module", cache=True)
    assert all(block.cache for block in blocks)
    assert not any(b.cache for b in system_blocks(bundle.project_prompt, "m", cache=False))


def test_prompt_has_the_spec_and_what_it_needs() -> None:
    atom = make_atom(
        id="total",
        description="Sum the amounts.",
        estimated_loc=6,
        context={"imports": ["from pkg.models import Entry"], "parent_scope": "Ledger"},
    )
    prompt = build_prompt(atom, dependencies=[])
    for fragment in (
        "`total`",
        "Sum the amounts.",
        "about 6 lines",
        "from pkg.models import Entry",
        "member of: Ledger",
        "assert total(1, 2) == 3",
        atom.signature,
    ):
        assert fragment in prompt


def test_dependencies_beyond_the_budget_become_signatures() -> None:
    small = DependencyContext(make_atom(id="small"), "def small(a, b):\n    return a\n")
    large = DependencyContext(make_atom(id="large"), "def large(a, b):\n" + "    x = 1\n" * 400)
    prompt = build_prompt(
        make_atom(id="top"), dependencies=[small, large], dependency_token_budget=200
    )
    assert "return a" in prompt
    assert "x = 1" not in prompt
    assert "def large(a: int, b: int) -> int:  # in pkg/core.py" in prompt


def test_feedback_lists_errors_with_guidance_per_category() -> None:
    issues = [
        ValidationIssue(category=ErrorCategory.IMPORT, message="name 're' is not defined"),
        ValidationIssue(category=ErrorCategory.LOGIC, message="assert f(1) == 2"),
    ]
    text = feedback_section(issues)
    assert "[import] name 're' is not defined" in text and "[logic] assert f(1) == 2" in text
    assert "Import every module you use" in text and "wrong results" in text


def test_a_reviewers_feedback_is_in_the_prompt_of_a_regenerated_atom() -> None:
    from mge_pipeline.generation.prompts import build_prompt as build
    from mge_pipeline_tests.factories import make_atom as atom_factory

    plain = build(atom_factory(), dependencies=[])
    asked = build(atom_factory(), dependencies=[], reviewer_feedback="use integer division")
    assert "human reviewer" not in plain
    assert "A human reviewer rejected an earlier version" in asked
    assert "use integer division" in asked and asked.startswith(plain)
