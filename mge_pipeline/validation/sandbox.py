"""The sandbox for generated code: a fresh process per check, limited, isolated, fast.

Generated code is untrusted and runs beside the API key and the database, so each check gets
a process of its own with an empty environment, a throwaway directory, CPU, memory,
process-count, open-file and output-size limits, no network, and a wall-clock deadline that
kills its whole process group (``harness.py`` and ``pool.py`` say how). Checks are forked from
a warm, preloaded parent (``warm=True``, the default), so a trivial check costs milliseconds
rather than an interpreter's start-up; ``warm=False`` starts a fresh interpreter per check and
exists to measure the difference. Everything here is asyncio: a blocking call would stall
every atom of the run on the async executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from mge_pipeline.validation.pool import PYTHON_GUARD, SANDBOX_ENV, SERVER, WarmPool


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
    """Shared by all atoms of a run; ``max_processes`` caps simultaneous checks per loop."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 5.0,
        memory_mb: int = 512,
        max_processes: int = 4,
        python: str = sys.executable,
        warm: bool = True,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.max_processes = max_processes
        self.python = python
        self.warm = warm
        self._pool = WarmPool(python)
        self._semaphores: dict[int, asyncio.Semaphore] = {}

    @property
    def isolation(self) -> str | None:
        """'namespace' or 'python-guard' once a check has run; None before."""
        return self._pool.isolation if self.warm else PYTHON_GUARD

    @property
    def pool_pid(self) -> int | None:
        return self._pool.pid

    def close(self) -> None:
        self._pool.close()

    def _semaphore(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._semaphores:
            self._semaphores[loop_id] = asyncio.Semaphore(self.max_processes)
        return self._semaphores[loop_id]

    async def run_tests(
        self,
        files: dict[str, str],
        module: str,
        tests: str,
        *,
        timeout_seconds: float | None = None,
        memory_mb: int | None = None,
    ) -> SandboxOutcome:
        """Import ``module`` from ``files`` and run ``tests`` in its namespace."""
        request = {"kind": "tests", "files": files, "module": module, "tests": tests}
        return await self._check(
            request, timeout_seconds or self.timeout_seconds, memory_mb or self.memory_mb
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
        self, request: dict[str, Any], timeout: float, memory_mb: int
    ) -> SandboxOutcome:
        request = {
            **request,
            "timeout": timeout,
            "cpu_seconds": max(1, math.ceil(timeout)),
            "memory_mb": memory_mb,
        }
        async with self._semaphore():
            if not self.warm:
                return await self._fresh(request, timeout)
            started = time.perf_counter()
            answer = await self._pool.submit(request, timeout)
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
        started = time.perf_counter()
        workdir = Path(tempfile.mkdtemp(prefix="mge-sandbox-"))
        process = await asyncio.create_subprocess_exec(
            self.python, "-I", str(SERVER), "--once", str(workdir), PYTHON_GUARD,
            env=SANDBOX_ENV,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        timed_out = False
        try:
            await asyncio.wait_for(process.communicate(json.dumps(request).encode()), timeout)
        except TimeoutError:
            timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        result, output = await anyio.to_thread.run_sync(_collect, workdir)
        return SandboxOutcome(
            result, timed_out, process.returncode, output, time.perf_counter() - started,
            PYTHON_GUARD,
        )  # fmt: skip


def _collect(workdir: Path) -> tuple[dict[str, object] | None, str]:
    try:
        loaded = json.loads((workdir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        loaded = None
    try:
        output = (workdir / "output.txt").read_bytes()[-2000:].decode("utf-8", errors="replace")
    except OSError:
        output = ""
    shutil.rmtree(workdir, ignore_errors=True)
    return (loaded if isinstance(loaded, dict) else None), output
