"""JavaScript and TypeScript atoms: syntax, types, tests under Node in the sandbox, categories,
dangerous patterns, and tooling that is missing reported as unavailable — never a pass."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from mge_pipeline.domain import ErrorCategory, ValidationVerdict
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation import node_validator as nv
from mge_pipeline.validation.dispatch import LanguageDispatchValidator
from mge_pipeline_tests.factories import make_atom

JS = {
    "language": "javascript",
    "file_path": "pkg/core.js",
    "signature": "function add(a, b)",
    "tests": "assert.equal(add(1, 2), 3);\n",
}
TS = {
    "language": "typescript",
    "file_path": "pkg/core.ts",
    "signature": "function add(a: number, b: number): number",
    "tests": "test('adds', () => assert.equal(add(1, 2), 3));\n",
}
JS_GOOD = "export function add(a, b) {\n  return a + b;\n}\n"
TS_GOOD = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PythonSandbox]:
    shared = PythonSandbox(timeout_seconds=20.0)
    yield shared
    shared.close()


def validate(sandbox: PythonSandbox, fields: dict[str, Any], code: str) -> ValidationVerdict:
    atom = make_atom(**fields)
    validator = LanguageDispatchValidator(sandbox, timeout_seconds=20.0)
    return asyncio.run(validator.validate(atom, code, {atom.file_path: code}))


@pytest.mark.parametrize(
    ("fields", "code", "category", "fragment"),
    [
        pytest.param(JS, JS_GOOD, None, "", id="js-passes"),
        pytest.param(JS, "function add(a, b) {\n  return a - b;\n}\n", ErrorCategory.LOGIC,
                     "AssertionError", id="js-wrong-result"),
        pytest.param(JS, "function add(a, b) {\n  return a + b;\n", ErrorCategory.SYNTAX,
                     "expected", id="js-syntax"),
        pytest.param(JS, "function add(a, b) {\n  return c + b;\n}\n", ErrorCategory.IMPORT,
                     "c is not defined", id="js-undefined"),
        pytest.param(JS, "function plus(a, b) {\n  return a + b;\n}\n", ErrorCategory.CONTEXT,
                     "does not define `add`", id="js-missing-definition"),
        pytest.param(JS, "function add(a, b) {\n  return eval('a + b');\n}\n",
                     ErrorCategory.SAFETY, "eval", id="js-eval"),
        pytest.param(TS, TS_GOOD, None, "", id="ts-passes"),
        pytest.param(TS, "function add(a: number, b: number): number {\n  return 'x';\n}\n",
                     ErrorCategory.TYPE, "TS2322", id="ts-type-error"),
        pytest.param(TS, "function add(a: number, b: number): number {\n  return a - b;\n}\n",
                     ErrorCategory.LOGIC, "AssertionError", id="ts-wrong-result"),
    ],
)  # fmt: skip
def test_javascript_and_typescript_atoms(
    sandbox: PythonSandbox,
    fields: dict[str, Any],
    code: str,
    category: ErrorCategory | None,
    fragment: str,
) -> None:
    verdict = validate(sandbox, fields, code)
    assert verdict.passed is (category is None), verdict.issues
    if category is not None:
        assert verdict.category is category
        assert fragment in verdict.issues[0].message


def test_an_endless_loop_times_out(sandbox: PythonSandbox) -> None:
    atom = make_atom(**JS)
    code = "function add(a, b) {\n  while (true) {}\n}\n"
    validator = nv.NodeAtomValidator(sandbox, timeout_seconds=1.0)
    verdict = asyncio.run(validator.validate(atom, code, {atom.file_path: code}))
    assert verdict.category is ErrorCategory.TIMEOUT


def test_missing_node_is_unavailable_not_passed(
    sandbox: PythonSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nv, "which_node", lambda: None)
    verdict = validate(sandbox, JS, JS_GOOD)
    assert not verdict.passed and verdict.category is ErrorCategory.UNAVAILABLE
    assert "Node.js is not installed" in verdict.issues[0].message


def test_missing_compiler_is_unavailable_not_passed(
    sandbox: PythonSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nv, "find_typescript", lambda: None)
    verdict = validate(sandbox, TS, TS_GOOD)
    assert not verdict.passed and verdict.category is ErrorCategory.UNAVAILABLE
    assert "npm install" in verdict.issues[0].message


def test_exports_are_stripped_and_node_helpers_provided_once() -> None:
    script = nv.check_script("export const assert = 1;\nexport default function f() {}\n", "",
                             typescript=False)  # fmt: skip
    assert "export" not in script
    assert 'require("node:assert/strict")' not in script
    assert 'const { test } = require("node:test");' in script
