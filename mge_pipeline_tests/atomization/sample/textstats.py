"""Small text statistics: words, sentences, readability, and a tiny word index.

Used by the atomization tests as a real module to take apart and rebuild with its own tests.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

WORD = re.compile(r"[A-Za-z']+")
SENTENCE_END = re.compile(r"[.!?]+")
VOWELS = "aeiouy"
MIN_SYLLABLES = 1


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``.

    >>> words("Hello, World!")
    ['hello', 'world']
    """
    return [word.lower() for word in WORD.findall(text)]


def sentences(text: str) -> int:
    """Number of sentences, at least one for non-empty text."""
    parts = [part for part in SENTENCE_END.split(text) if part.strip()]
    return max(len(parts), 1 if text.strip() else 0)


def syllables(word: str) -> int:
    """A rough syllable count: groups of vowels, at least one.

    >>> syllables("banana")
    3
    """
    groups = re.findall(f"[{VOWELS}]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(count, MIN_SYLLABLES)


def flesch(text: str) -> float:
    """Flesch reading ease, rounded to one decimal."""
    found = words(text)
    if not found:
        return 0.0
    per_sentence = len(found) / sentences(text)
    per_word = sum(syllables(word) for word in found) / len(found)
    return round(206.835 - 1.015 * per_sentence - 84.6 * per_word, 1)


def is_even(n: int) -> bool:
    # Mutual recursion: the atomizer has to break this cycle.
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: int) -> bool:
    return False if n == 0 else is_even(n - 1)


@dataclass
class WordIndex:
    """Where each word occurs, by line number."""

    positions: dict[str, list[int]] = field(default_factory=dict)
    lines_seen: int = 0

    def add_line(self, line: str) -> None:
        self.lines_seen += 1
        for word in words(line):
            self.positions.setdefault(word, []).append(self.lines_seen)

    def add_text(self, text: str) -> WordIndex:
        for line in text.splitlines():
            self.add_line(line)
        return self

    def lookup(self, word: str) -> list[int]:
        return list(self.positions.get(word.lower(), []))

    def most_common(self, n: int = 3) -> list[tuple[str, int]]:
        counts = Counter({word: len(lines) for word, lines in self.positions.items()})
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]

    # Equality on contents only; the counter is bookkeeping.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordIndex) and self.positions == other.positions

    __hash__ = None  # type: ignore[assignment]


def summary(text: str) -> dict[str, float]:
    found = words(text)
    return {
        "words": float(len(found)),
        "sentences": float(sentences(text)),
        "flesch": flesch(text),
        "even_words": float(is_even(len(found))),
    }


if __name__ == "__main__":
    import sys

    print(summary(sys.stdin.read()))
# end of textstats
