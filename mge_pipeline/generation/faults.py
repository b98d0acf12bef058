"""Realistic faults the simulated model injects into reference code.

Each fault mirrors a failure real models produce and the validator must catch: code that does
not parse, a forgotten import, an off-by-one or flipped comparison, a stray exception, a loop
that never ends. AST rewrites lose comments, which is fine for an answer that must fail anyway.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable
from enum import StrEnum

from mge_pipeline.domain import Language


class FaultKind(StrEnum):
    SYNTAX_ERROR = "syntax_error"
    MISSING_IMPORT = "missing_import"
    WRONG_RESULT = "wrong_result"
    EXCEPTION = "exception"
    ENDLESS_LOOP = "endless_loop"


_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
_BINOP_FLIPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
}


def inject_fault(
    code: str, kind: FaultKind, rng: random.Random, language: Language | None = None
) -> str:
    """A faulty version of ``code``: AST-level faults for Python, text edits for other languages.

    Without ``language`` the code is taken for Python when it parses as Python; a JavaScript
    line such as ``exports.x = 1;`` does, so callers that know the language pass it.
    """
    if language is not None and language is not Language.PYTHON:
        return script_fault(code, kind, rng)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return _text_fault(code, kind)
    return _PYTHON_FAULTS[kind](code, tree, rng)


def _syntax_error(code: str, tree: ast.Module, rng: random.Random) -> str:
    lines = code.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"\s*(async\s+def|def|class|if|for|while)\b.*:\s*$", line):
            lines[index] = line.rstrip()[:-1]
            return "\n".join(lines) + "\n"
    return code.rstrip() + "\n)\n"


def _missing_import(code: str, tree: ast.Module, rng: random.Random) -> str:
    """Drop an import whose names the code uses, as a model that forgets one does.

    Nothing else is added: a line that used a module nobody imported was junk that the
    standard-library auto-fix turned into passing code. Code that imports nothing it uses
    cannot forget an import; it gets a wrong result instead (``applied_fault`` says so).
    """
    needed = needed_imports(tree)
    if not needed:
        return _wrong_result(code, tree, rng)
    tree.body.remove(rng.choice(needed))
    return ast.unparse(tree) + "\n"


def needed_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Top-level imports that bind a name the rest of the code reads."""
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    return [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(_bound_name(alias) in used for alias in node.names)
    ]


