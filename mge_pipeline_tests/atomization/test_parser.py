"""The tree-sitter parser: language detection, constructs of the three languages, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline.atomization.languages import detect_language
from mge_pipeline.atomization.parser import ConstructKind, parse_source
from mge_pipeline.domain import Language


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("a.py", "", Language.PYTHON, id="py-extension"),
        pytest.param("a.ts", "", Language.TYPESCRIPT, id="ts-extension"),
        pytest.param("a.tsx", "", Language.TYPESCRIPT, id="tsx-extension"),
        pytest.param("a.mjs", "", Language.JAVASCRIPT, id="mjs-extension"),
        pytest.param("tool", "#!/usr/bin/env python3\nprint(1)\n", Language.PYTHON, id="shebang"),
        pytest.param("cli", "#!/usr/bin/env node\nx()\n", Language.JAVASCRIPT, id="node-shebang"),
        pytest.param("script", "import os\ndef f():\n    pass\n", Language.PYTHON, id="py-text"),
        pytest.param("decl", "export interface A { x: number }\n", Language.TYPESCRIPT, id="ts"),
        pytest.param("README.md", "# title\n", None, id="markdown"),
        pytest.param("notes", "just words\n", None, id="plain-text"),
    ],
)
def test_language_detection(name: str, text: str, expected: Language | None) -> None:
    assert detect_language(Path(name), text) is expected


def test_python_constructs_keep_decorators_with_their_definition() -> None:
    source = (
        "import os\n\n@cache\n@other(1)\ndef f():\n    return 1\n\nclass A:\n    x = 1\n\nX = 2\n"
    )
    parsed = parse_source(source, Language.PYTHON)
    kinds = [(c.kind, c.name, c.start_line) for c in parsed.constructs]
    assert kinds == [
        (ConstructKind.IMPORTS, None, 0),
        (ConstructKind.FUNCTION, "f", 2),
        (ConstructKind.CLASS, "A", 7),
        (ConstructKind.STATEMENT, None, 10),
    ]
    assert not parsed.problems


def test_typescript_constructs() -> None:
    source = (
        'import { a } from "./a";\n'
        "export interface Shape { area(): number }\n"
        "type Id = string;\n"
        "export const double = (x: number): number => x * 2;\n"
        "export function triple(x: number) { return x * 3; }\n"
        "export default class Square implements Shape {\n"
        "  @observable side = 1;\n"
        "  area() { return this.side ** 2; }\n"
        "}\n"
        "export { a };\n"
    )
    parsed = parse_source(source, Language.TYPESCRIPT)
    assert [(c.kind, c.name) for c in parsed.constructs] == [
        (ConstructKind.IMPORTS, None),
        (ConstructKind.TYPE, "Shape"),
        (ConstructKind.TYPE, "Id"),
        (ConstructKind.FUNCTION, "double"),
        (ConstructKind.FUNCTION, "triple"),
        (ConstructKind.CLASS, "Square"),
        (ConstructKind.STATEMENT, None),
    ]
    square = parsed.constructs[5]
    assert [(m.name, m.start_line) for m in square.members] == [("side", 6), ("area", 7)]


def test_javascript_function_expression_bound_to_a_name() -> None:
    parsed = parse_source("var add = function (a, b) { return a + b; };\n", Language.JAVASCRIPT)
    assert [(c.kind, c.name) for c in parsed.constructs] == [(ConstructKind.FUNCTION, "add")]


@pytest.mark.parametrize(
    ("language", "source", "line", "column"),
    [
        pytest.param(Language.PYTHON, "x = 1\ndef f(:\n    pass\n", 2, 7, id="python"),
        pytest.param(Language.TYPESCRIPT, "const a = ;\n", 1, 9, id="typescript"),
        pytest.param(Language.JAVASCRIPT, "function (\n", 1, 1, id="javascript"),
    ],
)
def test_syntax_errors_have_line_and_column(
    language: Language, source: str, line: int, column: int
) -> None:
    problem = parse_source(source, language).problems[0]
    assert (problem.line, problem.column) == (line, column)
    assert str(problem).startswith(f"line {line}, column {column}: ")
