"""The sandbox for generated code: a fresh, jailed process per check, limited, fast.

Generated code is untrusted and runs beside the API key and the database, so each check gets
a process of its own in a jail of its own (``jail.py``: own mount, PID, network, IPC and UTS
namespaces, a private tmpfs, no capabilities, an unprivileged uid), an empty environment, CPU,
memory, process-count, open-file and output-size limits, and a wall-clock deadline that kills
every process it started. Checks are forked from a warm, preloaded parent that bubblewrap
confines (``pool.py``), so a trivial check costs milliseconds rather than an interpreter's
start-up. Without bubblewrap the sandbox refuses to run anything unless ``allow_weak`` opts in
to the Python-level guard. ``warm=False`` starts a fresh, guard-only interpreter per check and
exists to measure the difference (it therefore needs ``allow_weak``). Everything here is
asyncio: a blocking call would stall every atom of the run on the async executor.

See docs/threat-model.md for what is isolated, from what, and what is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from mge_pipeline import settings
from mge_pipeline.validation.check_slots import CheckSlots
from mge_pipeline.validation.pool import (
    PYTHON_GUARD,
    SANDBOX_ENV,
    SERVER,
    SandboxUnavailableError,
    WarmPool,
)

__all__ = ["PythonSandbox", "SandboxOutcome", "SandboxUnavailableError", "probe_isolation"]


@dataclass(frozen=True)
class SandboxOutcome:
    """What happened: a verdict dict from the harness, or a timeout / crash."""

    result: dict[str, object] | None
    timed_out: bool
    returncode: int | None
    stderr_tail: str
    duration_seconds: float
    isolation: str = ""


class PythonSandbox:
    """Shared by all atoms of a run; ``max_processes`` caps simultaneous checks per loop.

    Every check raises ``SandboxUnavailableError`` when the sandbox cannot isolate it, unless
    ``allow_weak`` accepts the Python-level guard (then ``isolation`` is ``python-guard`` and a
    warning is logged when the pool starts). Checks see no host file but the interpreter, Node
    and their libraries, plus ``read_only_paths`` (default: ``MGE_SANDBOX_READ_ONLY``), which
    the operator, not the plan, chooses: say, the project whose test suite a ``test_command``
    runs.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 5.0,
        memory_mb: int = 512,
        max_processes: int = 4,
        python: str = sys.executable,
        warm: bool = True,
        allow_weak: bool = False,
        read_only_paths: Sequence[str] | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.max_processes = max_processes
        self.python = python
        self.warm = warm
        self.allow_weak = allow_weak
        if read_only_paths is None:
            read_only_paths = settings.sandbox_read_only_paths()
        self._pool = WarmPool(python, allow_weak=allow_weak, read_only=read_only_paths)
        self._slots: dict[int, CheckSlots] = {}

    @property
    def isolation(self) -> str | None:
        """'bubblewrap' or 'python-guard' once the pool has started; None before."""
        return self._pool.isolation if self.warm else PYTHON_GUARD

    @property
    def weak_reason(self) -> str | None:
        """Why the weak guard is in use (when ``allow_weak`` let it be), for the run's report."""
        return self._pool.weak_reason

    def start(self) -> str:
        """Starts the pool now, so a run learns its isolation (or refusal) before any atom."""
        if not self.warm:
            self._require_weak_allowed()
            return PYTHON_GUARD
        return self._pool.start()

    def _require_weak_allowed(self) -> None:
        if not self.allow_weak:
            raise SandboxUnavailableError("warm=False runs checks unjailed: it needs allow_weak")

    @property
    def pool_pid(self) -> int | None:
        return self._pool.pid

    def close(self) -> None:
        self._pool.close()

    def _slots_of_loop(self) -> CheckSlots:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._slots:
            self._slots[loop_id] = CheckSlots(self.max_processes)
        return self._slots[loop_id]

    async def run_tests(
        self,
        files: dict[str, str],
        module: str,
        tests: str,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
        collect: str | None = None,
        background: bool = False,
    ) -> SandboxOutcome:
        """Import ``module`` from ``files`` and run ``tests`` in its namespace. With
        ``collect``, the verdict's ``collected`` is the list of strings the tests left under
        that name (a probe's findings), or None. A ``background`` check (mutants of a settled
        atom) yields its turn to every waiting validation (``check_slots.py``)."""
        request: dict[str, Any] = {
            "kind": "tests",
            "files": files,
            "module": module,
            "tests": tests,
        }
        if collect:
            request["collect"] = collect
        return await self._check(
            request,
            timeout_seconds or self.timeout_seconds,
            memory_mb or self.memory_mb,
            background=background,
        )

    async def run_pytest(
        self, files: dict[str, str], tests: str, *, timeout_seconds: float = 120.0
    ) -> SandboxOutcome:
        """Plan-level acceptance tests under pytest, with ``files`` importable."""
        request = {"kind": "pytest", "files": files, "tests": tests}
        return await self._check(request, timeout_seconds, self.memory_mb * 2)

    async def run_command(
        self,
        files: dict[str, str],
        argv: list[str],
        *,
        timeout_seconds: float = 300.0,
        memory_mb: int | None = None,
        limit_address_space: bool = True,
    ) -> SandboxOutcome:
        """Any command (e.g. a project's own test suite) run in the materialised ``files``.

        The outcome's ``returncode`` is the command's; its output is in ``stderr_tail``. A
        leading ``python`` means this interpreter, since the sandbox's PATH has no venv on it.
        Runtimes that reserve large address ranges (Node's V8) need ``limit_address_space``
        off and their own heap limit instead.
        """
        resolved = [self.python if argv[:1] == ["python"] else argv[0], *argv[1:]]
        request = {
            "kind": "exec",
            "files": files,
            "argv": resolved,
            "address_space": limit_address_space,
        }
        return await self._check(request, timeout_seconds, memory_mb or self.memory_mb * 2)

    async def _check(
        self, request: dict[str, Any], timeout: float, memory_mb: int, *, background: bool = False
    ) -> SandboxOutcome:
        request = {
            **request,
            "timeout": timeout,
            "cpu_seconds": max(1, math.ceil(timeout)),
            "memory_mb": memory_mb,
        }
        slots = self._slots_of_loop()
        await slots.acquire(background=background)
        try:
            if not self.warm:
                return await self._fresh(request, timeout)
            started = time.perf_counter()
            answer = await self._pool.submit(request, timeout)
        finally:
            slots.release(background=background)
        if answer is None:
            return SandboxOutcome(None, True, None, "", time.perf_counter() - started, "")
        return SandboxOutcome(
            result=answer["result"],
            timed_out=bool(answer["timed_out"]),
            returncode=answer["returncode"],
            stderr_tail=str(answer["output"]),
            duration_seconds=float(answer["duration"]),
            isolation=self._pool.isolation or "",
        )

    async def _fresh(self, request: dict[str, Any], timeout: float) -> SandboxOutcome:
        """One new interpreter for this check, Python-level guard only (the baseline)."""
        self._require_weak_allowed()
        started = time.perf_counter()
        workdir = Path(tempfile.mkdtemp(prefix="mge-sandbox-"))
        token = secrets.token_hex(16)
        verdict_read, verdict_write = os.pipe()
        process = await asyncio.create_subprocess_exec(
            self.python, "-I", str(SERVER), "--once", str(workdir), str(verdict_write),
            env=SANDBOX_ENV,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(verdict_write,),
        )  # fmt: skip
        os.close(verdict_write)
        timed_out = False
        try:
            payload = json.dumps({**request, "token": token}).encode()
            await asyncio.wait_for(process.communicate(payload), timeout)
        except TimeoutError:
            timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        result, output = await anyio.to_thread.run_sync(_collect, workdir, verdict_read, token)
        return SandboxOutcome(
            result, timed_out, process.returncode, output, time.perf_counter() - started,
            PYTHON_GUARD,
        )  # fmt: skip


