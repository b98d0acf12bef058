"""Atomized files as a masterplan: it loads, assembles back to the same module, names cuts."""

from __future__ import annotations

import ast
import importlib
import textwrap
from pathlib import Path
from types import ModuleType

import networkx as nx
import pytest
import yaml

from mge_pipeline.atomization.plan import AtomizedPlan, build_masterplan
from mge_pipeline.atomization.plan_graph import plan_dependency_graph
from mge_pipeline.cli import main
from mge_pipeline.domain import AtomKind, Severity
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.execution import bundle_masterplan, files_for_atom
from mge_pipeline.execution.assembly import assemble_files
from mge_pipeline.planning import check_masterplan, parse_masterplan
from mge_pipeline.validation.checks import run_python_checks
from mge_pipeline_tests.atomization.helpers import SAMPLE, atomize
from mge_pipeline_tests.conftest import EXAMPLES

SOURCE = (SAMPLE / "textstats.py").read_text()


def sample_plan() -> AtomizedPlan:
    return build_masterplan([atomize(SOURCE, "textstats.py")], plan_id="textstats", name="t")


def test_the_plan_loads_and_survives_yaml() -> None:
    result = sample_plan()
    text = yaml.safe_dump(result.plan.model_dump(mode="json"), sort_keys=False)
    plan = parse_masterplan(text)
    assert plan == result.plan
    assert nx.is_directed_acyclic_graph(check_masterplan(plan))


def test_assembling_the_reference_implementations_gives_the_same_module() -> None:
    plan = sample_plan().plan
    atoms = plan.atom_map()
    codes = {atom_id: atom.reference_implementation or "" for atom_id, atom in atoms.items()}
    files = assemble_files(atoms, codes, check_masterplan(plan))
    assert list(files) == ["textstats.py"]
    assert ast.dump(ast.parse(files["textstats.py"])) == ast.dump(ast.parse(SOURCE))


def test_every_python_atom_passes_the_static_validation_with_its_own_code() -> None:
    """Checked the way the pipeline checks it: inside its assembled module, cut cycles known."""
    plan = sample_plan().plan
    bundle = bundle_masterplan(plan)
    references = {atom.id: atom.reference_implementation or "" for atom in plan.atoms()}
    for atom in plan.atoms():
        code = references[atom.id]
        files = files_for_atom(atom.id, code, bundle.atoms, references, bundle.graph)
        siblings = bundle.names_by_file[atom.file_path] - {atom.name}
        findings = run_python_checks(atom, code, files[atom.file_path], sibling_names=siblings)
        assert [i for i in findings if i.severity is Severity.ERROR] == [], atom.id


def test_atoms_carry_kind_scope_imports_and_doctests() -> None:
    atoms = sample_plan().plan.atom_map()
    assert atoms["textstats.WordIndex"].kind is AtomKind.CLASS
    method = atoms["textstats.WordIndex.add_line"]
    assert method.kind is AtomKind.METHOD and method.context.parent_scope == "WordIndex"
    assert method.reference_implementation is not None
    assert method.reference_implementation.startswith("def add_line(self, line: str) -> None:")
    assert atoms["textstats.syllables"].context.imports == [
        "from __future__ import annotations",
        "import re",
    ]
    assert "doctest.DocTestFinder" in atoms["textstats.words"].tests
    assert atoms["textstats.sentences"].tests == ""
    docstring_holder = atoms["textstats.WORD"]
    assert docstring_holder.reference_implementation is not None
    assert docstring_holder.reference_implementation.startswith('"""Small text statistics')


def test_the_cycle_cut_is_recorded_on_the_atom_that_loses_the_edge() -> None:
    result = sample_plan()
    assert [edge.describe() for edge in result.graph.removed] == [
        "textstats.is_even -> textstats.is_odd (FUNCTION_CALL: is_odd)"
    ]
    notes = result.plan.atom_map()["textstats.is_even"].context.notes or ""
    assert "cycle broken: depends on textstats.is_odd (FUNCTION_CALL: is_odd)" in notes


def test_mge_graph_types_the_plans_own_edges() -> None:
    plan = sample_plan().plan
    typed = plan_dependency_graph(plan)
    edge = typed.graph.edges["textstats.syllables", "textstats.flesch"]["edge"]
    assert edge.type.value == "FUNCTION_CALL"
    header = typed.graph.edges["textstats.WordIndex", "textstats.WordIndex.lookup"]["edge"]
    assert header.type.value == "TYPE"


