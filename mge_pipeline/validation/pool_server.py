"""The warm pool's parent: preloaded once, it forks one fresh, jailed child per check. Stdlib only.

Started as ``python -I pool_server.py CONFIG`` (``pool.py`` puts it in a bubblewrap sandbox
first). It reads one JSON request per line on stdin and answers one JSON line per finished
check on stdout; its first line says whether the per-check jail works here (``ready``).

Each child gets two descriptors no other check can reach: a pipe for its verdict and a memfd
for its output (all other descriptors are closed before any generated code is loaded). The
verdict counts only if it carries the token this parent drew for that check. Under
``bubblewrap`` the child is PID 1 of its own PID namespace (``jail.py``), so killing it at the
deadline, or its own exit, ends every process it started. The parent never runs generated code.

With ``--once`` it runs a single request read from stdin in this very process (no fork, no
jail): the "fresh interpreter per check" mode, kept for measuring what the pool saves.
"""

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import jail
import seccomp

PRELOAD = (
    "abc", "bisect", "collections", "collections.abc", "copy", "csv", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "importlib", "io",
    "itertools", "json", "math", "operator", "pathlib", "random", "re", "statistics", "string",
    "textwrap", "traceback", "typing", "unicodedata",
)  # fmt: skip
OUTPUT_TAIL_BYTES = 2000
VERDICT_LIMIT_BYTES = 1 << 20
# Exit code of a child whose jail could not be set up: nothing of the check ran.
JAIL_FAILED = 72
# Host uids handed to checks when the parent is the real root: one per concurrent check.
UID_SLOTS = 4096


class Job:
    def __init__(
        self, request: dict[str, Any], token: str, fds: tuple[int, int], slot: int, workdir: str
    ) -> None:
        self.id = request["id"]
        self.workdir = workdir
        self.token = token
        self.verdict_fd, self.output_fd = fds
        self.slot = slot
        self.started = time.monotonic()
        self.deadline = self.started + float(request["timeout"])
        self.timed_out = False


class Server:
    def __init__(self, config: dict[str, Any]) -> None:
        self.isolation = config["isolation"]
        self.jailed = self.isolation == harness.BUBBLEWRAP
        self.uid_base: int | None = config.get("uid_base")
        self.tmpfs_mb = int(config.get("tmpfs_mb", 256))
        self.jobs: dict[int, Job] = {}
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY) if self.jailed else -1
        self.last_capability = jail.last_capability() if self.jailed else 0

    def fork(
        self, request: dict[str, Any], token: str, slot: int, private: tuple[int, int], workdir: str
    ) -> int:
        jailed = self.jailed
        pid = jail.fork_in_new_pid_namespace(self.own_pid_namespace) if jailed else os.fork()
        if pid == 0:
            self._child(request, token, slot, private, workdir)
        return pid

    def _child(
        self,
        request: dict[str, Any],
        token: str,
        slot: int,
        private: tuple[int, int],
        workdir: str,
    ) -> None:
        """Never returns. Nothing of the check is loaded before the jail holds."""
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _only_own_descriptors(*private)
            os.setsid()
            if self.jailed:
                uid = None if self.uid_base is None else self.uid_base + slot
                jail.enter(self.tmpfs_mb, 0 if uid is None else uid)
                jail.drop_privileges(uid, self.last_capability)
                if seccomp.supported():
                    seccomp.install()
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(harness.VERDICT_FD, _line({"token": token, "jail_error": repr(exc)}))
            os._exit(JAIL_FAILED)
        harness.run_check(request, workdir, token, self.isolation)

    def workdir(self) -> str:
        """The check's directory: its private tmpfs when jailed, else a fresh temporary one."""
        return jail.CHECK_ROOT if self.jailed else tempfile.mkdtemp(prefix="mge-check-")

    def self_test(self) -> str | None:
        """The jail set up once before serving: None if it holds, else why not."""
        if not self.jailed:
            return None
        read, write = os.pipe()
        output = os.memfd_create("mge-self-test")
        request = {"id": 0, "kind": "noop"}
        pid = self.fork(request, "self-test", 0, (write, output), jail.CHECK_ROOT)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        answer = _read_verdict(read)
        os.close(read)
        os.close(output)
        if os.waitstatus_to_exitcode(status) == 0:
            return None
        return str(answer.get("jail_error") if answer else f"exit status {status}")


