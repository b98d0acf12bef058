"""Real packages rebuilt: atomized, regenerated with ``mge run`` (the compiled job), and their own
tests run against the rebuilt code by the plan's test command.

The packages are vendored under ``mge_pipeline_tests/data/packages`` with their licences. The
sandbox sees only the assembled output, so the test command carries the package's test files
(unchanged) and writes them beside the output before running them; the launcher of the test
command makes the package's name resolve to the rebuilt files only, and the report names the
rebuilt files the tests loaded. At fault rate 0 every test passes; at the default fault rate a
run that completes has passed the same tests (checked again here, outside the sandbox), and a
run that does not says why — never a completed run with a wrong module.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mge_pipeline import constants
from mge_pipeline.atomization.atomizer import AtomizedFile, atomize_file
from mge_pipeline.atomization.plan import build_masterplan
from mge_pipeline.validation.node_validator import which_node
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration
PACKAGES = Path(__file__).parents[1] / "data" / "packages"
TESTS_FOLDER = "__package_tests__"


@dataclass(frozen=True)
class Package:
    name: str
    sources: dict[str, Path]  # path in the plan → vendored file
    tests: Path
    runner: str  # "pytest", or the test file run as __main__ (unittest.main() at its end)
    rebuilt: str  # the file the tests must load


PYTHON_PACKAGES = [
    Package(
        "inflection",
        {"inflection/__init__.py": PACKAGES / "inflection/src/inflection/__init__.py"},
        PACKAGES / "inflection/tests",
        "pytest",
        "inflection/__init__.py",
    ),
    Package(
        "toposort",
        {"toposort.py": PACKAGES / "toposort/src/toposort.py"},
        PACKAGES / "toposort/tests",
        "test_toposort.py",
        "toposort.py",
    ),
]


def carried_tests_command(tests: Path, runner: str) -> list[str]:
    """A command that writes the package's own test files, unchanged, and runs them."""
    files = {p.name: p.read_text() for p in sorted(tests.glob("test_*.py"))}
    run = (
        f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '{TESTS_FOLDER}']))"
        if runner == "pytest"
        else f"runpy.run_path('{TESTS_FOLDER}/{runner}', run_name='__main__')"
    )
    script = (
        "import json, pathlib, runpy, sys\n"
        f"files = json.loads({json.dumps(json.dumps(files))})\n"
        f"folder = pathlib.Path({TESTS_FOLDER!r})\n"
        "folder.mkdir(exist_ok=True)\n"
        "for name, text in files.items():\n"
        "    (folder / name).write_text(text)\n"
        "import pytest\n"
        f"{run}\n"
    )
    return ["python", "-c", script]


def atomized(package: Package) -> list[AtomizedFile]:
    files = []
    for relative, source in package.sources.items():
        result = atomize_file(source, relative)
        assert isinstance(result, AtomizedFile), result
        files.append(result)
    return files


def rebuild(package: Package, tmp_path: Path, database_url: str, fault_rate: float):  # type: ignore[no-untyped-def]
    command = carried_tests_command(package.tests, package.runner)
    plan = build_masterplan(
        atomized(package), plan_id=package.name, name=package.name, test_command=command
    ).plan
    return run_plan(plan, tmp_path, database_url, fault_rate=fault_rate, seed=7)


def own_tests_pass(package: Package, output: Path) -> bool:
    """The package's tests against the output, outside the sandbox, as a second opinion."""
    argv = carried_tests_command(package.tests, package.runner)
    launched = [
        sys.executable,
        "-c",
        "import sys; code = sys.argv.pop(1); sys.path.insert(0, '.'); exec(code)",
    ]
    done = subprocess.run(
        [*launched, argv[2]], cwd=output, capture_output=True, text=True, check=False, timeout=300
    )
    return done.returncode == 0


