"""Evaluation with the same rigour for every task: language models, memorization,
classifiers and translations.

Chapter 06 teaches this package, one module per measure:

- ``lm``: ``evaluate_lm`` (the exact held-out loss, perplexity and bits per byte of a token
  stream) and ``sliding_window_nll`` (the same with overlapping windows, more context);
- ``memorization``: ``longest_common_ngram``, the longest stretch of generated text that
  occurs verbatim in the training set;
- ``classification``: ``confusion_matrix``, ``accuracy``, ``precision_recall_f1``, equal to
  scikit-learn's;
- ``bleu``: ``corpus_bleu`` and ``sentence_bleu`` from clipped n-gram precisions and the
  brevity penalty, equal to sacrebleu's.

``tests/test_evaluate.py`` holds the proofs.
"""

from llmcourse.evaluate.bleu import (
    BLEUScore,
    bleu_from_counts,
    brevity_penalty,
    clipped_precision,
    closest_ref_length,
    corpus_bleu,
    ngram_counts,
    sentence_bleu,
)
from llmcourse.evaluate.classification import (
    PrecisionRecallF1,
    accuracy,
    confusion_matrix,
    precision_recall_f1,
)
from llmcourse.evaluate.lm import LMScore, eval_mode, evaluate_lm, sliding_window_nll, window_plan
from llmcourse.evaluate.memorization import NGramMatch, longest_common_ngram

__all__ = [
    "BLEUScore",
    "LMScore",
    "NGramMatch",
    "PrecisionRecallF1",
    "accuracy",
    "bleu_from_counts",
    "brevity_penalty",
    "clipped_precision",
    "closest_ref_length",
    "confusion_matrix",
    "corpus_bleu",
    "eval_mode",
    "evaluate_lm",
    "longest_common_ngram",
    "ngram_counts",
    "precision_recall_f1",
    "sentence_bleu",
    "sliding_window_nll",
    "window_plan",
]
