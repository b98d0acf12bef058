"""The atomic validator for JavaScript and TypeScript, run under Node in the sandbox.

Static checks are lexical (the spec's symbol is defined, dangerous calls, size). The atom's
module and its tests are joined into one check script (exports stripped, ``assert`` and ``test``
from Node's standard library provided), staged beside the files assembled so far, and the
TypeScript compiler checks and emits them as one project (``node_project``): syntax and type
diagnostics, value imports across files, ES modules and CommonJS, Node built-ins, the plan's
``tsconfig.json``. The script then runs under Node in the sandbox. When Node is missing, or the
compiler for a TypeScript atom, the check says it is unavailable and the atom fails with that
reason; JavaScript without the compiler falls back to ``node --check`` and a plain run.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shutil
import time
from pathlib import Path

from mge_pipeline.domain import (
    AtomKind,
    AtomSpec,
    ErrorCategory,
    EvidenceKind,
    Language,
    Severity,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.domain.atomicity import MAX_LOC
from mge_pipeline.generation.extraction import defines
from mge_pipeline.validation.checks.atomicity import OVERSIZE_FACTOR
from mge_pipeline.validation.checks.script_names import member_definitions, script_definitions
from mge_pipeline.validation.checks.subject import error, mentions, warning
from mge_pipeline.validation.node_project import project_argv
from mge_pipeline.validation.sandbox import PythonSandbox, SandboxOutcome

TYPESCRIPT_MODULE = Path("node_modules") / "typescript" / "lib" / "typescript.js"
CHECK_SCRIPT = "__mge_check__"
NODE_HEAP_MB = 256
_REEXPORT = re.compile(
    r"^\s*export\s*(?:\*[^;\n]*|(?:type\s*)?\{[^}]*\}\s*(?:from\s*['\"][^'\"]+['\"])?|=[^;\n]*);?"
    r"[ \t]*$",
    re.MULTILINE,
)
_EXPORT = re.compile(r"^(\s*)export\s+(default\s+)?", re.MULTILINE)
_DANGEROUS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"\beval\s*\("), "`eval` evaluates a string as code", ("eval",)),
    (re.compile(r"\bnew\s+Function\s*\("), "`new Function` compiles a string", ("eval",)),
    (re.compile(r"child_process"), "uses child_process (runs commands)", ("command", "shell")),
    (re.compile(r"\b(unlinkSync|rmSync|rmdirSync|unlink|rm)\s*\("), "deletes files", ("delete",)),
    (re.compile(r"""require\(\s*['"](node:)?(net|http|https|dgram)['"]|\bfetch\s*\("""),
     "uses the network", ("network", "http", "fetch")),
)  # fmt: skip
_CATEGORIES = (
    ("error TS1", ErrorCategory.SYNTAX),
    ("error TS", ErrorCategory.TYPE),
    ("SyntaxError", ErrorCategory.SYNTAX),
    ("ReferenceError", ErrorCategory.IMPORT),
    ("Cannot find module", ErrorCategory.IMPORT),
    ("TypeError", ErrorCategory.TYPE),
    ("AssertionError", ErrorCategory.LOGIC),
)
_ERROR_LINE = re.compile(r"^(\w*Error\b|\S*:\d+ error TS|error TS)")


@functools.cache
def which_node() -> str | None:
    return shutil.which("node")


@functools.cache
def find_typescript() -> Path | None:
    """The ``typescript`` package installed by ``npm install`` at the repository root."""
    roots = [Path(__file__).resolve().parents[2], Path.cwd().resolve()]
    for root in roots:
        for folder in (root, *root.parents):
            candidate = folder / TYPESCRIPT_MODULE
            if candidate.is_file():
                return candidate
    return None


