"""Loading masterplans: bad input is rejected with one line per problem, naming atom and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.planning import load_masterplan
from mge_pipeline_tests.conftest import EXAMPLES
from mge_pipeline_tests.factories import make_atom, make_plan


def _write(tmp_path: Path, document: object, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(MasterPlanError) as caught:
        load_masterplan(path)
    return caught.value.problems


def test_examples_load() -> None:
    plans = [load_masterplan(path) for path in sorted(EXAMPLES.glob("*.yaml"))]
    assert {plan.id for plan in plans} >= {"small_textutils", "ledger_library"}


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "id: x\nphases: [\n  - {id: p1\n"))
    assert len(problems) == 1
    assert "invalid YAML" in problems[0] and "line" in problems[0]


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, '{"id": "x",\n "phases": }', name="plan.json"))
    assert problems == [
        f"{tmp_path / 'plan.json'}: line 2, column 12: invalid JSON: Expecting value"
    ]


def test_missing_fields_are_named_by_atom_and_field(tmp_path: Path) -> None:
    document = make_plan(make_atom(id="a"), make_atom(id="b")).model_dump(mode="json")
    atoms = document["phases"][0]["milestones"][0]["tasks"][0]["atoms"]
    del atoms[0]["signature"]
    del atoms[1]["file_path"]
    problems = _problems(_write(tmp_path, document))
    assert len(problems) == 2
    assert "atom 'a' field 'signature': Field required" in problems[0]
    assert "atom 'b' field 'file_path': Field required" in problems[1]


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    document = make_plan(make_atom(id="a")).model_dump(mode="json")
    document["phases"][0]["milestones"][0]["tasks"][0]["atoms"][0]["colour"] = "red"
    assert "atom 'a' field 'colour'" in _problems(_write(tmp_path, document))[0]


def test_duplicate_ids(tmp_path: Path) -> None:
    document = make_plan(make_atom(id="a"), make_atom(id="a", name="other")).model_dump(mode="json")
    assert _problems(_write(tmp_path, document)) == [
        "atom 'a' field 'id': duplicate id, used 2 times"
    ]


def test_unknown_dependencies_each_get_a_line(tmp_path: Path) -> None:
    plan = make_plan(make_atom(id="a", depends_on=["ghost", "phantom"]))
    problems = _problems(_write(tmp_path, plan.model_dump(mode="json")))
    assert problems == [
        "atom 'a' field 'depends_on': unknown atom 'ghost'",
        "atom 'a' field 'depends_on': unknown atom 'phantom'",
    ]


def test_cycle_names_every_atom_in_it(tmp_path: Path) -> None:
    plan = make_plan(
        make_atom(id="a", depends_on=["c"]),
        make_atom(id="b", depends_on=["a"]),
        make_atom(id="c", depends_on=["b"]),
        make_atom(id="d"),
    )
    problems = _problems(_write(tmp_path, plan.model_dump(mode="json")))
    assert len(problems) == 1
    assert problems[0].startswith("dependency cycle: ")
    assert {"a", "b", "c"} <= set(problems[0].removeprefix("dependency cycle: ").split(" -> "))


def test_unreadable_path(tmp_path: Path) -> None:
    problems = _problems(tmp_path / "missing.yaml")
    assert problems == [f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory"]


@pytest.mark.parametrize(
    "path",
    [pytest.param("/etc/passwd", id="absolute"), pytest.param("../outside.py", id="parent")],
)
def test_file_path_must_stay_inside_output(tmp_path: Path, path: str) -> None:
    document = make_plan(make_atom(id="a")).model_dump(mode="json")
    document["phases"][0]["milestones"][0]["tasks"][0]["atoms"][0]["file_path"] = path
    assert "atom 'a' field 'file_path'" in _problems(_write(tmp_path, document))[0]