@pytest.mark.parametrize("package", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_a_real_python_package_rebuilds_and_passes_its_own_tests(
    package: Package, tmp_path: Path, database_url: str
) -> None:
    run = rebuild(package, tmp_path, database_url, fault_rate=0.0)
    assert run.report is not None
    assert run.report["status"] == "completed", run.report.get("reason")
    assert run.report["test_command"] == "passed"
    output = run.report["test_command_output"]
    exercised = output.split("rebuilt files exercised", 1)[1].splitlines()[0]
    assert package.rebuilt in exercised.split(": ", 1)[1].split(", "), output
    assert own_tests_pass(package, run.output_dir)


@pytest.mark.parametrize("package", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_at_the_default_fault_rate_no_completed_run_has_a_wrong_module(
    package: Package, tmp_path: Path, database_url: str
) -> None:
    run = rebuild(package, tmp_path, database_url, fault_rate=constants.DEFAULT_FAULT_RATE)
    assert run.report is not None
    if run.report["status"] == "completed":
        assert run.report["test_command"] == "passed"
        assert own_tests_pass(package, run.output_dir)
    else:
        assert run.report["reason"], "a failed run says why"
        assert not run.success


@dataclass(frozen=True)
class NodePackage:
    name: str
    folder: Path
    tests: int  # at least this many of its own test cases must run


NODE_PACKAGES = [
    NodePackage("bytes", PACKAGES / "bytes", 30),
    NodePackage("escape_html", PACKAGES / "escape-html", 30),
]
_NODE_TEST_RUNNER = """
const fs = require("fs"), path = require("path"), t = require("node:test");
const files = JSON.parse(__FILES__);
for (const [name, text] of Object.entries(files)) {
  fs.mkdirSync(path.dirname(name), { recursive: true });
  fs.writeFileSync(name, text);
}
Object.assign(globalThis, { describe: t.describe, it: t.it, before: t.before, after: t.after,
  beforeEach: t.beforeEach, afterEach: t.afterEach });
for (const name of Object.keys(files)) require(path.resolve(name));
"""


def node_tests_command(folder: Path) -> list[str]:
    """The package's own mocha-style tests (``describe``/``it`` with Node's ``assert``), written
    unchanged beside the output and run by Node's built-in test runner, which provides the same
    ``describe``/``it`` and exits non-zero when a test fails — no mocha in the sandbox."""
    files = {
        p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.glob("test/*.js"))
    }
    script = _NODE_TEST_RUNNER.replace("__FILES__", json.dumps(json.dumps(files)))
    return [which_node() or "node", "-e", script]


def rebuild_node(package: NodePackage, tmp_path: Path, database_url: str, fault_rate: float):  # type: ignore[no-untyped-def]
    result = atomize_file(package.folder / "index.js", "index.js")
    assert isinstance(result, AtomizedFile), result
    command = node_tests_command(package.folder)
    plan = build_masterplan(
        [result], plan_id=package.name, name=package.name, test_command=command
    ).plan
    return run_plan(plan, tmp_path, database_url, fault_rate=fault_rate, seed=7)


def node_tests_pass(package: NodePackage, output: Path) -> int:
    """The package's tests against the output, outside the sandbox: the number that passed."""
    done = subprocess.run(
        node_tests_command(package.folder), cwd=output, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return int(re.findall(r"^# pass (\d+)$", done.stdout, re.MULTILINE)[-1])


@pytest.mark.skipif(which_node() is None, reason="needs Node")
@pytest.mark.parametrize("package", NODE_PACKAGES, ids=lambda p: p.name)
def test_a_real_npm_package_rebuilds_and_passes_its_own_tests(
    package: NodePackage, tmp_path: Path, database_url: str
) -> None:
    run = rebuild_node(package, tmp_path, database_url, fault_rate=0.0)
    assert run.report is not None
    assert run.report["status"] == "completed", run.report.get("reason")
    assert run.report["test_command"] == "passed"
    assert "rebuilt files exercised (1): index.js" in run.report["test_command_output"]
    assert node_tests_pass(package, run.output_dir) >= package.tests


@pytest.mark.skipif(which_node() is None, reason="needs Node")
@pytest.mark.parametrize("package", NODE_PACKAGES, ids=lambda p: p.name)
def test_an_npm_package_at_the_default_fault_rate_never_completes_wrong(
    package: NodePackage, tmp_path: Path, database_url: str
) -> None:
    run = rebuild_node(package, tmp_path, database_url, fault_rate=constants.DEFAULT_FAULT_RATE)
    assert run.report is not None
    if run.report["status"] == "completed":
        assert run.report["test_command"] == "passed"
        assert node_tests_pass(package, run.output_dir) >= package.tests
    else:
        assert run.report["reason"] and not run.success


MS = PACKAGES / "ms"
_README_EXAMPLE = re.compile(r"^(ms\(.*\))\s*//\s*(.+)$", re.MULTILINE)


def readme_examples_command() -> list[str]:
    """ms ships no test file in its npm package; its README's examples (call // result) are
    its documented behaviour, each checked as an assertion against the rebuilt module."""
    examples = _README_EXAMPLE.findall((MS / "readme.md").read_text())
    checks = "".join(f"assert.deepStrictEqual({call}, {result});\n" for call, result in examples)
    script = "const assert = require('assert');\nconst ms = require('./index.js');\n" + checks
    return [which_node() or "node", "-e", script]


def rebuild_ms(tmp_path: Path, database_url: str, fault_rate: float):  # type: ignore[no-untyped-def]
    result = atomize_file(MS / "index.js", "index.js")
    assert isinstance(result, AtomizedFile), result
    plan = build_masterplan(
        [result], plan_id="ms", name="ms", test_command=readme_examples_command()
    ).plan
    return run_plan(plan, tmp_path, database_url, fault_rate=fault_rate, seed=7)


@pytest.mark.skipif(which_node() is None, reason="needs Node")
def test_ms_rebuilds_from_javascript_and_passes_its_readme_examples(
    tmp_path: Path, database_url: str
) -> None:
    assert len(_README_EXAMPLE.findall((MS / "readme.md").read_text())) >= 20
    run = rebuild_ms(tmp_path, database_url, fault_rate=0.0)
    assert run.report is not None
    assert run.report["status"] == "completed", run.report.get("reason")
    assert run.report["test_command"] == "passed"
    assert "rebuilt files exercised (1): index.js" in run.report["test_command_output"]
    exported = [a for a in run.report["atoms"] if a["atom_id"].endswith("module_exports")]
    assert exported and exported[0]["status"] in ("succeeded", "cached")


@pytest.mark.skipif(which_node() is None, reason="needs Node")
def test_ms_at_the_default_fault_rate_never_completes_wrong(
    tmp_path: Path, database_url: str
) -> None:
    run = rebuild_ms(tmp_path, database_url, fault_rate=constants.DEFAULT_FAULT_RATE)
    assert run.report is not None
    if run.report["status"] == "completed":
        assert run.report["test_command"] == "passed"
    else:
        assert run.report["reason"] and not run.success
