"""Runs inside the sandbox process, before and around the generated code. Standard library only.

``run_check(request, workdir, token, isolation)`` is called with descriptors 1 and 2 on the
check's output and descriptor 3 on its private verdict pipe. It lays the files out in
WORKDIR/src, limits the process (CPU, address space, file size — which also caps the output —,
open files, processes, no core dumps), installs an audit hook in the weak ``python-guard``
mode only (under ``bubblewrap`` the kernel forbids what the hook would), then either imports the
atom's module and runs its tests, runs acceptance tests under pytest, or replaces itself with
a command. The verdict is one JSON line on descriptor 3 carrying the check's token, written
only after every test has returned: a check that exits early leaves no verdict and fails.
"""

import contextlib
import json
import os
import resource
import sys
import tempfile
import traceback
from typing import Any

BUBBLEWRAP = "bubblewrap"
PYTHON_GUARD = "python-guard"
VERDICT_FD = 3
TESTS_FILENAME = "<tests>"
OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024
OPEN_FILES = 256
# Processes of one check: under bubblewrap its uid (or user namespace) is its own, so the limit
# counts only its processes; in the weak mode it counts all of the user's, plus this margin.
PROCESS_MARGIN = 64
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {
    "os.remove": 1,
    "os.rmdir": 1,
    "os.rename": 2,
    "os.replace": 2,
    "os.truncate": 1,
    "os.chmod": 1,
    "os.chown": 1,
    "os.mkdir": 1,
    "os.symlink": 2,
    "os.link": 2,
    "os.utime": 1,
    "shutil.rmtree": 1,
}
_NETWORK_EVENTS = frozenset(
    {"socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"}
)
_SPAWN_EVENTS = frozenset(
    {"os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen"}
)


def run_check(request: dict[str, Any], workdir: str, token: str, isolation: str) -> None:
    """The body of one check's process; never returns."""
    code = 0
    try:
        kind = request["kind"]
        if kind == "noop":
            os._exit(0)
        _prepare(request, workdir)
        _limit(request, isolation)
        if kind == "exec":
            _exec(request["argv"], workdir)
        if isolation != BUBBLEWRAP:
            _guard(workdir)
        result = _pytest(workdir) if kind == "pytest" else _tests(request, workdir)
    except BaseException as exc:  # a check must always leave a verdict behind
        result = {
            "ok": False,
            "phase": "sandbox",
            "exc_type": type(exc).__name__,
            "message": str(exc)[-2000:],
        }
        code = 70
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    _write_verdict(token, result, code)
    os._exit(code)


