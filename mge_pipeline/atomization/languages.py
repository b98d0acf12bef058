"""Which tree-sitter grammar reads a file: by extension first, then by what the text looks like.

Grammars are loaded once per process; a ``Parser`` is cheap but not thread-safe, so each call
gets its own.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import tree_sitter
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript

from mge_pipeline.domain import Language

EXTENSIONS: dict[str, Language] = {
    ".py": Language.PYTHON,
    ".pyi": Language.PYTHON,
    ".js": Language.JAVASCRIPT,
    ".mjs": Language.JAVASCRIPT,
    ".cjs": Language.JAVASCRIPT,
    ".jsx": Language.JAVASCRIPT,
    ".ts": Language.TYPESCRIPT,
    ".mts": Language.TYPESCRIPT,
    ".cts": Language.TYPESCRIPT,
    ".tsx": Language.TYPESCRIPT,
}
_SHEBANG = re.compile(r"^#!.*\b(python3?|node|deno|ts-node)\b")
_PYTHON_HINTS = re.compile(r"^(def |class |import |from \S+ import )", re.MULTILINE)
_JS_HINTS = re.compile(r"^(function |const |let |var |export |import .* from )", re.MULTILINE)
_TS_HINTS = re.compile(r"^(export )?(interface|type|enum|declare) \w+", re.MULTILINE)


def detect_language(path: Path, text: str) -> Language | None:
    """The language of a source file, or None when it is none of the three."""
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix:
        return None
    first_line = text.split("\n", 1)[0]
    shebang = _SHEBANG.match(first_line)
    if shebang:
        return Language.PYTHON if shebang.group(1).startswith("python") else Language.JAVASCRIPT
    if _PYTHON_HINTS.search(text):
        return Language.PYTHON
    if _TS_HINTS.search(text):
        return Language.TYPESCRIPT
    if _JS_HINTS.search(text):
        return Language.JAVASCRIPT
    return None


@cache
def grammar(language: Language, *, tsx: bool = False) -> tree_sitter.Language:
    if language is Language.PYTHON:
        return tree_sitter.Language(tree_sitter_python.language())
    if language is Language.JAVASCRIPT:
        return tree_sitter.Language(tree_sitter_javascript.language())
    if tsx:
        return tree_sitter.Language(tree_sitter_typescript.language_tsx())
    return tree_sitter.Language(tree_sitter_typescript.language_typescript())


def parse_tree(source: bytes, language: Language, *, tsx: bool = False) -> tree_sitter.Tree:
    return tree_sitter.Parser(grammar(language, tsx=tsx)).parse(source)
