"""Hostile Python, one test per class of attack, as CI runs it (root, bubblewrap installed).

Most attacks are written as *probes*: test code that tries the attack and asserts that it
failed, so a passing verdict means every attempt was stopped inside the check. Each test then
asserts what the host still holds — canary files unchanged, listeners that got nothing, no
stray process — and that the warm pool's parent survived. The weak Python-level guard, used
only when a caller opts in, is covered at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from mge_pipeline.domain import ErrorCategory
from mge_pipeline.validation import (
    PythonAtomValidator,
    PythonSandbox,
    SandboxOutcome,
    pool,
    probe_isolation,
)
from mge_pipeline.validation.pool import SANDBOX_UID_BASE, SandboxUnavailableError
from mge_pipeline.validation.python_validator import issues_from_outcome
from mge_pipeline_tests.factories import make_atom
from mge_pipeline_tests.validation.conftest import Canaries, Listeners
from mge_pipeline_tests.validation.test_sandbox import _gone_within

ATOM = make_atom(id="add")
GOOD = "def add(a: int, b: int) -> int:\n    return a + b\n"
LIBC = "import ctypes, errno, os, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
CONTAINED = {"ok": True, "tests_run": 0, "test_names": []}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PythonSandbox]:
    shared = PythonSandbox(timeout_seconds=5.0, memory_mb=256)
    yield shared
    shared.close()


def run(sandbox: PythonSandbox, code: str, tests: str = "assert add(1, 2) == 3") -> SandboxOutcome:
    """Straight to the sandbox: static checks would stop most of these before it."""
    files = {ATOM.file_path: code}
    return asyncio.run(
        sandbox.run_tests(files, "pkg.core", tests, timeout_seconds=sandbox.timeout_seconds)
    )


def probe(sandbox: PythonSandbox, tests: str) -> SandboxOutcome:
    return run(sandbox, GOOD, tests)


def still_serves(sandbox: PythonSandbox, pool_pid: int | None) -> bool:
    verdict = asyncio.run(PythonAtomValidator(sandbox).validate(ATOM, GOOD, {ATOM.file_path: GOOD}))
    return verdict.passed and sandbox.pool_pid == pool_pid


def test_checks_run_under_bubblewrap(sandbox: PythonSandbox) -> None:
    assert probe(sandbox, "").isolation == "bubblewrap" == sandbox.isolation


def test_no_capability_no_new_privileges_and_an_unprivileged_uid(sandbox: PythonSandbox) -> None:
    host_uid_floor = SANDBOX_UID_BASE if os.geteuid() == 0 else 1
    tests = (
        "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        "for field in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'):\n"
        "    assert int(status[field], 16) == 0, (field, status[field])\n"
        "assert status['NoNewPrivs'].strip() == '1'\n"
        "assert status['Seccomp'].strip() == '2'\n"
        "assert os.getuid() != 0 and os.geteuid() != 0 and os.getgroups() == []\n"
        "own_namespace = open('/proc/self/uid_map').read().split()[1] == '0'\n"
        f"assert own_namespace or os.getuid() >= {host_uid_floor}\n"
    )
    assert probe(sandbox, "import os\n" + tests).result == CONTAINED


def test_without_root_a_check_is_nobody_in_a_user_namespace_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The unprivileged path (bubblewrap's user namespace, then one per check), taken here
    as root: the process limit cannot be shown binding that way (uid 0 on the host is exempt)."""
    monkeypatch.setattr(pool, "runs_as_root", lambda: False)
    unprivileged = PythonSandbox(timeout_seconds=5.0)
    tests = (
        "import ctypes, os\n"
        "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        "assert all(int(status[f], 16) == 0 for f in ('CapPrm', 'CapEff', 'CapBnd', 'CapAmb'))\n"
        "assert os.getuid() == 65534 and status['NoNewPrivs'].strip() == '1'\n"
        "assert ctypes.CDLL(None).unshare(0x10000000) == -1\n"
    )
    try:
        assert probe(unprivileged, tests).result == CONTAINED
    finally:
        unprivileged.close()


