"""Assembly: imports merged once at the top, atoms in dependency order, methods inside classes."""

from __future__ import annotations

import ast
from pathlib import Path

from mge_pipeline.domain import Language
from mge_pipeline.execution import assemble_files, bundle_masterplan, files_for_atom
from mge_pipeline.execution.assembly import split_imports
from mge_pipeline.execution.output import write_output
from mge_pipeline_tests.factories import make_atom, make_plan


def test_split_imports_hoists_only_top_level_imports() -> None:
    code = "import re\nfrom os import path as p\n\ndef f():\n    import json\n    return 1\n"
    hoisted, body = split_imports(code, Language.PYTHON)
    assert hoisted == ["import re", "from os import path as p"]
    assert body == "def f():\n    import json\n    return 1"


def test_files_have_merged_imports_and_dependency_order() -> None:
    base = make_atom(id="base", context={"imports": ["from pkg.util import helper"]})
    user = make_atom(
        id="user", depends_on=["base"], context={"imports": ["from pkg.util import helper"]}
    )
    other = make_atom(id="other", file_path="pkg/other.py")
    bundle = bundle_masterplan(make_plan(user, base, other))
    codes = {
        "user": "import re\n\ndef user():\n    return base()\n",
        "base": "from __future__ import annotations\nimport re\n\ndef base():\n    return 1\n",
        "other": "def other():\n    return 2\n",
    }
    files = assemble_files(bundle.atoms, codes, bundle.graph)
    assert sorted(files) == ["pkg/core.py", "pkg/other.py"]
    core = files["pkg/core.py"]
    assert core.splitlines()[:3] == [
        "from __future__ import annotations",
        "from pkg.util import helper",
        "import re",
    ]
    assert core.count("import re") == 1
    assert core.index("def base") < core.index("def user"), "dependencies come first"
    ast.parse(core)


def test_methods_are_placed_inside_their_class() -> None:
    cls = make_atom(id="box", name="Box", kind="class", signature="class Box:", tests="")
    method = make_atom(
        id="grow",
        name="grow",
        kind="method",
        signature="def grow(self) -> int:",
        context={"parent_scope": "Box"},
        depends_on=None,
        tests="",
    )
    after = make_atom(id="after", depends_on=["box"])
    bundle = bundle_masterplan(make_plan(cls, after, method))
    codes = {
        "box": "class Box:\n    size = 1\n",
        "grow": "def grow(self) -> int:\n    return self.size + 1\n",
        "after": "def after():\n    return Box().grow()\n",
    }
    source = assemble_files(bundle.atoms, codes, bundle.graph)["pkg/core.py"]
    namespace: dict[str, object] = {}
    exec(compile(source, "core.py", "exec"), namespace)
    assert namespace["after"]() == 2  # type: ignore[operator]


def test_files_for_atom_hold_only_its_ancestors() -> None:
    a = make_atom(id="a")
    b = make_atom(id="b", depends_on=["a"], file_path="pkg/b.py")
    c = make_atom(id="c", depends_on=["b"], file_path="pkg/c.py")
    unrelated = make_atom(id="u", file_path="pkg/u.py")
    bundle = bundle_masterplan(make_plan(a, b, c, unrelated))
    codes = {
        "a": "def a():\n    return 1\n",
        "b": "def b():\n    return 2\n",
        "u": "def u(): ...\n",
    }
    files = files_for_atom("c", "def c():\n    return 3\n", bundle.atoms, codes, bundle.graph)
    assert sorted(files) == ["pkg/b.py", "pkg/c.py", "pkg/core.py"]


def test_write_output_replaces_the_directory_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_output(target, {"pkg/a.py": "A = 1\n", "report.md": "# one\n"})
    write_output(target, {"pkg/b.py": "B = 2\n"})
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.py")) == ["pkg/b.py"]
    assert not (target / "report.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging directories left behind"
