"""Corpora for the course: which texts exist, how to get them, and how to split them.

Chapter 01 onwards loads its text from here. ``pydoc`` (the reference documentation that
ships with every CPython) is always offline; ``tinyshakespeare`` is downloaded once,
sha256-checked and cached in ``data_dir()``. Download mechanics are ``pooch``'s job and
the cache folder is ``platformdirs``'; ``tests/test_data.py`` proves against a local HTTP
server that a failed or corrupted download leaves no file behind. Left out on purpose:
text cleaning (``llmcourse.text``, a later lesson), tokenization, shuffled splits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import platformdirs
import pooch
import requests

if TYPE_CHECKING:
    import torch

SeqT = TypeVar("SeqT", bound="Sequence[Any] | torch.Tensor")  # str, list, 1-D tensor


class CorpusUnavailableError(RuntimeError):
    """A corpus file could not be downloaded; the message says how to get it by hand."""

    def __init__(self, reason: str, url: str, sha256: str, path: Path) -> None:
        self.reason, self.url, self.sha256, self.path = reason, url, sha256, path
        super().__init__(
            f"could not get {path.name}: {reason}.\n"
            f"To fix it, download {url}\n"
            f"and save it as {path}\n"
            f"(expected sha256 {sha256}), or set LLMCOURSE_DATA_DIR to a folder that has it.\n"
            f'To keep working offline, call load_corpus(..., fallback="pydoc").'
        )


class ChecksumMismatchError(CorpusUnavailableError):
    """The downloaded bytes did not have the pinned sha256 (nothing was kept)."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    """One entry of the registry: a local ``loader`` or a pinned download."""

    name: str
    description: str
    loader: Callable[[], str] | None = None
    url: str | None = None
    sha256: str | None = None
    filename: str | None = None


def _pydoc_text() -> str:
    from pydoc_data.topics import topics  # a dict: topic name -> reference text

    return "\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n"


CORPORA: dict[str, Corpus] = {
    "pydoc": Corpus(
        "pydoc",
        "Python reference documentation shipped with CPython (offline, ~460 KB)",
        loader=_pydoc_text,
    ),
    "tinyshakespeare": Corpus(
        "tinyshakespeare",
        "Karpathy's tiny Shakespeare from char-rnn (~1.1 MB, download)",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
        "tinyshakespeare/input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        filename="tinyshakespeare.txt",
    ),
}


def available_corpora() -> list[str]:
    """Names accepted by ``load_corpus``, sorted."""
    return sorted(CORPORA)


def data_dir() -> Path:
    """The download cache: ``$LLMCOURSE_DATA_DIR`` if set, else the user cache folder."""
    path = os.environ.get("LLMCOURSE_DATA_DIR") or platformdirs.user_cache_dir("llmcourse")
    path = Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_corpus(name: str, fallback: str | None = None) -> str:
    """The text of corpus ``name``; if it cannot be downloaded, ``fallback`` (with a warning).

    >>> text = load_corpus("tinyshakespeare", fallback="pydoc")   # never fails offline
    """
    corpus = _lookup(name)
    backup = _lookup(fallback) if fallback is not None else None  # checked before downloading
    if corpus.loader is not None:
        return corpus.loader()
    try:
        path = download(corpus.url, corpus.sha256, corpus.filename)
    except CorpusUnavailableError as err:
        if not backup:
            raise
        warnings.warn(
            f"{name} unavailable ({err.reason}); using the offline {backup.name!r} corpus instead",
            stacklevel=2,
        )
        return load_corpus(backup.name)
    return path.read_text(encoding="utf-8")


def _lookup(name: str) -> Corpus:
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; available: {', '.join(available_corpora())}")
    return CORPORA[name]


def download(url: str, sha256: str, fname: str, timeout: float = 30.0) -> Path:
    """Download ``url`` once into ``data_dir() / fname``, checked against ``sha256``.

    A file already there with the right hash is used without touching the network. The
    bytes go to a temporary file in the same folder, renamed only once the hash matches;
    on any failure nothing is left behind and ``CorpusUnavailableError`` says what to do.
    ``timeout`` (seconds) bounds the wait to connect and for each read from the server.
    """
    folder = data_dir()
    fetcher = _HashingDownloader(
        pooch.HTTPDownloader(timeout=timeout, progressbar=sys.stderr.isatty())
    )
    try:
        with _quiet_pooch():
            path = pooch.retrieve(
                url, known_hash=f"sha256:{sha256}", fname=fname, path=folder, downloader=fetcher
            )
    except ValueError:  # pooch's hash mismatch (the temporary file is already deleted)
        if fetcher.sha256 in (None, sha256.lower()):
            raise  # a ValueError that is not a mismatch: a bug, not a network problem
        reason = f"sha256 mismatch: expected {sha256}, got {fetcher.sha256}"
        raise ChecksumMismatchError(reason, url, sha256, folder / fname) from None
    except OSError as err:  # requests' errors are OSErrors too
        reason = _describe(err, url, timeout)
        raise CorpusUnavailableError(reason, url, sha256, folder / fname) from None
    return Path(path)


class _HashingDownloader:
    """Wraps a pooch downloader and remembers the sha256 of what it fetched."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner, self.sha256 = inner, None

    def __call__(self, url: str, output_file: str, pooch_: Any, **kwargs: Any) -> Any:
        result = self.inner(url, output_file, pooch_, **kwargs)
        self.sha256 = pooch.file_hash(output_file, alg="sha256")
        return result


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's "Downloading data from ..." chatter; our errors say what matters."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _describe(err: OSError, url: str, timeout: float) -> str:
    """One line: what went wrong with the network."""
    host = urlsplit(url).netloc
    # requests reports a read timeout in the middle of the body as a ConnectionError.
    if isinstance(err, requests.Timeout) or "timed out" in str(err):
        return f"timed out: no answer from {host} within {timeout:g} s"
    if isinstance(err, requests.HTTPError):
        return f"{host} answered HTTP {err.response.status_code}"
    if isinstance(err, requests.ConnectionError):
        return f"could not connect to {host} - offline, or the host is unreachable"
    if isinstance(err, requests.RequestException):
        return f"the connection to {host} dropped mid-download"
    return f"{type(err).__name__}: {err}"


