"""JavaScript and TypeScript atoms checked in a project of the files assembled so far: value
imports across files, ES modules and CommonJS, Node built-ins, ``tsconfig`` path aliases; and
the failures a project check must still see (a wrong import, a type error in the dependency)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from mge_pipeline.domain import AtomKind, ErrorCategory, Language, ValidationVerdict
from mge_pipeline.generation.faults import FaultKind, inject_fault
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.dispatch import LanguageDispatchValidator
from mge_pipeline.validation.levels.task import _convention
from mge_pipeline_tests.factories import make_atom

TYPES_TS = "export function double(x: number): number {\n  return x * 2;\n}\n"
TS_TESTS = "test('quadruples', () => assert.equal(quad(3), 12));\n"
JS_TESTS = "assert.equal(quad(3), 12);\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PythonSandbox]:
    shared = PythonSandbox(timeout_seconds=30.0)
    yield shared
    shared.close()


def check(
    sandbox: PythonSandbox, language: str, path: str, code: str, others: dict[str, str]
) -> ValidationVerdict:
    tests = TS_TESTS if language == "typescript" else JS_TESTS
    atom = make_atom(
        name="quad", language=language, file_path=path, signature="quad(x)", tests=tests
    )
    validator = LanguageDispatchValidator(sandbox, timeout_seconds=30.0)
    return asyncio.run(validator.validate(atom, code, {**others, path: code}))


@pytest.mark.parametrize(
    ("language", "path", "code", "others"),
    [
        pytest.param("typescript", "src/quad.ts",
                     "import { double } from './types';\n\n"
                     "export function quad(x: number): number {\n  return double(double(x));\n}\n",
                     {"src/types.ts": TYPES_TS}, id="ts-value-import"),
        pytest.param("typescript", "src/quad.ts",
                     "import { double } from './types.js';\n\n"
                     "export function quad(x: number): number {\n  return double(double(x));\n}\n",
                     {"src/types.ts": TYPES_TS}, id="ts-value-import-js-extension"),
        pytest.param("javascript", "src/quad.js",
                     "import { double } from './types.js';\n\n"
                     "export function quad(x) {\n  return double(double(x));\n}\n",
                     {"src/types.js": "export function double(x) {\n  return x * 2;\n}\n"},
                     id="js-esm"),
        pytest.param("javascript", "src/quad.js",
                     "const { double } = require('./types');\n\n"
                     "function quad(x) {\n  return double(double(x));\n}\n\n"
                     "module.exports = { quad };\n",
                     {"src/types.js": "function double(x) {\n  return x * 2;\n}\n\n"
                                      "module.exports = { double };\n"},
                     id="js-commonjs"),
        pytest.param("typescript", "src/quad.ts",
                     "import * as path from 'node:path';\n\n"
                     "export function quad(x: number): number {\n"
                     "  return path.join(String(x), 'a').length === 3 ? x * 4 : -1;\n}\n",
                     {}, id="ts-node-builtin"),
        pytest.param("typescript", "src/quad.ts",
                     "import { double } from '@lib/types';\n\n"
                     "export function quad(x: number): number {\n  return double(double(x));\n}\n",
                     {"lib/types.ts": TYPES_TS,
                      "tsconfig.json": '{"compilerOptions": {"baseUrl": ".", '
                                       '"paths": {"@lib/*": ["lib/*"]}, "strict": true}}'},
                     id="ts-path-alias"),
    ],
)  # fmt: skip
def test_an_atom_sees_the_program(
    sandbox: PythonSandbox, language: str, path: str, code: str, others: dict[str, str]
) -> None:
    verdict = check(sandbox, language, path, code, others)
    assert verdict.passed, verdict.issues


def test_a_missing_export_is_an_error(sandbox: PythonSandbox) -> None:
    code = (
        "import { triple } from './types';\n\n"
        "export function quad(x: number): number {\n  return triple(x);\n}\n"
    )
    verdict = check(sandbox, "typescript", "src/quad.ts", code, {"src/types.ts": TYPES_TS})
    assert not verdict.passed and verdict.category is ErrorCategory.TYPE
    assert "TS2305" in verdict.issues[0].message


def test_a_wrong_value_from_the_dependency_fails_the_tests(sandbox: PythonSandbox) -> None:
    code = (
        "import { double } from './types.js';\n\n"
        "export function quad(x) {\n  return double(double(x));\n}\n"
    )
    wrong = {"src/types.js": "export function double(x) {\n  return x + 2;\n}\n"}
    verdict = check(sandbox, "javascript", "src/quad.js", code, wrong)
    assert not verdict.passed and verdict.category is ErrorCategory.LOGIC


def test_strict_from_the_plans_tsconfig_applies(sandbox: PythonSandbox) -> None:
    code = "export function quad(x) {\n  return x * 4;\n}\n"
    loose = check(sandbox, "typescript", "src/quad.ts", code, {})
    strict = check(
        sandbox,
        "typescript",
        "src/quad.ts",
        code,
        {"tsconfig.json": '{"compilerOptions": {"strict": true}}'},
    )
    assert loose.passed, loose.issues
    assert not strict.passed and "TS7006" in strict.issues[0].message


@pytest.mark.parametrize("kind", list(FaultKind))
def test_every_script_fault_is_caught_by_the_check(sandbox: PythonSandbox, kind: FaultKind) -> None:
    """Faults are JS/TS-shaped (never Python rewrites of JS lines) and the project check sees
    each one for an atom with tests."""
    code = (
        "import { double } from './types';\n\n"
        "export function quad(x: number): number {\n  return double(x) + double(x);\n}\n"
    )
    assert check(sandbox, "typescript", "src/quad.ts", code, {"src/types.ts": TYPES_TS}).passed
    faulty = inject_fault(code, kind, random.Random(3), language=Language.TYPESCRIPT)
    assert faulty != code
    verdict = check(sandbox, "typescript", "src/quad.ts", faulty, {"src/types.ts": TYPES_TS})
    assert not verdict.passed, faulty


def test_javascript_naming_is_camel_case_not_snake_case() -> None:
    assert _convention(AtomKind.FUNCTION, "parseDuration", Language.JAVASCRIPT) is None
    assert _convention(AtomKind.FUNCTION, "module.exports", Language.JAVASCRIPT) is None
    assert _convention(AtomKind.FUNCTION, "parse_duration", Language.TYPESCRIPT) == "camelCase"
    assert _convention(AtomKind.FUNCTION, "parseDuration", Language.PYTHON) == "snake_case"
