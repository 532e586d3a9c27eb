"""Word tokenizer: a regex cuts text into words and punctuation marks; each gets an id.

Chapter 01 (``chapters/01_text_preprocessing.ipynb``) uses it to show why word-level
vocabularies are a problem: they are huge, every unseen word becomes ``<unk>`` (see
``oov_rate``), and whitespace is lost, so ``decode(encode(s))`` is only an approximation
of ``s``. ``tests/test_tokenizers.py`` checks the vocabulary order, ``max_vocab`` and
``min_freq``, ``<unk>`` and the OOV rate on hand-made cases.

Words are cut by ``llmcourse.text.words``: a word is a run of word characters (letters,
marks, digits, ``_``), which may contain apostrophes between letters (``don't``,
``o'er``); every other non-space character is a token of its own. Case is kept unless
``lowercase=True``: the chapter discusses that trade-off (a smaller vocabulary against
losing "Will" vs "will").

Left out on purpose: stemming and lemmatization, stop-word removal (``llmcourse.text``),
splitting contractions Penn-Treebank style (``do n't``), and subword fallback for
unseen words (that is what BPE is for).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from llmcourse.text import words as split_words
from llmcourse.tokenizers.base import (
    Tokenizer,
    check_special_tokens,
    check_text,
    ordinary_parts,
)

# decode writes "word, word." rather than "word , word ." and "(word)" rather than "( word )"
NO_SPACE_BEFORE = frozenset(".,;:!?)]}%…")
NO_SPACE_AFTER = frozenset("([{¿¡")


class WordTokenizer(Tokenizer):
    """Ids ``0 .. len(words) - 1`` are the words, most frequent first; then special tokens.

    ``<unk>`` is always one of the special tokens: unseen words map to it.

    >>> tok = WordTokenizer.train("the cat saw the dog.")
    >>> tok.words
    ['the', '.', 'cat', 'dog', 'saw']
    >>> tok.encode("the bird saw the cat")
    [0, 5, 4, 0, 2]
    >>> tok.decode(tok.encode("The dog."))
    '<unk> dog.'
    """

    kind = "word"

    def __init__(
        self,
        words: Sequence[str],
        special_tokens: Sequence[str] = ("<unk>",),
        lowercase: bool = False,
    ) -> None:
        super().__init__(special_tokens)
        if "<unk>" not in self._specials:
            raise ValueError("a WordTokenizer needs '<unk>' among its special tokens")
        if not isinstance(lowercase, bool):
            raise TypeError(f"lowercase must be True or False, got {lowercase!r}")
        self.words = list(words)
        self.lowercase = lowercase
        self._word_to_id = {w: i for i, w in enumerate(self.words)}
        if len(self._word_to_id) != len(self.words) or not all(
            isinstance(w, str) and w for w in self.words
        ):
            raise ValueError("the word list must hold distinct non-empty strings")
        self._unk = self.special_id("<unk>")

    @classmethod
    def train(
        cls,
        text: str,
        max_vocab: int | None = None,
        min_freq: int = 1,
        special_tokens: Sequence[str] = ("<unk>",),
        lowercase: bool = False,
    ) -> WordTokenizer:
        """Count the words of ``text`` and keep the frequent ones.

        Words are ordered by count (highest first), ties alphabetically, so training is
        deterministic. Words seen fewer than ``min_freq`` times are dropped; ``max_vocab``
        caps ``vocab_size`` (words plus special tokens). ``<unk>`` is appended to
        ``special_tokens`` if missing. Special tokens in ``text`` are not counted as words.
        """
        check_text(text, "train")
        specials = check_special_tokens(special_tokens)
        if "<unk>" not in specials:
            specials += ("<unk>",)
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        if max_vocab is not None and not isinstance(max_vocab, int):
            raise TypeError(f"max_vocab must be an int or None, got {max_vocab!r}")
        if max_vocab is not None and max_vocab <= len(specials):
            raise ValueError(
                f"max_vocab={max_vocab!r} leaves no room for words: it counts the "
                f"{len(specials)} special tokens {list(specials)} too; use a larger max_vocab"
            )
        counts = Counter(
            word for part in ordinary_parts(text, specials) for word in split_words(part, lowercase)
        )
        if not counts:
            raise ValueError("the training text holds no words, only whitespace or special tokens")
        ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
        words = [word for word, count in ranked if count >= min_freq]
        if not words:
            top, count = ranked[0]
            raise ValueError(
                f"no word occurs min_freq={min_freq} times (the most frequent, {top!r}, "
                f"occurs {count} times); use a smaller min_freq or a longer text"
            )
        if max_vocab is not None:
            words = words[: max_vocab - len(specials)]
        return cls(words, specials, lowercase)

    @property
    def base_size(self) -> int:
        """Number of words in the vocabulary."""
        return len(self.words)

    def split(self, text: str) -> list[str]:
        """The word tokens of ``text`` (lower-cased if ``lowercase``), before the lookup.

        Special tokens stay whole. ``len(tok.split(s)) == len(tok.encode(s))``.

        >>> WordTokenizer.train("x").split("Don't panic, (yet)!")
        ["Don't", 'panic', ',', '(', 'yet', ')', '!']
        """
        check_text(text, "split")
        out: list[str] = []
        for part, special in self.split_special(text):
            out.extend(split_words(part, self.lowercase) if special is None else [part])
        return out

    def oov_rate(self, text: str) -> float:
        """Fraction of the word *tokens* (not types) of ``text`` missing from the vocabulary.

        Special tokens are not words and are not counted. "the the zebra" with "the" known
        has an OOV rate of 1/3.
        """
        check_text(text, "oov_rate")
        tokens = [
            w for part in ordinary_parts(text, self._specials) for w in self._split_words(part)
        ]
        if not tokens:
            raise ValueError("the text holds no words, so its OOV rate is undefined")
        return sum(w not in self._word_to_id for w in tokens) / len(tokens)

    def _split_words(self, text: str) -> list[str]:
        return split_words(text, self.lowercase)

    def _encode_ordinary(self, text: str) -> list[int]:
        lookup, unk = self._word_to_id, self._unk
        return [lookup.get(w, unk) for w in self._split_words(text)]

    def _decode(self, ids: list[int]) -> str:
        # Lossy: the original spacing is gone, so one space between tokens, none before
        # closing punctuation or after opening brackets.
        out: list[str] = []
        for i in ids:
            piece = self.words[i] if i < len(self.words) else self._specials[i - len(self.words)]
            if out and piece not in NO_SPACE_BEFORE and out[-1] not in NO_SPACE_AFTER:
                out.append(" ")
            out.append(piece)
        return "".join(out)

    def _ordinary_piece(self, i: int) -> str:
        return self.words[i]

    def _state(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase, "words": self.words}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> WordTokenizer:
        return cls(state["words"], state["special_tokens"], state["lowercase"])
