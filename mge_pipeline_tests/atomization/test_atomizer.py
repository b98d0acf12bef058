"""Bad input: every file either atomizes or is skipped with one reason; nothing raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mge_pipeline.atomization.atomizer import (
    MAX_FILE_BYTES,
    AtomizedFile,
    SkippedFile,
    atomize_file,
    discover,
)


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        path = root / name
        path.write_bytes(data)
        return path

    return make


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(_write("a.py", b"\x89PNG\r\n\x00\x00"), "binary file", id="binary"),
        pytest.param(
            _write("a.rb", b"puts 1\n"), "not Python, TypeScript or JavaScript", id="ruby"
        ),
        pytest.param(_write("a.py", b"  \n\n"), "empty file", id="empty"),
        pytest.param(
            _write("a.py", b"# only\n# comments\n"), "no code: only comments", id="comments"
        ),
        pytest.param(
            _write("a.py", b"def f(:\n    pass\n"),
            "syntax error: line 1, column 7: missing ')'",
            id="syntax-error",
        ),
        pytest.param(_write("a.py", b"print 'python 2'\n"), "syntax error: line 1", id="python2"),
        pytest.param(
            _write("a.js", b"var x = [" + b"1," * 3000 + b"];\n"),
            "a line of 6011 characters: minified or generated",
            id="minified",
        ),
        pytest.param(
            _write("a.py", b"X = 1\n" * (MAX_FILE_BYTES // 6 + 1)), "too large", id="huge"
        ),
        pytest.param(_write("a.py", b"x = '\xff'\n"), "not UTF-8 text", id="latin-1"),
        pytest.param(lambda root: root / "missing.py", "unreadable", id="unreadable"),
    ],
)
def test_bad_input_is_skipped_with_a_reason(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    result = atomize_file(make(tmp_path))
    assert isinstance(result, SkippedFile)
    assert result.reason.startswith(reason), result.reason


def test_directories_are_walked_in_order_with_paths_relative_to_their_parent(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    for relative in ("b.py", "a.py", "sub/c.ts", "__pycache__/x.pyc"):
        (package / relative).write_text("x = 1\n")
    found = [relative for _, relative in discover([package])]
    assert found == ["pkg/a.py", "pkg/b.py", "pkg/sub/c.ts"]
    assert isinstance(atomize_file(package / "a.py", "pkg/a.py"), AtomizedFile)
