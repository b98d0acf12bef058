"""Hand-written TypeScript and JavaScript plans run end to end: every case of the languages
that used to break (cross-file value imports, ES modules and CommonJS, Node built-ins,
overloads, enums, abstract classes, generators, default exports, two atoms importing the same
names) validates at fault rate 0, and the assembled output passes ``tsc --noEmit --strict``
and runs under Node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mge_pipeline.domain import MasterPlan
from mge_pipeline.validation.node_validator import find_typescript, which_node
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(which_node() is None or find_typescript() is None, reason="needs Node"),
]


def atom(atom_id: str, path: str, language: str, code: str, tests: str, **fields: Any) -> dict:
    return {
        "id": atom_id,
        "name": fields.pop("name", atom_id),
        "description": f"{atom_id}.",
        "language": language,
        "file_path": path,
        "kind": fields.pop("kind", "function"),
        "signature": code.strip().splitlines()[0],
        "depends_on": fields.pop("depends_on", []),
        "tests": tests,
        "reference_implementation": code,
        **fields,
    }


def plan(plan_id: str, atoms: list[dict], **fields: Any) -> MasterPlan:
    task = {"id": "t1", "name": "T1", "atoms": atoms}
    milestone = {"id": "m1", "name": "M1", "tasks": [task]}
    phase = {"id": "p1", "name": "P1", "milestones": [milestone]}
    return MasterPlan.model_validate({"id": plan_id, "name": plan_id, "phases": [phase], **fields})


KINDS = "src/kinds.ts"
USE = "src/use.ts"
TS_ATOMS = [
    atom("Kind", KINDS, "typescript",
         'export enum Kind {\n  Circle = "circle",\n  Square = "square",\n}\n',
         "test('enum', () => assert.equal(Kind.Circle, 'circle'));\n", kind="block"),
    atom("Shape", KINDS, "typescript",
         "export abstract class Shape {\n  abstract area(): number;\n"
         "  twice(): number {\n    return 2 * this.area();\n  }\n}\n",
         "class Unit extends Shape { area() { return 1; } }\n"
         "test('abstract', () => assert.equal(new Unit().twice(), 2));\n", kind="class"),
    atom("describe", KINDS, "typescript",
         "export function describe(x: number): string;\n"
         "export function describe(x: string): string;\n"
         "export function describe(x: number | string): string {\n"
         "  return typeof x === 'number' ? `n:${x}` : `s:${x}`;\n}\n",
         "test('overloads', () => assert.equal(describe(2), 'n:2'));\n"),
    atom("range", KINDS, "typescript",
         "export function* range(n: number): Generator<number> {\n"
         "  for (let i = 0; i < n; i++) yield i;\n}\n",
         "test('generator', () => assert.deepEqual([...range(3)], [0, 1, 2]));\n"),
    atom("total", KINDS, "typescript",
         "export default function total(values: number[]): number {\n"
         "  return values.reduce((a, b) => a + b, 0);\n}\n",
         "test('default export', () => assert.equal(total([1, 2]), 3));\n"),
    atom("label", USE, "typescript",
         "import total, { describe, Kind } from './kinds';\n"
         "import * as path from 'node:path';\n\n"
         "export function label(kind: Kind, values: number[]): string {\n"
         "  return path.join(kind, describe(total(values)));\n}\n",
         "test('cross-file', () => assert.equal(label(Kind.Square, [1, 2]), 'square/n:3'));\n",
         depends_on=["Kind", "describe", "total"]),
    atom("labels", USE, "typescript",
         "import { describe, Kind } from './kinds';\nimport { range } from './kinds';\n\n"
         "export function labels(n: number): string[] {\n"
         "  return [...range(n)].map((i) => `${Kind.Circle}-${describe(i)}`);\n}\n",
         "test('same imports', () => assert.deepEqual(labels(1), ['circle-n:0']));\n",
         depends_on=["Kind", "describe", "range"]),
]  # fmt: skip

JS_ATOMS = [
    atom("double", "esm/math.js", "javascript",
         "export function double(x) {\n  return x * 2;\n}\n",
         "assert.equal(double(2), 4);\n"),
    atom("quad", "esm/quad.js", "javascript",
         "import { double } from './math.js';\n\n"
         "export function quad(x) {\n  return double(double(x));\n}\n",
         "assert.equal(quad(2), 8);\n", depends_on=["double"]),
    atom("octo", "esm/quad.js", "javascript",
         "import { double } from './math.js';\n\n"
         "export function octo(x) {\n  return double(quad(x));\n}\n",
         "assert.equal(octo(1), 8);\n", depends_on=["double", "quad"]),
    atom("triple", "cjs/math.js", "javascript",
         "function triple(x) {\n  return x * 3;\n}\n",
         "assert.equal(triple(2), 6);\n"),
    atom("module.exports", "cjs/math.js", "javascript",
         "const { join } = require('node:path');\n\n"
         "module.exports = { triple, where: (x) => join('a', String(triple(x))) };\n",
         "assert.equal(module.exports.where(1), 'a/3');\n", kind="block", id="cjs_exports",
         depends_on=["triple"]),
    atom("nine", "cjs/use.js", "javascript",
         "const { triple } = require('./math');\n\n"
         "function nine(x) {\n  return triple(triple(x));\n}\n\nmodule.exports = { nine };\n",
         "assert.equal(nine(1), 9);\n", depends_on=["cjs_exports"]),
]  # fmt: skip


def _tools() -> tuple[str, Path]:
    node, typescript = which_node(), find_typescript()
    assert node is not None and typescript is not None
    return node, typescript.parents[2]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def _completed(run: Any, atoms: int) -> None:
    assert run.report is not None, run.step_events
    assert run.report["status"] == "completed", run.report.get("reason")
    assert run.report["atoms_validated"] == atoms
    assert run.success


def test_typescript_plan_rebuilds_strict_and_runnable(tmp_path: Path, database_url: str) -> None:
    run = run_plan(plan("tsplan", TS_ATOMS), tmp_path, database_url)
    _completed(run, len(TS_ATOMS))
    use = (run.output_dir / USE).read_text()
    assert use.count('from "./kinds"') == 1, use
    node, modules = _tools()
    tsc = [node, str(modules / "typescript" / "bin" / "tsc")]
    options = ["--strict", "--target", "es2022", "--module", "commonjs", "--types", "node",
               "--typeRoots", str(modules / "@types"), "--esModuleInterop"]  # fmt: skip
    checked = _run([*tsc, "--noEmit", *options, KINDS, USE], run.output_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = _run([*tsc, *options, "--outDir", "build", KINDS, USE], run.output_dir)
    assert built.returncode == 0, built.stdout
    script = "console.log(require('./build/use.js').labels(2).join(','))"
    ran = _run([node, "-e", script], run.output_dir)
    assert ran.stdout.strip() == "circle-n:0,circle-n:1", ran.stderr


def test_javascript_plan_esm_and_commonjs_rebuild_and_run(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(plan("jsplan", JS_ATOMS), tmp_path, database_url)
    _completed(run, len(JS_ATOMS))
    quad = (run.output_dir / "esm" / "quad.js").read_text()
    assert quad.count("import") == 1, quad
    node, _ = _tools()
    (run.output_dir / "esm" / "package.json").write_text(json.dumps({"type": "module"}))
    script = "import { octo } from './esm/quad.js'; console.log(octo(2));"
    esm = _run([node, "--input-type=module", "-e", script], run.output_dir)
    assert esm.stdout.strip() == "16", esm.stderr
    cjs = _run([node, "-e", "console.log(require('./cjs/use.js').nine(2))"], run.output_dir)
    assert cjs.stdout.strip() == "18", cjs.stderr


def test_a_duplicate_import_the_merge_cannot_hide_fails_the_run(
    tmp_path: Path, database_url: str
) -> None:
    """Two atoms binding one name from different modules: the program level sees it."""
    atoms = [
        atom("one", "a/one.ts", "typescript", "export const value = 1;\n", "", name="value"),
        atom("two", "a/two.ts", "typescript", "export const value = 2;\n", "", name="value"),
        atom("f", "a/use.ts", "typescript",
             "import { value } from './one';\n\nexport function f(): number {\n"
             "  return value;\n}\n", "", depends_on=["one"]),
        atom("g", "a/use.ts", "typescript",
             "import { value } from './two';\n\nexport function g(): number {\n"
             "  return value;\n}\n", "", depends_on=["two"]),
    ]  # fmt: skip
    run = run_plan(plan("dupplan", atoms), tmp_path, database_url)
    assert run.report is not None
    assert run.report["status"] == "failed" and not run.success
    assert run.report["atoms_validated"] == len(atoms), "each atom is right on its own"
    assert "TS2300" in json.dumps(run.report), run.report.get("reason")


TSCONFIG = json.dumps(
    {"compilerOptions": {"strict": True, "baseUrl": ".", "paths": {"@lib/*": ["src/lib/*"]}}}
)
ALIASED = [
    atom("half", "src/lib/half.ts", "typescript",
         "export function half(x: number): number {\n  return x / 2;\n}\n",
         "test('half', () => assert.equal(half(4), 2));\n"),
    atom("quarter", "src/use.ts", "typescript",
         "import { half } from '@lib/half';\n\n"
         "export function quarter(x: number): number {\n  return half(half(x));\n}\n",
         "test('alias', () => assert.equal(quarter(8), 2));\n", depends_on=["half"]),
]  # fmt: skip


def test_the_plans_own_tsconfig_decides_how_every_check_compiles(
    tmp_path: Path, database_url: str
) -> None:
    """A path alias exists only in the plan's ``tsconfig.json``: carried as a project file it
    is beside every check and in the output; without it the same atom cannot resolve it."""
    carried = plan("aliasplan", ALIASED, project_files={"tsconfig.json": TSCONFIG})
    run = run_plan(carried, _folder(tmp_path / "with"), database_url)
    _completed(run, len(ALIASED))
    assert json.loads((run.output_dir / "tsconfig.json").read_text())["compilerOptions"]["strict"]
    bare = run_plan(plan("bareplan", ALIASED), _folder(tmp_path / "without"), database_url)
    assert bare.report is not None and bare.report["status"] == "failed"
    quarter = next(a for a in bare.report["atoms"] if a["atom_id"] == "quarter")
    assert quarter["status"] == "failed"
    assert set(quarter["error_categories"]) == {"type"}, quarter  # TS2307: cannot find '@lib/half'
    assert next(a for a in bare.report["atoms"] if a["atom_id"] == "half")["status"] == "succeeded"


def _folder(path: Path) -> Path:
    path.mkdir()
    return path