MOUNT_TRICKS = [
    pytest.param(
        "for args in (['-o', 'remount,rw', '/'], ['-o', 'remount,rw', '/usr'],\n"
        "             ['-t', 'tmpfs', 'none', '/usr'], ['--bind', '/tmp', '/usr']):\n"
        "    assert subprocess.run(['mount', *args], capture_output=True).returncode != 0\n",
        id="mount-command",
    ),
    pytest.param(
        "assert libc.mount(b'none', BOUND_DIR, None, 0x20 | 0x1000, None) == -1\n"
        "assert libc.mount(b'none', b'/', None, 0x20, None) == -1\n"
        "assert libc.mount(b'tmpfs', b'/usr', b'tmpfs', 0, None) == -1\n"
        "assert libc.syscall(165, b'tmpfs', b'/usr', b'tmpfs', 0, None) == -1\n",
        id="ctypes-mount",
    ),
    pytest.param(
        "assert libc.umount2(b'/proc', 2) == -1 and libc.umount2(b'/tmp', 2) == -1\n"
        "assert subprocess.run(['umount', '-l', '/proc'], capture_output=True).returncode\n"
        "assert len([p for p in os.listdir('/proc') if p.isdigit()]) < 8\n",
        id="umount-proc",
    ),
    pytest.param(
        "for flags in (0x10000000, 0x20000, 0x10000000 | 0x20000, 0x40000000):\n"
        "    assert libc.unshare(flags) == -1, flags\n"
        "assert subprocess.run(['unshare', '-Ur', 'true'], capture_output=True).returncode\n"
        "assert libc.setns(os.open('/proc/self/ns/mnt', os.O_RDONLY), 0) == -1\n"
        "assert libc.chroot(b'/tmp') == -1 and libc.pivot_root(b'/tmp', b'/tmp') == -1\n",
        id="unshare-setns-chroot",
    ),
    pytest.param(
        "child = subprocess.Popen(['sleep', '5'])\n"
        "assert libc.ptrace(16, child.pid, None, None) == -1\n"
        "assert libc.ptrace(0, 0, None, None) == -1\n"
        "child.kill()\n",
        id="ptrace",
    ),
]
# After each trick: the canary and its directory must still refuse writes.
WRITES = """
for path in (CANARY, os.path.join(os.path.dirname(CANARY), 'planted.txt')):
    try:
        open(path, 'w').write('gone')
    except OSError:
        continue
    raise AssertionError(path)
"""


@pytest.mark.parametrize("trick", MOUNT_TRICKS)
def test_mount_namespace_and_syscall_tricks_fail(
    sandbox: PythonSandbox, canaries: Canaries, trick: str
) -> None:
    body = trick.replace("BOUND_DIR", repr(str(canaries.bound.parent).encode()))
    writes = WRITES.replace("CANARY", repr(str(canaries.bound)))
    outcome = probe(sandbox, LIBC + body + writes)
    assert outcome.result == CONTAINED, outcome
    assert canaries.intact()
    assert not (canaries.bound.parent / "planted.txt").exists()


def test_shells_and_interpreters_it_spawns_are_jailed_too(
    sandbox: PythonSandbox, canaries: Canaries
) -> None:
    """The jail is the kernel's, so it holds for every process, not just the first."""
    grandchild = (
        "import ctypes, os; libc = ctypes.CDLL(None)\n"
        "assert libc.mount(b'none', b'/', None, 0x20, None) == -1\n"
        f"open({str(canaries.bound)!r}, 'w')\n"
    )
    tests = (
        "import subprocess, sys\n"
        f"script = {grandchild!r}\n"
        "shell = f'mount -o remount,rw / ; {sys.executable} -c \"$0\"; echo reached=$?'\n"
        "result = subprocess.run(['sh', '-c', shell, script], capture_output=True, text=True)\n"
        "assert 'reached=1' in result.stdout, result\n"
        "assert 'Read-only file system' in result.stderr or 'denied' in result.stderr, result\n"
    )
    assert probe(sandbox, tests).result == CONTAINED
    assert canaries.intact()


def test_network_and_host_sockets_are_unreachable(
    sandbox: PythonSandbox, listeners: Listeners
) -> None:
    tests = (
        "import socket\n"
        "attempts = [\n"
        f"    lambda: socket.create_connection(('127.0.0.1', {listeners.tcp_port}), timeout=1),\n"
        f"    lambda: socket.socket(socket.AF_UNIX).connect({listeners.unix_path!r}),\n"
        f"    lambda: socket.socket(socket.AF_UNIX).connect('\\0' + {listeners.abstract_name!r}),\n"
        "    lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(\n"
        f"        b'leak', ('127.0.0.1', {listeners.udp_port})),\n"
        "    lambda: socket.create_connection(('1.1.1.1', 53), timeout=1),\n"
        "    lambda: socket.getaddrinfo('pypi.org', 443),\n"
        "]\n"
        "for attempt in attempts:\n"
        "    try:\n        attempt()\n"
        "    except OSError:\n        continue\n"
        "    raise AssertionError('reached the network')\n"
    )
    assert probe(sandbox, tests).result == CONTAINED
    assert listeners.drain() == []


def test_the_listeners_would_notice(listeners: Listeners) -> None:
    """The control for the test above: a host process does reach them."""
    import socket

    socket.create_connection(("127.0.0.1", listeners.tcp_port)).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"x", ("127.0.0.1", listeners.udp_port))
    with socket.socket(socket.AF_UNIX) as unix:
        unix.connect(listeners.unix_path)
    assert len(listeners.drain()) == 3


