"""Test adequacy by mutation: do an atom's tests notice when its validated code is wrong?

A test suite that passes the code *and* a mutant of it (``> 0`` become ``> 1``, ``+`` become
``-``, a statement gone) did not pin that behaviour down: the atom's tests are weak there, and
a model's wrong answer of that shape would have shipped. Mutants are few, cheap and chosen
deterministically (round-robin over the four operators, spread over the code), and every one
runs in the sandbox like any generated code. A surviving mutant may be equivalent to the code
(no test could tell them apart); it is reported, never failed on.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mge_pipeline.constants import DEFAULT_MAX_MUTANTS
from mge_pipeline.domain import AtomSpec, Language, MutationOutcome
from mge_pipeline.validation.python_validator import module_name_for
from mge_pipeline.validation.sandbox import PythonSandbox

MUTANT_TIMEOUT_SECONDS = 3.0
"""A mutant that loops (a flipped loop condition) is killed by this limit, and counts as caught."""

_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.GtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_OPERATOR_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.Add: "+",
    ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/", ast.Mod: "%",
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    """One small change of the code: what it is (for the report) and the changed code."""

    description: str
    code: str


def mutants(
    code: str, limit: int = DEFAULT_MAX_MUTANTS, *, both_ways: bool = False
) -> list[Mutant]:
    """Up to ``limit`` distinct mutants, taking each operator in turn so that a few mutants
    still cover comparisons, constants, operators and statements. ``both_ways`` adds integer
    constants one *lower* as a fifth operator: an answer with ``n < 3`` where ``n < 2`` was
    meant is told apart from its fix only by that mutant (the cross-check's weakness probe)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    operators = (*_OPERATORS, _off_by_minus_one) if both_ways else _OPERATORS
    pools = [list(operator(tree)) for operator in operators]
    chosen: list[Mutant] = []
    seen = {ast.dump(tree)}
    while len(chosen) < limit and any(pools):
        for pool in pools:
            if pool and len(chosen) < limit:
                mutant = _spread_pick(pool)
                if mutant is not None and mutant[0] not in seen:
                    seen.add(mutant[0])
                    chosen.append(mutant[1])
    return chosen


def _spread_pick(pool: list[tuple[str, Mutant]]) -> tuple[str, Mutant] | None:
    """The middle candidate first, then the rest: mutants spread over the code."""
    return pool.pop(len(pool) // 2) if pool else None


def _bodies(tree: ast.Module) -> Iterator[ast.AST]:
    """Nodes inside functions only: a mutant of a signature or an import is not a behaviour."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in node.body:
                yield from ast.walk(statement)


def _mutate(
    tree: ast.Module, match: Callable[[ast.AST], bool], change: Callable[[ast.AST], str]
) -> Iterator[tuple[str, Mutant]]:
    """Each matching node changed on its own copy of the tree."""
    count = sum(1 for node in _bodies(tree) if match(node))
    for index in range(count):
        copied = copy.deepcopy(tree)
        node = [n for n in _bodies(copied) if match(n)][index]
        what = change(node)
        line = getattr(node, "lineno", None)
        yield ast.dump(copied), Mutant(f"{what} (line {line})", ast.unparse(copied) + "\n")


def _flipped_comparisons(tree: ast.Module) -> Iterator[tuple[str, Mutant]]:
    def match(node: ast.AST) -> bool:
        return isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_FLIPS

    def change(node: ast.AST) -> str:
        assert isinstance(node, ast.Compare)
        old = type(node.ops[0])
        node.ops[0] = _COMPARE_FLIPS[old]()
        return f"flipped comparison `{_SYMBOLS[old]}` → `{_SYMBOLS[_COMPARE_FLIPS[old]]}`"

    return _mutate(tree, match, change)


def _off_by_one(tree: ast.Module) -> Iterator[tuple[str, Mutant]]:
    def match(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and type(node.value) is int

    def change(node: ast.AST) -> str:
        assert isinstance(node, ast.Constant) and isinstance(node.value, int)
        node.value += 1
        return f"off-by-one constant `{node.value - 1}` → `{node.value}`"

    return _mutate(tree, match, change)


def _off_by_minus_one(tree: ast.Module) -> Iterator[tuple[str, Mutant]]:
    def match(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and type(node.value) is int

    def change(node: ast.AST) -> str:
        assert isinstance(node, ast.Constant) and isinstance(node.value, int)
        node.value -= 1
        return f"off-by-one constant `{node.value + 1}` → `{node.value}`"

    return _mutate(tree, match, change)


def _swapped_operators(tree: ast.Module) -> Iterator[tuple[str, Mutant]]:
    def match(node: ast.AST) -> bool:
        return isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _OPERATOR_SWAPS

    def change(node: ast.AST) -> str:
        assert isinstance(node, ast.BinOp | ast.AugAssign)
        old = type(node.op)
        node.op = _OPERATOR_SWAPS[old]()
        return f"swapped operator `{_SYMBOLS[old]}` → `{_SYMBOLS[_OPERATOR_SWAPS[old]]}`"

    return _mutate(tree, match, change)


def _removed_statements(tree: ast.Module) -> Iterator[tuple[str, Mutant]]:
    """A statement of a function body replaced by ``pass`` (docstrings and lone ``pass`` kept)."""

    def match(node: ast.AST) -> bool:
        return isinstance(node, ast.stmt) and not _inert(node)

    def change(node: ast.AST) -> str:
        assert isinstance(node, ast.stmt)
        shown = ast.unparse(node).splitlines()[0][:60]
        for name in node._fields:
            if hasattr(node, name):
                delattr(node, name)
        node.__class__ = ast.Pass
        return f"removed statement `{shown}`"

    return _mutate(tree, match, change)


def _inert(node: ast.stmt) -> bool:
    is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return is_docstring or isinstance(node, ast.Pass | ast.FunctionDef | ast.AsyncFunctionDef)


_OPERATORS = (_flipped_comparisons, _off_by_one, _swapped_operators, _removed_statements)


async def run_mutants(
    sandbox: PythonSandbox,
    atom: AtomSpec,
    code: str,
    files_for: Callable[[str], dict[str, str]],
    *,
    limit: int = DEFAULT_MAX_MUTANTS,
    timeout_seconds: float = MUTANT_TIMEOUT_SECONDS,
    both_ways: bool = False,
    first_survivor: bool = False,
    background: bool = False,
) -> MutationOutcome | None:
    """Run the atom's tests against its mutants in the sandbox; None when not applicable (not
    Python, no tests, mutation off, or nothing to mutate). ``first_survivor`` stops at the
    first mutant that survives (enough to call the tests weak); ``tested`` then counts the
    mutants run. ``background``: grading a settled atom, so validations go first."""
    if limit <= 0 or atom.language is not Language.PYTHON or not atom.tests.strip():
        return None
    found = mutants(code, limit, both_ways=both_ways)
    if not found:
        return None
    survivors: list[str] = []
    for index, mutant in enumerate(found):
        if first_survivor and survivors:
            return MutationOutcome(tested=index, survivors=survivors)
        outcome = await sandbox.run_tests(
            files_for(mutant.code),
            module_name_for(atom.file_path),
            atom.tests,
            timeout_seconds=timeout_seconds,
            background=background,
        )
        if not outcome.timed_out and outcome.result is not None and outcome.result.get("ok"):
            survivors.append(mutant.description)
    return MutationOutcome(tested=len(found), survivors=survivors)
