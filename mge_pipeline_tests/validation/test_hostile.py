"""Hostile generated code is contained: each behaviour fails its check with the right category,
the warm pool's parent survives it (same process, next check passes), and nothing outside the
sandbox changes. The Python-level fallback (no namespaces) is exercised for what it blocks."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.domain import ErrorCategory
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox, pool
from mge_pipeline.validation.python_validator import issues_from_outcome
from mge_pipeline_tests.factories import make_atom
from mge_pipeline_tests.validation.test_sandbox import _gone_within

ATOM = make_atom(id="add")
GOOD = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PythonSandbox]:
    shared = PythonSandbox(timeout_seconds=3.0, memory_mb=256)
    yield shared
    shared.close()


def run(sandbox: PythonSandbox, code: str, tests: str = "assert add(1, 2) == 3"):  # type: ignore[no-untyped-def]
    """Straight to the sandbox: static checks would stop most of these before it."""
    files = {ATOM.file_path: code}
    return asyncio.run(
        sandbox.run_tests(files, "pkg.core", tests, timeout_seconds=sandbox.timeout_seconds)
    )


def still_serves(sandbox: PythonSandbox, pool_pid: int | None) -> bool:
    verdict = asyncio.run(PythonAtomValidator(sandbox).validate(ATOM, GOOD, {ATOM.file_path: GOOD}))
    return verdict.passed and sandbox.pool_pid == pool_pid


def test_fork_bomb(sandbox: PythonSandbox) -> None:
    marker = f"mge-bomb-{uuid.uuid4().hex}"
    code = (
        "import os, sys\n"
        f"sys.argv[:] = [{marker!r}]\n"
        "def add(a, b):\n"
        "    while True:\n"
        "        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    run(sandbox, GOOD)
    pid = sandbox.pool_pid
    outcome = run(sandbox, code)
    assert issues_from_outcome(outcome)[0].category in (
        ErrorCategory.TIMEOUT,
        ErrorCategory.RUNTIME,
    )
    assert still_serves(sandbox, pid)


def test_memory_hog(sandbox: PythonSandbox) -> None:
    pid = sandbox.pool_pid
    code = (
        "def add(a, b):\n    hoard = []\n    while True:\n        hoard.append(bytearray(10**7))\n"
    )
    issue = issues_from_outcome(run(sandbox, code))[0]
    assert issue.category is ErrorCategory.RUNTIME and "MemoryError" in issue.message
    assert still_serves(sandbox, pid)


def test_endless_loop(sandbox: PythonSandbox) -> None:
    pid = sandbox.pool_pid
    outcome = run(sandbox, "def add(a, b):\n    while True:\n        pass\n")
    assert outcome.timed_out
    assert issues_from_outcome(outcome)[0].category is ErrorCategory.TIMEOUT
    assert still_serves(sandbox, pid)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("open('big.bin', 'wb').write(b'x' * (64 * 2**20))", id="huge-file"),
        pytest.param("print('x' * (64 * 2**20))", id="huge-output"),
    ],
)
def test_huge_writes(sandbox: PythonSandbox, body: str) -> None:
    pid = sandbox.pool_pid
    issue = issues_from_outcome(run(sandbox, f"def add(a, b):\n    {body}\n    return a + b\n"))[0]
    assert issue.category is ErrorCategory.RUNTIME and "size limit" in issue.message
    assert still_serves(sandbox, pid)


def test_environment_reads_find_no_secret(
    sandbox: PythonSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-hostile-secret")
    tests = (
        "import os\n"
        "assert 'sk-ant' not in repr(dict(os.environ))\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        data = open(f'/proc/{pid}/environ', 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    assert b'sk-ant' not in data, pid\n"
    )
    outcome = run(sandbox, GOOD, tests)
    assert outcome.result == {"ok": True, "tests_run": 0}, outcome


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            received.append(connection.recv(100))
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def test_sockets_reach_nothing(sandbox: PythonSandbox, listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    code = (
        "import socket\n"
        "def add(a, b):\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'leak')\n"
        "    return a + b\n"
    )
    outcome = run(sandbox, code)
    assert outcome.result is not None and not outcome.result["ok"]
    assert outcome.result["exc_type"] in ("PermissionError", "OSError", "ConnectionRefusedError")
    assert received == []


def test_files_outside_cannot_be_changed(sandbox: PythonSandbox, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    attempts = [
        f"os.remove({str(victim)!r})",
        f"shutil.rmtree({str(tmp_path)!r})",
        f"open({str(victim)!r}, 'w').write('gone')",
        f"os.rename({str(victim)!r}, {str(victim)!r} + '.moved')",
    ]
    for attempt in attempts:
        code = f"import os, shutil\ndef add(a, b):\n    {attempt}\n    return a + b\n"
        outcome = run(sandbox, code)
        assert outcome.result is not None and not outcome.result["ok"], attempt
        assert outcome.result["exc_type"] in ("PermissionError", "OSError"), outcome.result
    assert victim.read_text() == "precious"


def test_the_isolation_mode_is_reported(sandbox: PythonSandbox) -> None:
    outcome = run(sandbox, GOOD)
    assert outcome.isolation in ("namespace", "python-guard")
    assert sandbox.isolation == outcome.isolation


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> Iterator[PythonSandbox]:
    """The fallback: as if ``unshare`` could not create namespaces on this machine."""
    monkeypatch.setattr(pool, "probe_isolation", lambda scratch: pool.PYTHON_GUARD)
    fallback = PythonSandbox(timeout_seconds=3.0)
    yield fallback
    fallback.close()


@pytest.mark.parametrize(
    ("body", "blocked"),
    [
        pytest.param(
            "__import__('socket').create_connection(('127.0.0.1', 9), timeout=1)",
            "network access is blocked",
            id="network",
        ),
        pytest.param("__import__('os').system('true')", "blocked in the sandbox", id="spawn"),
        pytest.param(
            "open('/proc/1/environ', 'rb').read()", "does not read other processes", id="environ"
        ),
        pytest.param(
            f"open({os.devnull + '-not'!r}, 'w')", "only writes inside its directory", id="write"
        ),
    ],
)
def test_the_python_guard_blocks_without_namespaces(
    guarded: PythonSandbox, body: str, blocked: str
) -> None:
    outcome = run(guarded, f"def add(a, b):\n    {body}\n    return a + b\n")
    assert guarded.isolation == "python-guard" and outcome.isolation == "python-guard"
    assert outcome.result is not None and blocked in str(outcome.result["message"])


def test_escaped_processes_are_swept(sandbox: PythonSandbox) -> None:
    marker = f"mge-escapee-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        "def add(a, b):\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
        f"{marker!r}], start_new_session=True)\n"
        "    return a + b\n"
    )
    run(sandbox, code)
    assert _gone_within(marker, seconds=5)
