"""Atomizing TypeScript and JavaScript by the language's own rules: overloads travel with their
implementation, enums, abstract classes, generators, default exports and CommonJS exports are
named atoms the validator recognises, signatures come from the declaration."""

from __future__ import annotations

from mge_pipeline.atomization.plan import build_masterplan
from mge_pipeline.domain import AtomKind, AtomSpec, Language
from mge_pipeline.validation.checks.script_names import member_definitions, script_definitions
from mge_pipeline.validation.node_validator import defines_name, static_issues
from mge_pipeline_tests.atomization.helpers import atomize

TS = """\
/** Kinds of shape. */
export enum Kind {
  Circle = "circle",
}

/**
 * A shape.
 */
export abstract class Shape {
  abstract area(): number;
}

export function describe(x: number): string;
export function describe(x: string): string;
export function describe(x: number | string): string {
  return String(x);
}

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

export default function total(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
"""
JS = """\
var s = 1000;

/**
 * Parse or format.
 */
module.exports = function (val) {
  return fmt(val);
};

exports.extra = 1;

function fmt(ms) {
  return ms + 'ms';
}
"""


def atoms_of(source: str, name: str) -> dict[str, AtomSpec]:
    plan = build_masterplan([atomize(source, name)], plan_id="p", name="p").plan
    return {atom.name: atom for atom in plan.atoms()}


def test_typescript_constructs_become_named_atoms_with_real_signatures() -> None:
    atoms = atoms_of(TS, "shapes.ts")
    assert sorted(atoms) == ["Kind", "Shape", "describe", "range", "total"]
    assert atoms["Kind"].signature == "export enum Kind {"
    assert atoms["Shape"].signature == "export abstract class Shape {"
    assert atoms["describe"].signature.startswith("export function describe(x: number): string;")
    assert "return String(x)" in (atoms["describe"].reference_implementation or "")
    for atom in atoms.values():
        code = atom.reference_implementation or ""
        assert defines_name(atom, code), atom.name
        assert not static_issues(atom, code), atom.name


def test_commonjs_exports_are_atoms_and_edges_are_real_references() -> None:
    atoms = atoms_of(JS, "index.js")
    assert {"module.exports", "exports.extra", "fmt"} <= set(atoms)
    exported = atoms["module.exports"]
    assert exported.kind is AtomKind.FUNCTION
    assert exported.signature == "module.exports = function (val) {"
    names = {a.id: a.name for a in atoms.values()}
    assert [names[d] for d in exported.depends_on or []] == ["fmt"]
    assert not atoms["s"].depends_on, "a constant block depends on nothing"
    for atom in atoms.values():
        assert defines_name(atom, atom.reference_implementation or ""), atom.name


def test_method_overloads_travel_with_their_implementation() -> None:
    body = "\n".join(f"  other{i}(): number {{\n    return {i};\n  }}" for i in range(8))
    source = (
        "export class Big {\n"
        "  get(x: number): number;\n  get(x: string): string;\n"
        "  get(x: number | string): number | string {\n    return x;\n  }\n"
        f"{body}\n}}\n"
    )
    atoms = atoms_of(source, "big.ts")
    get = atoms["get"].reference_implementation or ""
    assert get.count("get(") == 3, get
    assert atoms["get"].kind is AtomKind.METHOD


def test_script_definitions_by_syntax() -> None:
    code = (
        "export enum Kind { A }\nexport abstract class Shape {}\n"
        "export function* range() {}\nexport default function* gen() {}\n"
        "declare const foo: number;\nconst { a, b: c } = require('x');\n"
        "module.exports = {};\nexports.parse = parse;\nexport default 3;\n"
    )
    assert script_definitions(code, Language.TYPESCRIPT) >= {
        "Kind", "Shape", "range", "gen", "foo", "a", "c",
        "module.exports", "exports.parse", "default",
    }  # fmt: skip
    assert "parse" not in script_definitions(code, Language.TYPESCRIPT)
    assert script_definitions("export = thing;\n", Language.TYPESCRIPT) == {"module.exports"}
    assert member_definitions("area(): number {\n  return 1;\n}\n", Language.TYPESCRIPT) == {"area"}


def test_completeness_without_false_missing_flags() -> None:
    """Generics a unit declares, JS globals and typed signatures or guards are not gaps."""
    ts = (
        "export function first<T, K extends keyof T>(items: T[], key: K): T[K] | undefined {\n"
        "  if (items.length === 0) throw new RangeError('empty');\n"
        "  return items[0][key];\n}\n"
    )
    js = "function wait(ms) {\n  if (!isFinite(ms)) throw new TypeError('ms');\n  return ms;\n}\n"
    py = (
        "def half(x: int) -> float:\n    if x < 0:\n        raise ValueError(x)\n    return x / 2\n"
    )
    plan = build_masterplan(
        [atomize(ts, "first.ts"), atomize(js, "wait.js"), atomize(py, "half.py")],
        plan_id="p",
        name="p",
    )
    by_name = {a.name: plan.context[a.id] for a in plan.plan.atoms()}
    assert by_name["first"].missing == ("test cases",)
    assert any(c.startswith("typed signature") for c in by_name["first"].conditions)
    assert by_name["wait"].missing == ("test cases",)
    assert by_name["wait"].conditions[0].startswith("guard: if (!isFinite(ms)) throw")
    assert by_name["half"].missing == ("test cases",)
    assert len(by_name["half"].conditions) == 2
