"""What a unit of code defines and uses, read from its tree-sitter nodes.

Uses are classified by how a name appears — called, used as a type, read while the module is
being imported (decorators, defaults, base classes, module and class statements), or read at
run time inside a function — which is what the graph builder turns into dependency types.
Names bound inside function bodies (parameters, locals) are not uses of module names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import tree_sitter

from mge_pipeline.domain import Language


class Use(StrEnum):
    CALL = "call"
    TYPE = "type"
    IMPORT_TIME = "import_time"
    RUNTIME = "runtime"


@dataclass
class SymbolTable:
    defines: set[str] = field(default_factory=set)
    uses: dict[str, set[Use]] = field(default_factory=dict)
    global_writes: set[str] = field(default_factory=set)
    complexity: int = 1

    def use(self, name: str, *kinds: Use) -> None:
        self.uses.setdefault(name, set()).update(kinds)


_FUNCTION_SCOPES = {
    "function_definition",
    "lambda",
    "function_declaration",
    "generator_function_declaration",
    "function_expression",
    "function",
    "generator_function",
    "arrow_function",
    "method_definition",
}
_DECISIONS = {
    "if_statement",
    "elif_clause",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "except_clause",
    "catch_clause",
    "conditional_expression",
    "ternary_expression",
    "boolean_operator",
    "case_clause",
    "switch_case",
    "for_in_clause",
    "if_clause",
}
_SHORT_CIRCUIT = {"&&", "||", "??"}
_PY_BINDING_PARENTS = {
    "parameters": None,
    "lambda_parameters": None,
    "default_parameter": "name",
    "typed_default_parameter": "name",
    "keyword_argument": "name",
    "list_splat_pattern": None,
    "dictionary_splat_pattern": None,
    "as_pattern_target": None,
    "global_statement": None,
    "nonlocal_statement": None,
}
_JS_BINDING_PARENTS = {
    "required_parameter": "pattern",
    "optional_parameter": "pattern",
    "formal_parameters": None,
    "variable_declarator": "name",
    "catch_clause": "parameter",
    "shorthand_property_identifier_pattern": None,
}


class Scope(StrEnum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"


_PARAMETER_LISTS = {"parameters", "lambda_parameters", "formal_parameters"}
_IMPORTS = {"import_statement", "import_from_statement", "future_import_statement"}
_CLASS_SCOPES = {"class_definition", "class_declaration", "abstract_class_declaration", "class"}


def analyse(
    nodes: Iterable[tree_sitter.Node],
    language: Language,
    lines: tuple[int, int],
    *,
    scope: Scope = Scope.MODULE,
) -> SymbolTable:
    """Symbols of the parts of ``nodes`` that lie within ``lines`` (0-based, inclusive).

    ``scope`` is where the nodes sit: class members are analysed in class scope, so what they
    bind is not taken for a module-level definition.
    """
    table = SymbolTable()
    local: set[str] = set()
    pending: list[tuple[str, Scope, tree_sitter.Node]] = []
    for node in nodes:
        for child, child_scope in _walk(node, lines, scope):
            _visit(child, child_scope, language, table, local, pending)
    for name, use_scope, node in pending:
        if use_scope is Scope.FUNCTION and name in local:
            continue
        table.use(name, *_use_kinds(node, use_scope is Scope.FUNCTION, language))
    for name in table.defines:
        table.uses.pop(name, None)
    return table


def _walk(
    node: tree_sitter.Node, lines: tuple[int, int], scope: Scope
) -> Iterator[tuple[tree_sitter.Node, Scope]]:
    if node.end_point[0] < lines[0] or node.start_point[0] > lines[1]:
        return
    yield node, scope
    body = node.child_by_field_name("body")
    inner = scope
    if body is not None and node.type in _FUNCTION_SCOPES:
        inner = Scope.FUNCTION
    elif body is not None and node.type in _CLASS_SCOPES and scope is not Scope.FUNCTION:
        inner = Scope.CLASS
    for child in node.children:
        child_scope = inner if body is not None and child.id == body.id else scope
        if node.type in _FUNCTION_SCOPES and child.type in _PARAMETER_LISTS:
            child_scope = Scope.FUNCTION
        yield from _walk(child, lines, child_scope)


def _visit(
    node: tree_sitter.Node,
    scope: Scope,
    language: Language,
    table: SymbolTable,
    local: set[str],
    pending: list[tuple[str, Scope, tree_sitter.Node]],
) -> None:
    if node.type in _DECISIONS or (
        node.type == "binary_expression" and _operator(node) in _SHORT_CIRCUIT
    ):
        table.complexity += 1
    if node.type in {"global_statement", "nonlocal_statement"}:
        table.global_writes |= {_text(c) for c in node.named_children if c.type == "identifier"}
        return
    if node.type not in {"identifier", "type_identifier", "shorthand_property_identifier"}:
        return
    name = _text(node)
    if _is_member_name(node):
        return
    if _import_statement(node) is not None and not _is_import_binding(node):
        return
    if _is_definition(node, language):
        if scope is Scope.MODULE:
            table.defines.add(name)
        elif scope is Scope.FUNCTION:
            local.add(name)
    elif _is_binding(node, language):
        if scope is Scope.FUNCTION:
            local.add(name)
        elif scope is Scope.MODULE:
            table.defines.add(name)
    else:
        pending.append((name, scope, node))


def _is_member_name(node: tree_sitter.Node) -> bool:
    parent = node.parent
    if parent is None:
        return False
    if parent.type == "attribute":
        attribute = parent.child_by_field_name("attribute")
        return attribute is not None and attribute.id == node.id
    if parent.type == "keyword_argument":
        name = parent.child_by_field_name("name")
        return name is not None and name.id == node.id
    return False


def _is_definition(node: tree_sitter.Node, language: Language) -> bool:
    """The name of a def, class, interface or type, an import binding, a Python target."""
    parent = node.parent
    if parent is None:
        return False
    definers = {
        "function_definition",
        "class_definition",
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "function_signature",
    }
    if parent.type in definers:
        name = parent.child_by_field_name("name")
        return name is not None and name.id == node.id
    return _is_import_binding(node) or (language is Language.PYTHON and _is_assignment_target(node))


def _import_statement(node: tree_sitter.Node) -> tree_sitter.Node | None:
    ancestor = node.parent
    for _ in range(5):
        if ancestor is None:
            return None
        if ancestor.type in _IMPORTS:
            return ancestor
        ancestor = ancestor.parent
    return None


def _is_import_binding(node: tree_sitter.Node) -> bool:
    statement = node.parent
    while statement is not None and statement.type in {
        "dotted_name",
        "aliased_import",
        "import_specifier",
        "import_clause",
        "named_imports",
        "namespace_import",
    }:
        statement = statement.parent
    if statement is None or statement.type not in {
        "import_statement",
        "import_from_statement",
        "future_import_statement",
    }:
        return False
    parent = node.parent
    assert parent is not None
    if parent.type == "dotted_name":
        module = statement.child_by_field_name("module_name")
        if module is not None and module.id == parent.id:
            return False
        first = parent.named_children[0]
        if first.id != node.id:
            return False
        grand = parent.parent
        if grand is not None and grand.type == "aliased_import":
            return False
        return statement.type == "import_statement" or parent.named_child_count == 1
    if parent.type == "aliased_import":
        alias = parent.child_by_field_name("alias")
        return alias is not None and alias.id == node.id
    if parent.type == "import_specifier":
        alias = parent.child_by_field_name("alias") or parent.child_by_field_name("name")
        return alias is not None and alias.id == node.id
    return parent.type in {"import_clause", "namespace_import"}


def _is_assignment_target(node: tree_sitter.Node) -> bool:
    child, parent = node, node.parent
    while parent is not None and parent.type in {
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "expression_list",
    }:
        child, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type in {"assignment", "augmented_assignment", "for_statement"}:
        left = parent.child_by_field_name("left")
        return left is not None and left.id == child.id
    if parent.type == "as_pattern_target":
        return True
    return parent.type == "named_expression" and parent.named_children[0].id == child.id


def _is_binding(node: tree_sitter.Node, language: Language) -> bool:
    """Parameters, locals and catch variables (JS); Python targets count too."""
    parent = node.parent
    if parent is None:
        return False
    if language is Language.PYTHON:
        if _is_assignment_target(node) or (parent.type == "for_in_clause" and _is_left(node)):
            return True
        if parent.type == "typed_parameter":
            return parent.named_children[0].id == node.id
        if parent.type in _PY_BINDING_PARENTS:
            field_name = _PY_BINDING_PARENTS[parent.type]
            return field_name is None or _is_field(parent, field_name, node)
        return False
    if parent.type in _JS_BINDING_PARENTS:
        field_name = _JS_BINDING_PARENTS[parent.type]
        return field_name is None or _is_field(parent, field_name, node)
    return False


def _is_left(node: tree_sitter.Node) -> bool:
    parent = node.parent
    return parent is not None and _is_field(parent, "left", node)


def _is_field(parent: tree_sitter.Node, field_name: str, node: tree_sitter.Node) -> bool:
    target = parent.child_by_field_name(field_name)
    return target is not None and target.id == node.id


def _use_kinds(node: tree_sitter.Node, in_function: bool, language: Language) -> list[Use]:
    kinds = [Use.RUNTIME if in_function else Use.IMPORT_TIME]
    parent = node.parent
    if parent is None:
        return kinds
    if (
        parent.type in {"call", "call_expression"} and _is_field(parent, "function", node)
    ) or parent.type in {"decorator", "new_expression"}:
        kinds.append(Use.CALL)
    if node.type == "type_identifier" or _inside_type(node, language):
        kinds.append(Use.TYPE)
    return kinds


def _inside_type(node: tree_sitter.Node, language: Language) -> bool:
    """Annotations, base classes (Python) and extends/implements clauses (TS/JS)."""
    ancestor = node.parent
    for _ in range(6):
        if ancestor is None:
            return False
        if ancestor.type in {"type", "type_annotation", "extends_clause", "implements_clause"}:
            return True
        if (
            language is Language.PYTHON
            and ancestor.type == "argument_list"
            and ancestor.parent is not None
            and ancestor.parent.type == "class_definition"
        ):
            return True
        ancestor = ancestor.parent
    return False


def _operator(node: tree_sitter.Node) -> str:
    operator = node.child_by_field_name("operator")
    return _text(operator) if operator is not None else ""


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")