def _only_own_descriptors(verdict: int, output: int) -> None:
    """0 = /dev/null, 1 and 2 = the output memfd, 3 = the verdict pipe; nothing else."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (devnull, output, output, verdict)]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(harness.VERDICT_FD + 1, 1 << 16)


def _line(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, default=str).encode() + b"\n"


def main() -> int:
    if sys.argv[1] == "--once":
        return _once(sys.argv[2], int(sys.argv[3]))
    server = Server(json.loads(sys.argv[1]))
    for name in PRELOAD:
        __import__(name)
    problem = server.self_test()
    sys.stdout.write(json.dumps({"ready": problem is None, "error": problem}) + "\n")
    sys.stdout.flush()
    if problem is None:
        _serve(server)
    return 0


def _once(workdir: str, verdict_fd: int) -> int:
    request = json.loads(sys.stdin.read())
    os.dup2(verdict_fd, harness.VERDICT_FD)
    output = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    harness.run_check(request, workdir, request.pop("token"), harness.PYTHON_GUARD)
    return 0


def _serve(server: Server) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    buffer = b""
    while True:
        now = time.monotonic()
        waits = [j.deadline - now for j in server.jobs.values() if not j.timed_out]
        timeout = max(0.0, min(waits)) if waits else None
        readable, _, _ = select.select([0, wake_read], [], [], timeout)
        if wake_read in readable:
            os.read(wake_read, 4096)
        if 0 in readable:
            chunk = os.read(0, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                _start(server, json.loads(line))
        _enforce_deadlines(server.jobs)
        _reap(server.jobs)
    for pid in server.jobs:
        _kill_tree(pid)


def _start(server: Server, request: dict[str, Any]) -> None:
    token = os.urandom(16).hex()
    verdict_read, verdict_write = os.pipe()
    output = os.memfd_create("mge-check-output")
    used = {job.slot for job in server.jobs.values()}
    slot = next(s for s in range(UID_SLOTS) if s not in used)
    workdir = server.workdir()
    pid = server.fork(request, token, slot, (verdict_write, output), workdir)
    os.close(verdict_write)
    os.set_blocking(verdict_read, False)
    server.jobs[pid] = Job(request, token, (verdict_read, output), slot, workdir)


def _enforce_deadlines(jobs: dict[int, Job]) -> None:
    now = time.monotonic()
    for pid, job in jobs.items():
        if not job.timed_out and now >= job.deadline:
            job.timed_out = True
            _kill_tree(pid)


def _reap(jobs: dict[int, Job]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        job = jobs.pop(pid, None)
        if job is not None:
            _kill_tree(pid)
            _answer(job, os.waitstatus_to_exitcode(status))


def _answer(job: Job, returncode: int) -> None:
    verdict = _read_verdict(job.verdict_fd)
    os.close(job.verdict_fd)
    size = os.fstat(job.output_fd).st_size
    tail = os.pread(job.output_fd, OUTPUT_TAIL_BYTES, max(0, size - OUTPUT_TAIL_BYTES))
    os.close(job.output_fd)
    if job.workdir != jail.CHECK_ROOT:
        shutil.rmtree(job.workdir, ignore_errors=True)
    genuine = verdict is not None and verdict.get("token") == job.token
    result = verdict.get("result") if genuine and verdict is not None else None
    jail_error = verdict.get("jail_error") if genuine and verdict is not None else None
    answer = {
        "id": job.id,
        "result": result if isinstance(result, dict) else None,
        "timed_out": job.timed_out,
        "returncode": returncode,
        "output": tail.decode("utf-8", errors="replace"),
        "duration": time.monotonic() - job.started,
        "jail_error": jail_error if returncode == JAIL_FAILED else None,
    }
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def _read_verdict(fd: int) -> dict[str, Any] | None:
    """The first line the check wrote on its own pipe (a process it left behind may still hold
    the pipe open in the weak mode, so this never waits)."""
    data = b""
    with contextlib.suppress(BlockingIOError, OSError):
        while len(data) < VERDICT_LIMIT_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    try:
        loaded = json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _kill_tree(pid: int) -> None:
    """PID 1 of the check's namespace takes every process in it along; without namespaces the
    check's process group is what can be reached."""
    for kill in (os.kill, os.killpg):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
