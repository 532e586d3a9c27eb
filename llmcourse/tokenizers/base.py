"""What every tokenizer of the course shares: special tokens, ids, JSON files, clear errors.

Chapter 01 (``chapters/01_text_preprocessing.ipynb``) teaches it with its subclasses in
``char.py``, ``word.py`` and ``bpe.py``; ``tests/test_tokenizers.py`` proves them right:
round trips, save/load, every error message, agreement with Hugging Face ``tokenizers``.

Ids are laid out alike in all three: first the *base vocabulary* (characters, words, or 256
bytes then the learned merges), then the special tokens in the order given at training:
``train(text, special_tokens=("<pad>", "<eos>"))`` gives ``<eos>`` the id ``base_size + 1``.
A special token written in the text passed to ``encode`` becomes its single id (the text
is split on special tokens first).

Left out on purpose: batching, padding and truncation (``llmcourse.datasets``), offsets
into the original text, and normalization (``llmcourse.text``).
"""

from __future__ import annotations

import json
import operator
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

FORMAT_VERSION = 1  # the "version" field of the JSON files; bump when the layout changes

T = TypeVar("T", bound="Tokenizer")


class Tokenizer:
    """Base class: maps text to a list of ints and back.

    Subclasses set ``kind`` (the JSON ``"type"``) and implement ``base_size``,
    ``_encode_ordinary``, ``_decode_ordinary``, ``_ordinary_piece``, ``_state`` and
    ``_from_state``. ``Tokenizer.load(path)`` reads a file of any kind.
    """

    kind: ClassVar[str] = ""
    _kinds: ClassVar[dict[str, type[Tokenizer]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Tokenizer._kinds[cls.kind] = cls

    def __init__(self, special_tokens: Sequence[str] = ()) -> None:
        self._specials = check_special_tokens(special_tokens)
        self._special_re = special_pattern(self._specials)

    # --- what a subclass provides -------------------------------------------------------

    @property
    def base_size(self) -> int:
        """Number of ids before the special tokens (characters, words, or bytes + merges)."""
        raise NotImplementedError

    def _encode_ordinary(self, text: str) -> list[int]:
        raise NotImplementedError

    def _decode_ordinary(self, ids: list[int]) -> str:
        raise NotImplementedError

    def _ordinary_piece(self, i: int) -> str:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_state(cls: type[T], state: dict[str, Any]) -> T:
        raise NotImplementedError

    # --- special tokens -----------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of distinct ids (V): base vocabulary plus special tokens."""
        return self.base_size + len(self._specials)

    @property
    def special_tokens(self) -> dict[str, int]:
        """Each special token and its id, e.g. ``{"<unk>": 65, "<eos>": 66}``."""
        return {name: self.base_size + j for j, name in enumerate(self._specials)}

    def special_id(self, token: str) -> int:
        """The id of special token ``token``; ``KeyError`` (naming the known ones) if absent."""
        if token not in self._specials:
            known = ", ".join(map(repr, self._specials)) or "none"
            raise KeyError(
                f"{token!r} is not a special token of this {type(self).__name__} "
                f"(it has: {known}); pass it in special_tokens= when training, e.g. "
                f"{type(self).__name__}.train(text, special_tokens=({token!r},))"
            )
        return self.base_size + self._specials.index(token)

    def split_special(self, text: str) -> Iterator[tuple[str, int | None]]:
        """Yield ``(part, None)`` for ordinary text and ``(token, id)`` for special tokens."""
        parts = self._special_re.split(text) if self._special_re else [text]
        for k, part in enumerate(parts):
            if k % 2:  # re.split puts the captured separators at odd positions
                yield part, self.special_id(part)
            elif part:
                yield part, None

    # --- encode / decode ----------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (a list of N ints, each in ``range(vocab_size)``)."""
        check_text(text, "encode")
        ids: list[int] = []
        for part, special in self.split_special(text):
            if special is None:
                ids.extend(self._encode_ordinary(part))
            else:
                ids.append(special)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: a list of ints, a 1-D LongTensor of shape (N,), or any iterable."""
        return self._decode(self._check_ids(ids))

    def _decode(self, ids: list[int]) -> str:
        # Runs of ordinary ids are decoded together: a BPE character may span several ids.
        out, run, base = [], [], self.base_size
        for i in ids:
            if i < base:
                run.append(i)
                continue
            if run:
                out.append(self._decode_ordinary(run))
                run = []
            out.append(self._specials[i - base])
        if run:
            out.append(self._decode_ordinary(run))
        return "".join(out)

    def id_to_piece(self, i: int) -> str:
        """A printable string for token id ``i`` (special tokens as themselves)."""
        (i,) = self._check_ids([i])
        if i >= self.base_size:
            return self._specials[i - self.base_size]
        return self._ordinary_piece(i)

    def pieces(self, text: str) -> list[tuple[int, str]]:
        """``(id, piece)`` for each token of ``text``, for looking at how it was cut.

        >>> CharTokenizer.train("abc").pieces("cab")
        [(2, 'c'), (0, 'a'), (1, 'b')]
        """
        return [(i, self.id_to_piece(i)) for i in self.encode(text)]

    def _check_ids(self, ids: Iterable[int]) -> list[int]:
        if isinstance(ids, (str, bytes)):
            raise TypeError("decode takes token ids, not text; did you mean encode(...)?")
        if getattr(ids, "ndim", 1) != 1:  # a tensor or array of more than one row
            raise ValueError(
                f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}; "
                "decode each row, e.g. [tok.decode(row) for row in ids]"
            )
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out, vocab_size = [], self.vocab_size
        for i in ids:
            try:
                i = operator.index(i)  # ints, numpy and 0-d torch ints; not floats
            except TypeError:
                raise TypeError(
                    f"token ids must be integers, got {i!r} ({type(i).__name__}); "
                    "convert a float tensor with ids.long()"
                ) from None
            if not 0 <= i < vocab_size:
                raise ValueError(
                    f"token id {i} is out of range for a vocabulary of {vocab_size} "
                    f"(valid ids are 0..{vocab_size - 1}); were these ids made by "
                    "a different tokenizer?"
                )
            out.append(i)
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, "
            f"special_tokens={list(self._specials)})"
        )

    # --- files --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer as JSON to ``path``, atomically.

        The JSON goes to a temporary file in the same folder, which then replaces ``path``
        in one step (``os.replace``), so a crash never leaves a half-written file.
        """
        path = Path(path)
        state = {"type": self.kind, "version": FORMAT_VERSION}
        state["special_tokens"] = list(self._specials)
        state.update(self._state())
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as f:
                json.dump(state, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls: type[T], path: str | os.PathLike[str]) -> T:
        """Read a file written by ``save``; ``Tokenizer.load`` accepts any kind.

        ``ValueError`` naming ``path`` if the file is not valid JSON, not a tokenizer file,
        of another kind than ``cls``, or of a newer format version.
        """
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(
                f"{path} is not a valid tokenizer file (not JSON: {err}); it may be truncated "
                "or another kind of file - save the tokenizer again with tok.save(path)"
            ) from None
        kind = state.get("type") if isinstance(state, dict) else None
        if kind not in Tokenizer._kinds:
            raise ValueError(
                f"{path} is not a tokenizer file: its 'type' is {kind!r}, expected one of "
                f"{sorted(Tokenizer._kinds)}"
            )
        target = Tokenizer._kinds[kind]
        if cls is not Tokenizer and target is not cls:
            raise ValueError(
                f"{path} holds a {target.__name__} ('type': {kind!r}), not a {cls.__name__}; "
                f"load it with {target.__name__}.load(path) or Tokenizer.load(path)"
            )
        if state.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has format version {state.get('version')!r}, but this llmcourse "
                f"reads version {FORMAT_VERSION}; update llmcourse or re-save the tokenizer"
            )
        try:
            return target._from_state(state)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ValueError(f"{path} is a corrupt {kind} tokenizer file: {err!r}") from None


def check_text(text: object, what: str) -> None:
    """``TypeError`` unless ``text`` is a str; ``what`` names the caller, e.g. ``"encode"``.

    Training (``what="train"``) also refuses the empty string, with a ``ValueError``.
    """
    if not isinstance(text, str):
        hint = {bytes: "; decode the bytes first, e.g. data.decode('utf-8')"}.get(type(text), "")
        if isinstance(text, (list, tuple)):
            hint = f"; for many texts use [tok.{what}(t) for t in texts]"
        raise TypeError(f"{what} expects a str, got {type(text).__name__}{hint}")
    if what == "train" and not text:
        raise ValueError(
            "cannot train on an empty text; pass the training corpus, "
            "e.g. train(load_corpus('pydoc'))"
        )


def check_special_tokens(special_tokens: Sequence[str]) -> tuple[str, ...]:
    """The special tokens as a tuple, after checking: strings, not empty, no duplicates."""
    if isinstance(special_tokens, str):
        raise TypeError(
            f"special_tokens must be a sequence of strings, got the string {special_tokens!r}; "
            f"write special_tokens=({special_tokens!r},)"
        )
    specials = tuple(special_tokens)
    for token in specials:
        if not isinstance(token, str):
            raise TypeError(f"special tokens must be strings, got {token!r}")
        if not token:
            raise ValueError("a special token cannot be the empty string; remove it")
        if specials.count(token) > 1:
            raise ValueError(f"special token {token!r} is listed twice; list each once")
    return specials


def special_pattern(specials: Sequence[str]) -> re.Pattern[str] | None:
    """A regex whose ``split`` cuts text around the special tokens (``None`` if none)."""
    if not specials:
        return None
    # Longest first, so that "<s>x" wins over "<s>" where both would match.
    alternatives = sorted(specials, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")


def ordinary_parts(text: str, specials: Sequence[str]) -> list[str]:
    """The pieces of ``text`` between special tokens, which training learns from.

    >>> ordinary_parts("to be<eos>or not", ["<eos>"])
    ['to be', 'or not']
    """
    pattern = special_pattern(specials)
    parts = pattern.split(text)[::2] if pattern else [text]
    return [part for part in parts if part]