def test_typescript_files_map_one_unit_to_one_atom() -> None:
    source = 'import { x } from "./x";\nexport const f = (a: number) => a + x;\n'
    plan = build_masterplan([atomize(source, "m.ts")], plan_id="ts", name="ts").plan
    atoms = plan.atom_map()
    assert list(atoms) == ["m.imports_1", "m.f"]
    assert atoms["m.f"].depends_on == ["m.imports_1"]
    assert atoms["m.f"].language.value == "typescript"


def test_statements_after_a_split_class_at_the_end_keep_the_class_whole() -> None:
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(8))
    source = f"class A:\n    x = 1\n\n{methods}\nif __name__ == '__main__':\n    print(A())\n"
    plan = build_masterplan([atomize(source)], plan_id="p", name="p").plan
    (atom,) = plan.atoms()
    assert (atom.id, atom.kind) == ("mod.A", AtomKind.CLASS)
    assert atom.reference_implementation == source


def test_unused_imports_such_as_re_exports_go_with_the_first_atom() -> None:
    source = (
        "import os\nfrom json import dumps as dumps\n\n\ndef f():\n    return os.sep\n\n\nX = 1\n"
    )
    atoms = build_masterplan([atomize(source)], plan_id="p", name="p").plan.atom_map()
    assert atoms["mod.f"].context.imports == ["import os", "from json import dumps as dumps"]
    assert atoms["mod.X"].context.imports == []


def test_mge_graph_on_a_hand_written_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dot = tmp_path / "plan.dot"
    assert main(["graph", str(EXAMPLES / "small_textutils.yaml"), "--dot", str(dot)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("masterplan 'small_textutils'\natoms ")
    assert "edges removed to break cycles  0" in out
    assert dot.read_text().startswith('digraph "small_textutils" {')


def test_a_file_of_imports_only_gives_no_plan_but_a_reason() -> None:
    with pytest.raises(MasterPlanError, match=r"no atom: no file defines a name .*\(mod.py\)"):
        build_masterplan([atomize("import os\nfrom json import *\n")], plan_id="p", name="p")


SHOUT = '''
def shout(text):
    """Upper case with a bang.

    >>> shout("a")
    'A!'
    >>> loud = shout(whisper("B"))
    >>> loud
    'B!'
    >>> shout("c")
    'C!'
    """
    return text.upper() + "!"


def whisper(text):
    return text.lower()
'''


def _run_tests(text: str, module: ModuleType) -> None:
    namespace = vars(module)
    exec(compile(text, "<tests>", "exec"), namespace)
    for name in [n for n in namespace if n.startswith("test_")]:
        namespace.pop(name)()


def test_examples_that_need_a_later_atom_are_deferred_to_the_task_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shout`'s second example needs `whisper` (not a dependency): it, and `loud` which it
    binds, are skipped by the atom's check; the whole docstring runs in the task's tests."""
    plan = build_masterplan([atomize(SHOUT, "loudness.py")], plan_id="p", name="p").plan
    task = next(plan.phases[0].milestones[0].tasks.__iter__())
    atoms = plan.atom_map()
    assert "['whisper', 'loud']" in atoms["loudness.shout"].tests
    assert atoms["loudness.whisper"].tests == ""
    assert task.tests.startswith("def test_doctests_of_loudness_shout():")
    assert task.tests.count("def test_") == 1
    (tmp_path / "loudness.py").write_text(textwrap.dedent(SHOUT))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("loudness")
    _run_tests(atoms["loudness.shout"].tests, module)  # the atom's two runnable examples
    namespace: dict[str, object] = {}
    exec(compile(task.tests, "<task tests>", "exec"), namespace)
    namespace["test_doctests_of_loudness_shout"]()  # every example, in the assembled module
    monkeypatch.setattr(module, "whisper", lambda text: text + "?")  # a faulty later atom
    with pytest.raises(AssertionError, match="1 doctest examples of shout failed"):
        namespace["test_doctests_of_loudness_shout"]()
    _run_tests(atoms["loudness.shout"].tests, module)  # the atom's own check cannot see it
