"""Tests for llmcourse.data: the corpus registry, cached downloads, and train/val splits.

Every download test talks to a local HTTP server on 127.0.0.1 (no internet needed) and
writes into a fresh ``LLMCOURSE_DATA_DIR``; after a failure the folder must be empty.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import logging
import socket
import threading
from pathlib import Path

import pooch
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from llmcourse import data

PAYLOAD = ("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 200).encode()
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
WRONG_SHA256 = "0" * 64
FNAME = "corpus.txt"
SHARED_SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /ok, and misbehaves on purpose at the other paths."""

    def do_GET(self) -> None:  # the name http.server calls
        server = self.server
        server.hits.append(self.path)
        # /slow and /stall go silent; they answer in full after 10 s unless the test is over
        # by then, so only a honoured timeout makes their tests fail the download.
        if self.path == "/slow" and server.release.wait(timeout=10):
            return
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        extra = 1000 if self.path == "/dropped" else 0  # promise more than we send
        self.send_header("Content-Length", str(len(PAYLOAD) + extra))
        self.end_headers()
        half = len(PAYLOAD) // 2
        self.wfile.write(PAYLOAD[:half])
        self.wfile.flush()
        if self.path == "/stall" and server.release.wait(timeout=10):
            return
        if self.path == "/watched":  # the client is mid-download: look at its folder
            server.snapshots.append(sorted(p.name for p in server.watch_dir.iterdir()))
        self.wfile.write(PAYLOAD[half:])  # then close: /dropped is short by 1000 bytes

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def server(data_dir: Path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.hits, httpd.snapshots, httpd.watch_dir = [], [], data_dir
    httpd.release = threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _point_tinyshakespeare_at(monkeypatch: pytest.MonkeyPatch, url: str, sha256: str) -> None:
    entry = dataclasses.replace(data.CORPORA["tinyshakespeare"], url=url, sha256=sha256)
    monkeypatch.setitem(data.CORPORA, "tinyshakespeare", entry)


# --- downloads -----------------------------------------------------------------------------


def test_download_fetches_once_then_reuses_the_cached_file(server, data_dir):
    path = data.download(f"{server.url}/ok", PAYLOAD_SHA256, FNAME)
    again = data.download(f"{server.url}/ok", PAYLOAD_SHA256, FNAME)
    assert path == again == data_dir / FNAME
    assert path.read_bytes() == PAYLOAD
    assert server.hits == ["/ok"]  # the second call touched no network
    assert sorted(p.name for p in data_dir.iterdir()) == [FNAME]  # no temporary files


def test_download_never_exposes_a_partial_file_under_the_final_name(server, data_dir):
    data.download(f"{server.url}/watched", PAYLOAD_SHA256, FNAME)
    (mid_download,) = server.snapshots
    assert FNAME not in mid_download  # bytes were streaming into a temporary file
    assert len(mid_download) == 1
    assert sorted(p.name for p in data_dir.iterdir()) == [FNAME]


def test_download_replaces_a_corrupted_cached_file(server, data_dir):
    (data_dir / FNAME).write_bytes(b"truncated")
    assert data.download(f"{server.url}/ok", PAYLOAD_SHA256, FNAME).read_bytes() == PAYLOAD


def test_checksum_mismatch_names_both_hashes_and_leaves_no_file_behind(server, data_dir):
    with pytest.raises(data.ChecksumMismatchError) as info:
        data.download(f"{server.url}/ok", WRONG_SHA256, FNAME)
    assert isinstance(info.value, data.CorpusUnavailableError)
    assert WRONG_SHA256 in str(info.value) and PAYLOAD_SHA256 in str(info.value)
    assert list(data_dir.iterdir()) == []


def test_dropped_connection_raises_a_clear_error_and_leaves_no_file_behind(server, data_dir):
    with pytest.raises(data.CorpusUnavailableError, match="dropped"):
        data.download(f"{server.url}/dropped", PAYLOAD_SHA256, FNAME)
    assert list(data_dir.iterdir()) == []


def test_unreachable_host_error_says_where_to_put_the_file_by_hand(data_dir):
    url = f"http://127.0.0.1:{_closed_port()}/x"
    with pytest.raises(data.CorpusUnavailableError) as info:
        data.download(url, PAYLOAD_SHA256, FNAME)
    message = str(info.value)
    assert "could not connect" in message.splitlines()[0]
    assert str(data_dir / FNAME) in message and url in message and PAYLOAD_SHA256 in message
    assert 'fallback="pydoc"' in message
    assert list(data_dir.iterdir()) == []


def test_http_error_status_raises_a_clear_error(server, data_dir):
    with pytest.raises(data.CorpusUnavailableError, match="HTTP 404"):
        data.download(f"{server.url}/missing", PAYLOAD_SHA256, FNAME)
    assert list(data_dir.iterdir()) == []


def test_timeout_is_honoured_and_leaves_no_file_behind(server, data_dir):
    # /slow would answer with the right bytes after 10 s; only the timeout makes this fail.
    with pytest.raises(data.CorpusUnavailableError, match="timed out"):
        data.download(f"{server.url}/slow", PAYLOAD_SHA256, FNAME, timeout=0.5)
    assert list(data_dir.iterdir()) == []


def test_a_server_that_stalls_mid_body_times_out_and_leaves_no_file_behind(server, data_dir):
    with pytest.raises(data.CorpusUnavailableError, match="timed out"):
        data.download(f"{server.url}/stall", PAYLOAD_SHA256, FNAME, timeout=0.5)
    assert list(data_dir.iterdir()) == []


def test_download_keeps_pooch_logging_quiet(server, data_dir):
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    pooch.get_logger().addHandler(handler)
    try:
        data.download(f"{server.url}/ok", PAYLOAD_SHA256, FNAME)
    finally:
        pooch.get_logger().removeHandler(handler)
    assert records == []


# --- corpora -------------------------------------------------------------------------------


def test_available_corpora_lists_pydoc_and_tinyshakespeare():
    assert data.available_corpora() == ["pydoc", "tinyshakespeare"]


def test_pydoc_corpus_is_offline_python_documentation():
    text = data.load_corpus("pydoc")
    assert isinstance(text, str) and len(text) > 300_000
    assert "for" in text and "while" in text


def test_unknown_corpus_raises_value_error_listing_the_names():
    with pytest.raises(ValueError, match="pydoc, tinyshakespeare"):
        data.load_corpus("wikipedia")


def test_tinyshakespeare_downloads_through_the_registry(server, monkeypatch, data_dir):
    _point_tinyshakespeare_at(monkeypatch, f"{server.url}/ok", PAYLOAD_SHA256)
    assert data.load_corpus("tinyshakespeare") == PAYLOAD.decode("utf-8")
    assert (data_dir / "tinyshakespeare.txt").exists()


def test_unavailable_corpus_without_fallback_raises(monkeypatch, data_dir):
    _point_tinyshakespeare_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/x", PAYLOAD_SHA256)
    with pytest.raises(data.CorpusUnavailableError, match=r"tinyshakespeare\.txt"):
        data.load_corpus("tinyshakespeare")


def test_fallback_warns_and_returns_the_pydoc_corpus(monkeypatch, data_dir):
    _point_tinyshakespeare_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/x", PAYLOAD_SHA256)
    with pytest.warns(UserWarning, match="tinyshakespeare unavailable .*using the offline 'pydoc'"):
        text = data.load_corpus("tinyshakespeare", fallback="pydoc")
    assert text == data.load_corpus("pydoc")


def test_unknown_fallback_is_rejected_before_any_download():
    with pytest.raises(ValueError, match="unknown corpus 'nope'"):
        data.load_corpus("tinyshakespeare", fallback="nope")


def test_a_correct_file_already_in_the_data_dir_is_used_without_network(monkeypatch, data_dir):
    if SHARED_SHAKESPEARE.exists():  # the real file, with the real pinned checksum
        (data_dir / "tinyshakespeare.txt").write_bytes(SHARED_SHAKESPEARE.read_bytes())
        expected = SHARED_SHAKESPEARE.read_text(encoding="utf-8")
        unreachable = f"http://127.0.0.1:{_closed_port()}/x"
        entry = dataclasses.replace(data.CORPORA["tinyshakespeare"], url=unreachable)
        monkeypatch.setitem(data.CORPORA, "tinyshakespeare", entry)
    else:  # no ../shared here: the same check with synthetic bytes
        (data_dir / "tinyshakespeare.txt").write_bytes(PAYLOAD)
        expected = PAYLOAD.decode("utf-8")
        _point_tinyshakespeare_at(
            monkeypatch, f"http://127.0.0.1:{_closed_port()}/x", PAYLOAD_SHA256
        )
    assert data.load_corpus("tinyshakespeare") == expected


def test_data_dir_follows_the_environment_variable_and_is_created(tmp_path, monkeypatch):
    target = tmp_path / "nested" / "cache"
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(target))
    assert data.data_dir() == target and target.is_dir()


