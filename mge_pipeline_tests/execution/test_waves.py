"""Wave decisions: blocked dependents, cached atoms, the stop rule; spec hashes as cache keys."""

from __future__ import annotations

from mge_pipeline.domain import AtomStatus
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.execution.waves import plan_wave, wave_stop_reason
from mge_pipeline_tests.factories import make_atom, make_plan


def _bundle():  # type: ignore[no-untyped-def]
    return bundle_masterplan(
        make_plan(
            make_atom(id="a"),
            make_atom(id="b"),
            make_atom(id="needs_a", depends_on=["a"]),
            make_atom(id="needs_b", depends_on=["b"]),
            make_atom(id="fresh", depends_on=["a"]),
        )
    )


def test_dependents_of_failed_atoms_are_blocked_and_cached_atoms_skip_generation() -> None:
    bundle = _bundle()
    cached_hash = bundle.spec_hashes["fresh"]
    decision = plan_wave(
        bundle,
        1,
        statuses={"a": AtomStatus.SUCCEEDED, "b": AtomStatus.FAILED},
        cached_code=lambda spec_hash: "def fresh(): ..." if spec_hash == cached_hash else None,
        stop_reason=None,
    )
    assert decision.to_generate == ["needs_a"]
    settled = {r.atom_id: r for r in decision.settled}
    assert settled["needs_b"].status is AtomStatus.BLOCKED and "b" in (
        settled["needs_b"].reason or ""
    )
    assert settled["fresh"].status is AtomStatus.CACHED and settled["fresh"].code


def test_a_stopped_run_skips_every_atom_of_later_waves() -> None:
    decision = plan_wave(_bundle(), 1, statuses={}, cached_code=lambda _: None, stop_reason="stop")
    assert decision.to_generate == []
    assert {r.status for r in decision.settled} == {AtomStatus.SKIPPED}


def test_stop_rule() -> None:
    assert "wave 2 validated only 49%" in (wave_stop_reason(2, 0.49, 0.5, None) or "")
    assert wave_stop_reason(2, 0.5, 0.5, None) is None
    assert wave_stop_reason(2, 1.0, 0.5, "budget reached") == "budget reached"


def test_spec_hash_changes_with_a_dependency_spec() -> None:
    before = bundle_masterplan(make_plan(make_atom(id="a"), make_atom(id="c", depends_on=["a"])))
    after = bundle_masterplan(
        make_plan(make_atom(id="a", description="changed"), make_atom(id="c", depends_on=["a"]))
    )
    assert before.spec_hashes["c"] != after.spec_hashes["c"]
    same = bundle_masterplan(make_plan(make_atom(id="a"), make_atom(id="c", depends_on=["a"])))
    assert same.spec_hashes == before.spec_hashes


def test_mapping_keys_are_clean_and_unique() -> None:
    bundle = bundle_masterplan(
        make_plan(
            make_atom(id="a-b"), make_atom(id="a_b", name="ab"), make_atom(id="x.y", name="xy")
        )
    )
    assert bundle.mapping_keys == {"a-b": "a_b", "a_b": "a_b_2", "x.y": "x_y"}
