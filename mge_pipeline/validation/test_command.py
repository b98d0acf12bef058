"""The plan's test command made to test the rebuilt code, and to say what it exercised.

A package's submodule atomized without its ``__init__.py`` left the installed copy of the
package importable, and the command passed against it. Here a Python command runs through a
small launcher: a module whose top-level name the output provides is looked up in the output
only — before an installed copy, and before the original sources a test runner may put first
on ``sys.path`` — so a package rebuilt without its ``__init__.py`` is the rebuilt namespace, and
a module it lacks is missing rather than taken from the installed copy. Python and Node commands
both print, at exit, the rebuilt files they loaded; a command that loaded none of them did not
test the rebuilt code and fails.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LAUNCHER = "__mge_test_command__.py"
NODE_PRELOAD = "__mge_test_command__.js"
MARKER = "MGE-EXERCISED: "
CALLED_MARKER = "MGE-CALLED: "
TESTS_MARKER = "MGE-TESTS: "
PYTEST_PLUGIN = "__mge_pytest_plugin__.py"
TESTS_LINE_BUDGET = 6000
"""Characters of the per-test line: the sandbox keeps only the last 16 000 of the output."""
MAX_FAILED_TESTS = 20
_PLUGIN_STAND_IN = (
    '"""MGE records tests in its test-command launcher; a pytest started apart from it (a\n'
    'subprocess of the tests) loads this empty stand-in instead."""\n'
)
_LAUNCHER_SOURCE = r"""
import atexit, importlib.abc, importlib.machinery, json, os, runpy, sys, threading

ROOT = os.getcwd()
OWN = set(json.loads(__OWN__))
REBUILT = set(json.loads(__REBUILT__))


def _inside(path):
    return bool(path) and os.path.abspath(path).startswith(ROOT + os.sep)


# A top-level name the output provides is looked up in the output only (whatever a test
# runner put before it on sys.path); its submodules then resolve inside it.
class _RebuiltOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in OWN:
            return None
        if path is None:
            spec = importlib.machinery.PathFinder.find_spec(name, [ROOT])
            if spec is None:
                raise ImportError(f"{name} is not among the rebuilt files")
            return spec
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        where = spec and (spec.origin or next(iter(spec.submodule_search_locations or []), ""))
        if spec is not None and where and where != "namespace" and not _inside(where):
            raise ImportError(f"{name} would be imported from {where}, not the rebuilt files")
        return spec


# Functions of the rebuilt files that ran, as (file, qualified name): an atom's code is
# exercised by the command only if its function (or a method of its class) was called.
_CALLED = set()
_CODES = {}
_UNSEEN = object()
# Under pytest, the same per test: the test running now, and what each failing test called.
_TEST = [None]
_TEST_CALLED = set()
_PASSED, _FAILED = [], {}


def _entry(code):
    name = code.co_filename  # "<frozen os>", "<string>": no file, and relative to nothing
    if not name.startswith("<") and _inside(name) and not os.path.basename(name).startswith(
        "__mge"
    ):
        return (os.path.relpath(code.co_filename, ROOT), code.co_qualname)
    return None


def _profile(frame, event, arg):
    if event == "call":
        code = frame.f_code
        entry = _CODES.get(code, _UNSEEN)
        if entry is _UNSEEN:
            entry = _CODES[code] = _entry(code)
            if entry is not None:
                _CALLED.add(entry)
        if entry is not None and _TEST[0] is not None:
            _TEST_CALLED.add(entry)


# A pytest plugin, loaded by name through PYTEST_PLUGINS by any pytest.main in this process:
# it tells the profiler which test runs, and keeps the outcome of each.
def _pytest_configure(config):
    os.environ.pop("PYTEST_PLUGINS", None)  # a pytest the tests start themselves lacks it


def _pytest_runtest_logstart(nodeid, location):
    _TEST[0] = nodeid
    _TEST_CALLED.clear()


def _pytest_runtest_logreport(report):
    if report.failed:
        _FAILED.setdefault(report.nodeid, None)
    elif report.when == "call" and report.passed:
        _PASSED.append(report.nodeid)


def _pytest_runtest_logfinish(nodeid, location):
    if nodeid in _FAILED and _FAILED[nodeid] is None:
        _FAILED[nodeid] = sorted(_TEST_CALLED)
    _TEST[0] = None
    _TEST_CALLED.clear()


# Already imported, so pytest could not rewrite its asserts (it has none): it says so without
# the warning a user's -W error would turn into a failure.
_PLUGIN = type(sys)("__mge_pytest_plugin__", "MGE's per-test recorder. PYTEST_DONT_REWRITE")
for _name in ("configure", "runtest_logstart", "runtest_logreport", "runtest_logfinish"):
    setattr(_PLUGIN, "pytest_" + _name, globals()["_pytest_" + _name])
sys.modules[_PLUGIN.__name__] = _PLUGIN
os.environ["PYTEST_PLUGINS"] = _PLUGIN.__name__


# Failing tests with what they called, then passing ones, within the budget of characters:
# the failing tests' calls are dropped first (null: not known), then the passing names.
def _tests_line(budget=__BUDGET__):
    passed = [p for p in _PASSED if p not in _FAILED]
    failed = {
        test: (None if called is None else [list(c) for c in called])
        for test, called in list(_FAILED.items())[:__MAX_FAILED__]
    }
    record = {"failed": failed, "passed": passed, "complete": len(_FAILED) <= __MAX_FAILED__}
    line = json.dumps(record, separators=(",", ":"))
    for test in reversed(list(failed)):
        if len(line) <= budget:
            break
        failed[test] = None
        line = json.dumps(record, separators=(",", ":"))
    if len(line) > budget:
        record["passed"], record["complete"] = None, False
        line = json.dumps(record, separators=(",", ":"))
    return line


def _report():
    sys.setprofile(None)
    loaded = {
        os.path.relpath(m.__file__, ROOT).replace(os.sep, "/")
        for m in list(sys.modules.values())
        if _inside(getattr(m, "__file__", None) or "")
    }
    files = sorted(loaded & REBUILT)
    called = {}
    for file, name in sorted(_CALLED):
        called.setdefault(file, []).append(name)
    # Last the smallest, bounded lines: a long called line must not push them out of the tail.
    sys.stderr.write("\n__CALLED__" + json.dumps(called, separators=(",", ":")) + "\n")
    if _PASSED or _FAILED:
        sys.stderr.write("\n__TESTS__" + _tests_line() + "\n")
    sys.stderr.write("\n__MARKER__" + json.dumps(files) + "\n")
    sys.stderr.flush()


sys.path[:] = [ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != ROOT]
sys.meta_path.insert(0, _RebuiltOnly())
atexit.register(_report)
sys.setprofile(_profile)
threading.setprofile(_profile)
args = sys.argv[1:]
if args[:1] == ["-m"]:
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
elif args[:1] == ["-c"]:
    sys.argv = ["-c", *args[2:]]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
"""
_NODE_PRELOAD_SOURCE = r"""
const path = require("path");
const root = process.cwd();
const rebuilt = new Set(__REBUILT__);
process.on("exit", () => {
  const files = Object.keys(require.cache)
    .filter((f) => f.startsWith(root + path.sep))
    .map((f) => path.relative(root, f).split(path.sep).join("/"))
    .filter((f) => rebuilt.has(f)).sort();
  process.stderr.write("\n__MARKER__" + JSON.stringify(files) + "\n");
});
"""