# --- train_val_split -----------------------------------------------------------------------

FRACTIONS = st.floats(min_value=0.01, max_value=0.99)


def _check_split(seq, train, val, fraction) -> None:
    n_val = round(len(seq) * fraction)
    assert len(val) == n_val and len(train) == len(seq) - n_val  # sizes as documented
    assert len(train) > 0 and len(val) > 0


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=200), fraction=FRACTIONS)
def test_split_of_a_string_is_a_prefix_and_a_suffix(text, fraction):
    n_val = round(len(text) * fraction)
    if not 0 < n_val < len(text):
        with pytest.raises(ValueError, match="empty"):
            data.train_val_split(text, fraction)
        return
    train, val = data.train_val_split(text, fraction)
    _check_split(text, train, val, fraction)
    assert train + val == text


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.integers(), min_size=2, max_size=200), fraction=FRACTIONS)
def test_split_of_a_list_and_a_tensor_covers_every_position_once(items, fraction):
    assume(0 < round(len(items) * fraction) < len(items))
    train, val = data.train_val_split(items, fraction)
    _check_split(items, train, val, fraction)
    assert train + val == items
    positions = torch.arange(len(items))  # a tensor of positions: no overlap, no gaps
    train_pos, val_pos = data.train_val_split(positions, fraction)
    _check_split(positions, train_pos, val_pos, fraction)
    assert torch.equal(torch.cat([train_pos, val_pos]), positions)
    assert train_pos.max() < val_pos.min()  # val is the contiguous tail


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_fractions_outside_zero_one(fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.train_val_split("abcdefghij", fraction)


@pytest.mark.parametrize("empty", ["", [], torch.empty(0, dtype=torch.long)])
def test_split_rejects_empty_data(empty):
    with pytest.raises(ValueError, match="empty"):
        data.train_val_split(empty)


def test_split_rejects_data_too_short_for_a_validation_part():
    with pytest.raises(ValueError, match="empty validation part"):
        data.train_val_split("abc", 0.1)


def test_split_rejects_a_2d_tensor():
    with pytest.raises(ValueError, match="1-D"):
        data.train_val_split(torch.zeros(2, 5))
