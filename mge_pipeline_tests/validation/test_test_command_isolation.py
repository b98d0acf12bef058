"""The plan's test command tests the rebuilt code: rebuilt files first on the import path, an
installed copy of the same package refused, and the report names the files it exercised."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mge_pipeline.execution.repair import failing_tests_atoms
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.test_command import (
    called_functions,
    describe_command,
    isolated_command,
    per_test_outcomes,
)
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration


def test_an_installed_copy_of_the_package_is_not_what_gets_tested() -> None:
    """``yaml/reader.py`` rebuilt without ``yaml/__init__.py``: PyYAML is installed, and the
    bare command passes against it; through the launcher it gets the rebuilt file, and a
    module the output lacks is missing rather than taken from the installed copy."""
    files = {"yaml/reader.py": "def add(a, b):\n    return a + b\n"}
    argv = [
        "python",
        "-c",
        "import yaml.reader as r; print(r.__file__); assert hasattr(r, 'Reader')",
    ]
    sandbox = PythonSandbox(timeout_seconds=30.0)
    try:
        bare = asyncio.run(sandbox.run_command(files, argv, timeout_seconds=30.0))
        staged, command = isolated_command(files, argv)
        isolated = asyncio.run(sandbox.run_command(staged, command, timeout_seconds=30.0))
    finally:
        sandbox.close()
    assert bare.returncode == 0, "the installed copy answered for the rebuilt file"
    assert "site-packages" in bare.stderr_tail
    assert isolated.returncode != 0
    assert "site-packages" not in isolated.stderr_tail.split("Traceback")[0]
    assert "yaml/reader.py" in isolated.stderr_tail and "AssertionError" in isolated.stderr_tail
    staged, command = isolated_command(files, ["python", "-c", "import yaml.constructor"])
    sandbox = PythonSandbox(timeout_seconds=30.0)
    try:
        missing = asyncio.run(sandbox.run_command(staged, command, timeout_seconds=30.0))
    finally:
        sandbox.close()
    assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr_tail


def test_the_report_names_the_rebuilt_files_the_command_exercised(
    tmp_path: Path, database_url: str
) -> None:
    atoms = [
        make_atom(id="add", file_path="pkg/core.py"),
        make_atom(id="sub", file_path="pkg/other.py"),
    ]
    command = ["python", "-c", "from pkg.core import add\nassert add(1, 2) == 3"]
    run = run_plan(make_plan(*atoms, test_command=command), tmp_path, database_url)
    assert run.report is not None and run.report["test_command"] == "passed"
    assert "rebuilt files exercised (1): pkg/core.py" in run.report["test_command_output"]


def test_a_command_that_loads_no_rebuilt_file_fails(tmp_path: Path, database_url: str) -> None:
    command = ["python", "-c", "assert 1 + 1 == 2"]
    run = run_plan(make_plan(test_command=command), tmp_path, database_url)
    assert run.report is not None and run.report["status"] == "failed"
    assert run.report["test_command"].startswith("test command loaded none of the rebuilt files")


def test_a_command_carrying_its_tests_inline_is_shown_by_its_start() -> None:
    script = "const files = " + "x" * 5000 + ";\nrun(files);\n"
    shown = describe_command(["/usr/bin/node", "-e", script])
    assert shown.startswith("/usr/bin/node -e const files = xxx") and shown.endswith("…")
    assert len(shown) == 120 and "\n" not in shown
    assert describe_command(["python", "-m", "pytest", "-q"]) == "python -m pytest -q"


def test_under_pytest_the_launcher_records_what_each_failing_test_called() -> None:
    """Through the real launcher in the sandbox: `test_x` passes calling `x`, `test_y` fails
    calling `y`; the whole command called both, the failing test only `y`."""
    files = {
        "pkg/__init__.py": "",
        "pkg/m.py": "def x():\n    return 1\n\n\ndef y():\n    return 3\n",
        "test_m.py": (
            "from pkg.m import x, y\n\n\ndef test_x():\n    assert x() == 1\n\n\n"
            "def test_y():\n    assert y() == 2\n"
        ),
    }
    # -W error: the recorder must not cost a suite that treats warnings as errors anything.
    argv = ["python", "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", "test_m.py"]
    staged, command = isolated_command(files, argv)
    sandbox = PythonSandbox(timeout_seconds=60.0)
    try:
        outcome = asyncio.run(sandbox.run_command(staged, command, timeout_seconds=60.0))
    finally:
        sandbox.close()
    assert outcome.returncode == 1, outcome.stderr_tail
    assert "1 failed, 1 passed in" in outcome.stderr_tail and "warning" not in outcome.stderr_tail
    outcomes = per_test_outcomes(outcome.stderr_tail)
    assert outcomes is not None, outcome.stderr_tail
    assert outcomes.passed == ("test_m.py::test_x",)
    assert list(outcomes.failed) == ["test_m.py::test_y"]
    assert {("pkg/m.py", "x"), ("pkg/m.py", "y")} <= (
        called_functions(outcome.stderr_tail) or set()
    )
    atoms = [
        make_atom(id="x", name="x", file_path="pkg/m.py", signature="def x():"),
        make_atom(id="y", name="y", file_path="pkg/m.py", signature="def y():"),
    ]
    assert failing_tests_atoms(outcomes, atoms) == ["y"]
    assert not any(file.startswith("<") for file, _ in called_functions(outcome.stderr_tail) or ())