def train_val_split(data: SeqT, val_fraction: float = 0.1) -> tuple[SeqT, SeqT]:
    """Split ``data`` into (train, val): val is the last ``round(len(data) * val_fraction)``
    items, train everything before.

    data: a str, a list, or a 1-D tensor/sequence of N items (e.g. token ids, shape (N,)).
    Returns (train, val) of the same type, shapes (N - N_val,) and (N_val,); for a tensor
    both are views of ``data``.

    Contiguous, not shuffled: text repeats itself (headers, refrains, boilerplate), so
    shuffled lines put near-duplicates of training text into validation and flatter the
    validation loss. A contiguous split shares n-grams only across its one boundary.

    >>> train_val_split("abcdefghij", val_fraction=0.2)
    ('abcdefgh', 'ij')
    """
    if not 0 < val_fraction < 1:
        raise ValueError(
            f"val_fraction must be between 0 and 1 (exclusive), got "
            f"{val_fraction}; use e.g. 0.1 for a 90%/10% split"
        )
    if getattr(data, "ndim", 1) != 1:
        raise ValueError(
            f"data must be 1-D, got shape {tuple(data.shape)}; "
            "flatten it first (e.g. ids.flatten())"
        )
    n = len(data)
    if n == 0:
        raise ValueError("data is empty; load some text first, e.g. load_corpus('pydoc')")
    n_val = round(n * val_fraction)
    if not 0 < n_val < n:
        raise ValueError(
            f"{n} items with val_fraction={val_fraction} leave an empty "
            f"{'validation' if n_val == 0 else 'training'} part; use more "
            "data or a different val_fraction"
        )
    return data[: n - n_val], data[n - n_val :]
