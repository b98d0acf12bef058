"""The sample module's own test suite (copied next to the rebuilt module as test_*.py)."""

import textstats


def test_words_and_sentences():
    assert textstats.words("It's a Dog's life.") == ["it's", "a", "dog's", "life"]
    assert textstats.sentences("One. Two! Three?") == 3
    assert textstats.sentences("") == 0


def test_syllables_and_flesch():
    assert textstats.syllables("the") == 1
    assert textstats.syllables("banana") == 3
    assert textstats.flesch("") == 0.0
    assert 80 < textstats.flesch("The cat sat on the mat.") <= 120


def test_parity():
    assert textstats.is_even(10) and textstats.is_odd(7)
    assert not textstats.is_even(3)


def test_word_index():
    index = textstats.WordIndex().add_text("a b\nb c\nb")
    assert index.lookup("B") == [1, 2, 3]
    assert index.most_common(2) == [("b", 3), ("a", 1)]
    assert index == textstats.WordIndex().add_text("a b\nb c\nb")
    assert index.lines_seen == 3


def test_summary():
    result = textstats.summary("Hello there. General Kenobi.")
    assert result["words"] == 4.0 and result["sentences"] == 2.0
    assert result["even_words"] == 1.0
