"""The names a JavaScript or TypeScript atom defines at top level, read by syntax.

The lexical check missed `enum`, `abstract class`, `function*`, `export default function*` and
`declare`d names, so those atoms failed "does not define" on every attempt. CommonJS exports
define the name the atomizer gives them: ``module.exports`` for ``module.exports = …`` and
TypeScript's ``export = …``, ``exports.x`` for ``exports.x = …``; ``default`` is what an
``export default <expression>`` defines.
"""

from __future__ import annotations

import functools

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from mge_pipeline.domain import Language

MODULE_EXPORTS = "module.exports"
_DECLARATIONS = {
    "function_declaration",
    "generator_function_declaration",
    "function_signature",
    "class_declaration",
    "abstract_class_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "module",
    "internal_module",
}


@functools.cache
def _parser(language: Language) -> tree_sitter.Parser:
    if language is Language.TYPESCRIPT:
        return tree_sitter.Parser(
            tree_sitter.Language(tree_sitter_typescript.language_typescript())
        )
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))


def _text(node: tree_sitter.Node | None) -> str:
    return node.text.decode("utf-8", errors="replace") if node and node.text else ""


def script_definitions(code: str, language: Language) -> set[str]:
    root = _parser(language).parse(code.encode()).root_node
    names: set[str] = set()
    for node in root.named_children:
        _collect(node, names)
    return names


def member_definitions(code: str, language: Language) -> set[str]:
    """The members a method atom's code defines, read inside a class body."""
    wrapped = "class __MgeMembers__ {\n" + code + "\n}\n"
    root = _parser(language).parse(wrapped.encode()).root_node
    body = root.named_children[0].child_by_field_name("body") if root.named_children else None
    members = body.named_children if body is not None else []
    return {_text(m.child_by_field_name("name")) for m in members} - {""}


def _collect(node: tree_sitter.Node, names: set[str]) -> None:
    if node.type == "export_statement":
        _collect_export(node, names)
    elif node.type == "ambient_declaration":
        for child in node.named_children:
            _collect(child, names)
    elif node.type in _DECLARATIONS:
        names.add(_text(node.child_by_field_name("name")))
    elif node.type in ("lexical_declaration", "variable_declaration"):
        for declarator in node.named_children:
            if declarator.type == "variable_declarator":
                _bound(declarator.child_by_field_name("name"), names)
    elif node.type == "expression_statement" and node.named_children:
        inner = node.named_children[0]
        if inner.type == "assignment_expression":
            target = _text(inner.child_by_field_name("left"))
            names.add(target)


def _collect_export(node: tree_sitter.Node, names: set[str]) -> None:
    declaration = node.child_by_field_name("declaration")
    if declaration is not None:
        _collect(declaration, names)
        return
    if any(c.type == "=" for c in node.children):
        names.add(MODULE_EXPORTS)
        return
    if any(c.type == "default" for c in node.children):
        names.add("default")
        value = node.child_by_field_name("value")
        if value is not None and value.type in (
            "function_expression",
            "generator_function",
            "class",
            "function",
        ):
            names.add(_text(value.child_by_field_name("name")))


def _bound(pattern: tree_sitter.Node | None, names: set[str]) -> None:
    """Every identifier a declaration binds, destructuring included."""
    if pattern is None:
        return
    if pattern.type in ("identifier", "shorthand_property_identifier_pattern"):
        names.add(_text(pattern))
        return
    for child in pattern.named_children:
        if child.type == "pair_pattern":
            _bound(child.child_by_field_name("value"), names)
        elif child.type != "property_identifier":
            _bound(child, names)
