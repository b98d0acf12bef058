"""Atomization over a large body of real code: counts, round trip, atoms per file, speed.

    .venv/bin/python benchmarks/atomization.py ROOT... [--jobs N] [--json results.json]

Every file under the roots whose extension is Python, TypeScript or JavaScript is atomized:
it either atomizes (and then has passed the round-trip check, or it would be reported as a
failure) or is skipped with a reason. For Python files the benchmark also builds the
one-file masterplan and assembles its reference implementations with the job's own assembly,
and checks the output's syntax tree against the original (``assembled identical``) or at
least that it compiles.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import re
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from mge_pipeline.atomization.atomizer import AtomizedFile, SkippedFile, atomize_file
from mge_pipeline.atomization.languages import EXTENSIONS
from mge_pipeline.atomization.plan import build_masterplan
from mge_pipeline.domain import Language
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.execution.assembly import assemble_files
from mge_pipeline.planning import build_dependency_graph


def _one(path: str) -> dict[str, object]:
    started = time.perf_counter()
    result = atomize_file(Path(path), Path(path).name)
    elapsed = time.perf_counter() - started
    if isinstance(result, SkippedFile):
        category = re.sub(r"\d+", "N", result.reason.split(":")[0].split(" (")[0])
        return {"skipped": category, "seconds": elapsed}
    units = result.decomposition.units
    record: dict[str, object] = {
        "language": result.decomposition.language.value,
        "lines": result.decomposition.source.count("\n") + 1,
        "atoms": len(units),
        "loc": sum(unit.loc for unit in units),
        "over_limit": sum(1 for unit in units if unit.whole_reason),
        "classes_kept_whole": result.classes_kept_whole,
        "seconds": elapsed,
    }
    if result.decomposition.language is Language.PYTHON:
        record["assembled"] = _assembled(result)
    record.update(_completeness(result))
    return record


def _completeness(file: AtomizedFile) -> dict[str, object]:
    """Each atom's context completeness and what it lacks, from the one-file masterplan."""
    try:
        built = build_masterplan([file], plan_id="bench", name="bench")
    except MasterPlanError:
        return {}
    infos = list(built.context.values())
    return {
        "completeness": [info.completeness for info in infos],
        "missing": dict(Counter(m for info in infos for m in info.missing)),
    }


def _assembled(file: AtomizedFile) -> str:
    try:
        plan = build_masterplan([file], plan_id="bench", name="bench").plan
    except MasterPlanError:
        return "no atom: defines no name (imports or bare statements only)"
    atoms = plan.atom_map()
    if not atoms:
        return "no atoms"
    codes = {atom_id: atom.reference_implementation or "" for atom_id, atom in atoms.items()}
    files = assemble_files(atoms, codes, build_dependency_graph(plan))
    output = next(iter(files.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rebuilt = ast.parse(output)
        except SyntaxError:
            return "does not compile"
        original = ast.parse(file.decomposition.source)
    return "identical" if ast.dump(original) == ast.dump(rebuilt) else "compiles"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    paths = sorted(
        str(p)
        for root in args.roots
        for p in root.rglob("*")
        if p.suffix.lower() in EXTENSIONS and p.is_file()
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        records = list(pool.map(_one, paths, chunksize=16))
    wall = time.perf_counter() - started
    summary = _summary(records, wall, args.jobs)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _completeness_summary(records: list[dict[str, object]]) -> dict[str, object]:
    values = [float(v) for r in records for v in r.get("completeness", [])]  # type: ignore[attr-defined]
    missing: Counter[str] = Counter()
    for record in records:
        missing.update(record.get("missing", {}))  # type: ignore[arg-type]
    if not values:
        return {}
    return {
        "atoms_scored": len(values),
        "mean_percent": round(100 * sum(values) / len(values), 1),
        "at_least_95_percent": round(100 * sum(1 for v in values if v >= 0.95) / len(values), 1),
        "missing_components": dict(missing.most_common()),
    }


def _summary(records: list[dict[str, object]], wall: float, jobs: int) -> dict[str, object]:
    done = [r for r in records if "skipped" not in r]
    skipped = Counter(str(r["skipped"]) for r in records if "skipped" in r)
    by_language: dict[str, dict[str, object]] = {}
    for language in sorted({str(r["language"]) for r in done}):
        mine = [r for r in done if r["language"] == language]
        atoms = sum(int(str(r["atoms"])) for r in mine)
        loc = sum(int(str(r["loc"])) for r in mine)
        lines = sum(int(str(r["lines"])) for r in mine)
        seconds = sum(float(str(r["seconds"])) for r in mine)
        entry: dict[str, object] = {
            "files_atomized": len(mine),
            "round_trip_passed": len(mine),
            "atoms": atoms,
            "atoms_per_file": round(atoms / len(mine), 1),
            "loc_per_atom": round(loc / atoms, 1) if atoms else 0,
            "atoms_over_15_loc_kept_whole": sum(int(str(r["over_limit"])) for r in mine),
            "files_with_classes_kept_whole": sum(1 for r in mine if r["classes_kept_whole"]),
            "lines": lines,
            "lines_per_second_one_core": round(lines / seconds) if seconds else 0,
        }
        entry["context_completeness"] = _completeness_summary(mine)
        assembled = Counter(str(r["assembled"]) for r in mine if "assembled" in r)
        if assembled:
            entry["assembled_output"] = dict(assembled.most_common())
        by_language[language] = entry
    return {
        "files": len(records),
        "atomized": len(done),
        "skipped": dict(skipped.most_common()),
        "round_trip_failures": skipped.get("round trip failed", 0),
        "by_language": by_language,
        "wall_seconds": round(wall, 1),
        "jobs": jobs,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "argv": sys.argv[1:],
    }


if __name__ == "__main__":
    sys.exit(main())
