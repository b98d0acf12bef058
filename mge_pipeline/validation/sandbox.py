"""A subprocess sandbox for generated Python: fresh process, limits, empty env, temp dir.

Generated code is untrusted and runs beside the API key and the database, so it gets an
environment with nothing in it, a throwaway working directory, CPU/memory/file-size limits
(set by the harness before any generated code is imported) and a wall-clock deadline enforced
by killing its whole process group. Everything is asyncio: a blocking ``subprocess.run`` here
would stall every atom of the run on the async executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HARNESS = Path(__file__).with_name("harness.py")
_SANDBOX_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}


@dataclass(frozen=True)
class SandboxOutcome:
    """What happened: a verdict dict from the harness, or a timeout / crash."""

    result: dict[str, object] | None
    timed_out: bool
    returncode: int | None
    stderr_tail: str
    duration_seconds: float


class PythonSandbox:
    """Shared by all atoms of a run; ``max_processes`` caps simultaneous sandbox processes."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 5.0,
        memory_mb: int = 512,
        max_processes: int = 4,
        python: str = sys.executable,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.max_processes = max_processes
        self.python = python
        self._semaphores: dict[int, asyncio.Semaphore] = {}

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
        return await self._isolated(
            files,
            module,
            tests,
            timeout_seconds or self.timeout_seconds,
            memory_mb or self.memory_mb,
        )

    async def run_pytest(
        self, files: dict[str, str], tests: str, *, timeout_seconds: float = 120.0
    ) -> SandboxOutcome:
        """Plan-level acceptance tests under pytest, with ``files`` importable."""
        return await self._isolated(files, "--pytest", tests, timeout_seconds, self.memory_mb * 2)

    async def run_command(
        self, files: dict[str, str], argv: list[str], *, timeout_seconds: float = 300.0
    ) -> SandboxOutcome:
        """Any command (e.g. a project's own test suite) run in the materialised ``files``.

        The outcome's ``returncode`` is the command's; its output is in ``stderr_tail``. A
        leading ``python`` means this interpreter, since the sandbox's PATH has no venv on it.
        """
        resolved = [self.python if argv[:1] == ["python"] else argv[0], *argv[1:]]
        return await self._isolated(
            files, "--exec", json.dumps(resolved), timeout_seconds, self.memory_mb * 2
        )

    async def _isolated(
        self, files: dict[str, str], module: str, tests: str, timeout: float, memory_mb: int
    ) -> SandboxOutcome:
        async with self._semaphore():
            with tempfile.TemporaryDirectory(prefix="mge-sandbox-") as workdir:
                return await self._run(Path(workdir), files, module, tests, timeout, memory_mb)

    async def _run(
        self,
        workdir: Path,
        files: dict[str, str],
        module: str,
        tests: str,
        timeout: float,
        memory_mb: int,
    ) -> SandboxOutcome:
        root = workdir / "src"
        for relative, content in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        (workdir / "test_acceptance.py").write_text(tests, encoding="utf-8")
        result_file = workdir / "result.json"
        cpu_seconds = max(1, math.ceil(timeout))
        started = time.perf_counter()
        with open(workdir / "stderr.txt", "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                self.python,
                "-I",
                str(HARNESS),
                str(root),
                module,
                str(workdir / "test_acceptance.py"),
                str(result_file),
                str(memory_mb),
                str(cpu_seconds),
                cwd=workdir,
                env=_SANDBOX_ENV,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                timed_out = True
                _kill_group(process.pid)
                await process.wait()
        return SandboxOutcome(
            result=_read_result(result_file),
            timed_out=timed_out,
            returncode=process.returncode,
            stderr_tail=_tail(workdir / "stderr.txt"),
            duration_seconds=time.perf_counter() - started,
        )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _read_result(path: Path) -> dict[str, object] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", errors="replace")
