"""Labelled movie reviews made from templates: a sentiment set whose truth is known, negation
included.

Chapter 06 scores classifiers on it (``llmcourse.evaluate``: accuracy, precision, recall, F1,
confusion matrix) and chapter 07 trains sentiment classifiers on it. Every review is one or
two clauses of lowercase words, no punctuation, joined by "and", e.g.
"the acting was not bad and i loved the music" (positive). Its label is decided by a rule
that reads word order (``sentiment_of``): a clause's sentiment word (an adjective or a verb)
counts with its own polarity, flipped when "not" or "never" comes before it in the clause.

Why negation: "the plot was good" and "the plot was not bad" are both positive, "the plot
was bad" and "the plot was not good" both negative. That is an exclusive-or of two words,
which a linear bag-of-words classifier cannot represent: it follows the adjective and gets
the negated reviews wrong, while a model that reads word order (bigrams, an LSTM, a
Transformer) can get them right. ``Review.negated`` marks them, so a chapter can score the
two groups apart. ``noise`` flips a share of the labels at random (``Review.true_label``
keeps the rule's label), so that no classifier reaches 100% and the metrics have errors to
count. ``tests/test_synthetic.py`` checks determinism, balance, the vocabulary, that
negation flips the label, and that a bag-of-words model is fooled where a bigram model is
not. Left out on purpose: contrast ("good but too long"), sarcasm, punctuation and
capitals, and reviews longer than two clauses.

>>> data = reviews(4, seed=0)
>>> [r.label for r in data], all(r.label == sentiment_of(r.text) for r in data)
([0, 0, 1, 1], True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NEGATIVE, POSITIVE, NEUTRAL = 0, 1, 2
#: Label names by id: 0 negative, 1 positive, 2 neutral (only with ``neutral=True``).
LABEL_NAMES = ("negative", "positive", "neutral")

NOUNS = ("film", "movie", "plot", "story", "acting", "ending", "music", "cast", "script")
INTENSIFIERS = ("very", "really", "quite", "truly", "so")
NEGATIONS = ("not", "never")
#: Adjectives by label (index = label id); neutral ones carry no sentiment.
ADJECTIVES = (
    ("bad", "awful", "terrible", "boring", "dull", "poor", "weak", "horrible"),
    ("good", "great", "excellent", "wonderful", "brilliant", "lovely", "enjoyable", "fun"),
    ("long", "short", "recent", "foreign", "animated", "new"),
)
#: Verbs by label, as (past tense, base form) pairs.
VERBS = (
    (("hated", "hate"), ("disliked", "dislike"), ("loathed", "loathe"), ("despised", "despise")),
    (("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"), ("admired", "admire")),
    (("watched", "watch"), ("saw", "see"), ("rented", "rent"), ("reviewed", "review")),
)
#: Clause templates: {n} noun, {a} adjective, {i} intensifier, {v} past tense, {b} base form.
PLAIN = (
    "the {n} was {a}",
    "the {n} was {i} {a}",
    "this {n} is {a}",
    "i found the {n} {a}",
    "i {v} the {n}",
)
NEGATED = (
    "the {n} was not {a}",
    "the {n} was not {i} {a}",
    "this {n} is not {a}",
    "i did not find the {n} {a}",
    "i did not {b} the {n}",
    "i never {v} the {n}",
)
_FRAME_WORDS = {"the", "was", "this", "is", "i", "found", "did", "find", "and"}
#: Every word a review can contain (the tests check that each one occurs and nothing else).
VOCABULARY = frozenset(
    _FRAME_WORDS.union(NOUNS, INTENSIFIERS, NEGATIONS, *ADJECTIVES)
    | {form for verbs in VERBS for pair in verbs for form in pair}
)
_POLARITY = {w: label for label in (0, 1) for w in ADJECTIVES[label]} | {
    form: label for label in (0, 1) for pair in VERBS[label] for form in pair
}


@dataclass(frozen=True)
class Review:
    """One review: ``text``; ``label`` (0 negative, 1 positive, 2 neutral), after label noise;
    ``true_label``, the rule's label before noise; ``negated``, True if a clause that carries
    the sentiment is negated (the reviews a bag-of-words model gets wrong)."""

    text: str
    label: int
    true_label: int
    negated: bool


def reviews(
    n: int, seed: int = 0, noise: float = 0.0, neutral: bool = False, negation: float = 0.3
) -> list[Review]:
    """``n`` labelled reviews, the same for the same arguments on every machine.

    The true labels are balanced exactly (each class ``n // K`` or one more times, K = 2, or
    3 with ``neutral``), in a shuffled order. A positive or negative review has one clause
    with its sentiment and, half the time, a second clause: either another one with the same
    sentiment or a neutral remark ("the film was long"). Each sentiment clause is negated
    with probability ``negation`` (its word is then drawn from the opposite polarity, so the
    label stays). Neutral reviews have only neutral clauses, negated or not. ``noise``: the
    probability that a review's ``label`` is replaced by a different class, drawn uniformly;
    the best possible accuracy is then about 1 - noise.

    Draws from its own ``random.Random(seed)``: the global random state is not touched.
    """
    _check_args(n, noise, negation)
    rng = random.Random(seed)
    n_classes = 3 if neutral else 2
    labels = [i % n_classes for i in range(n)]
    rng.shuffle(labels)
    out = []
    for true_label in labels:
        text, negated = _review_text(true_label, rng, negation)
        label = true_label
        if rng.random() < noise:
            label = rng.choice([c for c in range(n_classes) if c != true_label])
        out.append(Review(text, label, true_label, negated))
    return out


def sentiment_of(text: str) -> int:
    """The rule that labels the reviews: 1 positive, 0 negative, 2 neutral (no sentiment).

    Reads each clause (split at "and") left to right: its sentiment word gives its polarity,
    flipped if "not" or "never" came earlier in the clause. Raises ValueError if two clauses
    disagree (``reviews`` never makes such a text).

    >>> sentiment_of("the plot was not bad"), sentiment_of("i did not find the film good")
    (1, 0)
    """
    found = set()
    for clause in text.split(" and "):
        negated = False
        for word in clause.split():
            if word in NEGATIONS:
                negated = True
            elif word in _POLARITY:
                found.add(_POLARITY[word] ^ negated)  # 0 <-> 1 when negated
    if len(found) > 1:
        raise ValueError(f"mixed sentiment in {text!r}: its clauses disagree")
    return found.pop() if found else NEUTRAL


# ------------------------------------------------------------------------- helpers


def _review_text(label: int, rng: random.Random, negation: float) -> tuple[str, bool]:
    """A review with true label ``label``, and whether a sentiment clause is negated."""
    first, negated = _clause(label, rng, negation)
    clauses = [first]
    if rng.random() < 0.5:
        second_label = label if label == NEUTRAL or rng.random() < 0.5 else NEUTRAL
        second, also = _clause(second_label, rng, negation)
        negated = negated or (also and second_label != NEUTRAL)
        clauses.insert(rng.randrange(2), second)
    return " and ".join(clauses), negated and label != NEUTRAL


def _clause(label: int, rng: random.Random, negation: float) -> tuple[str, bool]:
    """One clause that says ``label``; negated ones use a word of the opposite polarity."""
    negated = rng.random() < negation
    word_label = 1 - label if negated and label != NEUTRAL else label
    template = rng.choice(NEGATED if negated else PLAIN)
    past, base = rng.choice(VERBS[word_label])
    words = {"n": rng.choice(NOUNS), "a": rng.choice(ADJECTIVES[word_label])}
    words |= {"i": rng.choice(INTENSIFIERS), "v": past, "b": base}
    return template.format(**words), negated


def _check_args(n: int, noise: float, negation: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a whole number of reviews >= 0, got {n!r}")
    for name, p in (("noise", noise), ("negation", negation)):
        if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
