"""The round-trip check: does a reassembled file have the same syntax tree as the original?

Python compares ``ast.dump`` and, since the AST drops them, the comments in order. TS/JS
compare tree-sitter trees as sequences of node types and leaf texts, which ignores
whitespace between tokens but not comments, strings or template text.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections.abc import Iterator

import tree_sitter

from mge_pipeline.atomization.languages import parse_tree
from mge_pipeline.domain import Language


def round_trip_problem(
    original: str, rebuilt: str, language: Language, *, tsx: bool = False
) -> str | None:
    """None when equivalent, else what differs."""
    if language is Language.PYTHON:
        return _python_problem(original, rebuilt)
    before = list(_tokens(parse_tree(original.encode(), language, tsx=tsx).root_node))
    after = list(_tokens(parse_tree(rebuilt.encode(), language, tsx=tsx).root_node))
    if before == after:
        return None
    index = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    return f"syntax trees differ at token {index}"


def python_syntax_error(source: str) -> str | None:
    """CPython's own verdict, with line and column; tree-sitter is more lenient."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except SyntaxError as exc:
        return f"line {exc.lineno}, column {exc.offset}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot be parsed: {exc}"
    return None


def _python_problem(original: str, rebuilt: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rebuilt_tree = ast.parse(rebuilt)
        except SyntaxError as exc:
            return f"reassembled code does not parse: line {exc.lineno}: {exc.msg}"
        if ast.dump(ast.parse(original)) != ast.dump(rebuilt_tree):
            return "abstract syntax trees differ"
    if _comments(original) != _comments(rebuilt):
        return "comments differ"
    return None


def _comments(source: str) -> list[str] | None:
    try:
        return [
            token.string
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        return None


def _tokens(node: tree_sitter.Node) -> Iterator[tuple[str, bytes]]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.child_count == 0 or current.type in {"comment", "string_fragment"}:
            yield current.type, (current.text or b"")
            continue
        yield current.type, b""
        stack.extend(reversed(current.children))
