"""Characterization tests: calls recorded while a project's tests run on its original code,
turned into per-atom tests that are kept only when they pass on what the atom will have."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mge_pipeline.atomization.characterize import (
    RecordedCall,
    RecordingError,
    attach_characterization,
    characterization_tests,
    record_calls,
)
from mge_pipeline.domain import AtomSpec, EvidenceKind
from mge_pipeline.domain.evidence import evidence_of_tests
from mge_pipeline_tests.factories import make_atom, make_plan

MODULE = """
def scale(values, factor=2):
    return [v * factor for v in values]


def shout(text):
    print(text)


def label(n):
    return "even" if n % 2 == 0 else "odd"


class Box:
    def size(self):
        return 1
"""
TESTS = """
import shapes

assert shapes.scale([1, 2]) == [2, 4]
assert shapes.scale([3], factor=5) == [15]
for n in range(10):
    shapes.label(n)
shapes.shout("hi")
assert shapes.Box().size() == 1
"""


def test_calls_are_recorded_bounded_literal_and_without_methods_or_none(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "shapes.py"
    module.write_text(MODULE)
    script = tmp_path / "run_tests.py"
    script.write_text(TESTS)
    calls = record_calls({str(module): "shapes.py"}, ["python", str(script)], limit=3)
    assert calls[("shapes.py", "scale")] == [
        RecordedCall((("values", "[1, 2]"), ("factor", "2")), "[2, 4]"),
        RecordedCall((("values", "[3]"), ("factor", "5")), "[15]"),
    ]
    assert len(calls[("shapes.py", "label")]) == 3, "bounded per function"
    assert ("shapes.py", "shout") not in calls, "a None result is not recorded"
    assert not any(name.startswith("Box") for _, name in calls), "methods are not recorded"


def test_only_a_python_command_can_be_recorded() -> None:
    with pytest.raises(RecordingError):
        record_calls({}, ["node", "test.js"])


def test_recorded_calls_become_characterization_tests() -> None:
    tests = characterization_tests("scale", [RecordedCall((("values", "[1]"),), "[2]")])
    assert tests == "def test_characterization_scale_1():\n    assert scale(values=[1]) == [2]\n"
    namespace: dict[str, object] = {"scale": lambda values: [v * 2 for v in values]}
    exec(tests + "\ntest_characterization_scale_1()\n", namespace)
    assert evidence_of_tests(["test_characterization_scale_1"]) == (EvidenceKind.CHARACTERIZATION,)


def test_tests_are_attached_only_where_they_pass_on_what_the_atom_will_have() -> None:
    plan = make_plan(make_atom(id="add"), make_atom(id="sub", tests=""))
    calls = {
        ("pkg/core.py", "add"): [RecordedCall((("a", "1"), ("b", "2")), "3")],
        ("pkg/core.py", "sub"): [RecordedCall((("a", "1"), ("b", "2")), "-1")],
    }
    seen: list[str] = []

    async def passes(atom: AtomSpec, tests: str) -> bool:
        seen.append(atom.id)
        return atom.id == "add"

    attached, atoms = asyncio.run(attach_characterization(plan, calls, passes))
    assert atoms == ["add"] and seen == ["add", "sub"]
    tests = {a.id: a.tests for a in attached.atoms()}
    assert (
        tests["add"].startswith("assert add(1, 2) == 3")
        and "test_characterization_add_1" in (tests["add"])
    )
    assert tests["sub"] == ""
