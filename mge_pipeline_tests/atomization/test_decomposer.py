"""The decomposer: boundaries, sizes, what stays whole and why, and the round trip."""

from __future__ import annotations

import pytest

from mge_pipeline.atomization.decomposer import reassemble
from mge_pipeline.atomization.roundtrip import round_trip_problem
from mge_pipeline.atomization.units import UnitKind
from mge_pipeline.domain import Language
from mge_pipeline_tests.atomization.helpers import atomize, by_name, units_of

_METHODS = "".join(
    f"    def m{i}(self, x):\n        '''Step {i}.'''\n        return x + {i}\n\n" for i in range(5)
)
CASES = {
    "one-function": "def f(x):\n    return x\n",
    "nested-functions": (
        "def outer(a):\n    def inner(b):\n        return a + b\n    return inner\n"
    ),
    "decorators": "import functools\n\n@functools.cache\n@staticmethod\ndef f():\n    return 1\n",
    "comments-at-end": "X = 1\n\ndef f():\n    return X\n# trailing\n# comments\n",
    "docstring-only-module": '"""Just a docstring."""\n',
    "split-class": f'class A:\n    """Doc."""\n\n    k = 1\n\n{_METHODS}    z = property(m0)\n',
    "class-without-leading-statements": f"class B:\n{_METHODS}",
    "typescript-class": (
        "// header\nexport class C {\n"
        + "".join(f"  m{i}(x: number): number {{\n    return x + {i};\n  }}\n" for i in range(5))
        + "}\n// end\n"
    ),
}


@pytest.mark.parametrize(("name", "source"), [pytest.param(n, s, id=n) for n, s in CASES.items()])
def test_round_trip_reproduces_the_file(name: str, source: str) -> None:
    path = "mod.ts" if name.startswith("typescript") else "mod.py"
    language = Language.TYPESCRIPT if path.endswith(".ts") else Language.PYTHON
    units = units_of(source, path)
    rebuilt = reassemble(units)
    assert round_trip_problem(source, rebuilt, language) is None
    assert rebuilt == source


def test_a_big_class_becomes_a_header_and_one_unit_per_member() -> None:
    units = units_of(CASES["split-class"])
    assert [(u.kind, u.name) for u in units] == [
        (UnitKind.CLASS_HEADER, "A"),
        *[(UnitKind.MEMBER, f"m{i}") for i in range(5)],
        (UnitKind.MEMBER, "z"),
    ]
    assert units[0].code.startswith('class A:\n    """Doc."""\n\n    k = 1\n')
    assert units[1].code.startswith("\ndef m0(self, x):\n")
    assert all(u.parent_scope == "A" for u in units[1:])


def test_a_class_header_without_statements_takes_its_first_method() -> None:
    units = units_of(CASES["class-without-leading-statements"])
    assert units[0].kind is UnitKind.CLASS_HEADER
    assert "def m0" in units[0].code
    assert units[1].name == "m1"


def test_a_typescript_class_keeps_its_closing_brace_with_the_header() -> None:
    units = units_of(CASES["typescript-class"], "mod.ts")
    header = units[0]
    assert header.kind is UnitKind.CLASS_HEADER and header.code.endswith("export class C {\n")
    assert header.closing == "}\n// end\n"
    assert units[1].code.startswith("m0(x: number): number {")


def test_comments_stay_with_what_follows_and_the_end_of_file_with_the_last_unit() -> None:
    units = units_of("X = 1\n\n# about f\ndef f():\n    return X\n# the end\n")
    assert units[1].code == "\n# about f\ndef f():\n    return X\n# the end\n"


def test_a_long_function_stays_whole_and_says_why() -> None:
    body = "".join(f"    v{i} = a + {i}\n" for i in range(20))
    units = units_of(f"def long(a):\n{body}    return v0\n")
    assert len(units) == 1
    assert units[0].loc == 22
    assert units[0].whole_reason == "a function is not cut: its inner parts share its local scope"


def test_statements_are_gathered_into_runs_of_about_ten_lines() -> None:
    source = "".join(f"C{i} = {i}\n" for i in range(25))
    units = units_of(source)
    assert [u.loc for u in units] == [10, 10, 5]
    assert [u.name for u in units] == ["C0", "C10", "C20"]


def test_loc_and_complexity_per_unit() -> None:
    source = (
        "def f(a, b):\n"
        "    # a comment is not code\n"
        "    if a and b:\n"
        "        return 1\n"
        "    for x in a:\n"
        "        pass\n"
        "    return 2 if b else 3\n"
    )
    unit = units_of(source)[0]
    assert unit.loc == 6
    assert unit.complexity == 5


def test_a_class_indented_with_two_spaces_stays_whole() -> None:
    source = "class T:\n" + _METHODS.replace("    ", "  ")
    units = units_of(source)
    assert [u.kind for u in units] == [UnitKind.CLASS]
    assert units[0].whole_reason == "kept whole: the class body is not indented with four spaces"


def test_javascript_arrow_functions_are_units_named_after_their_binding() -> None:
    units = by_name(units_of("const inc = (x) => x + 1;\nconst dec = (x) => x - 1;\n", "m.js"))
    assert units["inc"].kind is UnitKind.FUNCTION and units["dec"].kind is UnitKind.FUNCTION


def test_decomposition_of_the_sample_module_round_trips() -> None:
    from mge_pipeline_tests.atomization.helpers import SAMPLE

    source = (SAMPLE / "textstats.py").read_text()
    file = atomize(source, "textstats.py")
    assert reassemble(file.decomposition.units) == source
    assert not file.classes_kept_whole
