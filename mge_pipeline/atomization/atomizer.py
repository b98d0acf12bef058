"""Files in, decompositions out: every file either atomizes or is skipped with one reason.

Nothing here raises on real-world input: unreadable paths, binary files, other languages,
empty files, syntax errors and huge or minified generated files each become a
``SkippedFile``; everything else is decomposed and must pass the round-trip check (a split
that does not reproduce the file is retried with classes kept whole).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mge_pipeline.atomization.decomposer import decompose, reassemble
from mge_pipeline.atomization.languages import detect_language
from mge_pipeline.atomization.parser import parse_source
from mge_pipeline.atomization.roundtrip import python_syntax_error, round_trip_problem
from mge_pipeline.atomization.units import Decomposition
from mge_pipeline.domain import Language

MAX_FILE_BYTES = 1_000_000
MAX_LINE_CHARS = 5_000
_SKIPPED_DIRECTORIES = {".git", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class AtomizedFile:
    path: str
    relative: str
    decomposition: Decomposition
    classes_kept_whole: bool = False


def discover(paths: Iterable[Path], *, root: Path | None = None) -> Iterator[tuple[Path, str]]:
    """(file, its path in the plan) for files and the files under directories.

    The path in the plan is relative to ``root`` when given (a ``src`` layout), else to the
    input's parent, so a package directory keeps its name: ``pkg/mod.py`` imports as
    ``pkg.mod``.
    """
    for path in paths:
        files = _files_under(path) if path.is_dir() else [path]
        for file in files:
            yield file, _relative(file, root or path.parent)


def _files_under(directory: Path) -> Iterator[Path]:
    for current, directories, files in os.walk(directory):
        directories[:] = sorted(d for d in directories if d not in _SKIPPED_DIRECTORIES)
        for name in sorted(files):
            yield Path(current) / name


def _relative(file: Path, base: Path) -> str:
    try:
        return file.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return file.name


def atomize_file(path: Path, relative: str | None = None) -> AtomizedFile | SkippedFile:
    relative = relative or path.name
    shown = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            size = path.stat().st_size
            return SkippedFile(
                shown, f"too large ({size} bytes; limit {MAX_FILE_BYTES}): generated?"
            )
        data = path.read_bytes()
    except OSError as exc:
        return SkippedFile(shown, f"unreadable: {exc.strerror or exc}")
    if b"\0" in data[:8192]:
        return SkippedFile(shown, "binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SkippedFile(shown, f"not UTF-8 text (byte {exc.start})")
    return atomize_text(text, path, relative)


def atomize_text(text: str, path: Path, relative: str) -> AtomizedFile | SkippedFile:
    shown = str(path)
    language = detect_language(path, text)
    if language is None:
        return SkippedFile(shown, "not Python, TypeScript or JavaScript")
    if not text.strip():
        return SkippedFile(shown, "empty file")
    longest = max(len(line) for line in text.splitlines())
    if longest > MAX_LINE_CHARS:
        return SkippedFile(shown, f"a line of {longest} characters: minified or generated")
    tsx = path.suffix.lower() == ".tsx"
    parsed = parse_source(text, language, tsx=tsx)
    if parsed.problems:
        return SkippedFile(shown, f"syntax error: {parsed.problems[0]}")
    if language is Language.PYTHON and (problem := python_syntax_error(text)):
        return SkippedFile(shown, f"syntax error: {problem}")
    if not parsed.constructs:
        return SkippedFile(shown, "no code: only comments and blank lines")
    for split_classes in (True, False):
        decomposition = decompose(parsed, relative, split_classes=split_classes)
        problem = round_trip_problem(text, reassemble(decomposition.units), language, tsx=tsx)
        if problem is None:
            return AtomizedFile(shown, relative, decomposition, not split_classes)
    return SkippedFile(shown, f"round trip failed: {problem}")
