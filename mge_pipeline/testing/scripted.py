"""Scripted answers for ``mge build``: discovery, planning, decomposition and generation.

The Messages API server (``messages_api.py``) answers through a responder; this one answers a
whole build of one small request, ``BUILD_REQUEST``, the way a model would. It recognises the
planning stages by the JSON schema the request carries (``output_config.format.schema.title``)
and a generation prompt by its first line (``Write the function `name` …``). The first answer
of some stages is deliberately wrong, so the repair loops run: a discovery document that does
not validate against its schema, an outline with an unknown task dependency, a task whose atom
is too large and has no tests, and a task whose atoms form a cycle. Once the prompt carries the
feedback (a second user turn), the corrected answer comes.

It stands in for a model in tests and demonstrations; it plans nothing itself: any other
request gets the same plan, so it is no substitute for a real model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mge_pipeline.testing.messages_api import RecordedRequest, Responder

BUILD_REQUEST = (
    "A small Python text utilities library: collapse whitespace, make URL slugs, count words "
    "and find the most frequent word."
)

_DISCOVERY: dict[str, Any] = {
    "project_id": "textkit",
    "goal": "A dependency-free Python library of small text utilities.",
    "users": ["Python developers"],
    "entities": [{"name": "text", "attributes": ["value: str"]}],
    "operations": [
        "collapse whitespace",
        "make a URL slug",
        "count words",
        "find the most frequent word",
    ],
    "constraints": ["standard library only", "pure functions"],
    "language": "python",
    "package": "textkit",
    "non_goals": ["natural-language tokenisation", "Unicode transliteration"],
}
# Fails its schema: an id that is not snake_case, and no package.
_DISCOVERY_INVALID = {
    **{k: v for k, v in _DISCOVERY.items() if k != "package"},
    "project_id": "TextKit",
}

_TEXT_TESTS = """from textkit.text import normalize_space, slugify


def test_slugs_and_spaces():
    assert slugify("  Hello,   World! ") == "hello-world"
    assert normalize_space("a\\n\\n b") == "a b"
"""
_STATS_TESTS = """from textkit.stats import top_word, word_count


def test_counts_and_top_word():
    assert word_count("the cat  and the hat") == 5
    assert word_count("   ") == 0
    assert top_word("the cat and The hat") == "the"
