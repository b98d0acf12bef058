"""Certain repairs of JavaScript and TypeScript answers, the counterpart of ``autofix`` for Python.

Two repairs whose outcome is not in doubt:

- whole stray Markdown fence lines (```` ```ts ````) when the code parses without them;
- a Node built-in module used as ``name.member`` (``path.join``, ``fs.readFileSync``) that
  nothing in the atom or its file binds: the import is added, as an ES import in TypeScript or
  an ES module, as ``require`` in a CommonJS file. The name must appear only as the object of a
  member access; any other use (a parameter, a local, a property) leaves the code alone.
"""

from __future__ import annotations

import functools
import re

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from mge_pipeline.domain import Language

_FENCE_LINE = re.compile(r"^\s*(```|~~~)[\w+.-]*\s*$")
_ES_MODULE = re.compile(r"^\s*(import\s[^(]|export\s)", re.MULTILINE)
# Built-ins whose module name is what code conventionally calls them by.
NODE_MODULES = frozenset(
    {"assert", "crypto", "events", "fs", "os", "path", "readline", "url", "util", "zlib"}
)


@functools.cache
def _parser(language: Language) -> tree_sitter.Parser:
    if language is Language.TYPESCRIPT:
        grammar = tree_sitter_typescript.language_typescript()
    else:
        grammar = tree_sitter_javascript.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def _tree(code: str, language: Language) -> tree_sitter.Node:
    return _parser(language).parse(code.encode()).root_node


def script_fixes(code: str, language: Language, module_source: str | None) -> tuple[str, list[str]]:
    """The repaired code and one line per repair made."""
    fixes: list[str] = []
    code, fence = _strip_fences(code, language)
    if fence:
        fixes.append(fence)
    code, added = _add_node_imports(code, language, module_source or "")
    if added:
        fixes.append("added missing Node built-in import(s): " + "; ".join(added))
    return code, fixes


def _strip_fences(code: str, language: Language) -> tuple[str, str | None]:
    lines = code.splitlines()
    kept = [line for line in lines if not _FENCE_LINE.match(line)]
    # Unlike Python, fenced code often still parses (the backticks read as template literals),
    # so the test is only that the code parses once the whole fence lines are gone.
    if len(kept) == len(lines):
        return code, None
    candidate = "\n".join(kept).strip("\n") + "\n"
    if _tree(candidate, language).has_error:
        return code, None
    return candidate, f"removed {len(lines) - len(kept)} stray Markdown fence line(s)"


def _add_node_imports(code: str, language: Language, module_source: str) -> tuple[str, list[str]]:
    root = _tree(code, language)
    if root.has_error:
        return code, []
    uses = _identifier_uses(root)
    # The assembled file holds this candidate too: only a binding elsewhere in it counts.
    around = _identifier_uses(_tree(module_source, language)) if module_source else {}
    missing = [
        name
        for name in sorted(NODE_MODULES)
        if uses.get(name) == {"object"} and "other" not in around.get(name, set())
    ]
    if not missing:
        return code, []
    es = language is Language.TYPESCRIPT or bool(_ES_MODULE.search(module_source + "\n" + code))
    added = [
        f'import * as {name} from "node:{name}";'
        if es
        else f'const {name} = require("node:{name}");'
        for name in missing
    ]
    return "\n".join(added) + "\n" + code, added


def _identifier_uses(root: tree_sitter.Node) -> dict[str, set[str]]:
    """Each identifier's roles: ``object`` when it is what a member access reads from, else
    ``other`` (a binding, an argument, a parameter — anything that may mean it is bound)."""
    uses: dict[str, set[str]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type not in ("identifier", "shorthand_property_identifier_pattern"):
            continue
        name = node.text.decode() if node.text else ""
        parent = node.parent
        is_object = (
            parent is not None
            and parent.type == "member_expression"
            and parent.child_by_field_name("object") == node
        )
        uses.setdefault(name, set()).add("object" if is_object else "other")
    return uses
