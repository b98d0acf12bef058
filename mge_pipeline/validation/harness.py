"""Runs inside the sandbox process: limits itself, imports the atom's module, runs its tests.

Started as ``python -I harness.py ROOT MODULE TESTS_FILE RESULT_FILE MEMORY_MB CPU_SECONDS``;
with MODULE ``--pytest`` it runs TESTS_FILE under pytest instead (plan-level acceptance tests);
with MODULE ``--exec`` it replaces itself with the command whose argv is the JSON in TESTS_FILE,
run in ROOT (a plan's own test command), after setting the same limits.
It only uses the standard library and writes one JSON verdict, so the parent never has to
parse tracebacks out of free-form output.
"""

import json
import resource
import sys
import traceback

TESTS_FILENAME = "<tests>"


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _failure(phase: str, exc: BaseException, tests: str) -> dict[str, object]:
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


def main() -> int:
    root, module_name, tests_file, result_file, memory_mb, cpu_seconds = sys.argv[1:7]
    _limit(int(memory_mb), int(cpu_seconds))
    sys.path.insert(0, root)
    if module_name == "--pytest":
        return _run_pytest(tests_file, result_file)
    if module_name == "--exec":
        _exec(root, tests_file)
    with open(tests_file, encoding="utf-8") as handle:
        tests = handle.read()
    result: dict[str, object] = {"ok": True, "tests_run": 0}
    try:
        import importlib

        module = importlib.import_module(module_name)
    except BaseException as exc:
        result = _failure("import", exc, tests)
    else:
        namespace = vars(module)
        before = set(namespace)
        try:
            exec(compile(tests, TESTS_FILENAME, "exec"), namespace)
            test_functions = [
                value
                for name, value in list(namespace.items())
                if name.startswith("test_") and name not in before and callable(value)
            ]
            for function in test_functions:
                function()
            result["tests_run"] = len(test_functions)
        except BaseException as exc:
            result = _failure("tests", exc, tests)
    with open(result_file, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


def _exec(root: str, argv_file: str) -> None:
    import os

    with open(argv_file, encoding="utf-8") as handle:
        argv = json.load(handle)
    os.chdir(root)
    os.environ["PYTHONPATH"] = root
    os.execvp(argv[0], argv)


def _run_pytest(tests_file: str, result_file: str) -> int:
    import pytest

    code = pytest.main([tests_file, "-q", "-p", "no:cacheprovider", "--no-header", "-rf"])
    with open(result_file, "w", encoding="utf-8") as handle:
        json.dump({"ok": code == 0, "exit_code": int(code), "phase": "pytest"}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