def probe_isolation(*, allow_weak: bool = False) -> tuple[str, str | None]:
    """The isolation checks would get here, and why it is weak if it is: for a run to say so
    at start. Raises ``SandboxUnavailableError`` when only weak isolation exists and
    ``allow_weak`` is off. Starts a pool and stops it (about a tenth of a second)."""
    sandbox = PythonSandbox(allow_weak=allow_weak)
    try:
        return sandbox.start(), sandbox.weak_reason
    finally:
        sandbox.close()


def _collect(workdir: Path, verdict_fd: int, token: str) -> tuple[dict[str, object] | None, str]:
    os.set_blocking(verdict_fd, False)
    try:
        line = os.read(verdict_fd, 1 << 20).split(b"\n", 1)[0]
        loaded = json.loads(line)
    except (OSError, ValueError):
        loaded = None
    finally:
        os.close(verdict_fd)
    genuine = isinstance(loaded, dict) and loaded.get("token") == token
    result = loaded.get("result") if genuine and isinstance(loaded, dict) else None
    try:
        output = (workdir / "output.txt").read_bytes()[-2000:].decode("utf-8", errors="replace")
    except OSError:
        output = ""
    shutil.rmtree(workdir, ignore_errors=True)
    return (result if isinstance(result, dict) else None), output
