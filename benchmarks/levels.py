"""Plan-level validation benchmark: ``validate_levels`` over N atoms, old code against new.

    .venv/bin/python benchmarks/levels.py                          # 400, 800, 1600, 3200 atoms
    .venv/bin/python benchmarks/levels.py --sizes 200 --repeat 1   # smoke test
    .venv/bin/python benchmarks/levels.py --old-ref 10283a4 --old-root /tmp/levels-old

The plan is the orchestration benchmark's synthetic masterplan (``orchestration.py``'s
``build_masterplan``: N atoms in 10 waves over 5 modules, each function calling one or two of
the previous wave, imported from the earlier module when it lives there). Its codes are the
reference implementations and its files are assembled once, here, with the job's own assembly;
both versions then validate exactly the same input.

Each measurement runs in its own subprocess: the old code from a pinned copy of
``mge_pipeline`` (``git archive OLD_REF mge_pipeline`` extracted into ``--old-root``, put
first on ``PYTHONPATH``), the new from this worktree (or ``--new-root``), interleaved per size and repeat. The
sandbox is the real ``PythonSandbox``; the time spent inside its ``run_command`` (the
milestone's import of its modules; the synthetic tasks have no test command) is measured too,
so ``levels`` below is the whole call minus the sandbox. Both versions must return the same
levels, scores and issues; the script fails otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WAVES = 10
FILES = 5


def ensure_old_copy(ref: str, root: Path) -> None:
    """Extract the pinned ``mge_pipeline`` once; an existing copy is reused as it is."""
    if (root / "mge_pipeline" / "__init__.py").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "mge_pipeline"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)


def write_input(atoms: int, directory: Path) -> Path:
    """The plan, its codes and its assembled files, as JSON both versions read."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from orchestration import build_masterplan

    from mge_pipeline.domain import MasterPlan
    from mge_pipeline.execution.assembly import assemble_files
    from mge_pipeline.execution.plan_bundle import bundle_masterplan

    plan = MasterPlan.model_validate(build_masterplan(atoms, WAVES, files=FILES))
    codes = {a.id: a.reference_implementation or "" for a in plan.atoms()}
    files = assemble_files(plan.atom_map(), codes, bundle_masterplan(plan).graph)
    path = directory / f"levels-{atoms}.json"
    payload = {"plan": plan.model_dump(mode="json"), "codes": codes, "files": files}
    path.write_text(json.dumps(payload))
    return path


def worker(path: Path) -> dict[str, Any]:
    """One timed ``validate_levels`` call, in whichever ``mge_pipeline`` is first on the path."""
    import mge_pipeline
    from mge_pipeline.domain import MasterPlan
    from mge_pipeline.validation import PythonSandbox
    from mge_pipeline.validation.levels import validate_levels

    payload = json.loads(path.read_text())
    plan = MasterPlan.model_validate(payload["plan"])
    sandbox = PythonSandbox()
    spent = {"seconds": 0.0, "calls": 0}
    run_command = sandbox.run_command

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await run_command(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["calls"] += 1

    sandbox.run_command = timed  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        results = asyncio.run(validate_levels(plan, payload["codes"], payload["files"], sandbox))
        total = time.perf_counter() - started
    finally:
        sandbox.close()
    summary = [
        [r.level.value, r.scope_id, r.passed, r.score]
        + [[i.severity.value, i.check, i.message, i.atom_ids] for i in r.issues]
        for r in results
    ]
    return {
        "package": str(Path(mge_pipeline.__file__).parent),
        "total": total,
        "sandbox": spent["seconds"],
        "sandbox_calls": spent["calls"],
        "issues": sum(len(r.issues) for r in results),
        "digest": hashlib.sha256(json.dumps(summary).encode()).hexdigest()[:16],
    }


def measure(path: Path, pythonpath: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="400,800,1600,3200")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--old-ref", default="10283a4")
    parser.add_argument("--old-root", type=Path, default=Path("/tmp/levels-old"))
    parser.add_argument(
        "--new-root", type=Path, default=ROOT, help="the new mge_pipeline's parent directory"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    ensure_old_copy(args.old_ref, args.old_root)
    print(machine())
    versions = {"old": args.old_root, "new": args.new_root}
    print(
        f"{'atoms':>6} {'old s':>8} {'new s':>8} {'ratio':>7} "
        f"{'old levels':>11} {'new levels':>11} {'ratio':>7} {'sandbox s':>10} {'issues':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="levels-bench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            path = write_input(size, Path(tmp))
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
            for _ in range(args.repeat):
                for name, pythonpath in versions.items():
                    runs[name].append(measure(path, pythonpath))
            _report(size, runs, versions)
    return 0


def _report(size: int, runs: dict[str, list[dict[str, Any]]], versions: dict[str, Path]) -> None:
    for name, pythonpath in versions.items():
        packages = {r["package"] for r in runs[name]}
        if packages != {str(pythonpath / "mge_pipeline")}:
            raise SystemExit(f"{name} ran {packages}, not {pythonpath}")
    digests = {r["digest"] for rs in runs.values() for r in rs}
    if len(digests) != 1:
        raise SystemExit(f"{size} atoms: old and new disagree ({digests})")

    def median(name: str, key: str) -> float:
        return statistics.median(
            r["total"] - r["sandbox"] if key == "levels" else r[key] for r in runs[name]
        )

    old, new = median("old", "total"), median("new", "total")
    old_levels, new_levels = median("old", "levels"), median("new", "levels")
    sandbox = statistics.median(r["sandbox"] for rs in runs.values() for r in rs)
    print(
        f"{size:>6} {old:>8.2f} {new:>8.2f} {old / new:>6.1f}x "
        f"{old_levels:>11.2f} {new_levels:>11.2f} {old_levels / new_levels:>6.1f}x "
        f"{sandbox:>10.2f} {runs['new'][0]['issues']:>7}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