def _bound_name(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def applied_fault(code: str, kind: FaultKind, language: Language | None = None) -> FaultKind:
    """The fault ``inject_fault`` really applies for ``kind``: a missing import where the code
    imports nothing it uses is a wrong result (benchmarks count faults by what was done)."""
    if kind is not FaultKind.MISSING_IMPORT:
        return kind
    if language not in (None, Language.PYTHON):
        return kind if _SCRIPT_IMPORT.search(code) else FaultKind.WRONG_RESULT
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return kind
    return kind if needed_imports(tree) else FaultKind.WRONG_RESULT


def _wrong_result(code: str, tree: ast.Module, rng: random.Random) -> str:
    candidates = [
        node
        for node in ast.walk(tree)
        if (isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_FLIPS)
        or (isinstance(node, ast.BinOp) and type(node.op) in _BINOP_FLIPS)
        or (isinstance(node, ast.Constant) and type(node.value) is int)
    ]
    if not candidates:
        return _exception(code, tree, rng)
    node = rng.choice(candidates)
    if isinstance(node, ast.Compare):
        node.ops[0] = _COMPARE_FLIPS[type(node.ops[0])]()
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_FLIPS[type(node.op)]()
    elif isinstance(node, ast.Constant) and isinstance(node.value, int):
        node.value += 1
    return ast.unparse(tree) + "\n"


def _exception(code: str, tree: ast.Module, rng: random.Random) -> str:
    _insert_first(tree, ast.parse('raise RuntimeError("unexpected state")').body[0])
    return ast.unparse(tree) + "\n"


def _endless_loop(code: str, tree: ast.Module, rng: random.Random) -> str:
    _insert_first(tree, ast.parse("while True:\n    pass").body[0])
    return ast.unparse(tree) + "\n"


def _insert_first(tree: ast.Module, statement: ast.stmt) -> None:
    """Into the first function body if there is one, else at module level after imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            position = 1 if ast.get_docstring(node) else 0
            node.body.insert(position, statement)
            return
    position = sum(1 for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))
    tree.body.insert(position, statement)


_PYTHON_FAULTS: dict[FaultKind, Callable[[str, ast.Module, random.Random], str]] = {
    FaultKind.SYNTAX_ERROR: _syntax_error,
    FaultKind.MISSING_IMPORT: _missing_import,
    FaultKind.WRONG_RESULT: _wrong_result,
    FaultKind.EXCEPTION: _exception,
    FaultKind.ENDLESS_LOOP: _endless_loop,
}


def _text_fault(code: str, kind: FaultKind) -> str:
    """Faults for TypeScript/JavaScript (or Python that did not parse) by plain text edits."""
    if kind is FaultKind.SYNTAX_ERROR:
        return code.replace("{", "", 1)
    if kind is FaultKind.WRONG_RESULT and "<" in code:
        return code.replace("<", "<=", 1)
    if kind is FaultKind.ENDLESS_LOOP:
        return code.replace("{", "{ while (true) {}", 1)
    return code.replace("{", '{ throw new Error("unexpected state");', 1)


_SCRIPT_IMPORT = re.compile(
    r"^\s*(import\b.*|(const|let|var)\s+.*=\s*require\(.*\).*)$", re.MULTILINE
)
_SCRIPT_FLIPS = (("===", "!=="), ("!==", "==="), ("<=", "<"), (">=", ">"), (" < ", " <= "),
                 (" > ", " >= "), (" + ", " - "), (" - ", " + "), (" * ", " / "))  # fmt: skip
_SCRIPT_NUMBER = re.compile(r"(?<![\w.$])(\d+)(?![\w.])")


def script_fault(code: str, kind: FaultKind, rng: random.Random) -> str:
    """JavaScript/TypeScript faults, each one that changes the code whatever its shape."""
    if kind is FaultKind.SYNTAX_ERROR:
        return code.replace("{", "", 1) if "{" in code else code.rstrip() + "\n)\n"
    if kind is FaultKind.MISSING_IMPORT:
        imports = list(_SCRIPT_IMPORT.finditer(code))
        if imports:
            dropped = rng.choice(imports)
            return code[: dropped.start()] + code[dropped.end() :]
        return script_fault(code, FaultKind.WRONG_RESULT, rng)
    if kind is FaultKind.WRONG_RESULT:
        body = code[code.find("{") + 1 :] if "{" in code else code
        offset = len(code) - len(body)
        flips = [(body.find(old), old, new) for old, new in _SCRIPT_FLIPS if old in body]
        if flips:
            at, old, new = min(flips)
            return code[: offset + at] + new + code[offset + at + len(old) :]
        number = _SCRIPT_NUMBER.search(body)
        if number:
            at = offset + number.start()
            return code[:at] + str(int(number.group(1)) + 1) + code[offset + number.end() :]
        return _into_first_body(code, 'throw new Error("unexpected state");')
    if kind is FaultKind.ENDLESS_LOOP:
        return _into_first_body(code, "while (true) {}")
    return _into_first_body(code, 'throw new Error("unexpected state");')


def _into_first_body(code: str, statement: str) -> str:
    """After the first ``{`` that opens a function body, else as the first statement."""
    match = re.search(r"(\)\s*(:\s*[^{;]+)?|=>\s*|\b(else|try|do))\s*\{", code)
    if match is None:
        imports = list(_SCRIPT_IMPORT.finditer(code))
        at = imports[-1].end() + 1 if imports else 0
        return code[:at] + statement + "\n" + code[at:]
    return code[: match.end()] + " " + statement + code[match.end() :]
