"""The atomization records: a unit of code cut from a file, and the file's decomposition."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mge_pipeline.domain import Language
from mge_pipeline.domain.atomicity import MAX_LOC

MAX_UNIT_LOC = MAX_LOC
"""The decomposer cuts at the atomicity rule's size limit, measured the same way (``loc``)."""
TARGET_UNIT_LOC = 10


class UnitKind(StrEnum):
    IMPORTS = "imports"
    FUNCTION = "function"
    CLASS = "class"
    CLASS_HEADER = "class_header"
    MEMBER = "member"
    TYPE = "type"
    STATEMENTS = "statements"


@dataclass(frozen=True)
class Unit:
    """A contiguous piece of a file; members are stored dedented by ``indent``.

    ``closing`` is what follows a split class's last member (``}`` in TS/JS); ``whole_reason``
    says why a unit over the LOC limit was not split further.
    """

    kind: UnitKind
    name: str
    code: str
    start_line: int
    end_line: int
    loc: int
    complexity: int
    defines: frozenset[str] = frozenset()
    uses: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)
    global_writes: frozenset[str] = frozenset()
    parent_scope: str | None = None
    indent: str = ""
    closing: str = ""
    whole_reason: str | None = None

    @property
    def uid(self) -> str:
        """Unique within a file: kind, scope and first line."""
        scope = f"{self.parent_scope}." if self.parent_scope else ""
        return f"{scope}{self.name}@{self.start_line}"


@dataclass(frozen=True)
class Decomposition:
    path: str
    language: Language
    source: str
    units: tuple[Unit, ...]

    @property
    def total_loc(self) -> int:
        return sum(unit.loc for unit in self.units)
