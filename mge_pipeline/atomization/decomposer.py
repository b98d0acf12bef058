"""Cutting a parsed file into units of about ten lines along real boundaries.

Boundaries are the module's top-level constructs and, for a class over the limit, its members:
the class becomes a header unit (its line, docstring and leading attributes) plus one unit per
method. A function is never cut inside, because its nested parts share its local scope; such
a unit stays whole and says why. Units are contiguous line ranges, so every comment and blank
line stays with the construct after it (or with the last one, at the end of a file), and
putting the units back together in order gives the file back: that is the round-trip contract
``round_trip_problem`` checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import tree_sitter

from mge_pipeline.atomization.metrics import count_loc
from mge_pipeline.atomization.parser import (
    Construct,
    ConstructKind,
    ParsedSource,
    is_overload_signature,
)
from mge_pipeline.atomization.symbols import Scope, SymbolTable, analyse
from mge_pipeline.atomization.units import (
    MAX_UNIT_LOC,
    TARGET_UNIT_LOC,
    Decomposition,
    Unit,
    UnitKind,
)
from mge_pipeline.domain import Language

PYTHON_INDENT = "    "
_KIND_OF = {
    ConstructKind.IMPORTS: UnitKind.IMPORTS,
    ConstructKind.FUNCTION: UnitKind.FUNCTION,
    ConstructKind.CLASS: UnitKind.CLASS,
    ConstructKind.TYPE: UnitKind.TYPE,
    ConstructKind.STATEMENT: UnitKind.STATEMENTS,
    ConstructKind.MEMBER: UnitKind.MEMBER,
}


class SplitError(Exception):
    """A class that cannot be cut into members; the message says why."""


@dataclass
class _Group:
    kind: UnitKind
    constructs: list[Construct]
    loc: int

    @property
    def end_line(self) -> int:
        return max(construct.end_line for construct in self.constructs)


def decompose(parsed: ParsedSource, path: str, *, split_classes: bool = True) -> Decomposition:
    lines = parsed.lines
    groups = _group(parsed, lines)
    units: list[Unit] = []
    start = 0
    for index, group in enumerate(groups):
        end = len(lines) - 1 if index == len(groups) - 1 else group.end_line
        units.extend(_units_of(group, start, end, parsed, split_classes=split_classes))
        start = end + 1
    return Decomposition(path, parsed.language, parsed.text, tuple(units))


def _group(parsed: ParsedSource, lines: list[str]) -> list[_Group]:
    """Imports and plain statements are gathered into runs; constructs sharing a line merge."""
    groups: list[_Group] = []
    for construct in parsed.constructs:
        kind = _KIND_OF[construct.kind]
        loc = count_loc(
            "".join(lines[construct.start_line : construct.end_line + 1]), parsed.language
        )
        last = groups[-1] if groups else None
        if last is not None and _continues_overloads(last.constructs, construct):
            last.constructs.append(construct)
            last.loc += loc
            continue
        if last is not None and construct.start_line <= last.end_line:
            last.constructs.append(construct)
            last.loc += loc
            if last.kind is not kind:
                last.kind = UnitKind.STATEMENTS
            continue
        limit = {UnitKind.IMPORTS: MAX_UNIT_LOC, UnitKind.STATEMENTS: TARGET_UNIT_LOC}.get(kind)
        if last is not None and last.kind is kind and limit and last.loc + loc <= limit:
            last.constructs.append(construct)
            last.loc += loc
            continue
        groups.append(_Group(kind, [construct], loc))
    return groups


def _continues_overloads(before: Sequence[Construct], construct: Construct) -> bool:
    """TypeScript overload signatures travel with their implementation (TS2391 otherwise)."""
    return (
        construct.name is not None
        and all(c.name == construct.name and is_overload_signature(c) for c in before)
        and bool(before)
    )


def _units_of(
    group: _Group, start: int, end: int, parsed: ParsedSource, *, split_classes: bool
) -> list[Unit]:
    reason = None
    if group.kind is UnitKind.CLASS and group.loc > MAX_UNIT_LOC:
        if split_classes:
            try:
                return _split_class(group.constructs[0], start, end, parsed)
            except SplitError as exc:
                reason = str(exc)
        else:
            reason = "kept whole: splitting it would not reproduce the file"
    elif group.loc > MAX_UNIT_LOC:
        reason = _whole_reason(group.kind)
    return [_unit(group.kind, group.constructs, start, end, parsed, whole_reason=reason)]


def _whole_reason(kind: UnitKind) -> str:
    if kind is UnitKind.FUNCTION:
        return "a function is not cut: its inner parts share its local scope"
    if kind is UnitKind.STATEMENTS:
        return "a single statement has no inner boundary"
    return f"a {kind.value} declaration has no inner boundary"


def _unit(
    kind: UnitKind,
    constructs: Sequence[Construct],
    start: int,
    end: int,
    parsed: ParsedSource,
    *,
    whole_reason: str | None = None,
    code: str | None = None,
    parent_scope: str | None = None,
    indent: str = "",
    closing: str = "",
    analysed_end: int | None = None,
) -> Unit:
    lines = parsed.lines
    text = code if code is not None else "".join(lines[start : end + 1])
    scope = Scope.CLASS if parent_scope else Scope.MODULE
    table = analyse(
        [c.node for c in constructs], parsed.language, (start, analysed_end or end), scope=scope
    )
    name = _name_of(kind, constructs, table, start)
    return Unit(
        kind=kind,
        name=name,
        code=text,
        start_line=start + 1,
        end_line=end + 1,
        loc=count_loc(text, parsed.language),
        complexity=table.complexity,
        defines=frozenset(table.defines | ({name} if parent_scope else set())),
        uses={use: frozenset(kinds) for use, kinds in table.uses.items()},
        global_writes=frozenset(table.global_writes),
        parent_scope=parent_scope,
        indent=indent,
        closing=closing,
        whole_reason=whole_reason,
    )


def _name_of(
    kind: UnitKind, constructs: Sequence[Construct], table: SymbolTable, start: int
) -> str:
    named = [c.name for c in constructs if c.name]
    if named and kind is not UnitKind.STATEMENTS:
        return named[0]
    if kind is UnitKind.IMPORTS:
        return f"imports_{start + 1}"
    ordered = sorted(table.defines)
    if kind is UnitKind.STATEMENTS and ordered:
        return _first_defined(constructs, table) or ordered[0]
    if named:
        return named[0]
    return f"{kind.value}_{start + 1}"


def _first_defined(constructs: Sequence[Construct], table: SymbolTable) -> str | None:
    """The first name, in source order, that the statements bind."""
    for construct in constructs:
        for node in _identifiers(construct.node):
            text = (node.text or b"").decode("utf-8", errors="replace")
            if text in table.defines:
                return text
    return None


def _identifiers(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    found: list[tree_sitter.Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            found.append(current)
        stack.extend(reversed(current.children))
    return found


def _split_class(class_: Construct, start: int, end: int, parsed: ParsedSource) -> list[Unit]:
    """Header (class line, docstring, leading attributes) plus one unit per member."""
    language = parsed.language
    members = list(class_.members)
    if not members:
        raise SplitError("kept whole: the class has no members to split along")
    if language is Language.PYTHON:
        first_def = next((i for i, m in enumerate(members) if m.kind is ConstructKind.MEMBER), None)
        if first_def is None:
            raise SplitError("kept whole: the class has no methods to split along")
        in_header = max(first_def, 1)
        header_end = members[in_header - 1].end_line
        rest = members[in_header:]
    else:
        if class_.body is None:
            raise SplitError("kept whole: the class has no body")
        header_end = class_.body.start_point[0]
        rest = members
    if not rest:
        raise SplitError("kept whole: nothing follows the class header")
    pieces = _member_pieces(rest, language)
    indent = _indent_of(parsed.lines[pieces[0][0].start_line])
    if language is Language.PYTHON and indent != PYTHON_INDENT:
        raise SplitError("kept whole: the class body is not indented with four spaces")
    return _member_units(class_, pieces, start, end, header_end, indent, parsed)


def _member_pieces(members: list[Construct], language: Language) -> list[list[Construct]]:
    """One piece per method or named member; other statements join the piece before them."""
    pieces: list[list[Construct]] = []
    for member in members:
        standalone = member.kind is ConstructKind.MEMBER or _assigns_a_name(member, language)
        if pieces and (not standalone or _continues_overloads(pieces[-1], member)):
            pieces[-1].append(member)
        else:
            pieces.append([member])
    return pieces


def _assigns_a_name(member: Construct, language: Language) -> bool:
    node = member.node
    if language is not Language.PYTHON or node.type != "expression_statement":
        return False
    inner = node.named_children[0] if node.named_children else None
    if inner is None or inner.type != "assignment":
        return False
    left = inner.child_by_field_name("left")
    return left is not None and left.type == "identifier"


def _member_units(
    class_: Construct,
    pieces: list[list[Construct]],
    start: int,
    end: int,
    header_end: int,
    indent: str,
    parsed: ParsedSource,
) -> list[Unit]:
    lines = parsed.lines
    name = class_.name or f"class_{start + 1}"
    ranges: list[tuple[int, int]] = []
    previous_end = header_end
    for piece in pieces:
        if piece[0].start_line <= previous_end:
            raise SplitError("kept whole: a member starts on the line where another ends")
        piece_end = max(c.end_line for c in piece)
        ranges.append((previous_end + 1, piece_end))
        previous_end = piece_end
    closing = "".join(lines[previous_end + 1 : end + 1])
    header = _unit(
        UnitKind.CLASS_HEADER,
        [class_],
        start,
        header_end,
        parsed,
        closing=closing,
        analysed_end=header_end,
    )
    units = [header]
    for piece, (piece_start, piece_end) in zip(pieces, ranges, strict=True):
        code = _dedent(lines[piece_start : piece_end + 1], indent)
        units.append(
            _unit(
                UnitKind.MEMBER,
                piece,
                piece_start,
                piece_end,
                parsed,
                code=code,
                parent_scope=name,
                indent=indent,
            )
        )
    return units


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _dedent(lines: list[str], indent: str) -> str:
    out: list[str] = []
    for line in lines:
        if line.startswith(indent):
            out.append(line[len(indent) :])
        elif not line.strip():
            out.append(line[len(line.rstrip("\r\n")) :] or "\n")
        else:
            raise SplitError("kept whole: a line inside a member is indented less than the class")
    return "".join(out)


def reindent(code: str, indent: str) -> str:
    return "".join(
        (indent + line) if line.strip() else line for line in code.splitlines(keepends=True)
    )


def reassemble(units: Sequence[Unit]) -> str:
    """The file back from its units, in order: members re-indented, closings restored."""
    parts: list[str] = []
    closing = ""
    for unit in units:
        if unit.kind is not UnitKind.MEMBER and closing:
            parts.append(closing)
            closing = ""
        parts.append(
            reindent(unit.code, unit.indent) if unit.kind is UnitKind.MEMBER else unit.code
        )
        if unit.kind is UnitKind.CLASS_HEADER:
            closing = unit.closing
    parts.append(closing)
    return "".join(parts)
