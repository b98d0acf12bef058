"""Characterization tests: concrete calls recorded while the project's own tests run on the
original code, turned into per-atom tests.

An atomized module's functions usually come without tests of their own, so their validation
would be syntax, definitions and import only. Running the project's test command once on the
original code with a profiler that records, per module-level function, a few calls (arguments
and result) gives each such atom behaviour to be checked against. Only values whose ``repr``
reads back as an equal literal are kept (numbers, strings, bytes, None, booleans and
containers of them), each call's text is bounded, and calls that returned ``None`` are left
out (the profiler cannot tell a ``None`` result from an exception). Methods are not recorded:
their ``self`` is not a literal. Each recorded test is kept only if it passes on the original
code in the sandbox *with only what the atom's validation will have* (its dependencies'
original code), so a flaky or state-dependent call, or one that reaches a member of a later
atom (a cycle broken at atomization), never blocks the rebuild.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mge_pipeline.domain import AtomKind, AtomSpec, MasterPlan
from mge_pipeline.domain.evidence import CHARACTERIZATION_PREFIX

CALLS_PER_FUNCTION = 3
MAX_CALL_CHARS = 300
RECORD_TIMEOUT_SECONDS = 600.0
_SLUG = re.compile(r"[^A-Za-z0-9_]")

_RECORDER = r"""
import ast, atexit, json, os, runpy, sys, threading

WANTED = set(json.loads(os.environ.pop("MGE_RECORD_FILES")))
OUT = os.environ.pop("MGE_RECORD_OUT")
LIMIT, CHARS = int(os.environ.pop("MGE_RECORD_LIMIT")), int(os.environ.pop("MGE_RECORD_CHARS"))
CALLS = {}
STACK = {}


def literal(value):
    try:
        text = repr(value)
        return text if len(text) <= CHARS and ast.literal_eval(text) == value else None
    except Exception:
        return None


def profile(frame, event, arg):
    code = frame.f_code
    # Functions only (CO_OPTIMIZED: not a module or class body), at module level.
    if code.co_filename not in WANTED or not code.co_flags & 0x01:
        return
    if "." in code.co_qualname or "<" in code.co_qualname:
        return
    key = code.co_filename + "::" + code.co_qualname
    if event == "call":
        if len(CALLS.get(key, ())) >= LIMIT:
            return
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        args = [literal(frame.f_locals.get(n)) for n in names]
        if code.co_flags & 0x0C:  # *args or **kwargs: not replayable from the names alone
            args = [None]
        STACK[id(frame)] = (list(names), args)
    elif event == "return" and id(frame) in STACK:
        names, args = STACK.pop(id(frame))
        result = literal(arg) if arg is not None else None
        calls = CALLS.get(key, [])
        if result is not None and None not in args and len(calls) < LIMIT:
            call = {"args": dict(zip(names, args)), "result": result}
            if call not in calls:
                CALLS[key] = [*calls, call]


def dump():
    sys.setprofile(None)
    with open(OUT, "w") as handle:
        json.dump(CALLS, handle)


atexit.register(dump)
sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
sys.setprofile(profile)
threading.setprofile(profile)
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


@dataclass(frozen=True)
class RecordedCall:
    """One call of a module-level function: keyword arguments and result, as literal text."""

    arguments: tuple[tuple[str, str], ...]
    result: str


class RecordingError(Exception):
    """The test command could not be run under the recorder (not Python, or it crashed)."""