def _prepare(request: dict[str, Any], workdir: str) -> None:
    root = os.path.join(workdir, "src")
    for relative, content in request["files"].items():
        target = os.path.join(root, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(content)
    os.makedirs(root, exist_ok=True)
    if request["kind"] == "pytest":
        with open(os.path.join(workdir, "tests.py"), "w", encoding="utf-8") as handle:
            handle.write(request.get("tests") or "")
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": workdir,
            "TMPDIR": workdir,
            "PYTHONPATH": root,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    sys.path[:] = [
        root,
        *[p for p in sys.path if p.endswith(("site-packages", ".zip")) or "/lib/python" in p],
    ]
    _rebuilt_only(root, request["files"])
    sys.dont_write_bytecode = True
    # The warm parent may have asked tempfile for its directory already (it caches the answer):
    # point it at the check's own directory, as TMPDIR now says (pytest writes its tmp there).
    tempfile.tempdir = workdir


def _rebuilt_only(root: str, files: dict[str, str]) -> None:
    """A top-level name the staged files provide is looked up among them only: a package
    rebuilt without its ``__init__.py`` must not be answered by an installed copy of the same
    name (a regular package in site-packages beats a namespace portion found first)."""
    import importlib.abc
    import importlib.machinery

    own = {path.split("/", 1)[0].removesuffix(".py") for path in files if path.endswith(".py")}
    own -= set(sys.stdlib_module_names)  # the harness and pytest run on the standard library
    for name in list(sys.modules):
        if name.partition(".")[0] in own:
            del sys.modules[name]  # a warm parent's import of the same name

    class RebuiltOnly(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
            if path is not None or name not in own:
                return None
            return importlib.machinery.PathFinder.find_spec(name, [root])

    sys.meta_path.insert(0, RebuiltOnly())


def _limit(request: dict[str, Any], isolation: str) -> None:
    cpu = int(request["cpu_seconds"])
    limits = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_FSIZE: (OUTPUT_LIMIT_BYTES, OUTPUT_LIMIT_BYTES),
        resource.RLIMIT_NOFILE: (OPEN_FILES, OPEN_FILES),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_NPROC: _process_limit(isolation),
    }
    memory = int(request["memory_mb"]) * 1024 * 1024
    # Runtimes that reserve large address ranges (V8) get the data segment limited instead:
    # reservations do not count, every byte written to does.
    kind = resource.RLIMIT_AS if request.get("address_space", True) else resource.RLIMIT_DATA
    limits[kind] = (memory, memory)
    for limit, value in limits.items():
        resource.setrlimit(limit, value)


def _process_limit(isolation: str) -> tuple[int, int]:
    if isolation == BUBBLEWRAP:
        return PROCESS_MARGIN * 2, PROCESS_MARGIN * 2
    uid = os.getuid()
    mine = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                mine += os.stat(f"/proc/{entry}").st_uid == uid
    return mine + PROCESS_MARGIN, mine + PROCESS_MARGIN


def _guard(workdir: str) -> None:
    """The weak mode's audit hook (it cannot be removed): a Python-level fence that native code,
    ``ctypes`` aside, walks around; it exists only for machines without bubblewrap."""
    inside = os.path.realpath(workdir) + os.sep
    own_proc = (f"/proc/{os.getpid()}/", "/proc/self/", "/proc/thread-self/")

    def allowed(path: object) -> bool:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return True
        real = os.path.realpath(path)
        return real == os.devnull or (real + os.sep).startswith(inside)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if (
                isinstance(path, str)
                and path.startswith("/proc/")
                and not path.startswith(own_proc)
            ):
                raise PermissionError(f"the sandbox does not read other processes: {path}")
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not allowed(path):
                raise PermissionError(f"the sandbox only writes inside its directory: {path}")
        elif event in _PATH_EVENTS:
            for path in args[: _PATH_EVENTS[event]]:
                if not allowed(path):
                    raise PermissionError(
                        f"the sandbox only changes files inside its directory: {path}"
                    )
        elif event in _NETWORK_EVENTS:
            raise PermissionError("network access is blocked in the sandbox")
        elif event == "ctypes.dlopen" or event in _SPAWN_EVENTS:
            raise PermissionError(f"{event} is blocked in the sandbox")

    sys.addaudithook(hook)


def _tests(request: dict[str, Any], workdir: str) -> dict[str, Any]:
    import importlib

    tests = request.get("tests") or ""
    try:
        module = importlib.import_module(request["module"])
    except BaseException as exc:
        return _failure("import", exc, tests)
    namespace = vars(module)
    before = set(namespace)
    try:
        exec(compile(tests, TESTS_FILENAME, "exec"), namespace)
        functions = [
            (name, value)
            for name, value in list(namespace.items())
            if name.startswith("test_") and name not in before and callable(value)
        ]
        for _, function in functions:
            function()
    except BaseException as exc:
        return _failure("tests", exc, tests)
    # The names say which behavioural evidence passed (own tests, doctests, characterization).
    verdict = {"ok": True, "tests_run": len(functions), "test_names": [n for n, _ in functions]}
    collect = request.get("collect")
    if collect:
        # A probe (``cross_check.py``) leaves what it saw in a list of strings under this name;
        # only strings travel back, so nothing the code made can run or lie about its type.
        found = namespace.get(collect)
        verdict["collected"] = [str(v) for v in found] if isinstance(found, list) else None
    return verdict


def _pytest(workdir: str) -> dict[str, Any]:
    import pytest

    # Third-party plugins stay out of the sandbox: only pytest itself collects the tests.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    tests_file = os.path.join(workdir, "tests.py")
    code = pytest.main([tests_file, "-q", "-p", "no:cacheprovider", "--no-header", "-rf"])
    return {"ok": code == 0, "exit_code": int(code), "phase": "pytest"}


def _exec(argv: list[str], workdir: str) -> None:
    os.chdir(os.path.join(workdir, "src"))
    os.execvp(argv[0], argv)


def _failure(phase: str, exc: BaseException, tests: str) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    test_line = None
    for frame in frames:
        if frame.filename == TESTS_FILENAME and frame.lineno:
            lines = tests.splitlines()
            if 0 < frame.lineno <= len(lines):
                test_line = lines[frame.lineno - 1].strip()
    location = None
    for frame in reversed(frames):
        ours = frame.filename == TESTS_FILENAME or frame.filename.endswith("/harness.py")
        if not ours and not frame.filename.startswith("<frozen"):
            location = {"file": frame.filename, "line": frame.lineno}
            break
    return {
        "ok": False,
        "phase": phase,
        "exc_type": type(exc).__name__,
        "message": "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:],
        "test_line": test_line,
        "location": location,
        "lineno": getattr(exc, "lineno", None),
    }


def _write_verdict(token: str, result: dict[str, Any], code: int) -> None:
    """The parent answers as soon as this line arrives (with ``code`` as the exit code), then
    kills the check's processes: nothing after the verdict can change it."""
    try:
        verdict = {"token": token, "result": result, "code": code}
        line = json.dumps(verdict, default=str).encode() + b"\n"
        while line:
            line = line[os.write(VERDICT_FD, line) :]
    except BaseException:
        os._exit(71)
