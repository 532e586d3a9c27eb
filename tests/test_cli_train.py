"""Tests for `llmcourse train` and `llmcourse generate`, run in-process on a tiny budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from llmcourse.checkpoint import checkpoint_info
from llmcourse.cli import main

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16"]
FAST = ["--batch-size", "4", "--eval-every", "2", "--eval-batches", "1", "--device", "cpu"]
QUIET = ["--no-progress", "--samples", "1", "--sample-tokens", "10"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train fastest on one thread, and a busy machine slows two down most."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A GPT trained for 4 steps on the default corpus (pydoc) by the CLI."""
    folder = tmp_path_factory.mktemp("cli") / "demo"
    assert main(["train", "--out", str(folder), "--steps", "4", *TINY, *FAST, *QUIET]) == 0
    return folder


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def test_train_saves_a_checkpoint_with_its_tokenizer_and_prints_samples(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["train", "--out", str(out), "--steps", "2", *TINY, *FAST, *QUIET]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert (
        printed[0].startswith("training a gpt (")
        and "on pydoc from step 0 to 2 steps" in printed[0]
    )
    assert printed[1].startswith("val loss ") and "after 2 steps" in printed[1]
    assert printed[2].startswith(f"saved to {out} (step 2)")
    assert "--- sample 1 ---" in printed
    info = checkpoint_info(out)
    assert info["step"] == 2 and info["extra"]["corpus"] == "pydoc"
    assert info["model"]["config"]["n_embd"] == 16
    assert (out / "tokenizer.json").is_file()


def test_generate_continues_the_prompt_repeatably(run_dir, capsys):
    command = ["generate", str(run_dir), "--prompt", "The", "--max-new-tokens", "12"]
    assert main([*command, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    text = first[:-1]  # print's newline
    assert text.startswith("The") and len(text) == 3 + 12  # one character per token
    assert main([*command, "--seed", "3", "--temperature", "0.8", "--top-k", "5"]) == 0
    assert main([*command, "--seed", "3", "--top-p", "0.9"]) == 0
    capsys.readouterr()
    assert main([*command, "--temperature", "0"]) == 0  # greedy: the seed does not matter
    greedy = capsys.readouterr().out
    assert main([*command, "--temperature", "0", "--seed", "4"]) == 0
    assert capsys.readouterr().out == greedy and greedy.startswith("The")
    assert main([*command, "--seed", "3"]) == 0
    assert capsys.readouterr().out == first  # the seed fixes the sample


def test_resume_continues_the_step_count(run_dir, tmp_path, capsys):
    folder = copy_of(run_dir, tmp_path)
    assert main(["train", "--resume", str(folder), "--steps", "6", *QUIET]) == 0
    assert "from step 4 to 6 steps" in capsys.readouterr().out
    info = checkpoint_info(folder)
    assert info["step"] == 6
    assert info["history"]["steps"] == [1, 2, 3, 4, 5, 6]
    assert info["history"]["eval_steps"] == [2, 4, 6]


def test_resume_into_another_folder_leaves_the_first_one(run_dir, tmp_path):
    before = checkpoint_info(run_dir)
    out = tmp_path / "longer"
    assert main(["train", "--resume", str(run_dir), "--out", str(out), "--steps", "5", *QUIET]) == 0
    assert checkpoint_info(out)["step"] == 5
    assert checkpoint_info(run_dir) == before


def test_an_lstm_trains_and_generates(tmp_path, capsys):
    out = tmp_path / "lstm"
    sizes = ["--n-embd", "8", "--hidden-size", "16", "--block-size", "16"]
    assert (
        main(["train", "--model", "lstm", "--out", str(out), "--steps", "2", *sizes, *FAST, *QUIET])
        == 0
    )
    assert checkpoint_info(out)["model"]["class"] == "RNNLM"
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "a", "--max-new-tokens", "5"]) == 0
    assert len(capsys.readouterr().out) == 1 + 5 + 1
    assert main(["generate", str(out), "--top-k", "3"]) == 1
    assert "--top-k is not available for the lstm model" in capsys.readouterr().err
    assert main(["generate", str(out), "--top-p", "0.9"]) == 1
    assert "--top-p is not available for the lstm model" in capsys.readouterr().err


def error_of(argv: list[str], capsys) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1  # one clear line, no traceback
    return captured.err


def test_clear_errors_for_bad_corpus_folder_and_prompt(run_dir, tmp_path, capsys):
    err = error_of(["train", "--corpus", "shakespeare", "--out", str(tmp_path)], capsys)
    assert "unknown corpus 'shakespeare'; known corpora: pydoc, tinyshakespeare" in err
    err = error_of(["train", "--steps", "2"], capsys)
    assert "--out DIR" in err
    err = error_of(["generate", str(tmp_path / "missing")], capsys)
    assert "no checkpoint in" in err and "llmcourse train --out" in err
    err = error_of(["generate", str(run_dir), "--prompt", "nice ☃"], capsys)
    assert "never saw in training: '☃'" in err
    err = error_of(["generate", str(run_dir), "--prompt", ""], capsys)
    assert "the prompt is empty" in err
    err = error_of(["generate", str(run_dir), "--top-p", "1.5"], capsys)
    assert "top_p must lie in (0, 1]" in err


def test_a_corrupt_run_folder_is_reported_and_left_as_it_is(run_dir, tmp_path, capsys):
    folder = copy_of(run_dir, tmp_path)
    weights = folder / checkpoint_info(folder)["files"]["weights"]
    weights.write_bytes(weights.read_bytes()[:100])
    err = error_of(["generate", str(folder)], capsys)
    assert f"{weights} is damaged" in err
    assert len(weights.read_bytes()) == 100


def test_resume_refuses_what_it_cannot_change(run_dir, capsys):
    err = error_of(["train", "--resume", str(run_dir), "--steps", "4"], capsys)
    assert "has already trained 4 steps; pass --steps larger than 4" in err
    err = error_of(["train", "--resume", str(run_dir), "--steps", "8", "--n-embd", "32"], capsys)
    assert "--n-embd cannot change when resuming" in err


def test_steps_and_minutes_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--out", "x", "--steps", "2", "--minutes", "1"])
    assert "not allowed with argument" in capsys.readouterr().err
