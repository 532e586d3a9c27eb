"""Tokenizers of chapter 01: characters, words, and byte-level BPE, with one interface.

All three have ``train`` (a classmethod), ``encode``, ``decode``, ``vocab_size``,
``special_tokens``/``special_id``, ``pieces``/``id_to_piece``, and ``save``/``load`` (JSON);
``Tokenizer.load(path)`` reads any of them. ``tests/test_tokenizers.py`` holds the proofs.

>>> from llmcourse.tokenizers import BPETokenizer
>>> tok = BPETokenizer.train("low lower lowest", vocab_size=260)
>>> tok.decode(tok.encode("lowly"))
'lowly'
"""

from llmcourse.tokenizers.base import Tokenizer
from llmcourse.tokenizers.bpe import GPT2_SPLIT_PATTERN, BPETokenizer
from llmcourse.tokenizers.char import CharTokenizer
from llmcourse.tokenizers.word import WordTokenizer

__all__ = ["BPETokenizer", "CharTokenizer", "GPT2_SPLIT_PATTERN", "Tokenizer", "WordTokenizer"]