def record_calls(
    files: Mapping[str, str],
    test_command: Sequence[str],
    *,
    limit: int = CALLS_PER_FUNCTION,
    max_chars: int = MAX_CALL_CHARS,
    cwd: Path | None = None,
) -> dict[tuple[str, str], list[RecordedCall]]:
    """Run the project's (Python) test command on the original code; ``files`` maps each
    original file's absolute path to its path in the plan. Returns calls by (plan path, name).

    The original code is the user's own, run by their own test command as they would run it;
    the rebuilt code never runs here (it runs in the sandbox)."""
    if not test_command or Path(test_command[0]).name not in ("python", "python3"):
        raise RecordingError("only a Python test command (python …) can record calls")
    with tempfile.TemporaryDirectory(prefix="mge-record-") as scratch:
        recorder, out = Path(scratch) / "recorder.py", Path(scratch) / "calls.json"
        recorder.write_text(_RECORDER)
        roots = sorted({_root_of(path, relative) for path, relative in files.items()})
        path = os.pathsep.join([*roots, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env = {**os.environ, "PYTHONPATH": path, "MGE_RECORD_FILES": json.dumps(sorted(files)),
               "MGE_RECORD_OUT": str(out), "MGE_RECORD_LIMIT": str(limit),
               "MGE_RECORD_CHARS": str(max_chars)}  # fmt: skip
        argv = [sys.executable, str(recorder), *test_command[1:]]
        quiet = subprocess.DEVNULL
        subprocess.run(
            argv, cwd=cwd, env=env, timeout=RECORD_TIMEOUT_SECONDS,
            stdout=quiet, stderr=quiet, check=False,
        )  # fmt: skip
        if not out.exists():
            raise RecordingError("the test command ended before the recorder could write")
        raw: dict[str, list[dict[str, object]]] = json.loads(out.read_text())
    return _by_plan_path(raw, files)


def _root_of(path: str, relative: str) -> str:
    """The directory the plan's paths are relative to: there the modules import by name."""
    return str(Path(path).parents[relative.count("/")])


def _by_plan_path(
    raw: dict[str, list[dict[str, object]]], files: Mapping[str, str]
) -> dict[tuple[str, str], list[RecordedCall]]:
    found: dict[tuple[str, str], list[RecordedCall]] = {}
    for key, calls in raw.items():
        filename, _, name = key.partition("::")
        found[(files[filename], name)] = [_call(call) for call in calls]
    return found


def _call(call: dict[str, object]) -> RecordedCall:
    arguments = call.get("args")
    pairs = arguments.items() if isinstance(arguments, dict) else ()
    return RecordedCall(tuple((str(k), str(v)) for k, v in pairs), str(call.get("result")))


def characterization_tests(name: str, calls: Sequence[RecordedCall]) -> str:
    """One test function per recorded call, named so its evidence reads ``characterization``."""
    tests = []
    for index, call in enumerate(calls, start=1):
        arguments = ", ".join(f"{key}={value}" for key, value in call.arguments)
        tests.append(
            f"def {CHARACTERIZATION_PREFIX}{_SLUG.sub('_', name)}_{index}():\n"
            f"    assert {name}({arguments}) == {call.result}\n"
        )
    return "\n\n".join(tests)


PassesOnOriginal = Callable[[AtomSpec, str], Awaitable[bool]]
"""(atom, tests) → whether the tests pass on the original code of the atom and of what it
depends on in the plan (what its validation will have), in the sandbox."""


async def attach_characterization(
    plan: MasterPlan,
    calls: Mapping[tuple[str, str], Sequence[RecordedCall]],
    passes_on_original: PassesOnOriginal,
) -> tuple[MasterPlan, list[str]]:
    """The plan with each module-level function's recorded calls added to its tests, each
    atom's set kept only if it passes on the original code. Returns the plan and the ids of
    the atoms that got tests."""
    added: dict[str, str] = {}
    for atom in plan.atoms():
        recorded = calls.get((atom.file_path, atom.name))
        if not recorded or atom.kind is not AtomKind.FUNCTION or atom.context.parent_scope:
            continue
        tests = characterization_tests(atom.name, recorded)
        if await passes_on_original(atom, tests):
            added[atom.id] = tests
    document = plan.model_dump(mode="json")
    for phase in document["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                for atom_doc in task["atoms"]:
                    extra = added.get(atom_doc["id"])
                    if extra:
                        own = atom_doc.get("tests") or ""
                        atom_doc["tests"] = f"{own.rstrip()}\n\n\n{extra}" if own.strip() else extra
    return MasterPlan.model_validate(document), list(added)
