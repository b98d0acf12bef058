"""The warm pool's parent: preloaded once, it forks one fresh child per check. Stdlib only.

Started as ``python -I pool_server.py SCRATCH ISOLATION`` (inside new user, network, mount
and PID namespaces when the kernel allows it, see ``pool.py``). It reads one JSON request per
line on stdin and answers one JSON line per finished check on stdout. Each child runs in its
own session; at its deadline the whole process group is killed, and processes that left the
group are swept when the check ends (in a PID namespace every process is ours to sweep). The
parent never runs generated code itself, so whatever a check does, the pool survives.

With ``--once`` it runs a single request read from stdin in this very process (no fork): the
"fresh interpreter per check" mode, kept for measuring what the pool saves.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

PRELOAD = (
    "abc",
    "bisect",
    "collections",
    "collections.abc",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "importlib",
    "io",
    "itertools",
    "json",
    "math",
    "operator",
    "pathlib",
    "random",
    "re",
    "statistics",
    "string",
    "textwrap",
    "traceback",
    "typing",
    "unicodedata",
)
OUTPUT_TAIL_BYTES = 2000


class Job:
    def __init__(self, request: dict[str, Any], workdir: str) -> None:
        self.id = request["id"]
        self.workdir = workdir
        self.started = time.monotonic()
        self.deadline = self.started + float(request["timeout"])
        self.timed_out = False


def main() -> int:
    if sys.argv[1] == "--once":
        return _once(sys.argv[2], sys.argv[3])
    scratch, isolation = sys.argv[1], sys.argv[2]
    for name in PRELOAD:
        __import__(name)
    _server(scratch, isolation)
    return 0


def _once(workdir: str, isolation: str) -> int:
    request = json.loads(sys.stdin.read())
    os.makedirs(workdir, exist_ok=True)
    harness.run_check(request, workdir, isolation)
    return 0


def _server(scratch: str, isolation: str) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    jobs: dict[int, Job] = {}
    buffer = b""
    while True:
        now = time.monotonic()
        waits = [j.deadline - now for j in jobs.values() if not j.timed_out]
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
                _start(json.loads(line), scratch, isolation, jobs, (wake_read, wake_write))
        _enforce_deadlines(jobs)
        _reap(jobs, isolation)
    for pid in jobs:
        _kill_group(pid)


def _start(
    request: dict[str, Any],
    scratch: str,
    isolation: str,
    jobs: dict[int, "Job"],
    fds: tuple[int, int],
) -> None:
    workdir = os.path.join(scratch, f"check-{request['id']}")
    os.mkdir(workdir)
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in fds:
            os.close(fd)
        os.setsid()
        harness.run_check(request, workdir, isolation)
    jobs[pid] = Job(request, workdir)


def _enforce_deadlines(jobs: dict[int, "Job"]) -> None:
    now = time.monotonic()
    for pid, job in jobs.items():
        if not job.timed_out and now >= job.deadline:
            job.timed_out = True
            _kill_group(pid)


def _reap(jobs: dict[int, "Job"], isolation: str) -> None:
    finished = False
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        job = jobs.pop(pid, None)
        if job is not None:
            _kill_group(pid)
            _answer(job, os.waitstatus_to_exitcode(status))
            finished = True
    if finished and isolation == "namespace":
        _sweep(set(jobs))


def _sweep(active: set[int]) -> None:
    """Kill what left its check's process group: in our PID namespace, all of it is ours."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            session = os.getsid(int(entry))
        except OSError:
            continue
        if session not in active and session != os.getsid(me):
            _kill(int(entry))


def _answer(job: Job, returncode: int) -> None:
    result = None
    try:
        with open(os.path.join(job.workdir, "result.json"), encoding="utf-8") as handle:
            loaded = json.load(handle)
        result = loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        pass
    output = ""
    try:
        with open(os.path.join(job.workdir, "output.txt"), "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - OUTPUT_TAIL_BYTES))
            output = handle.read().decode("utf-8", errors="replace")
    except OSError:
        pass
    shutil.rmtree(job.workdir, ignore_errors=True)
    answer = {
        "id": job.id,
        "result": result,
        "timed_out": job.timed_out,
        "returncode": returncode,
        "output": output,
        "duration": time.monotonic() - job.started,
    }
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
