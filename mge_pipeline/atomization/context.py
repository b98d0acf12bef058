"""What each atom needs besides its own code, and how complete that picture is.

Five components, 20 % each: the imports it needs are known, the types it uses are known
(annotations, TS interfaces and aliases), conditions are stated (docstring or asserts), test
cases exist (doctests or examples), and its scope is known. A component that does not apply
counts as present: a function that uses no imports lacks no imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mge_pipeline.atomization.units import Unit, UnitKind
from mge_pipeline.domain import Language

COMPONENT_WEIGHT = 0.2
_BUILTIN_TYPES = {
    "int",
    "str",
    "float",
    "bool",
    "bytes",
    "list",
    "dict",
    "set",
    "tuple",
    "object",
    "None",
    "type",
}
_CONDITION = re.compile(
    r"\b(returns?|raises?|throws|requires?|must|precondition|postcondition|@param|:param|args:)",
    re.IGNORECASE,
)
_DOCUMENTATION = re.compile(r'"""(.*?)"""|\'\'\'(.*?)\'\'\'|/\*\*(.*?)\*/', re.DOTALL)
_DOCTEST = re.compile(r"^\s*>>> .+$", re.MULTILINE)
_EXAMPLE = re.compile(r"@example\b|^\s*\*?\s*Example", re.MULTILINE)


@dataclass(frozen=True)
class AtomContextInfo:
    imports: tuple[str, ...]
    types: tuple[str, ...]
    conditions: tuple[str, ...]
    test_cases: tuple[str, ...]
    parent_scope: str | None
    missing: tuple[str, ...]

    @property
    def completeness(self) -> float:
        return round(1.0 - COMPONENT_WEIGHT * len(self.missing), 2)


def inject_context(
    unit: Unit,
    language: Language,
    *,
    import_lines: dict[str, str],
    known_names: set[str],
) -> AtomContextInfo:
    """``import_lines`` maps each name the file's imports bind to its import statement;
    ``known_names`` is everything the file (or plan) defines."""
    uses = set(unit.uses)
    imports = tuple(sorted({import_lines[name] for name in uses if name in import_lines}))
    type_names = sorted(name for name, kinds in unit.uses.items() if "type" in kinds)
    own_parameters = type_parameters(unit.code) if language is not Language.PYTHON else set()
    builtin_types = _BUILTIN_TYPES if language is Language.PYTHON else _JS_GLOBALS
    unknown_types = [
        name
        for name in type_names
        if name not in known_names
        and name not in import_lines
        and name not in builtin_types
        and name not in own_parameters
    ]
    uses -= own_parameters
    conditions = (
        _conditions(unit.code)
        + _typed_signature(unit.code, language)
        + _guards(unit.code, language)
    )
    tests = tuple(match.strip() for match in _DOCTEST.findall(unit.code))
    if not tests and _EXAMPLE.search(unit.code):
        tests = ("example in the documentation",)
    missing: list[str] = []
    unresolved = [n for n in uses if n not in import_lines and n not in known_names]
    if unresolved and not _builtins_only(unresolved, language):
        missing.append("imports")
    if unknown_types:
        missing.append("types")
    if not conditions and unit.kind in {UnitKind.FUNCTION, UnitKind.MEMBER}:
        missing.append("conditions")
    if not tests and unit.kind in {UnitKind.FUNCTION, UnitKind.MEMBER}:
        missing.append("test cases")
    if unit.kind is UnitKind.MEMBER and not unit.parent_scope:
        missing.append("parent scope")
    return AtomContextInfo(
        imports=imports,
        types=tuple(type_names),
        conditions=tuple(dict.fromkeys(conditions)),
        test_cases=tests,
        parent_scope=unit.parent_scope,
        missing=tuple(missing),
    )


def _conditions(code: str) -> tuple[str, ...]:
    """Asserts, and docstring or JSDoc lines that state what goes in, out or wrong."""
    asserts = [line.strip() for line in code.splitlines() if line.strip().startswith("assert ")]
    documented = [
        line.strip(" *\t")
        for match in _DOCUMENTATION.finditer(code)
        for line in "".join(part for part in match.groups() if part).splitlines()
        if _CONDITION.search(line)
    ]
    return tuple(documented + asserts)


_TYPE_PARAMETERS = re.compile(
    r"(?:\b(?:function\*?|class|interface|type)\s+[\w$]+|[\w$]+)\s*<([^<>()]*)>\s*[(={]"
)
_PY_TYPED = re.compile(
    r"^\s*(?:async\s+)?def\s+\w+\s*\((?P<params>.*?)\)\s*->\s*[^:]+:", re.DOTALL | re.MULTILINE
)
_TS_TYPED = re.compile(r"\((?P<params>[^()]*)\)\s*:\s*[\w$<>\[\]|&{}., ]+\s*(?:\{|=>|;)")
_PY_GUARD = re.compile(r"^\s*if\b.*:\s*\n\s*raise\b.*$|^\s*raise\s+\w+.*$", re.MULTILINE)
_JS_GUARD = re.compile(r"\bif\s*\(.*\)\s*\{?\s*\n?\s*throw\b[^;\n]*", re.MULTILINE)


def type_parameters(code: str) -> set[str]:
    """TypeScript generics a unit declares itself (``<T, K extends keyof T>``): not unknown."""
    names: set[str] = set()
    for match in _TYPE_PARAMETERS.finditer(code):
        for part in match.group(1).split(","):
            word = re.match(r"\s*(?:const\s+)?([A-Za-z_$][\w$]*)", part)
            if word:
                names.add(word.group(1))
    return names


def _typed_signature(code: str, language: Language) -> tuple[str, ...]:
    """A fully annotated signature states what goes in and what comes out."""
    if language is Language.JAVASCRIPT:
        return ()
    pattern = _PY_TYPED if language is Language.PYTHON else _TS_TYPED
    match = pattern.search(code)
    if match is None:
        return ()
    params = [p.strip() for p in match.group("params").split(",") if p.strip()]
    untyped = [
        p
        for p in params
        if ":" not in p
        and p.lstrip("*") not in ("self", "cls", "/", "")
        and not p.startswith("...")
    ]
    if untyped:
        return ()
    return ("typed signature: " + " ".join(match.group(0).split())[:200],)


def _guards(code: str, language: Language) -> tuple[str, ...]:
    """``if …: raise`` / ``if (…) throw``: preconditions the code enforces."""
    pattern = _PY_GUARD if language is Language.PYTHON else _JS_GUARD
    return tuple("guard: " + " ".join(m.group(0).split())[:200] for m in pattern.finditer(code))


def _builtins_only(names: list[str], language: Language) -> bool:
    if language is Language.PYTHON:
        import builtins

        return all(hasattr(builtins, name) for name in names)
    return all(name in _JS_GLOBALS for name in names)


_JS_GLOBALS = {
    "parseInt",
    "parseFloat",
    "isNaN",
    "isFinite",
    "Infinity",
    "NaN",
    "setTimeout",
    "clearTimeout",
    "setInterval",
    "clearInterval",
    "setImmediate",
    "queueMicrotask",
    "structuredClone",
    "Buffer",
    "__dirname",
    "__filename",
    "Intl",
    "BigInt",
    "Function",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "AggregateError",
    "encodeURIComponent",
    "decodeURIComponent",
    "encodeURI",
    "decodeURI",
    "escape",
    "unescape",
    "Uint8Array",
    "Uint16Array",
    "Uint32Array",
    "Int8Array",
    "Int16Array",
    "Int32Array",
    "Float32Array",
    "Float64Array",
    "ArrayBuffer",
    "SharedArrayBuffer",
    "DataView",
    "Atomics",
    "TextEncoder",
    "TextDecoder",
    "URL",
    "URLSearchParams",
    "AbortController",
    "Proxy",
    "WeakRef",
    "FinalizationRegistry",
    "Iterator",
    "self",
    "navigator",
    "null",
    "NodeJS",
    "Record",
    "Partial",
    "Readonly",
    "Required",
    "Pick",
    "Omit",
    "ReturnType",
    "Parameters",
    "Exclude",
    "Extract",
    "NonNullable",
    "InstanceType",
    "Awaited",
    "Generator",
    "AsyncGenerator",
    "Iterable",
    "IterableIterator",
    "AsyncIterable",
    "PromiseLike",
    "ArrayLike",
    "ReadonlyArray",
    "ReadonlyMap",
    "ReadonlySet",
    "PropertyKey",
    "object",
    "symbol",
    "bigint",
    "keyof",
    "typeof",
    "true",
    "false",
    "Array",
    "Boolean",
    "Date",
    "Error",
    "JSON",
    "Map",
    "Math",
    "Number",
    "Object",
    "Promise",
    "Reflect",
    "RegExp",
    "Set",
    "String",
    "Symbol",
    "TypeError",
    "WeakMap",
    "WeakSet",
    "console",
    "globalThis",
    "module",
    "exports",
    "require",
    "process",
    "undefined",
    "window",
    "document",
    "this",
    "arguments",
    "any",
    "number",
    "string",
    "boolean",
    "void",
    "never",
    "unknown",
}
