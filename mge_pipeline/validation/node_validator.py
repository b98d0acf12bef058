"""The atomic validator for JavaScript and TypeScript, run under Node in the sandbox.

Static checks are lexical (the spec's symbol is defined, dangerous calls, size); syntax comes
from ``node --check`` (JavaScript) or the TypeScript compiler, which also gives TypeScript its
type diagnostics. The atom's module and its tests are joined into one check script (exports
stripped, ``assert`` and ``test`` from Node's standard library provided), TypeScript is
transpiled by the compiler, and the script runs under Node in the sandbox. When Node or the
compiler is missing, the check says it is unavailable and the atom fails with that reason.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shutil
import time
from pathlib import Path

from mge_pipeline.domain import (
    AtomSpec,
    ErrorCategory,
    Language,
    Severity,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.domain.atomicity import MAX_LOC
from mge_pipeline.generation.extraction import defines
from mge_pipeline.validation.checks.atomicity import OVERSIZE_FACTOR
from mge_pipeline.validation.checks.subject import error, mentions, warning
from mge_pipeline.validation.sandbox import PythonSandbox, SandboxOutcome

TYPESCRIPT_MODULE = Path("node_modules") / "typescript" / "lib" / "typescript.js"
CHECK_SCRIPT = "__mge_check__"
DRIVER = "__mge_tsc__.js"
NODE_HEAP_MB = 256
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
_TSC_DRIVER = r"""
const fs = require("fs"), path = require("path");
const ts = require(process.argv[2]);
const file = path.resolve(process.argv[3]);
const options = { noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
  lib: ["lib.es2022.d.ts"], types: [], skipLibCheck: true, strict: false };
const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options));
let failed = false;
for (const d of diagnostics) {
  if (d.category !== ts.DiagnosticCategory.Error) continue;
  failed = true;
  const where = d.file ? `${path.basename(d.file.fileName)}:${
    d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
  console.log(`${where} error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}
if (failed) process.exit(2);
const js = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions: {
  module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
const out = file.replace(/\.ts$/, ".js");
fs.writeFileSync(out, js);
require(out);
"""
_TS_DECLARATIONS = (
    "declare function require(name: string): any;\n"
    "declare const console: any;\ndeclare const process: any;\n"
)


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
        assert self.node is not None
        typescript = atom.language is Language.TYPESCRIPT
        folder = posixpath.dirname(atom.file_path)
        script = posixpath.join(folder, CHECK_SCRIPT + (".ts" if typescript else ".js"))
        module = files.get(atom.file_path, code)
        staged = {**files, script: check_script(module, atom.tests, typescript=typescript)}
        heap = f"--max-old-space-size={NODE_HEAP_MB}"
        if typescript:
            staged[DRIVER] = _TSC_DRIVER
            argv = [self.node, heap, DRIVER, str(self.typescript), script]
        else:
            syntax = await self._node(staged, [self.node, "--check", script])
            if syntax.returncode != 0 or syntax.timed_out:
                return [_from_outcome(syntax, "syntax")]
            argv = [self.node, heap, script]
        outcome = await self._node(staged, argv)
        return [] if outcome.returncode == 0 and not outcome.timed_out else [_from_outcome(outcome)]

    async def _node(self, files: dict[str, str], argv: list[str]) -> SandboxOutcome:
        return await self.sandbox.run_command(
            files, argv, timeout_seconds=self.timeout_seconds, limit_address_space=False
        )


def static_issues(atom: AtomSpec, code: str) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if not defines(code, atom.name):
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


def check_script(module: str, tests: str, *, typescript: bool) -> str:
    """Module and tests as one script; Node's ``assert`` and ``test`` unless already declared."""
    body = _EXPORT.sub(r"\1", module)
    prelude = [_TS_DECLARATIONS] if typescript else []
    for name, source in (("assert", "node:assert/strict"), ("test", "node:test")):
        if not re.search(rf"\b(const|let|var|function|import)\s+[{{\s]*{name}\b", body):
            binding = name if name == "assert" else "{ test }"
            prelude.append(f'const {binding} = require("{source}");\n')
    return "".join(prelude) + body + "\n;\n" + tests + "\n"


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
