"""The warm pool's client: starts the preloaded parent, sends checks, hands answers back.

The parent is started once per sandbox, inside new user, network, mount and PID namespaces
when ``unshare`` can create them: no network at all, every mount read-only but a size-limited
tmpfs for the checks' directories, and a ``/proc`` that shows only the sandbox's processes.
When namespaces are unavailable it runs as a plain process and the harness's audit hook blocks
network use, writes outside the check's directory and process spawning at the Python level;
``isolation`` says which mode is in effect.

The client is loop-agnostic: one reader thread resolves thread-safe futures, so any event loop
(the async executor's, or a test's ``asyncio.run``) awaits answers without blocking, and the
pool outlives the loops that used it. If the parent dies it is restarted on the next check.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, BinaryIO

import anyio

from mge_pipeline.exceptions import MgeError

SERVER = Path(__file__).with_name("pool_server.py")
SANDBOX_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}
NAMESPACE = "namespace"
PYTHON_GUARD = "python-guard"
SCRATCH_SIZE = "512m"
# Extra wall time the client grants the parent beyond a check's own deadline before it
# concludes the parent is wedged and restarts it.
ANSWER_GRACE_SECONDS = 10.0
# In the new mount namespace: a size-limited tmpfs for the checks, every other mount read-only.
_MOUNT_SCRIPT = """set -e
mount -t tmpfs -o size=$2,mode=0700 tmpfs "$1"
for mp in $(awk '{print $5}' /proc/self/mountinfo); do
  [ "$mp" = "$1" ] || mount -o remount,bind,ro "$mp" 2>/dev/null || true
done
shift 2
exec "$@"
"""


class SandboxUnavailableError(MgeError):
    """The sandbox's parent process could not be started or died with checks in flight."""


def unshare_prefix(scratch: str) -> list[str]:
    return [
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork",
        "--kill-child", "--mount-proc", "sh", "-c", _MOUNT_SCRIPT, "sh", scratch, SCRATCH_SIZE,
    ]  # fmt: skip


def probe_isolation(scratch: str) -> str:
    """Namespaces when ``unshare`` creates them here (containers often forbid it)."""
    return _probe()


@functools.cache
def _probe() -> str:
    if shutil.which("unshare") is None:
        return PYTHON_GUARD
    with tempfile.TemporaryDirectory(prefix="mge-probe-") as target:
        try:
            probe = subprocess.run(
                [*unshare_prefix(target), "true"], env=SANDBOX_ENV, capture_output=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return PYTHON_GUARD
    return NAMESPACE if probe.returncode == 0 else PYTHON_GUARD


class WarmPool:
    def __init__(self, python: str = sys.executable) -> None:
        self.python = python
        self.isolation: str | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._scratch: str | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def submit(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The parent's answer, or None when it did not answer in time (it is then restarted)."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        await anyio.to_thread.run_sync(self._send, request, future)
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(future), timeout + ANSWER_GRACE_SECONDS
            )
        except TimeoutError:
            await anyio.to_thread.run_sync(self.close)
            return None

    def _send(
        self, request: dict[str, Any], future: concurrent.futures.Future[dict[str, Any]]
    ) -> int:
        with self._lock:
            process = self._ensure_started()
            check_id = next(self._ids)
            self._pending[check_id] = future
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps({**request, "id": check_id}).encode() + b"\n")
                process.stdin.flush()
            except OSError as exc:
                self._pending.pop(check_id, None)
                raise SandboxUnavailableError(f"the sandbox parent is gone: {exc}") from exc
            return check_id

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._scratch = tempfile.mkdtemp(prefix="mge-sandbox-")
        self.isolation = probe_isolation(self._scratch)
        prefix = unshare_prefix(self._scratch) if self.isolation == NAMESPACE else []
        command = [*prefix, self.python, "-I", str(SERVER), self._scratch, self.isolation]
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=SANDBOX_ENV,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxUnavailableError(f"cannot start the sandbox parent: {exc}") from exc
        assert self._process.stdout is not None
        # The reader holds the pending answers, not the pool: a pool nobody uses any more is
        # collected, and its finalizer ends the parent.
        reader = threading.Thread(
            target=_read,
            args=(self._process.stdout, self._pending, self._lock),
            name="mge-sandbox-reader",
            daemon=True,
        )
        reader.start()
        self._finalizer = weakref.finalize(self, _stop, self._process, self._scratch)
        return self._process

    def close(self) -> None:
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._process = None


def _read(
    stream: BinaryIO,
    pending: dict[int, concurrent.futures.Future[dict[str, Any]]],
    lock: threading.Lock,
) -> None:
    for line in stream:
        with contextlib.suppress(ValueError):
            answer = json.loads(line)
            future = pending.pop(answer["id"], None)
            if future is not None and not future.done():
                future.set_result(answer)
    stream.close()  # EOF: the parent is gone; the reader owns the pipe's read end
    with lock:
        orphans = [f for f in pending.values() if not f.done()]
        pending.clear()
    for future in orphans:
        future.set_exception(SandboxUnavailableError("the sandbox parent died"))


def _stop(process: subprocess.Popen[bytes], scratch: str) -> None:
    """End of input lets the parent kill its checks and exit; a wedged one is killed."""
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    shutil.rmtree(scratch, ignore_errors=True)
