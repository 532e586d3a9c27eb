"""Cleaning and normalizing raw text before it is tokenized.

Chapter 01 teaches this file: Unicode normalization, whitespace, a real cleaning job on the
``pydoc`` corpus (headings, tables, inline markup and code listings removed, wrapped lines
joined into paragraphs), and stop words. ``tests/test_text.py`` pins each step on small
hand-made inputs. Left out on purpose: language detection, spelling correction, stemming and
lemmatization (a language model learns from the raw forms).

>>> normalize("ﬁ", "NFKC")
'fi'
>>> remove_stop_words(["this", "is", "not", "good"])
['good']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

FORMS = ("NFC", "NFD", "NFKC", "NFKD")

# Every Unicode space separator except the ordinary space, plus tabs and form feeds.
_ODD_SPACES = re.compile(r"[^\S\n]")
_MANY_SPACES = re.compile(r" {2,}")
_MANY_NEWLINES = re.compile(r"\n{3,}")

# Words are runs of letters/digits/underscores, optionally with an apostrophe inside
# ("don't", "object's"); every other visible character is a token of its own.
WORD_PATTERN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def normalize(text: str, form: str = "NFC") -> str:
    """Unicode-normalize ``text``: ``"NFC"`` composes, ``"NFKC"`` also folds look-alikes.

    NFC only merges a letter with its combining marks (``"e\\u0301"`` → ``"é"``), so the
    text reads the same. NFKC also replaces "compatibility" characters by plain ones
    (``"ﬁ"`` → ``"fi"``, ``"²"`` → ``"2"``, ``"…"`` → ``"..."``), which can change meaning.
    """
    if form not in FORMS:
        raise ValueError(f"unknown normalization form {form!r}; use one of {', '.join(FORMS)}")
    return unicodedata.normalize(form, text)


def normalize_whitespace(text: str) -> str:
    """Make whitespace boring: ``\\n`` line ends, single spaces, at most one blank line.

    Tabs and exotic spaces (no-break, em space, …) become a plain space; spaces at the end
    of a line are dropped; indentation at the start of a line is kept (it carries structure
    in code and in the pydoc corpus).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ODD_SPACES.sub(" ", text)
    lines = [_squeeze_inner_spaces(line) for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _squeeze_inner_spaces(line: str) -> str:
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    return indent + _MANY_SPACES.sub(" ", body).rstrip(" ")


def words(text: str, lowercase: bool = False) -> list[str]:
    """Split ``text`` into words and punctuation marks (``WORD_PATTERN``).

    >>> words("Don't panic, it's fine.")
    ["Don't", 'panic', ',', "it's", 'fine', '.']
    """
    found = WORD_PATTERN.findall(text)
    return [w.lower() for w in found] if lowercase else found


# ---------------------------------------------------------------- cleaning the pydoc corpus


def _blocks(text: str) -> list[list[str]]:
    """Split text into blocks of consecutive non-blank lines."""
    return [block.split("\n") for block in re.split(r"\n\s*\n", text.strip("\n")) if block]


def _indent(block: list[str]) -> int:
    return min(len(line) - len(line.lstrip(" ")) for line in block)


_LABELS = {"note:", "notes:", "see also:", "warning:", "caution:", "attention:", "important:"}
_HEADING_RULE = re.compile(r"^\s*([=\-~^*#])\1{2,}\s*$")
_TABLE_LINE = re.compile(r"^\s*[+|]")
_RUBRIC = re.compile(r"^\s*-\[ .* \]-\s*$")
_CODE_LINE = re.compile(
    r"^(?:(?:def|class|async|import|from|return|for|while|if|with|try|raise|print)\b"
    r"|@\w|[\w.\[\]]+ *[-+*/|&]?= )"
)


def _is_code_start(block: list[str], previous: list[str] | None) -> bool:
    first = block[0].lstrip()
    if first.startswith(">>>") or any("::=" in line for line in block):
        return True
    if previous is None or _indent(block) <= _indent(previous):
        return False
    intro = previous[-1].strip()
    introduced = intro.endswith(":") and intro.lower() not in _LABELS
    return introduced or bool(_CODE_LINE.match(first))


def remove_code_listings(text: str) -> str:
    """Drop code examples, interactive sessions, grammar rules and tables from pydoc text.

    A listing is a block indented deeper than the paragraph before it when that paragraph
    ends with a colon ("For example:") or the block starts like code (``def``, ``x = 1``);
    a ``>>>`` session; or a ``::=`` grammar rule.
    Blocks that follow it at the same depth or deeper belong to it (code has blank lines).
    """
    kept: list[list[str]] = []
    listing_indent: int | None = None
    for block in _blocks(text):
        if listing_indent is not None and _indent(block) >= listing_indent:
            continue
        listing_indent = None
        if all(_TABLE_LINE.match(line) for line in block):
            continue
        if _is_code_start(block, kept[-1] if kept else None):
            listing_indent = _indent(block)
            continue
        kept.append(block)
    return "\n\n".join("\n".join(block) for block in kept)


# Stars that mark up a word or phrase, but not the stars of code quoted in the text
# ("*args", "**kwargs"): no quote right before or after, no quote or star inside.
_STARRED = r"(?<![\w*\"]){stars}([^*\s\"](?:[^*\"]*?[^*\s\"])?){stars}(?![\w*\"])"
_MARKUP = [
    (re.compile(_STARRED.format(stars=r"\*\*")), r"\1"),  # **strong**
    (re.compile(_STARRED.format(stars=r"\*")), r"\1"),  # *emphasis*
    (re.compile(r"\s?\[\d+\]"), ""),  # footnote references [1]
]


def strip_markup(text: str) -> str:
    """Remove heading underlines, rubrics, ``**strong**``/``*emphasis*`` stars, footnote marks.

    Quoted code such as ``"len()"`` is kept: the quotes are part of the sentence.
    """
    lines = text.split("\n")
    lines = [line for line in lines if not (_HEADING_RULE.match(line) or _RUBRIC.match(line))]
    text = "\n".join(lines)
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text


def unwrap_paragraphs(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph into one line, without indentation."""
    paragraphs = (" ".join(line.strip() for line in block) for block in _blocks(text))
    return "\n\n".join(p for p in paragraphs if p)


def clean_pydoc(text: str) -> str:
    """The chapter's cleaning pipeline for the pydoc corpus: plain English paragraphs.

    whitespace → code listings and tables out → markup out → one paragraph per line.
    """
    text = normalize_whitespace(text)
    text = remove_code_listings(text)
    text = strip_markup(text)
    return unwrap_paragraphs(text)


# ---------------------------------------------------------------- stop words

# A short list in the spirit of the classic ones (NLTK's, scikit-learn's): function words
# that carry little topic. Note that "not", "no" and "nor" are in it, as in those lists.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with you your yours yourself
    yourselves""".split()
)


def remove_stop_words(tokens: Iterable[str], stop_words: Iterable[str] = STOP_WORDS) -> list[str]:
    """Keep the tokens whose lower-cased form is not a stop word.

    >>> remove_stop_words(["The", "film", "was", "not", "good"])
    ['film', 'good']
    """
    stop = {word.lower() for word in stop_words}
    return [token for token in tokens if token.lower() not in stop]
