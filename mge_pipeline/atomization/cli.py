"""``mge atomize`` and ``mge graph``: registered on the main parser by ``add_commands``."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from mge_pipeline.atomization.atomizer import AtomizedFile, SkippedFile, atomize_file, discover
from mge_pipeline.atomization.characterize import (
    RecordingError,
    attach_characterization,
    record_calls,
)
from mge_pipeline.atomization.completeness import completeness_by_language
from mge_pipeline.atomization.export import to_dot, to_mermaid
from mge_pipeline.atomization.graph import graph_statistics
from mge_pipeline.atomization.plan import build_masterplan
from mge_pipeline.atomization.plan_graph import plan_dependency_graph
from mge_pipeline.domain import AtomSpec, MasterPlan
from mge_pipeline.planning import load_masterplan

EXIT_OK, EXIT_NOTHING_ATOMIZED, EXIT_BAD_INPUT = 0, 2, 2


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    atomize = commands.add_parser("atomize", help="turn existing source files into a masterplan")
    atomize.add_argument("paths", nargs="+", type=Path, help="files or directories")
    atomize.add_argument("-o", "--output", type=Path, required=True, help="masterplan YAML")
    atomize.add_argument("--id", default=None, help="masterplan id (default: from the first path)")
    atomize.add_argument(
        "--root",
        type=Path,
        default=None,
        help="file paths in the plan are relative to this directory (default: each input's parent)",
    )
    atomize.add_argument(
        "--test-command",
        default=None,
        help="command run on the rebuilt files, e.g. 'python -m pytest -q /abs/path/tests'",
    )
    atomize.add_argument(
        "--project-file",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="a file carried into the plan as it is (tsconfig.json, package.json, a .d.ts), at "
        "its path relative to --root (default: its parent); repeatable",
    )
    atomize.add_argument(
        "--no-characterize",
        dest="characterize",
        action="store_false",
        help="do not record calls while the test command runs on the original code",
    )
    atomize.set_defaults(handler=run_atomize)

    graph = commands.add_parser("graph", help="dependency statistics of a masterplan")
    graph.add_argument("plan", type=Path)
    graph.add_argument("--dot", type=Path, default=None, help="write Graphviz DOT here")
    graph.add_argument("--mermaid", type=Path, default=None, help="write Mermaid here")
    graph.set_defaults(handler=run_graph)


def run_atomize(args: argparse.Namespace) -> int:
    project_files, problems = _project_files(args.project_file, args.root)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_BAD_INPUT
    atomized: list[AtomizedFile] = []
    for path, relative in discover(args.paths, root=args.root):
        outcome = atomize_file(path, relative)
        if isinstance(outcome, SkippedFile):
            print(f"skipped {outcome.path}: {outcome.reason}", file=sys.stderr)
        else:
            atomized.append(outcome)
    if not atomized:
        print("error: no file could be atomized", file=sys.stderr)
        return EXIT_NOTHING_ATOMIZED
    plan_id = args.id or _plan_id(args.paths[0])
    result = build_masterplan(
        atomized,
        plan_id=plan_id,
        name=f"Atomized {', '.join(str(p) for p in args.paths)}",
        test_command=shlex.split(args.test_command) if args.test_command else (),
        project_files=project_files,
    )
    for shown, reason in result.skipped:
        print(f"skipped {shown}: {reason}", file=sys.stderr)
    plan = result.plan
    if args.test_command and args.characterize:
        plan = _characterized(plan, atomized, shlex.split(args.test_command))
    document = plan.model_dump(mode="json", exclude_defaults=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    atoms = sum(1 for _ in plan.atoms())
    print(f"atomized {len(atomized)} files into {atoms} atoms: {args.output}")
    for edge in result.graph.removed:
        print(f"cycle broken: removed dependency {edge.describe()}")
    _print_rows(graph_statistics(result.graph).as_rows())
    _print_rows([c.as_row() for c in completeness_by_language(result.plan, result.context)])
    return EXIT_OK


def _characterized(
    plan: MasterPlan, atomized: list[AtomizedFile], command: list[str]
) -> MasterPlan:
    """Record calls while the test command runs on the original code; each function atom gets
    the recorded calls as tests, kept only when they pass on the original code in the sandbox."""
    import asyncio

    from mge_pipeline.execution import bundle_masterplan
    from mge_pipeline.execution.assembly import files_for_atom
    from mge_pipeline.validation import PythonSandbox
    from mge_pipeline.validation.python_validator import module_name_for

    python = [f for f in atomized if f.relative.endswith(".py")]
    try:
        calls = record_calls({str(Path(f.path).resolve()): f.relative for f in python}, command)
    except (RecordingError, OSError, subprocess.SubprocessError) as exc:
        print(f"characterization tests not recorded: {exc}", file=sys.stderr)
        return plan
    bundle = bundle_masterplan(plan)
    references = {a.id: a.reference_implementation or "" for a in plan.atoms()}
    sandbox = PythonSandbox()

    async def passes(atom: AtomSpec, tests: str) -> bool:
        files = files_for_atom(atom.id, references[atom.id], bundle.atoms, references, bundle.graph)
        outcome = await sandbox.run_tests(files, module_name_for(atom.file_path), tests)
        return bool(outcome.result and outcome.result.get("ok"))

    async def attach() -> tuple[MasterPlan, list[str]]:
        try:
            return await attach_characterization(plan, calls, passes)
        finally:
            sandbox.close()

    characterized, atoms = asyncio.run(attach())
    print(f"characterization tests: {len(atoms)} atoms, from calls recorded on the original code")
    return characterized


def run_graph(args: argparse.Namespace) -> int:
    plan = load_masterplan(args.plan)
    typed = plan_dependency_graph(plan)
    print(f"masterplan '{plan.id}'")
    _print_rows(graph_statistics(typed).as_rows())
    if args.dot:
        args.dot.write_text(to_dot(typed, name=plan.id))
        print(f"dot: {args.dot}")
    if args.mermaid:
        args.mermaid.write_text(to_mermaid(typed))
        print(f"mermaid: {args.mermaid}")
    return EXIT_OK


def _project_files(paths: list[Path], root: Path | None) -> tuple[dict[str, str], list[str]]:
    """Each ``--project-file`` read before anything is written, so a bad one loses nothing."""
    files: dict[str, str] = {}
    problems: list[str] = []
    for path in paths:
        base = (root or path.parent).resolve()
        if not path.resolve().is_relative_to(base):
            problems.append(f"--project-file {path}: not under the root {base}")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"--project-file {path}: cannot be read ({exc})")
            continue
        files[path.resolve().relative_to(base).as_posix()] = text
    return files, problems


def _plan_id(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", path.resolve().stem).strip("_") or "atomized"
    return stem if stem[0].isalpha() else f"atomized_{stem}"


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
