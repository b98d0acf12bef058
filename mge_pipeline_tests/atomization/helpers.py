"""Builders for atomization tests: a source string in, its atomized file or units out."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mge_pipeline.atomization.atomizer import AtomizedFile, SkippedFile, atomize_text
from mge_pipeline.atomization.units import Unit

SAMPLE = Path(__file__).with_name("sample")


def atomize(source: str, name: str = "mod.py") -> AtomizedFile:
    """Atomize dedented ``source`` as if it were the file ``name``; fail if it was skipped."""
    result = atomize_text(textwrap.dedent(source), Path(name), name)
    assert not isinstance(result, SkippedFile), result.reason
    return result


def units_of(source: str, name: str = "mod.py") -> list[Unit]:
    return list(atomize(source, name).decomposition.units)


def by_name(units: list[Unit]) -> dict[str, Unit]:
    return {unit.name: unit for unit in units}
