"""Lines of code: non-blank lines that are not only a comment (docstrings count as code)."""

from __future__ import annotations

from mge_pipeline.domain import Language

_COMMENT_PREFIXES = {
    Language.PYTHON: ("#",),
    Language.JAVASCRIPT: ("//", "/*", "*", "*/"),
    Language.TYPESCRIPT: ("//", "/*", "*", "*/"),
}


def count_loc(code: str, language: Language) -> int:
    prefixes = _COMMENT_PREFIXES[language]
    return sum(
        1 for line in code.splitlines() if line.strip() and not line.lstrip().startswith(prefixes)
    )