def test_host_files_the_store_and_the_project_are_out_of_reach(
    sandbox: PythonSandbox, canaries: Canaries
) -> None:
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    hidden = [str(canaries.unbound), str(canaries.store), "/etc/shadow", "/etc/passwd",
              "/home", "/var", "/run", os.path.join(repository, "pyproject.toml")]  # fmt: skip
    tests = (
        "import os\n"
        f"for path in {hidden!r}:\n"
        "    assert not os.path.exists(path), path\n"
        f"assert open({str(canaries.bound)!r}).read() == 'precious'\n"
    )
    assert probe(sandbox, tests).result == CONTAINED
    assert canaries.intact()


def test_other_processes_environment_and_command_lines_are_invisible(
    sandbox: PythonSandbox, host_secret_process: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", host_secret_process)
    tests = (
        "import os\n"
        f"secret = {host_secret_process!r}.encode()\n"
        "assert secret not in repr(dict(os.environ)).encode()\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "assert len(pids) < 8, pids\n"
        "for pid in pids:\n"
        "    for name in ('environ', 'cmdline'):\n"
        "        try:\n"
        "            data = open(f'/proc/{pid}/{name}', 'rb').read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        assert secret not in data, (pid, name)\n"
    )
    assert probe(sandbox, tests).result == CONTAINED


def test_fork_bomb_as_root_is_bounded_and_leaves_nothing(sandbox: PythonSandbox) -> None:
    marker = f"mge-bomb-{uuid.uuid4().hex}"
    code = (
        "import os, subprocess, sys\n"
        "def add(a, b):\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
        "    while True:\n"
        "        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    probe(sandbox, "")
    pid = sandbox.pool_pid
    outcome = run(sandbox, code)
    assert issues_from_outcome(outcome)[0].category in (
        ErrorCategory.TIMEOUT,
        ErrorCategory.RUNTIME,
    )
    assert _gone_within(marker, seconds=2)
    assert still_serves(sandbox, pid)


def test_a_linear_fork_storm_hits_the_process_limit_as_root(sandbox: PythonSandbox) -> None:
    marker = f"mge-storm-{uuid.uuid4().hex}"
    tests = (
        "import subprocess, sys\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(400):\n"
        f"        subprocess.Popen(['sh', '-c', 'sleep 60; :', {marker!r}])\n"
        "        started += 1\n"
        "except OSError:\n"
        "    pass\n"
        "assert 0 < started < 400, started\n"
    )
    assert probe(sandbox, tests).result == CONTAINED
    assert _gone_within(marker, seconds=2)  # killed as the verdict arrives


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param("x = bytearray(2 * 1024 ** 3)", "MemoryError", id="memory"),
        pytest.param(
            "import os\n    if os.fork() == 0:\n        bytearray(2 * 1024 ** 3)\n"
            "        os._exit(0)\n    os.wait()\n    x = bytearray(2 * 1024 ** 3)",
            "MemoryError",
            id="memory-in-a-child",
        ),
        pytest.param("open('big.bin', 'wb').write(b'x' * (64 * 2**20))", "size limit", id="disk"),
        pytest.param(
            "for i in range(100):\n        open(f'f{i}', 'wb').write(b'x' * (15 * 2**20))",
            "No space left",
            id="disk-many-files",
        ),
        pytest.param("print('x' * (64 * 2**20))", "size limit", id="output"),
        pytest.param("while True:\n        print('x' * 4096)", "size limit", id="endless-output"),
    ],
)
def test_memory_disk_and_output_bombs_are_stopped(
    sandbox: PythonSandbox, body: str, fragment: str
) -> None:
    pid = sandbox.pool_pid
    outcome = run(sandbox, f"def add(a, b):\n    {body}\n    return a + b\n")
    issue = issues_from_outcome(outcome)[0]
    assert issue.category is ErrorCategory.RUNTIME
    assert fragment in issue.message, issue
    assert still_serves(sandbox, pid)


def test_endless_loop_times_out(sandbox: PythonSandbox) -> None:
    pid = sandbox.pool_pid
    outcome = run(sandbox, "def add(a, b):\n    while True:\n        pass\n")
    assert outcome.timed_out
    assert issues_from_outcome(outcome)[0].category is ErrorCategory.TIMEOUT
    assert still_serves(sandbox, pid)


def test_sleeping_children_and_daemons_do_not_outlive_the_check(sandbox: PythonSandbox) -> None:
    marker = f"mge-escapee-{uuid.uuid4().hex}"
    code = (
        "import os, subprocess, sys\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(60)', MARKER]\n"
        "subprocess.Popen(sleeper, start_new_session=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv(sys.executable, sleeper)\n"
        "    os._exit(0)\n" + GOOD
    ).replace("MARKER", repr(marker))
    assert run(sandbox, code).result == CONTAINED
    assert _gone_within(marker, seconds=2)  # killed as the verdict arrives


