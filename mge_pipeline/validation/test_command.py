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

LAUNCHER = "__mge_test_command__.py"
NODE_PRELOAD = "__mge_test_command__.js"
MARKER = "MGE-EXERCISED: "
CALLED_MARKER = "MGE-CALLED: "
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
_SEEN = set()


def _profile(frame, event, arg):
    if event == "call":
        code = frame.f_code
        if code not in _SEEN:
            _SEEN.add(code)
            if _inside(code.co_filename) and not os.path.basename(code.co_filename).startswith(
                "__mge"
            ):
                _CALLED.add((os.path.relpath(code.co_filename, ROOT), code.co_qualname))


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
    sys.stderr.write("\n__CALLED__" + json.dumps(called, separators=(",", ":")) + "\n")
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
        staged[LAUNCHER] = source.replace("__CALLED__", CALLED_MARKER)
        return staged, ["python", LAUNCHER, *command[1:]]
    if runs_node(command):
        preload = _NODE_PRELOAD_SOURCE.replace("__MARKER__", MARKER)
        staged[NODE_PRELOAD] = preload.replace("__REBUILT__", rebuilt)
        return staged, [command[0], "--require", f"./{NODE_PRELOAD}", *command[1:]]
    return staged, command


def without_markers(output: str) -> str:
    """The command's own output, without the launcher's lines of what it loaded and called."""
    return "\n".join(
        line for line in output.splitlines() if not line.startswith((MARKER, CALLED_MARKER))
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