class NodeAtomValidator:
    def __init__(
        self,
        sandbox: PythonSandbox,
        *,
        timeout_seconds: float | None = None,
        node: str | None = None,
        typescript: Path | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.timeout_seconds = timeout_seconds or sandbox.timeout_seconds
        self.node = node
        self.typescript = typescript

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        """Tooling is looked up on first use (once per process), never for Python atoms."""
        started = time.perf_counter()
        self.node = self.node or which_node()
        self.typescript = self.typescript or find_typescript()
        findings = [*self._unavailable(atom), *static_issues(atom, code)]
        issues = [i for i in findings if i.severity is Severity.ERROR]
        if not issues:
            issues = await self._run(atom, code, files)
        return ValidationVerdict(
            passed=not issues,
            issues=issues,
            warnings=[i for i in findings if i.severity is Severity.WARNING],
            duration_seconds=time.perf_counter() - started,
            evidence=script_evidence(atom) if not issues else (),
        )

    def _unavailable(self, atom: AtomSpec) -> list[ValidationIssue]:
        if self.node is None:
            message = f"Node.js is not installed, so {atom.language} atoms cannot be validated"
            return [error("tests", ErrorCategory.UNAVAILABLE, message)]
        if atom.language is Language.TYPESCRIPT and self.typescript is None:
            message = "the TypeScript compiler is not installed (run `npm install` at the root)"
            return [error("type_safety", ErrorCategory.UNAVAILABLE, message)]
        return []

    async def _run(self, atom: AtomSpec, code: str, files: dict[str, str]) -> list[ValidationIssue]:
        """The atom's check script runs inside a project of the files assembled so far."""
        assert self.node is not None
        typescript = atom.language is Language.TYPESCRIPT
        folder = posixpath.dirname(atom.file_path)
        script = posixpath.join(folder, CHECK_SCRIPT + (".ts" if typescript else ".js"))
        module = files.get(atom.file_path, code)
        staged = {**files, script: check_script(module, atom.tests, typescript=typescript)}
        if self.typescript is not None:
            sources = {**files, "tests" + posixpath.splitext(script)[1]: atom.tests}
            staged, argv = project_argv(
                self.node, NODE_HEAP_MB, self.typescript, staged, script, sources=sources
            )
        else:
            syntax = await self._node(staged, [self.node, "--check", script])
            if syntax.returncode != 0 or syntax.timed_out:
                return [_from_outcome(syntax, "syntax")]
            argv = [self.node, f"--max-old-space-size={NODE_HEAP_MB}", script]
        outcome = await self._node(staged, argv)
        if outcome.returncode == 0 and not outcome.timed_out:
            return []
        return [_from_outcome(outcome, "syntax" if _is_syntax(outcome) else "tests")]

    async def _node(self, files: dict[str, str], argv: list[str]) -> SandboxOutcome:
        return await self.sandbox.run_command(
            files, argv, timeout_seconds=self.timeout_seconds, limit_address_space=False
        )


def script_evidence(atom: AtomSpec) -> tuple[EvidenceKind, ...]:
    """A script's tests run as one file that fails on the first failing assertion, so tests
    that ran to the end with an assertion or a ``test(…)`` in them are the atom's own tests."""
    body = "\n".join(line for line in atom.tests.splitlines() if not line.strip().startswith("//"))
    return (EvidenceKind.OWN_TESTS,) if _SCRIPT_TEST.search(body) else ()


_SCRIPT_TEST = re.compile(r"\b(assert(\.\w+)?|test|it)\s*\(")


def static_issues(atom: AtomSpec, code: str) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if not defines_name(atom, code):
        message = f"the code does not define `{atom.name}` ({atom.kind}) at top level"
        issues.append(error("semantics", ErrorCategory.CONTEXT, message))
    for pattern, what, words in _DANGEROUS:
        match = pattern.search(code)
        if match:
            line = code.count("\n", 0, match.start()) + 1
            make = warning if mentions(atom, *words) else error
            issues.append(make("runtime_safety", ErrorCategory.SAFETY, what, line))
    loc = sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("//"))
    if loc > OVERSIZE_FACTOR * max(atom.estimated_loc, MAX_LOC):
        message = f"{loc} lines of code where an atom of about {atom.estimated_loc} was asked for"
        issues.append(error("atomicity", ErrorCategory.CONTEXT, message))
    elif loc > MAX_LOC:
        message = f"{loc} lines (at most {MAX_LOC})"
        issues.append(warning("atomicity", ErrorCategory.CONTEXT, message))
    return issues


def defines_name(atom: AtomSpec, code: str) -> bool:
    """Lexically first (cheap), then by syntax: enums, generators, CommonJS exports, members."""
    if defines(code, atom.name) or atom.name in script_definitions(code, atom.language):
        return True
    return atom.kind is AtomKind.METHOD and atom.name in member_definitions(code, atom.language)


def check_script(module: str, tests: str, *, typescript: bool) -> str:
    """Module and tests as one script; Node's ``assert`` and ``test`` unless already declared."""
    body = _EXPORT.sub(r"\1", _REEXPORT.sub("", module))
    prelude: list[str] = []
    for name, source in (("assert", "node:assert/strict"), ("test", "node:test")):
        if not re.search(rf"\b(const|let|var|function|import)\s+[{{\s]*{name}\b", body):
            binding = name if name == "assert" else "{ test }"
            prelude.append(f'const {binding} = require("{source}");\n')
    return "".join(prelude) + body + "\n;\n" + tests + "\n"


def _is_syntax(outcome: SandboxOutcome) -> bool:
    return "error TS1" in outcome.stderr_tail or "SyntaxError" in outcome.stderr_tail


def _tap_failure(lines: list[str]) -> str | None:
    """node:test reports failures as TAP: 'not ok N - title', then an 'error: |-' block."""
    start = next((i for i, line in enumerate(lines) if line.startswith("not ok")), None)
    if start is None:
        return None
    title = lines[start].split(" - ", 1)[-1]
    rest = lines[start + 1 :]
    at = next((i for i, line in enumerate(rest) if line.startswith("error:")), None)
    detail = " ".join(rest[at + 1 : at + 3]) if at is not None else ""
    name = next(
        (line.split(":", 1)[1].strip(" '") for line in rest if line.startswith("name:")), ""
    )
    return f"test '{title}' failed: {detail} ({name or 'error'})"


def _from_outcome(outcome: SandboxOutcome, check: str = "tests") -> ValidationIssue:
    if outcome.timed_out:
        return error(check, ErrorCategory.TIMEOUT, "did not finish within the time limit")
    output = outcome.stderr_tail.strip()
    category = next((c for marker, c in _CATEGORIES if marker in output), ErrorCategory.RUNTIME)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    tap = _tap_failure(lines)
    if tap:
        return error(check, category, tap[:500])
    first = next((i for i, line in enumerate(lines) if _ERROR_LINE.match(line)), None)
    if first is None:
        message = lines[-1] if lines else f"exit code {outcome.returncode}"
    else:
        message = " ".join(
            [lines[first], *(x for x in lines[first + 1 : first + 3] if not x.startswith("at "))]
        )
    return error(check, category, message[:500])
