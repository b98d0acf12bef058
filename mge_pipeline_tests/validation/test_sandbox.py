"""The sandbox and validation v1: categories, limits, an environment with no secrets in it."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest

from mge_pipeline.domain import ErrorCategory
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox
from mge_pipeline_tests.factories import make_atom

ATOM = make_atom(id="add")


def _validate(code: str, tests: str = "assert add(1, 2) == 3", timeout: float = 2.0):  # type: ignore[no-untyped-def]
    atom = make_atom(id="add", tests=tests)
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=timeout))
    return asyncio.run(validator.validate(atom, code, {atom.file_path: code}))


GOOD = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.mark.parametrize(
    ("code", "tests", "category", "fragment"),
    [
        pytest.param(
            "def add(a, b)\n    return a + b\n",
            "",
            ErrorCategory.SYNTAX,
            "expected ':'",
            id="syntax",
        ),
        pytest.param(
            "def plus(a, b):\n    return a + b\n",
            "",
            ErrorCategory.CONTEXT,
            "does not define `add`",
            id="wrong-name",
        ),
        pytest.param(
            "def add(a, b):\n    return json.loads(a) + b\n",
            "assert add('1', 2) == 3",
            ErrorCategory.IMPORT,
            "name 'json' is not defined",
            id="missing-import",
        ),
        pytest.param(
            "import not_a_module_anywhere\n" + GOOD,
            "",
            ErrorCategory.IMPORT,
            "importing the module failed",
            id="unknown-module",
        ),
        pytest.param(
            "def add(a, b):\n    return a - b\n",
            "assert add(1, 2) == 3",
            ErrorCategory.LOGIC,
            "in test: assert add(1, 2) == 3",
            id="wrong-result",
        ),
        pytest.param(
            "def add(a, b):\n    return a + b\n",
            "assert add('1', 2) == 3",
            ErrorCategory.TYPE,
            "TypeError",
            id="type-error",
        ),
        pytest.param(
            "def add(a, b):\n    raise RuntimeError('boom')\n",
            "add(1, 2)",
            ErrorCategory.RUNTIME,
            "RuntimeError: boom",
            id="exception",
        ),
        pytest.param(
            "def add(a, b):\n    while True:\n        pass\n",
            "add(1, 2)",
            ErrorCategory.TIMEOUT,
            "time limit",
            id="endless-loop",
        ),
    ],
)
def test_failures_are_categorised(
    code: str, tests: str, category: ErrorCategory, fragment: str
) -> None:
    verdict = _validate(code, tests, timeout=1.5)
    assert not verdict.passed
    assert verdict.category is category
    assert fragment in verdict.issues[0].message


def test_test_functions_are_called() -> None:
    assert _validate(GOOD, "def test_ok():\n    assert add(2, 2) == 4\n").passed
    failing = _validate(GOOD, "def test_bad():\n    assert add(2, 2) == 5\n")
    assert failing.category is ErrorCategory.LOGIC


def test_environment_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("MGE_DATABASE_URL", "postgresql://secret")
    tests = (
        "import os\n"
        "assert 'ANTHROPIC_API_KEY' not in os.environ, 'key leaked'\n"
        "assert not any('secret' in v for v in os.environ.values()), 'secret leaked'\n"
        f"assert os.getcwd() != {os.getcwd()!r}\n"
    )
    verdict = _validate(GOOD, tests)
    assert verdict.passed, verdict.issues


def test_memory_limit_stops_a_hog() -> None:
    hog = "def add(a, b):\n    blob = bytearray(2 * 1024 ** 3)\n    return a + b\n"
    atom = make_atom(id="add")
    sandbox = PythonSandbox(timeout_seconds=5, memory_mb=256)
    verdict = asyncio.run(PythonAtomValidator(sandbox).validate(atom, hog, {atom.file_path: hog}))
    assert not verdict.passed
    assert "MemoryError" in verdict.issues[0].message


def test_timeout_kills_the_whole_process_group() -> None:
    marker = f"mge-grandchild-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        "def add(a, b):\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
        "    while True:\n        pass\n"
    )
    sandbox = PythonSandbox(timeout_seconds=1.0)
    verdict = asyncio.run(PythonAtomValidator(sandbox).validate(ATOM, code, {ATOM.file_path: code}))
    if sandbox.isolation == "python-guard":
        assert "blocked in the sandbox" in verdict.issues[0].message
    else:
        assert verdict.category is ErrorCategory.TIMEOUT
    assert _gone_within(marker, seconds=5)


def _gone_within(marker: str, *, seconds: float) -> bool:
    """No live process carries the marker (killed ones may linger as zombies until reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not processes_with(marker):
            return True
        time.sleep(0.05)
    return False


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().split(")")[-1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def test_checks_run_concurrently_up_to_the_limit() -> None:
    sandbox = PythonSandbox(timeout_seconds=5, max_processes=2)
    atom = make_atom(id="add")
    slow = "import time\ndef add(a, b):\n    time.sleep(0.2)\n    return a + b\n"

    async def many() -> list[bool]:
        validator = PythonAtomValidator(sandbox)
        verdicts = await asyncio.gather(
            *[validator.validate(atom, slow, {atom.file_path: slow}) for _ in range(4)]
        )
        return [v.passed for v in verdicts]

    assert asyncio.run(many()) == [True] * 4


def test_run_command_runs_in_the_materialised_files() -> None:
    sandbox = PythonSandbox()
    files = {
        "pkg/mod.py": "VALUE = 41\n",
        "check.py": "from pkg.mod import VALUE\nprint(VALUE + 1)\n",
    }
    outcome = asyncio.run(sandbox.run_command(files, ["python", "check.py"]))
    assert outcome.returncode == 0 and outcome.stderr_tail.strip() == "42"
    failing = asyncio.run(sandbox.run_command(files, ["python", "-c", "raise SystemExit(3)"]))
    assert failing.returncode == 3


def test_the_checks_tmpfs_moves_aside_when_the_project_lives_under_check() -> None:
    """CI once cloned the project into /check: the checks' own tmpfs there hid the interpreter
    and node_modules from every check that started a process. Bound paths under /check now
    push the tmpfs to /check-N, and they stay visible."""
    if os.geteuid() != 0 or (os.path.exists("/check") and not os.access("/check", os.W_OK)):
        pytest.skip("needs to create a folder under /check on the host")
    created_root = not os.path.exists("/check")
    project = Path("/check") / f"mge-test-{uuid.uuid4().hex}"
    project.mkdir(parents=True)
    (project / "data.txt").write_text("seen\n")
    project.chmod(0o755)
    try:
        sandbox = PythonSandbox(read_only_paths=[str(project)])
        outcome = asyncio.run(
            sandbox.run_command(
                {}, ["python", "-c", f"print(open({str(project)!r} + '/data.txt').read())"]
            )
        )
        assert outcome.returncode == 0, outcome
        assert outcome.stderr_tail.strip() == "seen"
        listing = asyncio.run(sandbox.run_command({}, ["sh", "-c", "pwd"]))
        assert listing.stderr_tail.strip().startswith("/check-"), listing
    finally:
        (project / "data.txt").unlink()
        project.rmdir()
        if created_root:
            os.rmdir("/check")


def test_free_check_root_and_shadowed_paths() -> None:
    from mge_pipeline.validation.sandbox_paths import (
        SandboxPathError,
        _refuse_shadowed,
        free_check_root,
    )

    assert free_check_root(["/usr", "/work/main/.venv"]) == "/check"
    assert free_check_root(["/usr", "/check/main/.venv"]) == "/check-1"
    assert free_check_root(["/check/a", "/check-1"]) == "/check-2"
    assert free_check_root(["/checkout/main"]) == "/check"
    with pytest.raises(SandboxPathError, match="/dev/shm/x is under /dev"):
        _refuse_shadowed(["/usr", "/dev/shm/x"])
    _refuse_shadowed(["/usr", "/devices/x"])


def test_an_atom_of_a_package_rebuilt_without_its_init_is_not_answered_by_an_installed_copy() -> (
    None
):
    """``yaml/reader.py`` alone: PyYAML is installed, and a regular package in site-packages
    beats the rebuilt namespace portion found first on the path — unless the check looks the
    staged files' own top-level names up among them only."""
    atom = make_atom(id="add", file_path="yaml/reader.py", tests="assert add(1, 2) == 3")
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=10.0))
    verdict = asyncio.run(validator.validate(atom, GOOD, {atom.file_path: GOOD}))
    assert verdict.passed, verdict.issues
