"""Getting the code out of a model's answer: fenced blocks, several blocks, prose, nothing."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from mge_pipeline.domain import AtomSpec, Language

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LANGUAGE_TAGS: dict[Language, set[str]] = {
    Language.PYTHON: {"python", "py", "python3", ""},
    Language.TYPESCRIPT: {"typescript", "ts", "tsx", ""},
    Language.JAVASCRIPT: {"javascript", "js", "jsx", "mjs", ""},
}


@dataclass(frozen=True)
class ExtractedCode:
    code: str | None
    problem: str | None = None


def extract_code(text: str, atom: AtomSpec) -> ExtractedCode:
    """Pick the block that defines the atom; say why when no single block does."""
    blocks = [(tag.lower(), body.strip("\n")) for tag, body in _FENCE.findall(text)]
    blocks = [(tag, body) for tag, body in blocks if body.strip()]
    if not blocks:
        return _unfenced(text, atom)
    wanted = _LANGUAGE_TAGS[atom.language]
    in_language = [body for tag, body in blocks if tag in wanted] or [body for _, body in blocks]
    if len(in_language) == 1:
        return ExtractedCode(in_language[0] + "\n")
    defining = [body for body in in_language if defines(body, atom.name)]
    if defining:
        return ExtractedCode(defining[-1] + "\n")
    return ExtractedCode(
        None, f"the answer has {len(in_language)} code blocks and none defines `{atom.name}`"
    )


def defines(code: str, name: str) -> bool:
    escaped = re.escape(name)
    pattern = (
        rf"^\s*(?:async\s+def|def|class|function|interface|type|const|let|var"
        rf"|export\s+(?:default\s+)?(?:async\s+)?(?:function|class|const|let|interface|type))"
        rf"\s+{escaped}\b|^\s*{escaped}\s*(?::[^=\n]*)?="
    )
    return re.search(pattern, code, re.MULTILINE) is not None


def _unfenced(text: str, atom: AtomSpec) -> ExtractedCode:
    """A bare answer counts as code only if it parses and defines the atom: prose never does."""
    stripped = text.strip()
    if not stripped:
        return ExtractedCode(None, "the answer is empty")
    if atom.language is Language.PYTHON and _parses(stripped) and defines(stripped, atom.name):
        return ExtractedCode(stripped + "\n")
    if atom.language is not Language.PYTHON and defines(stripped, atom.name):
        return ExtractedCode(stripped + "\n")
    first_line = stripped.splitlines()[0][:120]
    return ExtractedCode(None, f"the answer has no code block, it begins: {first_line!r}")


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True
