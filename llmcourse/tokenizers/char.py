"""Character tokenizer: one id per Unicode character (code point) of the training text.

Chapter 01 (``chapters/01_text_preprocessing.ipynb``) starts here, because it is the
simplest tokenizer that round-trips exactly: ``decode(encode(s)) == s`` for every string
``s`` over its alphabet, which ``tests/test_tokenizers.py`` checks with hypothesis.
The price is long sequences: one token per character.

Left out on purpose: grapheme clusters (an emoji with a skin tone is several code points,
hence several tokens), normalization (``"é"`` may be one code point or two), and a
fallback for unseen characters other than ``<unk>``: the byte-level ``BPETokenizer``
is the real answer to unseen characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmcourse.tokenizers.base import (
    Tokenizer,
    check_special_tokens,
    check_text,
    ordinary_parts,
)


class CharTokenizer(Tokenizer):
    """Ids ``0 .. len(chars) - 1`` are the sorted characters, then the special tokens.

    >>> tok = CharTokenizer.train("hello")
    >>> tok.encode("hole")
    [1, 3, 2, 0]
    >>> tok.decode([1, 0, 2, 2, 3])
    'hello'
    """

    kind = "char"

    def __init__(self, chars: Sequence[str], special_tokens: Sequence[str] = ()) -> None:
        super().__init__(special_tokens)
        self.chars = list(chars)
        for c in self.chars:
            if not (isinstance(c, str) and len(c) == 1):
                raise ValueError(f"the alphabet must hold single characters, got {c!r}")
        self._char_to_id = {c: i for i, c in enumerate(self.chars)}
        if len(self._char_to_id) != len(self.chars):
            raise ValueError("the alphabet lists a character twice")
        self._unk = self.special_tokens.get("<unk>")

    @classmethod
    def train(cls, text: str, special_tokens: Sequence[str] = ()) -> CharTokenizer:
        """The alphabet of ``text`` (sorted by code point), then ``special_tokens``.

        Special tokens written in ``text`` are not part of the alphabet. Pass
        ``special_tokens=("<unk>",)`` to map characters unseen at training to ``<unk>``
        instead of raising.
        """
        check_text(text, "train")
        specials = check_special_tokens(special_tokens)
        chars = sorted(set("".join(ordinary_parts(text, specials))))
        if not chars:
            raise ValueError("the training text holds only special tokens; it has no characters")
        return cls(chars, specials)

    @property
    def base_size(self) -> int:
        """Number of characters in the alphabet."""
        return len(self.chars)

    def _encode_ordinary(self, text: str) -> list[int]:
        lookup = self._char_to_id
        try:
            return [lookup[c] for c in text]
        except KeyError:
            pass  # the slow path below finds the culprit and applies <unk>
        ids = []
        for c in text:
            i = lookup.get(c, self._unk)
            if i is None:
                raise ValueError(
                    f"character {c!r} (U+{ord(c):04X}) is not in the alphabet of this "
                    f"CharTokenizer ({len(self.chars)} characters); train with "
                    "special_tokens=('<unk>',) to map unseen characters to <unk>, "
                    "or on a text that contains it"
                )
            ids.append(i)
        return ids

    def _decode_ordinary(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def _ordinary_piece(self, i: int) -> str:
        return self.chars[i]

    def _state(self) -> dict[str, Any]:
        return {"chars": self.chars}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> CharTokenizer:
        return cls(state["chars"], state["special_tokens"])
