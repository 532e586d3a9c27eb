"""Sources of text that the course generates itself, with properties known exactly.

One module per source, each standing alone:

- ``markov``: ``MarkovSource``, a random order-k Markov chain whose entropy rate (the best
  loss any model can reach on its text) is computed exactly; chapter 02.
- ``reviews``: ``reviews(n, seed)``, labelled movie reviews from templates, with negation
  ("not bad" is positive) and optional label noise; chapters 06 (classifier metrics) and 07
  (sentiment).

Later chapters add theirs here (a toy parallel corpus, QA pairs).
``tests/test_synthetic.py`` tests them all.
"""

from llmcourse.synthetic.markov import ALPHABET, DENSE_LIMIT, MAX_TABLE_ENTRIES, MarkovSource
from llmcourse.synthetic.reviews import (
    LABEL_NAMES,
    NEGATIONS,
    VOCABULARY,
    Review,
    reviews,
    sentiment_of,
)

__all__ = [
    "ALPHABET",
    "DENSE_LIMIT",
    "LABEL_NAMES",
    "MAX_TABLE_ENTRIES",
    "NEGATIONS",
    "VOCABULARY",
    "MarkovSource",
    "Review",
    "reviews",
    "sentiment_of",
]
