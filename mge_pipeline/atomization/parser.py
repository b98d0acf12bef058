"""One interface over tree-sitter for Python, TypeScript and JavaScript sources.

A file becomes a list of top-level constructs (imports, functions, classes with their members,
type declarations, other statements), each with its line range, name, lines of code and
cyclomatic complexity. Comments are not constructs of their own: the decomposer keeps each one
with the construct that follows it (or the last one, at the end of a file), and decorators are
part of what they decorate. Syntax errors come back as problems with a line and a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import tree_sitter

from mge_pipeline.atomization.languages import parse_tree
from mge_pipeline.domain import Language


class ConstructKind(StrEnum):
    IMPORTS = "imports"
    FUNCTION = "function"
    CLASS = "class"
    TYPE = "type"
    MEMBER = "member"
    STATEMENT = "statement"


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class Construct:
    """A top-level construct or a class member; lines are 0-based and inclusive."""

    kind: ConstructKind
    name: str | None
    node: tree_sitter.Node = field(compare=False, repr=False)
    start_line: int
    end_line: int
    members: tuple[Construct, ...] = ()
    body: tree_sitter.Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ParsedSource:
    language: Language
    text: str
    tree: tree_sitter.Tree = field(repr=False)
    constructs: tuple[Construct, ...]
    problems: tuple[SyntaxProblem, ...]

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)


_PY_IMPORTS = {"import_statement", "import_from_statement", "future_import_statement"}
_PY_FUNCTIONS = {"function_definition"}
_PY_CLASSES = {"class_definition"}
_JS_FUNCTIONS = {
    "function_declaration",
    "generator_function_declaration",
    "function_signature",
}
_JS_CLASSES = {"class_declaration", "abstract_class_declaration"}
_JS_TYPES = {
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "module",
    "internal_module",
}
_JS_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function"}
_COMMENTS = {"comment"}


def parse_source(text: str, language: Language, *, tsx: bool = False) -> ParsedSource:
    """Parse ``text``; never raises on bad syntax, which is reported in ``problems``."""
    tree = parse_tree(text.encode("utf-8"), language, tsx=tsx)
    root = tree.root_node
    constructs = tuple(
        _classify(child, language) for child in root.named_children if child.type not in _COMMENTS
    )
    return ParsedSource(language, text, tree, constructs, tuple(syntax_problems(root)))


def syntax_problems(root: tree_sitter.Node, limit: int = 5) -> list[SyntaxProblem]:
    """The first ``limit`` ERROR or MISSING nodes, 1-based line and column."""
    problems: list[SyntaxProblem] = []
    if not root.has_error:
        return problems
    stack = [root]
    while stack and len(problems) < limit:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            what = f"missing '{node.type}'" if node.is_missing else "invalid syntax"
            row, column = node.start_point
            problems.append(SyntaxProblem(row + 1, column + 1, what))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _classify(node: tree_sitter.Node, language: Language) -> Construct:
    if language is Language.PYTHON:
        return _classify_python(node)
    return _classify_script(node, node)


def _classify_python(node: tree_sitter.Node) -> Construct:
    inner = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
    inner = inner or node
    if node.type in _PY_IMPORTS:
        return _construct(ConstructKind.IMPORTS, None, node)
    if inner.type in _PY_FUNCTIONS:
        return _construct(ConstructKind.FUNCTION, _name(inner), node)
    if inner.type in _PY_CLASSES:
        body = inner.child_by_field_name("body")
        members = tuple(_python_member(child) for child in _member_nodes(body))
        return _construct(ConstructKind.CLASS, _name(inner), node, members, body)
    return _construct(ConstructKind.STATEMENT, None, node)


def _python_member(node: tree_sitter.Node) -> Construct:
    inner = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
    inner = inner or node
    if inner.type in _PY_FUNCTIONS | _PY_CLASSES:
        return _construct(ConstructKind.MEMBER, _name(inner), node)
    return _construct(ConstructKind.STATEMENT, _assigned_name(node), node)


def _assigned_name(node: tree_sitter.Node) -> str | None:
    """`name = …` or `name: T = …` as a class statement: the attribute it defines."""
    inner = node.named_children[0] if node.type == "expression_statement" else None
    left = inner.child_by_field_name("left") if inner and inner.type == "assignment" else None
    if left is None or left.type != "identifier" or left.text is None:
        return None
    return left.text.decode("utf-8", errors="replace")


def _classify_script(node: tree_sitter.Node, outer: tree_sitter.Node) -> Construct:
    """``outer`` is the node whose range the construct takes (an export wraps its declaration)."""
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            return _classify_script(declaration, outer)
        exported = _module_export(node)
        if exported is not None:
            return _construct(ConstructKind.STATEMENT, exported[0], outer)
        return _construct(ConstructKind.STATEMENT, None, outer)
    if node.type == "import_statement":
        return _construct(ConstructKind.IMPORTS, None, outer)
    if node.type in _JS_FUNCTIONS:
        return _construct(ConstructKind.FUNCTION, _name(node), outer)
    if node.type in _JS_CLASSES:
        body = node.child_by_field_name("body")
        members = tuple(_script_member(child) for child in _member_nodes(body))
        return _construct(ConstructKind.CLASS, _name(node), outer, members, body)
    if node.type in _JS_TYPES:
        return _construct(ConstructKind.TYPE, _name(node), outer)
    bound = _bound_function_name(node)
    if bound:
        return _construct(ConstructKind.FUNCTION, bound, outer)
    exported = _module_export(node)
    if exported is not None:
        name, is_function = exported
        kind = ConstructKind.FUNCTION if is_function else ConstructKind.STATEMENT
        return _construct(kind, name, outer)
    return _construct(ConstructKind.STATEMENT, None, outer)


MODULE_EXPORTS = "module.exports"


def _module_export(node: tree_sitter.Node) -> tuple[str, bool] | None:
    """``module.exports = …``, ``exports.x = …`` and TypeScript's ``export = …`` define the name
    a CommonJS module exports (``module.exports`` for the whole), so they are named atoms
    rather than anonymous statements no check could recognise."""
    if node.type == "export_statement" and any(c.type == "=" for c in node.children):
        value = node.named_children[-1] if node.named_children else None
        return MODULE_EXPORTS, value is not None and value.type in _JS_FUNCTION_VALUES
    inner = node.named_children[0] if node.type == "expression_statement" else None
    if inner is None or inner.type != "assignment_expression":
        return None
    left, value = inner.child_by_field_name("left"), inner.child_by_field_name("right")
    target = left.text.decode("utf-8", errors="replace") if left and left.text else ""
    if target != MODULE_EXPORTS and not target.startswith(("exports.", "module.exports.")):
        return None
    return target, value is not None and value.type in _JS_FUNCTION_VALUES


def is_overload_signature(construct: Construct) -> bool:
    """A TypeScript overload: a body-less function or method declaration."""
    node = construct.node
    if node.type == "export_statement":
        node = node.child_by_field_name("declaration") or node
    return node.type in {
        "function_signature",
        "method_signature",
        "abstract_method_signature",
    } and (construct.kind in (ConstructKind.FUNCTION, ConstructKind.MEMBER))


def _bound_function_name(node: tree_sitter.Node) -> str | None:
    """`const f = (x) => …` and `var f = function () {…}` are functions named f."""
    if node.type not in {"lexical_declaration", "variable_declaration"}:
        return None
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    if len(declarators) != 1:
        return None
    value = declarators[0].child_by_field_name("value")
    if value is None or value.type not in _JS_FUNCTION_VALUES:
        return None
    return _name(declarators[0])


def _script_member(node: tree_sitter.Node) -> Construct:
    return _construct(ConstructKind.MEMBER, _name(node), node)


def _member_nodes(body: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    if body is None:
        return []
    return [c for c in body.named_children if c.type not in _COMMENTS and c.type != "decorator"]


def _name(node: tree_sitter.Node) -> str | None:
    name = node.child_by_field_name("name")
    if name is None or name.text is None:
        return None
    return name.text.decode("utf-8", errors="replace")


def _construct(
    kind: ConstructKind,
    name: str | None,
    node: tree_sitter.Node,
    members: tuple[Construct, ...] = (),
    body: tree_sitter.Node | None = None,
) -> Construct:
    start = _first_line(node)
    end = node.end_point[0] - (1 if node.end_point[1] == 0 and node.end_point[0] > start else 0)
    return Construct(kind, name, node, start, end, members, body)


def _first_line(node: tree_sitter.Node) -> int:
    """TS/JS decorators before a class member are its previous siblings in the class body."""
    start = node.start_point[0]
    previous = node.prev_named_sibling
    while previous is not None and previous.type == "decorator":
        start = previous.start_point[0]
        previous = previous.prev_named_sibling
    return start
