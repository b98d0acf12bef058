"""Deterministic auto-fixes: each repair alone, repairs that must not happen, and the retry loop
recording a repaired answer as such instead of spending another call on it."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.domain import AtomStatus, ValidationVerdict
from mge_pipeline.execution import AtomJob, InMemoryCostGuard, run_atom
from mge_pipeline.generation import GenerationRequest, GenerationResponse, price_for
from mge_pipeline.validation.autofix import auto_fix
from mge_pipeline_tests.factories import make_atom

ATOM = make_atom(id="add")


@pytest.mark.parametrize(
    ("code", "expected", "fix"),
    [
        pytest.param(
            "```python\ndef add(a, b):\n    return a + b\n```\n",
            "def add(a, b):\n    return a + b\n",
            "stray Markdown fence",
            id="fences",
        ),
        pytest.param(
            "def add(a, b):\n\tif a:\n\t\treturn a\n        return b\n",
            "def add(a, b):\n        if a:\n                return a\n        return b\n",
            "expanded indentation tabs",
            id="mixed-indentation",
        ),
        pytest.param(
            "def add(a, b):\n    return math.floor(a) + b\n",
            "import math\ndef add(a, b):\n    return math.floor(a) + b\n",
            "import math",
            id="stdlib-module",
        ),
        pytest.param(
            "def add(a, b):\n    return Decimal(a) + b\n",
            "from decimal import Decimal\ndef add(a, b):\n    return Decimal(a) + b\n",
            "from decimal import Decimal",
            id="stdlib-name",
        ),
    ],
)
def test_each_repair(code: str, expected: str, fix: str) -> None:
    result = auto_fix(ATOM, code)
    assert result.code == expected
    assert len(result.fixes) == 1 and fix in result.fixes[0]


@pytest.mark.parametrize(
    ("code", "module"),
    [
        pytest.param("def add(a, b):\n    return a + b\n", None, id="nothing-to-fix"),
        pytest.param("def add(a, b):\n    return numpy.sum(a) + b\n", None, id="not-stdlib"),
        pytest.param(
            "def add(a, b):\n    return math.floor(a) + b\n",
            "import math\n\ndef add(a, b):\n    return math.floor(a) + b\n",
            id="module-imports-it",
        ),
        pytest.param('def add(a, b):\n    return "```" + a\n', None, id="fence-in-a-string"),
    ],
)
def test_no_repair_when_not_certain(code: str, module: str | None) -> None:
    assert auto_fix(ATOM, code, module).fixes == []


class OneAnswer:
    name = "scripted"
    model = "claude-sonnet-4-5"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        self.calls += 1
        return GenerationResponse(
            text=self.text, input_tokens=10, output_tokens=10, model=self.model
        )


class NeedsJson:
    async def validate(self, atom, code, files):  # type: ignore[no-untyped-def]
        return ValidationVerdict(passed=code.startswith("import json\n"))


def test_the_retry_loop_records_the_fix_and_spends_no_second_call() -> None:
    provider = OneAnswer("```python\ndef add(a, b):\n    return json.loads(a) + b\n```")
    job = AtomJob(
        atom=ATOM,
        provider=provider,
        validator=NeedsJson(),
        cost_guard=InMemoryCostGuard(10.0),
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {ATOM.file_path: code},
    )
    result = asyncio.run(run_atom(job))
    assert result.status is AtomStatus.SUCCEEDED and provider.calls == 1
    assert result.attempts[0].auto_fixes == [
        "added missing standard-library import(s): import json"
    ]


TS = make_atom(id="where", language="typescript", file_path="src/where.ts")
JS = make_atom(id="where", language="javascript", file_path="lib/where.js")
WHERE = "export function where(a: string): string {\n  return path.join(a, 'x');\n}\n"
DOUBLE = "export function double(a: number): number {\n  return 2 * a;\n}\n"
WHERE_JS = "function where(a) {\n  return path.join(a, 'x');\n}\n"


@pytest.mark.parametrize(
    ("atom", "code", "module", "expected", "fix"),
    [
        pytest.param(
            TS, "```ts\n" + DOUBLE + "```\n", None, DOUBLE, "stray Markdown fence",
            id="ts-fences",
        ),
        pytest.param(
            TS, WHERE, WHERE, 'import * as path from "node:path";\n' + WHERE,
            'import * as path from "node:path";', id="ts-node-builtin",
        ),
        pytest.param(
            JS, WHERE_JS, WHERE_JS + "module.exports = { where };\n",
            'const path = require("node:path");\n' + WHERE_JS,
            'const path = require("node:path");', id="cjs-node-builtin",
        ),
        pytest.param(
            JS, WHERE_JS, "import { x } from './x.js';\n" + WHERE_JS,
            'import * as path from "node:path";\n' + WHERE_JS,
            'import * as path from "node:path";', id="esm-node-builtin",
        ),
    ],
)  # fmt: skip
def test_each_script_repair(atom, code: str, module: str | None, expected: str, fix: str) -> None:  # type: ignore[no-untyped-def]
    result = auto_fix(atom, code, module)
    assert result.code == expected
    assert len(result.fixes) == 1 and fix in result.fixes[0]


@pytest.mark.parametrize(
    ("code", "module"),
    [
        pytest.param(WHERE, "import * as path from 'node:path';\n" + WHERE, id="file-imports-it"),
        pytest.param(
            "export function where(path: { join(a: string): string }): string {\n"
            "  return path.join('x');\n}\n", None, id="a-parameter-named-path",
        ),
        pytest.param(
            "export function where(a: string): string {\n  return lodash.join(a);\n}\n",
            None, id="not-a-node-builtin",
        ),
        pytest.param("export const fence = '```';\n", None, id="fence-in-a-string"),
    ],
)  # fmt: skip
def test_no_script_repair_when_not_certain(code: str, module: str | None) -> None:
    assert auto_fix(TS, code, module).fixes == []
