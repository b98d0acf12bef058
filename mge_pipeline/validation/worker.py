"""A single-use, jailed worker: forked and jailed before its check arrives. Standard library only.

The warm parent keeps a few of these ready (``pool_server.py``), so a check's latency does not
include the fork and the jail's namespaces and mounts: they were paid while the previous check
ran. A worker knows nothing of its check until the parent writes the request on the worker's
own pipe, and it runs exactly one check, so the jail is never reused. Its descriptors, once
the jail holds: 0 is ``/dev/null``, 1 and 2 its output (a memfd), 3 its verdict pipe; the
request pipe is read to its end and closed before any generated code is loaded.
"""

import contextlib
import fcntl
import json
import os
import signal
import tempfile
from typing import Any

import harness
import jail
import seccomp

# Exit code of a worker whose jail could not be set up: nothing of the check ran.
JAIL_FAILED = 72
_REQUEST_FD = 4


class Worker:
    """The parent's handle on one worker: its pid and the far ends of its private channels."""

    def __init__(
        self,
        pid: int,
        fds: tuple[int, int, int],
        slot: int,
        token: str,
        workdir: str,
        *,
        temporary: bool,
    ):
        self.pid = pid
        self.request_fd, self.verdict_fd, self.output_fd = fds
        self.slot = slot
        self.token = token
        self.workdir = workdir
        # A host directory the parent removes after the check (the weak mode); a jailed check's
        # tmpfs vanishes with its mount namespace instead.
        self.temporary = temporary

    def close(self) -> None:
        for fd in (self.request_fd, self.verdict_fd, self.output_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


class Jail:
    """How workers are jailed here: under bubblewrap (namespaces, a uid, no capabilities), or
    only the Python-level guard when the caller accepted weak isolation."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.isolation = config["isolation"]
        self.jailed = self.isolation == harness.BUBBLEWRAP
        self.uid_base: int | None = config.get("uid_base")
        self.tmpfs_mb = int(config.get("tmpfs_mb", 256))
        self.check_root: str = config.get("check_root", "/check")
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY) if self.jailed else -1
        self.last_capability = jail.last_capability() if self.jailed else 0

    def spawn(self, slot: int) -> Worker:
        token = os.urandom(16).hex()
        request_read, request_write = os.pipe()
        verdict_read, verdict_write = os.pipe()
        output = os.memfd_create("mge-check-output")
        workdir = self.check_root if self.jailed else tempfile.mkdtemp(prefix="mge-check-")
        jailed = self.jailed
        pid = jail.fork_in_new_pid_namespace(self.own_pid_namespace) if jailed else os.fork()
        if pid == 0:
            self._run((request_read, verdict_write, output), slot, token, workdir)
        os.close(request_read)
        os.close(verdict_write)
        os.set_blocking(verdict_read, False)
        fds = (request_write, verdict_read, output)
        return Worker(pid, fds, slot, token, workdir, temporary=not jailed)

    def _run(self, fds: tuple[int, int, int], slot: int, token: str, workdir: str) -> None:
        """The worker's life; never returns. Nothing of the check exists before the jail holds."""
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _own_descriptors(*fds)
            os.setsid()
            if self.jailed:
                uid = None if self.uid_base is None else self.uid_base + slot
                jail.enter(self.check_root, self.tmpfs_mb, 0 if uid is None else uid)
                jail.drop_privileges(uid, self.last_capability)
                if seccomp.supported():
                    seccomp.install()
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                line = json.dumps({"token": token, "jail_error": repr(exc)}) + "\n"
                os.write(harness.VERDICT_FD, line.encode())
            os._exit(JAIL_FAILED)
        request = _read_request()
        if request is None:  # the parent went away, or never had a check for this worker
            os._exit(0)
        harness.run_check(request, workdir, token, self.isolation)


def _own_descriptors(request: int, verdict: int, output: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    wanted = (devnull, output, output, verdict, request)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 16) for fd in wanted]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(_REQUEST_FD + 1, 1 << 16)


def _read_request() -> dict[str, Any] | None:
    chunks = []
    while chunk := os.read(_REQUEST_FD, 1 << 20):
        chunks.append(chunk)
    os.close(_REQUEST_FD)
    if not chunks:
        return None
    loaded = json.loads(b"".join(chunks))
    return loaded if isinstance(loaded, dict) else None
