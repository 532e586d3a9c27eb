"""Specification of llmcourse.text: normalization, whitespace, pydoc cleaning, stop words."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmcourse.data import load_corpus
from llmcourse.text import (
    STOP_WORDS,
    clean_pydoc,
    normalize,
    normalize_whitespace,
    remove_code_listings,
    remove_stop_words,
    strip_markup,
    unwrap_paragraphs,
    words,
)


@pytest.mark.parametrize(
    ("raw", "nfc", "nfkc"),
    [
        ("ﬁle", "ﬁle", "file"),  # ligature
        ("x²", "x²", "x2"),  # superscript
        ("Ｈｅｌｌｏ", "Ｈｅｌｌｏ", "Hello"),  # full-width letters
        ("wait…", "wait…", "wait..."),  # ellipsis
        ("cafe\u0301", "café", "café"),  # combining accent: both compose it
    ],
)
def test_nfc_composes_and_nfkc_also_folds_compatibility_characters(raw, nfc, nfkc):
    assert normalize(raw, "NFC") == nfc
    assert normalize(raw, "NFKC") == nfkc


@given(st.text())
def test_normalize_agrees_with_unicodedata(text):
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert normalize(text, form) == unicodedata.normalize(form, text)


def test_unknown_normalization_form_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown normalization form 'NFX'.*NFC"):
        normalize("a", "NFX")


def test_normalize_whitespace_unifies_spaces_line_ends_and_blank_lines():
    raw = "a\u00a0 b\tc  \r\n\r\n\r\n\r\n   indented   line  \rlast"
    assert normalize_whitespace(raw) == "a b c\n\n   indented line\nlast"


@given(st.text(alphabet=" \t\n\r\u00a0\u2003ab"))
def test_normalize_whitespace_is_idempotent(text):
    once = normalize_whitespace(text)
    assert normalize_whitespace(once) == once
    assert "\t" not in once and "\r" not in once and "\n\n\n" not in once


def test_words_keeps_contractions_and_splits_punctuation():
    assert words("Don't panic, it's fine.") == ["Don't", "panic", ",", "it's", "fine", "."]
    assert words("The END", lowercase=True) == ["the", "end"]


def test_code_listings_introduced_by_a_colon_are_removed_with_their_blank_lines():
    text = "For example:\n\n   def f():\n       pass\n\n   f()\n\nBack to prose."
    assert remove_code_listings(text) == "For example:\n\nBack to prose."


def test_interactive_sessions_grammar_and_tables_are_removed():
    text = (
        "Prose one.\n\n   >>> 1 + 1\n   2\n\nProse two.\n\n   stmt ::= expr\n\n"
        "+---+---+\n| a | b |\n+---+---+\n\nProse three."
    )
    assert remove_code_listings(text) == "Prose one.\n\nProse two.\n\nProse three."


def test_indented_prose_after_a_note_label_is_kept():
    text = "Note:\n\n  This is prose, not code.\n\nMore."
    assert remove_code_listings(text) == text


def test_strip_markup_removes_stars_rules_rubrics_and_footnote_marks():
    text = 'Title\n=====\n\nThe *iterable* is **required** [1].\n-[ Footnotes ]-\nA "quoted" name.'
    assert strip_markup(text) == 'Title\n\nThe iterable is required.\nA "quoted" name.'


def test_unwrap_paragraphs_joins_wrapped_lines():
    assert unwrap_paragraphs("   one\n   two\n\nthree") == "one two\n\nthree"


def test_clean_pydoc_leaves_plain_paragraphs_without_code_or_markup():
    raw = load_corpus("pydoc")
    clean = clean_pydoc(raw)
    assert 0.5 * len(raw) < len(clean) < len(raw)
    for leftover in (">>>", "::=", "=====", "-[ ", "+---", "\n\n\n"):
        assert leftover not in clean
    assert all(line == line.strip() for line in clean.split("\n"))
    assert "Called unconditionally to implement attribute accesses" in clean


def test_not_is_a_stop_word_and_removing_it_flips_meaning():
    assert "not" in STOP_WORDS
    assert remove_stop_words(["The", "film", "was", "not", "good"]) == ["film", "good"]
    assert remove_stop_words(["a", "b"], stop_words=["A"]) == ["b"]


def test_stars_of_quoted_code_are_not_mistaken_for_emphasis():
    text = 'Use "*args" with an *iterable* and "**kwargs" with a\n*mapping*, as in "f(*y)".'
    expected = 'Use "*args" with an iterable and "**kwargs" with a\nmapping, as in "f(*y)".'
    assert strip_markup(text) == expected
