"""The review assistant: pattern findings with a fix shown as before/after, and alternatives.

The patterns are line-based and deliberately plain (a reviewer reads them as hints, not
verdicts); each names the line, says why it matters and shows the line rewritten. The
optional LLM explanation lives in ``review/explain.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mge_pipeline.domain import AttemptRecord


@dataclass(frozen=True)
class Finding:
    rule: str
    line: int
    message: str
    before: str
    after: str


@dataclass(frozen=True)
class _Rule:
    name: str
    languages: tuple[str, ...]
    pattern: re.Pattern[str]
    message: str
    fix: Callable[[str], str]


_PY = ("python",)
_JS = ("javascript", "typescript")
_TS = ("typescript",)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


RULES: tuple[_Rule, ...] = (
    _Rule(
        "bare-except",
        _PY,
        re.compile(r"^\s*except\s*:"),
        "a bare except also catches KeyboardInterrupt and SystemExit and hides real bugs",
        lambda line: line.replace("except:", "except Exception:", 1),
    ),
    _Rule(
        "broad-except-pass",
        _PY,
        re.compile(r"^\s*except\s+Exception\s*:\s*pass\b"),
        "an exception swallowed without a word leaves the caller with a wrong result",
        lambda line: _indent(line) + "except Exception:\n" + _indent(line) + "    raise",
    ),
    _Rule(
        "print-left-in",
        _PY,
        re.compile(r"^\s*print\("),
        "print left in: output the spec did not ask for",
        lambda line: _indent(line) + "# " + line.strip() + "  (removed: debug output)",
    ),
    _Rule(
        "global-state",
        _PY,
        re.compile(r"^\s*global\s+\w+"),
        "global state makes the atom depend on call order and breaks parallel use",
        lambda line: _indent(line) + "# pass the value in and return the new one instead",
    ),
    _Rule(
        "mutable-default",
        _PY,
        re.compile(r"def\s+\w+\(.*=\s*(\[\]|\{\}|set\(\))"),
        "a mutable default is shared between calls",
        lambda line: re.sub(r"=(\s*)(\[\]|\{\}|set\(\))", r"=\1None", line, count=1),
    ),
    _Rule(
        "hard-coded-path",
        (*_PY, *_JS),
        re.compile(r"""["'](/(home|tmp|Users|etc|var)/[^"']*|[A-Za-z]:\\\\[^"']*)["']"""),
        "a hard-coded absolute path works only on the machine it was written on",
        lambda line: re.sub(
            r"""["'](/(home|tmp|Users|etc|var)/[^"']*|[A-Za-z]:\\\\[^"']*)["']""",
            "path  # a parameter or configuration value",
            line,
            count=1,
        ),
    ),
    _Rule(
        "console-log-left-in",
        _JS,
        re.compile(r"^\s*console\.(log|debug)\("),
        "console.log left in: output the spec did not ask for",
        lambda line: _indent(line) + "// " + line.strip() + "  (removed: debug output)",
    ),
    _Rule(
        "var-declaration",
        _JS,
        re.compile(r"^\s*var\s+"),
        "var is function-scoped and hoisted; let or const say what is meant",
        lambda line: line.replace("var ", "const ", 1),
    ),
    _Rule(
        "loose-equality",
        _JS,
        re.compile(r"[^=!<>]==[^=]|!=[^=]"),
        "== and != convert types before comparing ('0' == 0 is true)",
        lambda line: re.sub(r"(?<![=!<>])==(?!=)", "===", re.sub(r"!=(?!=)", "!==", line)),
    ),
    _Rule(
        "any-type",
        _TS,
        re.compile(r":\s*any\b|<any>|as\s+any\b"),
        "any switches the type checker off for this value",
        lambda line: re.sub(r"\bany\b", "unknown", line),
    ),
    _Rule(
        "global-assignment",
        _JS,
        re.compile(r"^\s*(window|globalThis)\.\w+\s*="),
        "global state makes the atom depend on call order",
        lambda line: _indent(line) + "// return the value instead of storing it globally",
    ),
)


def find_issues(code: str, language: str) -> list[Finding]:
    """Every rule of the language on every line, in line order."""
    findings: list[Finding] = []
    for number, line in enumerate(code.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(("#", "//")):
            continue
        for rule in RULES:
            if language in rule.languages and rule.pattern.search(line):
                findings.append(Finding(rule.name, number, rule.message, line, rule.fix(line)))
    return findings


@dataclass(frozen=True)
class Alternative:
    """Another attempt's code for the same atom, and how that attempt ended."""

    attempt_number: int
    temperature: float | None
    passed: bool
    errors: list[str]
    code: str


def alternatives(attempts: Sequence[AttemptRecord], shown_code: str | None) -> list[Alternative]:
    """The atom's other attempts that produced code, different from the code under review."""
    seen = {shown_code} if shown_code else set()
    found: list[Alternative] = []
    for attempt in sorted(attempts, key=lambda a: a.attempt_number):
        if attempt.code and attempt.code not in seen:
            seen.add(attempt.code)
            found.append(
                Alternative(
                    attempt.attempt_number,
                    attempt.temperature,
                    attempt.passed,
                    list(attempt.errors),
                    attempt.code,
                )
            )
    return found
