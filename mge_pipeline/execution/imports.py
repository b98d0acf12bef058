"""Import statements read by syntax and merged: one statement per module and name in a file.

Atoms of one file each bring their imports; joined as text, two atoms importing the same name
gave TypeScript's `Duplicate identifier` (and two `const x = require(...)` a SyntaxError). Here
each statement is parsed (``ast`` for Python, tree-sitter for JavaScript/TypeScript), its
bindings collected per module, and one statement written per module and binding form, every
local name bound once. Statements that are not plain imports stay as they are, deduplicated.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from mge_pipeline.domain import Language

_FUTURE = "__future__"


@functools.cache
def _parser(language: Language) -> tree_sitter.Parser:
    if language is Language.TYPESCRIPT:
        grammar = tree_sitter.Language(tree_sitter_typescript.language_typescript())
    else:
        grammar = tree_sitter.Language(tree_sitter_javascript.language())
    return tree_sitter.Parser(grammar)


def script_import_nodes(code: str, language: Language) -> list[tuple[int, int]]:
    """Line ranges (0-based, inclusive) of the top-level imports and ``require`` bindings."""
    tree = _parser(language).parse(code.encode())
    ranges = []
    for node in tree.root_node.named_children:
        if node.type == "import_statement" or _require_binding(node) is not None:
            ranges.append((node.start_point[0], node.end_point[0]))
    return ranges


def _text(node: tree_sitter.Node | None) -> str:
    return node.text.decode() if node is not None and node.text is not None else ""


def _string_value(node: tree_sitter.Node | None) -> str | None:
    if node is None or node.type != "string":
        return None
    return _text(node)[1:-1]


def _require_binding(node: tree_sitter.Node) -> tuple[tree_sitter.Node, str, str] | None:
    """``const <pattern> = require("m")`` → (pattern, keyword, module), else None."""
    if node.type not in ("lexical_declaration", "variable_declaration"):
        return None
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    if len(declarators) != 1:
        return None
    value = declarators[0].child_by_field_name("value")
    pattern = declarators[0].child_by_field_name("name")
    if value is None or pattern is None or value.type != "call_expression":
        return None
    callee = value.child_by_field_name("function")
    arguments = value.child_by_field_name("arguments")
    if _text(callee) != "require" or arguments is None or arguments.named_child_count != 1:
        return None
    module = _string_value(arguments.named_children[0])
    keyword = _text(node.children[0]) if node.children else "const"
    return (pattern, keyword, module) if module is not None else None


@dataclass
class _Module:
    """The bindings of one module, in first-seen order."""

    default: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # local name → specifier
    side_effect: bool = False
    required_whole: list[tuple[str, str]] = field(default_factory=list)  # (keyword, local)
    required_names: dict[str, str] = field(default_factory=dict)  # local → "key: local"
    required_keyword: str = "const"


@dataclass
class _Merged:
    modules: dict[str, _Module] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    bound: dict[str, set[str]] = field(default_factory=dict)
    others: dict[str, None] = field(default_factory=dict)

    def module(self, name: str) -> _Module:
        if name not in self.modules:
            self.modules[name] = _Module()
            self.order.append(name)
        return self.modules[name]

    def bind(self, local: str, origin: str) -> bool:
        """False for a binding already made (same name from the same place): it is dropped.

        The same name bound from somewhere else is kept, so the conflict stays visible to the
        compiler and the task level rather than one atom silently getting another's import.
        """
        origins = self.bound.setdefault(local, set())
        if origin in origins:
            return False
        origins.add(origin)
        return True


def merge_script_imports(statements: list[str], language: Language) -> str:
    merged = _Merged()
    for statement in statements:
        tree = _parser(language).parse(statement.encode())
        for node in tree.root_node.named_children:
            if node.type == "import_statement":
                _add_import(merged, node)
            elif (binding := _require_binding(node)) is not None:
                _add_require(merged, *binding)
            elif node.type != "comment":
                merged.others.setdefault(_text(node).strip(), None)
    return "\n".join([*_render(merged), *merged.others])


def _add_import(merged: _Merged, node: tree_sitter.Node) -> None:
    source = _string_value(node.child_by_field_name("source"))
    if source is None:
        merged.others.setdefault(_text(node).strip(), None)
        return
    module = merged.module(source)
    type_only = any(c.type == "type" for c in node.children)
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        module.side_effect = True
        return
    for part in clause.named_children:
        if part.type == "identifier" and merged.bind(_text(part), f"{source} default"):
            module.default.append(_text(part))
        elif part.type == "namespace_import":
            local = _text(part.named_children[-1]) if part.named_children else ""
            if local and merged.bind(local, f"{source} *"):
                module.namespaces.append(local)
        elif part.type == "named_imports":
            for specifier in part.named_children:
                if specifier.type == "import_specifier":
                    _add_specifier(merged, module, source, specifier, type_only)


def _add_specifier(
    merged: _Merged, module: _Module, source: str, specifier: tree_sitter.Node, type_only: bool
) -> None:
    name = specifier.child_by_field_name("name")
    alias = specifier.child_by_field_name("alias")
    local = _text(alias or name)
    text = _text(specifier)
    is_type = type_only or text.startswith("type ")
    plain = text.removeprefix("type ").strip()
    written = f"type {plain}" if is_type else plain
    if local in module.named:
        if module.named[local].startswith("type ") and not is_type:
            module.named[local] = plain  # a value import covers the type use too
        return
    if merged.bind(local, f"{source} {_text(name)}"):
        module.named[local] = written


def _add_require(merged: _Merged, pattern: tree_sitter.Node, keyword: str, source: str) -> None:
    module = merged.module(source)
    if pattern.type == "identifier":
        if merged.bind(_text(pattern), f"{source} require"):
            module.required_whole.append((keyword, _text(pattern)))
        return
    if pattern.type != "object_pattern":
        merged.others.setdefault(f"{keyword} {_text(pattern)} = require({source!r});", None)
        return
    module.required_keyword = keyword
    for entry in pattern.named_children:
        if entry.type == "shorthand_property_identifier_pattern":
            local, written = _text(entry), _text(entry)
        elif entry.type == "pair_pattern":
            local = _text(entry.child_by_field_name("value"))
            written = _text(entry)
        else:
            local = written = _text(entry)
        if local not in module.required_names and merged.bind(local, f"{source} {written}"):
            module.required_names[local] = written


def _render(merged: _Merged) -> list[str]:
    lines: list[str] = []
    for source in merged.order:
        module = merged.modules[source]
        quoted = f'"{source}"'
        values = [s for s in module.named.values() if not s.startswith("type ")]
        types = [s for s in module.named.values() if s.startswith("type ")]
        head = module.default[:1]
        if head or module.named:
            inline = values + types if values or head else []
            braces = f"{{ {', '.join(inline)} }}" if inline else ""
            clause = ", ".join(part for part in (*head, braces) if part)
            if not values and not head:
                clause = f"type {{ {', '.join(t.removeprefix('type ') for t in types)} }}"
            lines.append(f"import {clause} from {quoted};")
        lines += [f"import {extra} from {quoted};" for extra in module.default[1:]]
        lines += [f"import * as {name} from {quoted};" for name in module.namespaces]
        lines += [f"{kw} {name} = require({quoted});" for kw, name in module.required_whole]
        if module.required_names:
            names = ", ".join(module.required_names.values())
            lines.append(f"{module.required_keyword} {{ {names} }} = require({quoted});")
        bound = head or module.named or module.namespaces or module.required_whole
        if module.side_effect and not bound and not module.required_names:
            lines.append(f"import {quoted};")
    return lines


def merge_python_imports(statements: list[str]) -> str:
    """``from m import a`` and ``from m import a, b`` become one ``from m import a, b``."""
    froms: dict[tuple[str, int], dict[str, str]] = {}
    order: list[tuple[str, int] | str] = []
    plain: dict[str, None] = {}
    bound: set[tuple[str, str, int, str]] = set()
    for statement in statements:
        try:
            nodes = ast.parse(statement.strip()).body
        except SyntaxError:
            nodes = []
            if statement.strip() not in plain:
                plain[statement.strip()] = None
                order.append(statement.strip())
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
                key = (node.module or "", node.level)
                if key not in froms:
                    froms[key] = {}
                    order.append(key)
                for alias in node.names:
                    binding = (alias.asname or alias.name, *key, alias.name)
                    if binding not in bound:
                        bound.add(binding)
                        froms[key][binding[0]] = ast.unparse(alias)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.unparse(node)
                if text not in plain:
                    plain[text] = None
                    order.append(text)
            else:
                text = ast.unparse(node)
                if text not in plain:
                    plain[text] = None
                    order.append(text)
    lines = []
    for entry in order:
        if isinstance(entry, str):
            lines.append(entry)
            continue
        module, level = entry
        if froms[entry]:
            names = ", ".join(froms[entry].values())
            lines.append(f"from {'.' * level}{module} import {names}")
    return "\n".join(sorted(lines, key=lambda line: not line.startswith(f"from {_FUTURE}")))
