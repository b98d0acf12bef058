"""The warm pool's parent: preloaded once, it hands each check to a fresh, jailed worker.

Started as ``python -I pool_server.py CONFIG`` (``pool.py`` puts it in a bubblewrap sandbox
first). Its first line on stdout says whether the per-check jail works here (``ready``); then
it reads one JSON request per line on stdin and answers one JSON line per finished check.

Each check runs in a worker (``worker.py``) forked and jailed ahead of time, used once. The
verdict comes back on that worker's own pipe and counts only if it carries the token drawn
for that worker; the output comes from its own memfd. Under ``bubblewrap`` a worker is PID 1
of its own PID namespace, so killing it at the deadline, or its own exit, ends every process
the check started. The parent never runs generated code. Standard library only.

With ``--once`` it runs a single request read from stdin in this very process (no fork, no
jail): the "fresh interpreter per check" mode, kept for measuring what the pool saves.
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
from worker import JAIL_FAILED, Jail, Worker

PRELOAD = (
    "abc", "bisect", "collections", "collections.abc", "copy", "csv", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "importlib", "io",
    "itertools", "json", "math", "operator", "pathlib", "random", "re", "statistics", "string",
    "textwrap", "traceback", "typing", "unicodedata",
)  # fmt: skip
# The test command's launcher reports, last, which rebuilt functions it called: room for that.
OUTPUT_TAIL_BYTES = 16000
VERDICT_LIMIT_BYTES = 1 << 20
# Workers kept jailed and waiting: one covers checks run one after another; more only help
# when the pool is asked for several checks at the same instant.
SPARES = 2
# Uids handed to workers when the parent is the real root: one per live worker.
UID_SLOTS = 4096


class Job:
    def __init__(self, request: dict[str, Any], worker: Worker) -> None:
        self.id = request["id"]
        self.worker = worker
        self.started = time.monotonic()
        self.deadline = self.started + float(request["timeout"])
        self.timed_out = False
        self.verdict = b""
        # Answered as soon as a genuine verdict arrived; the worker is then killed and reaped.
        self.answered = False


class Server:
    def __init__(self, config: dict[str, Any]) -> None:
        self.jail = Jail(config)
        self.jobs: dict[int, Job] = {}
        self.spares: dict[int, Worker] = {}
        self.broken: str | None = None

    def self_test(self) -> str | None:
        """One worker through its jail before serving: None if the jail holds, else why not."""
        worker = self.jail.spawn(0)
        _send(worker, {"kind": "noop"})
        _, status = os.waitpid(worker.pid, 0)
        verdict = _parse(_read_rest(worker.verdict_fd))
        worker.close()
        if os.waitstatus_to_exitcode(status) == 0:
            return None
        return str(verdict.get("jail_error") if verdict else f"exit status {status}")

    def replenish(self) -> None:
        while len(self.spares) < SPARES and self.broken is None:
            used = {w.slot for w in self.spares.values()} | {
                j.worker.slot for j in self.jobs.values()
            }
            worker = self.jail.spawn(next(s for s in range(UID_SLOTS) if s not in used))
            self.spares[worker.pid] = worker

    def start(self, request: dict[str, Any]) -> None:
        if not self.spares:
            self.replenish()
        if self.broken is not None:
            _write_answer({"id": request["id"], "jail_error": self.broken})
            return
        pid, worker = next(iter(self.spares.items()))
        del self.spares[pid]
        job = Job(request, worker)
        self.jobs[pid] = job
        with contextlib.suppress(OSError):  # a worker that died is reaped and answered
            _send(worker, request)

    def listening(self) -> dict[int, int]:
        """Verdict pipes still awaited: descriptor to worker pid."""
        return {j.worker.verdict_fd: pid for pid, j in self.jobs.items() if not j.answered}

    def read_verdict(self, pid: int) -> None:
        """Reads what the worker sent; a genuine verdict is answered at once and the worker's
        processes killed, which saves waiting for a large interpreter to exit."""
        job = self.jobs[pid]
        with contextlib.suppress(OSError):
            job.verdict += os.read(job.worker.verdict_fd, 65536)
        if b"\n" not in job.verdict and len(job.verdict) < VERDICT_LIMIT_BYTES:
            return
        verdict = _parse(job.verdict)
        if verdict is not None and verdict.get("token") == job.worker.token:
            _answer(job, int(verdict.get("code", 0)), verdict)
            job.answered = True
            _kill_tree(pid)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _kill_tree(pid)
            code = os.waitstatus_to_exitcode(status)
            job = self.jobs.pop(pid, None)
            if job is not None and not job.answered:
                job.verdict += _read_rest(job.worker.verdict_fd)
                _answer(job, code, _parse(job.verdict))
            if job is not None:
                _clean(job.worker)
            elif pid in self.spares:
                self._lost_spare(self.spares.pop(pid), code)

    def _lost_spare(self, worker: Worker, code: int) -> None:
        verdict = _parse(_read_rest(worker.verdict_fd))
        worker.close()
        if code == JAIL_FAILED and verdict is not None:
            self.broken = str(verdict.get("jail_error"))

    def enforce_deadlines(self) -> None:
        now = time.monotonic()
        for pid, job in self.jobs.items():
            if not job.timed_out and now >= job.deadline:
                job.timed_out = True
                _kill_tree(pid)

    def stop(self) -> None:
        for pid in [*self.jobs, *self.spares]:
            _kill_tree(pid)


def _send(worker: Worker, request: dict[str, Any]) -> None:
    data = json.dumps(request).encode()
    try:
        while data:  # a signal may interrupt a large write part-way
            data = data[os.write(worker.request_fd, data) :]
    finally:
        os.close(worker.request_fd)
        worker.request_fd = -1


def main() -> int:
    if sys.argv[1] == "--once":
        return _once(sys.argv[2], int(sys.argv[3]))
    server = Server(json.loads(sys.argv[1]))
    for name in PRELOAD:
        __import__(name)
    problem = server.self_test()
    _write_answer({"ready": problem is None, "error": problem})
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
    server.replenish()
    while True:
        now = time.monotonic()
        waits = [j.deadline - now for j in server.jobs.values() if not j.timed_out]
        timeout = max(0.0, min(waits)) if waits else None
        verdicts = server.listening()
        readable, _, _ = select.select([0, wake_read, *verdicts], [], [], timeout)
        if wake_read in readable:
            os.read(wake_read, 4096)
        for fd in readable:
            if fd in verdicts:
                server.read_verdict(verdicts[fd])
        if 0 in readable:
            chunk = os.read(0, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                server.start(json.loads(line))
        server.enforce_deadlines()
        server.reap()
        server.replenish()
    server.stop()


def _answer(job: Job, returncode: int, verdict: dict[str, Any] | None) -> None:
    worker = job.worker
    size = os.fstat(worker.output_fd).st_size
    tail = os.pread(worker.output_fd, OUTPUT_TAIL_BYTES, max(0, size - OUTPUT_TAIL_BYTES))
    genuine = verdict if verdict is not None and verdict.get("token") == worker.token else {}
    result = genuine.get("result")
    _write_answer(
        {
            "id": job.id,
            "result": result if isinstance(result, dict) else None,
            "timed_out": job.timed_out,
            "returncode": returncode,
            "output": tail.decode("utf-8", errors="replace"),
            "duration": time.monotonic() - job.started,
            "jail_error": genuine.get("jail_error") if returncode == JAIL_FAILED else None,
        }
    )


def _clean(worker: Worker) -> None:
    worker.close()
    if worker.temporary:
        shutil.rmtree(worker.workdir, ignore_errors=True)


def _write_answer(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def _read_rest(fd: int) -> bytes:
    """What is left in a verdict pipe (a process the check left behind may still hold it open
    in the weak mode, so this never waits)."""
    data = b""
    with contextlib.suppress(OSError):
        while len(data) < VERDICT_LIMIT_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data


def _parse(data: bytes) -> dict[str, Any] | None:
    """The first line of a verdict pipe, if it is a JSON object."""
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
