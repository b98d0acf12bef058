"""Check 5, runtime safety: patterns that are dangerous to run or signal code that never ends.

Code execution from strings, shell commands, file deletion and network access are errors
unless the spec asks for that capability (then a warning, so a reviewer still sees it); bare
``except``, raising the recursion limit and ``while True`` without ``break`` are warnings;
a function that calls itself with no condition anywhere is an error, since it cannot stop.
"""

from __future__ import annotations

import ast

from mge_pipeline.domain import ErrorCategory, ValidationIssue
from mge_pipeline.validation.checks.names import FUNCTION_NODES, calls_to
from mge_pipeline.validation.checks.subject import CheckSubject, error, mentions, warning

CHECK = "runtime_safety"

# callee → (what it is, spec words that make it expected)
_DANGEROUS_CALLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "eval": ("evaluates a string as code", ("eval",)),
    "exec": ("executes a string as code", ("exec",)),
    "os.system": ("runs a shell command", ("shell", "command")),
    "os.popen": ("runs a shell command", ("shell", "command")),
    "os.remove": ("deletes a file", ("delete", "remove")),
    "os.unlink": ("deletes a file", ("delete", "remove", "unlink")),
    "os.rmdir": ("deletes a directory", ("delete", "remove")),
    "shutil.rmtree": ("deletes a directory tree", ("delete", "remove")),
    "socket.socket": ("opens a network socket", ("socket", "network")),
    "socket.create_connection": ("opens a network connection", ("socket", "network")),
    "urllib.request.urlopen": ("makes a network request", ("http", "url", "network")),
}
_DELETING_METHODS = ("unlink", "rmdir")
_NETWORK_MODULES = ("socket", "urllib.request", "http.client", "requests", "httpx", "aiohttp")


def check_runtime_safety(subject: CheckSubject) -> list[ValidationIssue]:
    issues = _dangerous_calls(subject) + _network_imports(subject)
    for node in ast.walk(subject.tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            message = "bare `except:` also catches KeyboardInterrupt and SystemExit"
            issues.append(warning(CHECK, ErrorCategory.SAFETY, message, node.lineno))
        elif isinstance(node, ast.While) and _endless(node):
            message = "`while True` without `break` or `return`: it can only end by raising"
            issues.append(warning(CHECK, ErrorCategory.TIMEOUT, message, node.lineno))
        elif isinstance(node, FUNCTION_NODES):
            issues += _recursion(node)
    return issues


def _flag(subject: CheckSubject, what: str, words: tuple[str, ...], line: int) -> ValidationIssue:
    if mentions(subject.atom, *words):
        return warning(CHECK, ErrorCategory.SAFETY, f"{what} (the spec asks for it)", line)
    return error(CHECK, ErrorCategory.SAFETY, f"{what}, which the spec does not ask for", line)


def _dangerous_calls(subject: CheckSubject) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for callee, call in calls_to(subject.tree):
        if callee in _DANGEROUS_CALLS:
            what, words = _DANGEROUS_CALLS[callee]
            issues.append(_flag(subject, f"`{callee}` {what}", words, call.lineno))
        elif callee.startswith("subprocess.") and _shell_true(call):
            issues.append(_flag(subject, f"`{callee}` with shell=True", ("shell",), call.lineno))
        elif callee.endswith(_DELETING_METHODS) and "." in callee:
            issues.append(
                _flag(subject, f"`{callee}` deletes files", ("delete", "remove"), call.lineno)
            )
    return issues


def _network_imports(subject: CheckSubject) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    prefixes = tuple(m + "." for m in _NETWORK_MODULES)
    words = ("network", "http", "socket", "url")
    for node in ast.walk(subject.tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module in _NETWORK_MODULES or module.startswith(prefixes):
                what = f"imports `{module}` (network access)"
                issues.append(_flag(subject, what, words, node.lineno))
    return issues


def _shell_true(call: ast.Call) -> bool:
    return any(
        k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def _endless(loop: ast.While) -> bool:
    if not (isinstance(loop.test, ast.Constant) and loop.test.value is True):
        return False
    return not any(isinstance(n, ast.Break | ast.Return) for n in ast.walk(loop))


def _recursion(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ValidationIssue]:
    recursive = any(callee == function.name for callee, _ in calls_to(function))
    branching = (
        ast.If,
        ast.IfExp,
        ast.Match,
        ast.While,
        ast.For,
        ast.Try,
        ast.BoolOp,
        ast.comprehension,
    )
    if recursive and not any(isinstance(n, branching) for n in ast.walk(function)):
        message = f"`{function.name}` calls itself unconditionally: the recursion cannot end"
        return [error(CHECK, ErrorCategory.SAFETY, message, function.lineno)]
    limit = [c for callee, c in calls_to(function) if callee == "sys.setrecursionlimit"]
    if limit:
        message = "raises the recursion limit: deep recursion should be a loop"
        return [warning(CHECK, ErrorCategory.SAFETY, message, limit[0].lineno)]
    return []