"""


def _outline(stats_depends_on: list[str]) -> dict[str, Any]:
    tasks = [
        {
            "id": "text",
            "name": "Text normalisation",
            "description": "Whitespace collapsing and URL slugs.",
            "file_path": "textkit/text.py",
            "depends_on": [],
            "provides": ["normalize_space", "slugify"],
            "acceptance_tests": _TEXT_TESTS,
        },
        {
            "id": "stats",
            "name": "Word statistics",
            "description": "Word counts and the most frequent word.",
            "file_path": "textkit/stats.py",
            "depends_on": stats_depends_on,
            "provides": ["word_count", "top_word"],
            "acceptance_tests": _STATS_TESTS,
        },
    ]
    milestone = {"id": "core", "name": "Core utilities", "tasks": tasks}
    return {
        "name": "textkit",
        "description": "Text utilities.",
        "phases": [{"id": "build", "name": "Build", "milestones": [milestone]}],
    }


def _atom(atom_id: str, signature: str, description: str, tests: str, **extra: Any) -> Any:
    name = re.match(r"def (\w+)", signature)
    return {
        "id": atom_id,
        "name": name.group(1) if name else atom_id,
        "kind": "function",
        "signature": signature,
        "description": description,
        "depends_on": extra.get("depends_on", []),
        "tests": tests,
        "estimated_loc": extra.get("estimated_loc", 4),
        "imports": extra.get("imports", []),
    }


def _text_atoms(*, repaired: bool) -> dict[str, Any]:
    slug_tests = 'assert slugify("Hello,  World!") == "hello-world"' if repaired else ""
    return {
        "atoms": [
            _atom(
                "normalize_space",
                "def normalize_space(text: str) -> str:",
                "Collapse every run of whitespace into one space and strip both ends.",
                'assert normalize_space("  a \\t b\\n") == "a b"',
            ),
            _atom(
                "slugify",
                "def slugify(text: str) -> str:",
                "Lower-case the normalised text; every run of characters other than a-z and "
                "0-9 becomes one hyphen; no hyphen at either end.",
                slug_tests,
                depends_on=["normalize_space"],
                imports=["import re"],
                estimated_loc=4 if repaired else 40,
            ),
        ]
    }


def _stats_atoms(*, repaired: bool) -> dict[str, Any]:
    frequencies_deps = [] if repaired else ["top_word"]
    return {
        "atoms": [
            _atom(
                "word_count",
                "def word_count(text: str) -> int:",
                "The number of words: whitespace-separated runs of other characters.",
                'assert word_count(" a  b ") == 2\nassert word_count("") == 0',
                depends_on=["text.normalize_space"],
            ),
            _atom(
                "word_frequencies",
                "def word_frequencies(text: str) -> dict[str, int]:",
                "How often each lower-cased word occurs.",
                'assert word_frequencies("A a b") == {"a": 2, "b": 1}',
                depends_on=frequencies_deps,
                imports=["from collections import Counter"],
            ),
            _atom(
                "top_word",
                "def top_word(text: str) -> str:",
                "The most frequent lower-cased word (the first seen on a tie); '' for no word.",
                'assert top_word("b a B") == "b"\nassert top_word("") == ""',
                depends_on=["word_frequencies"],
            ),
        ]
    }


CODE: dict[str, str] = {
    "normalize_space": 'def normalize_space(text: str) -> str:\n    return " ".join(text.split())',
    "slugify": (
        "import re\n\n\ndef slugify(text: str) -> str:\n"
        "    lowered = normalize_space(text).lower()\n"
        '    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")'
    ),
    "word_count": (
        "def word_count(text: str) -> int:\n"
        "    words = normalize_space(text)\n"
        '    return len(words.split(" ")) if words else 0'
    ),
    "word_frequencies": (
        "from collections import Counter\n\n\n"
        "def word_frequencies(text: str) -> dict[str, int]:\n"
        "    return dict(Counter(word.lower() for word in text.split()))"
    ),
    "top_word": (
        "def top_word(text: str) -> str:\n"
        "    counts = word_frequencies(text)\n"
        '    return max(counts, key=counts.__getitem__) if counts else ""'
    ),
}
"""What the scripted model writes for each atom of the built plan."""

_TASK = re.compile(r"^Task `([^`]+)`", re.MULTILINE)
_WANTED = re.compile(r"^Write the \w+ `([^`]+)`", re.MULTILINE)


def build_responder() -> Responder:
    """Answers every prompt of ``mge build`` for ``BUILD_REQUEST``; first answers may be wrong."""

    def respond(request: RecordedRequest) -> str:
        schema = ((request.body.get("output_config") or {}).get("format") or {}).get("schema")
        repaired = len(request.body.get("messages", [])) > 1
        if isinstance(schema, dict):
            return json.dumps(_structured(str(schema.get("title")), request, repaired=repaired))
        match = _WANTED.search(request.prompt)
        code = CODE.get(match.group(1)) if match else None
        return f"```python\n{code}\n```" if code else "I have no script for this prompt."

    return respond


def _structured(title: str, request: RecordedRequest, *, repaired: bool) -> Any:
    if title == "Discovery":
        return _DISCOVERY if repaired else _DISCOVERY_INVALID
    if title == "PlanOutline":
        return _outline(["text"] if repaired else ["text", "tokenizer"])
    first_turn = str(request.body["messages"][0]["content"])
    task = _TASK.search(first_turn)
    if title == "TaskDecomposition" and task and task.group(1) == "text":
        return _text_atoms(repaired=repaired)
    if title == "TaskDecomposition" and task and task.group(1) == "stats":
        return _stats_atoms(repaired=repaired)
    return {"error": f"no script for schema {title}"}