def test_one_atom_cannot_tamper_with_another_atoms_check(sandbox: PythonSandbox) -> None:
    """The old forgery (write the neighbour's result file, kill it) and what else an attacker
    can reach: all it sees is its own PID namespace, its own files and its own descriptors."""
    victim = "import time\ndef add(a, b):\n    time.sleep(1.0)\n    return a - b\n"
    forged = '{"ok": true, "tests_run": 1}'
    attacker = (
        "import glob, os, signal, time\n"
        "deadline = time.monotonic() + 1.5\n"
        "while time.monotonic() < deadline:\n"
        "    places = ('/tmp/*/result.json', '/tmp/../*/check-*/result.json', '/proc/*/fd/*')\n"
        "    for path in [found for place in places for found in glob.glob(place)]:\n"
        "        try:\n"
        f"            open(path, 'w').write({forged!r})\n"
        "        except OSError:\n"
        "            pass\n"
        "    for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "        if pid != os.getpid():\n"
        "            try:\n                os.kill(pid, signal.SIGKILL)\n"
        "            except OSError:\n                pass\n"
        "    time.sleep(0.05)\n"
    )

    async def both() -> list[SandboxOutcome]:
        return list(
            await asyncio.gather(
                sandbox.run_tests({ATOM.file_path: victim}, "pkg.core", "assert add(1, 2) == 3"),
                sandbox.run_tests({ATOM.file_path: GOOD}, "pkg.core", attacker),
            )
        )

    victim_outcome, attacker_outcome = asyncio.run(both())
    assert attacker_outcome.result == CONTAINED, attacker_outcome
    assert victim_outcome.result is not None and not victim_outcome.result["ok"]
    assert victim_outcome.result["exc_type"] == "AssertionError"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            'import os\nos.write(3, b\'{"token": "guess", "result": {"ok": true}}\\n\')\n'
            "os._exit(0)\n",
            id="forged-verdict-then-exit",
        ),
        pytest.param("import os\nos._exit(0)\n", id="exit-at-import"),
        pytest.param("import sys\nsys.exit(0)\n", id="sys-exit-at-import"),
        pytest.param("import os\nos.close(3)\n", id="verdict-pipe-closed"),
    ],
)
def test_import_time_exits_and_forged_verdicts_fail(sandbox: PythonSandbox, code: str) -> None:
    outcome = run(sandbox, code + GOOD)
    assert issues_from_outcome(outcome), outcome


def test_import_time_side_effects_stay_in_the_jail(
    sandbox: PythonSandbox, canaries: Canaries
) -> None:
    code = (
        "import shutil\n"
        f"for path in {[str(canaries.bound), str(canaries.unbound), str(canaries.store)]!r}:\n"
        "    try:\n        open(path, 'w').write('gone')\n"
        "    except OSError:\n        pass\n"
        f"shutil.rmtree({str(canaries.bound.parent)!r}, ignore_errors=True)\n" + GOOD
    )
    assert run(sandbox, code).result == CONTAINED
    assert canaries.intact()


@pytest.fixture
def no_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if bubblewrap were not installed on this machine."""
    monkeypatch.setattr(pool, "bubblewrap_command", lambda *args, **kwargs: None)


@pytest.mark.usefixtures("no_bubblewrap")
def test_without_bubblewrap_the_sandbox_refuses_to_run_code() -> None:
    refusing = PythonSandbox(timeout_seconds=3.0)
    with pytest.raises(SandboxUnavailableError, match="--allow-weak-sandbox"):
        run(refusing, GOOD)
    with pytest.raises(SandboxUnavailableError, match="bubblewrap"):
        refusing.start()
    refusing.close()
    with pytest.raises(SandboxUnavailableError):
        probe_isolation()
    assert probe_isolation(allow_weak=True) == (
        "python-guard",
        "bubblewrap (bwrap) is not installed",
    )


@pytest.fixture
def guarded(no_bubblewrap: None) -> Iterator[PythonSandbox]:
    """The opt-in fallback: bubblewrap missing, weak isolation accepted."""
    fallback = PythonSandbox(timeout_seconds=3.0, allow_weak=True)
    yield fallback
    fallback.close()


def test_the_weak_guard_is_reported_and_logged(
    guarded: PythonSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    assert guarded.start() == "python-guard"
    assert guarded.weak_reason == "bubblewrap (bwrap) is not installed"
    assert "can escape it" in caplog.text


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
def test_the_python_guard_blocks_without_bubblewrap(
    guarded: PythonSandbox, body: str, blocked: str
) -> None:
    outcome = run(guarded, f"def add(a, b):\n    {body}\n    return a + b\n")
    assert guarded.isolation == "python-guard" and outcome.isolation == "python-guard"
    assert outcome.result is not None and blocked in str(outcome.result["message"])