def top_level_names(files: Mapping[str, str]) -> list[str]:
    """The packages and modules the output provides, by their first path component."""
    names = set()
    for path in files:
        if not path.endswith(".py"):
            continue
        first = path.split("/", 1)[0]
        names.add(first.removesuffix(".py") if "/" not in path else first)
    return sorted(names)


def isolated_command(
    files: Mapping[str, str], argv: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Files and argv that run ``argv`` against the rebuilt files only, reporting what loaded."""
    staged = dict(files)
    command = list(argv)
    # Only the output's own files count as exercised, not test files a command writes itself.
    rebuilt = json.dumps(sorted(files))
    if command[:1] == ["python"]:
        own = json.dumps(json.dumps(top_level_names(files)))
        source = _LAUNCHER_SOURCE.replace("__OWN__", own).replace("__MARKER__", MARKER)
        source = source.replace("__REBUILT__", json.dumps(rebuilt))
        source = source.replace("__TESTS__", TESTS_MARKER)
        source = source.replace("__BUDGET__", str(TESTS_LINE_BUDGET))
        source = source.replace("__MAX_FAILED__", str(MAX_FAILED_TESTS))
        staged[LAUNCHER] = source.replace("__CALLED__", CALLED_MARKER)
        staged[PYTEST_PLUGIN] = _PLUGIN_STAND_IN
        return staged, ["python", LAUNCHER, *command[1:]]
    if runs_node(command):
        preload = _NODE_PRELOAD_SOURCE.replace("__MARKER__", MARKER)
        staged[NODE_PRELOAD] = preload.replace("__REBUILT__", rebuilt)
        return staged, [command[0], "--require", f"./{NODE_PRELOAD}", *command[1:]]
    return staged, command


def without_markers(output: str) -> str:
    """The command's own output, without the launcher's lines of what it loaded and called."""
    return "\n".join(
        line
        for line in output.splitlines()
        if not line.startswith((MARKER, CALLED_MARKER, TESTS_MARKER))
    )


def describe_command(argv: Sequence[str], limit: int = 120) -> str:
    """A command as a person reads it in a reason or a log line: a test command that carries
    its test files inline (``node -e <script>``) is shown by its start, not its whole text."""
    shown = " ".join(" ".join(part.split()) for part in argv)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def runs_node(argv: Sequence[str]) -> bool:
    """Node reserves more address space than the sandbox's limit allows; it gets a heap cap."""
    return bool(argv) and posixpath.basename(argv[0]) == "node"


def exercised_files(output: str) -> list[str] | None:
    """The rebuilt files the command loaded, or None when it did not say (not a known runner,
    or its output was cut before the line)."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            try:
                files = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return [str(f) for f in files] if isinstance(files, list) else None
    return None


def called_functions(output: str) -> set[tuple[str, str]] | None:
    """The rebuilt functions a Python command called, as (file, qualified name), or None when
    it did not say (a Node command, or its output was cut before the line)."""
    for line in reversed(output.splitlines()):
        if line.startswith(CALLED_MARKER):
            try:
                by_file = json.loads(line[len(CALLED_MARKER) :])
            except ValueError:
                return None
            if not isinstance(by_file, dict):
                return None
            return {(str(f), str(n)) for f, names in by_file.items() for n in names}
    return None


@dataclass(frozen=True)
class PerTestOutcomes:
    """What a pytest run under the launcher said per test: the tests that passed (None when the
    list did not fit in the output) and, per failing test, the rebuilt functions it called as
    (file, qualified name) — None for a test whose calls did not fit. ``complete`` is false
    when more tests failed than were listed."""

    passed: tuple[str, ...] | None
    failed: dict[str, frozenset[tuple[str, str]] | None]
    complete: bool


def per_test_outcomes(output: str) -> PerTestOutcomes | None:
    """The per-test record of a Python command that ran pytest, or None (not pytest, or the
    line was cut)."""
    for line in reversed(output.splitlines()):
        if not line.startswith(TESTS_MARKER):
            continue
        try:
            record = json.loads(line[len(TESTS_MARKER) :])
            failed = {
                str(test): None
                if called is None
                else frozenset((str(file), str(name)) for file, name in called)
                for test, called in record["failed"].items()
            }
            passed = record["passed"]
            return PerTestOutcomes(
                None if passed is None else tuple(str(p) for p in passed),
                failed,
                bool(record["complete"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
    return None
