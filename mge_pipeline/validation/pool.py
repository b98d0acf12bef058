"""The warm pool's client: starts the jailed, preloaded parent, sends checks, hands answers back.

The parent (``pool_server.py``) runs inside bubblewrap: new PID, network, IPC, UTS and cgroup
namespaces, a read-only root that holds only what checks need (``sandbox_paths``), its own
``/proc`` and ``/dev``; it exits when the client closes its input (or dies). It keeps the
capabilities it needs to jail each check it forks (``jail.py``), and its first line says
whether that jail works here. When MGE runs as root, bubblewrap does not create a user
namespace, so each check can become a host uid that owns nothing and the process limit binds.

Without bubblewrap (or user namespaces) the only thing left is the Python-level guard
(``python-guard``), which hostile code can walk around. That is refused with
``SandboxUnavailableError`` unless the caller opted in (``allow_weak``, the CLI's
``--allow-weak-sandbox``), and then said loudly in the log and by ``isolation``.

The client is loop-agnostic: one reader thread resolves thread-safe futures, so any event loop
awaits answers without blocking, and the pool outlives the loops that used it. If the parent
dies it is restarted on the next check.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Sequence
from typing import Any, BinaryIO

import anyio

from mge_pipeline.exceptions import SandboxUnavailableError
from mge_pipeline.validation.harness import BUBBLEWRAP, PYTHON_GUARD
from mge_pipeline.validation.sandbox_paths import SandboxPathError, bubblewrap_command

__all__ = ["BUBBLEWRAP", "PYTHON_GUARD", "SandboxUnavailableError", "WarmPool"]

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pool_server.py")
SANDBOX_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}
# Host uids for checks when MGE runs as root: SANDBOX_UID_BASE + slot, unused by any account.
SANDBOX_UID_BASE = 1_900_000_000
# Each check's private tmpfs (its files, HOME, TMPDIR), in MiB.
CHECK_TMPFS_MB = 256
# Extra wall time the client grants the parent beyond a check's own deadline before it
# concludes the parent is wedged and restarts it.
ANSWER_GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 20.0
WEAK_WARNING = (
    "the sandbox runs untrusted code with the Python-level guard only (%s); generated code can "
    "escape it. Install bubblewrap and allow user namespaces for real isolation."
)
logger = logging.getLogger(__name__)


def runs_as_root() -> bool:
    """Root gets no user namespace from bubblewrap and real host uids for its checks."""
    return os.geteuid() == 0


class WarmPool:
    def __init__(
        self,
        python: str = sys.executable,
        *,
        allow_weak: bool = False,
        read_only: Sequence[str] = (),
    ) -> None:
        self.python = python
        self.allow_weak = allow_weak
        self.read_only = list(read_only)
        self.isolation: str | None = None
        self.weak_reason: str | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._errors: BinaryIO | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> str:
        """Starts the parent now (it otherwise starts on the first check); its isolation."""
        with self._lock:
            self._ensure_started()
        assert self.isolation is not None
        return self.isolation

    async def submit(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The parent's answer, or None when it did not answer in time (it is then restarted)."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        if not self._send_now(request, future):
            await anyio.to_thread.run_sync(self._send, request, future)
        try:
            answer = await asyncio.wait_for(
                asyncio.wrap_future(future), timeout + ANSWER_GRACE_SECONDS
            )
        except TimeoutError:
            await anyio.to_thread.run_sync(self.close)
            return None
        if answer.get("jail_error"):
            raise SandboxUnavailableError(f"the check's jail failed: {answer['jail_error']}")
        return answer

    def _send_now(
        self, request: dict[str, Any], future: concurrent.futures.Future[dict[str, Any]]
    ) -> bool:
        """Sends from the event loop itself when that cannot block: the parent runs, nobody
        holds the lock, and the line fits in what the pipe promises to take at once (PIPE_BUF,
        written atomically). Saves a thread hop per check; otherwise ``_send`` runs in a thread."""
        process = self._process
        if process is None or process.stdin is None or process.poll() is not None:
            return False
        if not self._lock.acquire(blocking=False):
            return False
        try:
            check_id = next(self._ids)
            line = json.dumps({**request, "id": check_id}).encode() + b"\n"
            _, writable, _ = select.select([], [process.stdin], [], 0)
            if len(line) > select.PIPE_BUF or not writable:
                return False
            self._pending[check_id] = future
            try:
                process.stdin.write(line)
                process.stdin.flush()
            except OSError as exc:
                self._pending.pop(check_id, None)
                raise SandboxUnavailableError(f"the sandbox parent is gone: {exc}") from exc
            return True
        finally:
            self._lock.release()

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
        root = runs_as_root()
        try:
            launch = bubblewrap_command(self.python, SERVER, as_root=root, read_only=self.read_only)
        except SandboxPathError as exc:
            raise SandboxUnavailableError(f"cannot build the sandbox: {exc}") from exc
        problem = "bubblewrap (bwrap) is not installed" if launch is None else None
        if launch is not None:
            config = {
                "isolation": BUBBLEWRAP,
                "uid_base": SANDBOX_UID_BASE if root else None,
                "tmpfs_mb": CHECK_TMPFS_MB,
                "check_root": launch.check_root,
            }
            problem = self._launch([*launch.command, json.dumps(config)])
        if problem is not None:
            self._weak(problem)
        assert self._process is not None and self._errors is not None
        self._finalizer = weakref.finalize(self, _stop, self._process, self._errors)
        reader = threading.Thread(
            target=_read,
            args=(self._process.stdout, self._pending, self._lock, self._errors),
            name="mge-sandbox-reader",
            daemon=True,
        )
        reader.start()
        return self._process

    def _weak(self, problem: str) -> None:
        if not self.allow_weak:
            raise SandboxUnavailableError(
                f"no isolation for untrusted code: {problem}. Install bubblewrap (Debian: "
                "apt-get install bubblewrap) or accept the weak Python-level guard with "
                "--allow-weak-sandbox"
            )
        logger.warning(WEAK_WARNING, problem)
        self.weak_reason = problem
        config = {"isolation": PYTHON_GUARD}
        failure = self._launch([self.python, "-I", SERVER, json.dumps(config)])
        if failure is not None:
            raise SandboxUnavailableError(f"cannot start the sandbox parent: {failure}")

    def _launch(self, command: list[str]) -> str | None:
        """Starts the parent and reads its first line: None when it is ready, else why not."""
        # The parent's stderr, kept to say why it died; closed with it (``_stop``).
        errors = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=SANDBOX_ENV,
                start_new_session=True,
            )
        except OSError as exc:
            errors.close()
            return str(exc)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else b""
        try:
            status = json.loads(line)
        except ValueError:
            status = {"ready": False, "error": None}
        if not status.get("ready"):
            process.kill()
            process.wait()
            why = status.get("error") or _tail(errors) or "the sandbox parent did not start"
            errors.close()
            return str(why)
        self._process = process
        self._errors = errors
        self.isolation = str(json.loads(command[-1])["isolation"])
        return None

    def close(self) -> None:
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._process = None


def _tail(errors: BinaryIO) -> str:
    """The last words of the parent's stderr (empty once the pool closed the file)."""
    try:
        errors.seek(0, os.SEEK_END)
        errors.seek(max(0, errors.tell() - 2000))
        return errors.read().decode(errors="replace").strip()
    except ValueError:
        return ""


def _read(
    stream: BinaryIO,
    pending: dict[int, concurrent.futures.Future[dict[str, Any]]],
    lock: threading.Lock,
    errors: BinaryIO,
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
    last_words = _tail(errors)
    for future in orphans:
        future.set_exception(SandboxUnavailableError(f"the sandbox parent died: {last_words}"))


def _stop(process: subprocess.Popen[bytes], errors: BinaryIO) -> None:
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
    errors.close()
