"""Tests for llmcourse.checkpoint: exact round trips, atomic saves, clear errors on bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from llmcourse import checkpoint as ckpt
from llmcourse.checkpoint import (
    build_model,
    checkpoint_info,
    load_checkpoint,
    model_spec,
    save_checkpoint,
)
from llmcourse.gpt import GPT, GPTConfig
from llmcourse.optim import make_optimizer
from llmcourse.rnn import RNNLM
from llmcourse.tokenizers import CharTokenizer

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_gpt(n_embd: int = 8) -> GPT:
    return GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=n_embd))


def trained_optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    """An AdamW that has taken two steps, so it holds moments worth saving."""
    optimizer = make_optimizer(model, lr=1e-2)
    for _ in range(2):
        x = torch.randint(13, (2, 8))
        model(x, x)[1].backward()
        optimizer.step()
        optimizer.zero_grad()
    return optimizer


def folder_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, GPT, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = tiny_gpt()
    optimizer = trained_optimizer(model)
    tokenizer = CharTokenizer.train("abcdefghijklm")
    save_checkpoint(
        tmp_path / "run",
        model,
        step=2,
        optimizer=optimizer,
        train_config={"lr": 0.01},
        history={"steps": [1, 2]},
        tokenizer=tokenizer,
        extra={"corpus": "toy"},
    )
    return tmp_path / "run", model, optimizer


def test_a_checkpoint_round_trips_weights_optimizer_and_facts(saved):
    folder, model, optimizer = saved
    fresh = tiny_gpt()
    fresh_optimizer = make_optimizer(fresh, lr=1e-2)
    loaded = load_checkpoint(folder, fresh, optimizer=fresh_optimizer)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    assert fresh.lm_head.weight is fresh.wte.weight  # still tied after loading
    theirs, ours = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
    assert theirs.keys() == ours.keys()
    for key in theirs:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(theirs[key][name], ours[key][name])
    assert (loaded.step, loaded.train_config, loaded.history) == (
        2,
        {"lr": 0.01},
        {"steps": [1, 2]},
    )
    assert loaded.extra == {"corpus": "toy"}
    assert loaded.tokenizer.encode("cab") == [2, 0, 1]


def test_load_without_a_model_builds_one_from_the_spec(saved):
    folder, model, _ = saved
    loaded = load_checkpoint(folder)
    assert isinstance(loaded.model, GPT) and loaded.model.config == model.config
    assert torch.equal(loaded.model.wte.weight, model.wte.weight)


def test_model_spec_rebuilds_gpt_and_rnnlm():
    for model in (tiny_gpt(), RNNLM(7, embed_size=3, hidden_size=5, num_layers=2, dropout=0.1)):
        assert model_spec(build_model(model_spec(model))) == model_spec(model)
    with pytest.raises(ValueError, match="cannot build a 'Linear'"):
        build_model(model_spec(torch.nn.Linear(2, 2)))


def test_weights_that_share_one_buffer_round_trip(tmp_path):
    """On a GPU, nn.LSTM packs all its weights into one buffer (cuDNN's flat weights)."""
    model = RNNLM(7, embed_size=3, hidden_size=5, num_layers=2)
    params = [p for name, p in model.named_parameters() if name.startswith("rnn.")]
    buffer = torch.cat([p.detach().flatten() for p in params])
    offset = 0
    for p in params:
        p.data = buffer[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    save_checkpoint(tmp_path, model)
    loaded = load_checkpoint(tmp_path).model
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_random_states_are_restored_on_request(saved, tmp_path):
    folder, model, _ = saved
    generator = torch.Generator().manual_seed(5)
    torch.manual_seed(123)
    save_checkpoint(folder, model, batch_generator=generator)
    expected = (torch.rand(3), torch.rand(3, generator=generator))
    torch.manual_seed(999)
    other = torch.Generator().manual_seed(6)
    load_checkpoint(folder, model, batch_generator=other, restore_rng=True)
    assert torch.equal(torch.rand(3), expected[0])
    assert torch.equal(torch.rand(3, generator=other), expected[1])


def test_saving_again_replaces_the_files_and_leaves_only_the_new_ones(saved):
    folder, model, _ = saved
    before = set(checkpoint_info(folder)["files"].values())
    save_checkpoint(folder, model, step=3, tokenizer=CharTokenizer.train("xyz"))
    info = checkpoint_info(folder)
    assert info["step"] == 3
    names = {p.name for p in folder.iterdir()}  # no temporary files, no old weights
    assert names == {"checkpoint.json", *info["files"].values()}
    assert before & names == {"tokenizer.json"}
    save_checkpoint(folder, model, step=4)  # without a tokenizer: the old one goes too
    assert {p.name for p in folder.iterdir()} == {
        "checkpoint.json",
        *checkpoint_info(folder)["files"].values(),
    }
    assert load_checkpoint(folder).tokenizer is None


def test_a_crash_mid_save_keeps_the_previous_checkpoint(saved, monkeypatch):
    folder, model, _ = saved
    before = folder_hashes(folder)

    def crash(obj, path):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(folder, tiny_gpt(), step=99)
    monkeypatch.undo()
    after = folder_hashes(folder)
    new = set(after) - set(before)
    assert all(name.startswith("model-0000099") for name in new)  # an orphan, never named
    assert {k: after[k] for k in before} == before
    assert load_checkpoint(folder).step == 2


def test_a_truncated_weights_file_raises_a_clear_error_and_changes_nothing(saved):
    folder, _, _ = saved
    weights = folder / checkpoint_info(folder)["files"]["weights"]
    weights.write_bytes(weights.read_bytes()[:-100])
    before = folder_hashes(folder)
    with pytest.raises(ValueError, match=f"{weights.name} is damaged.*train again"):
        load_checkpoint(folder, tiny_gpt())
    assert folder_hashes(folder) == before


def test_a_truncated_manifest_raises_a_clear_error(saved):
    folder, _, _ = saved
    manifest = folder / "checkpoint.json"
    manifest.write_text(manifest.read_text()[:50])
    with pytest.raises(ValueError, match="checkpoint.json is damaged .*truncated"):
        load_checkpoint(folder)


def test_another_architecture_raises_a_clear_error_and_changes_nothing(saved):
    folder, _, _ = saved
    before = folder_hashes(folder)
    with pytest.raises(ValueError, match=r"another architecture: its GPT has n_embd=8 \(model"):
        load_checkpoint(folder, tiny_gpt(n_embd=4))
    with pytest.raises(ValueError, match="holds a GPT, not a RNNLM"):
        load_checkpoint(folder, RNNLM(13, embed_size=4, hidden_size=4))
    assert folder_hashes(folder) == before


def test_an_optimizer_of_another_shape_raises_a_clear_error(saved):
    folder, _, _ = saved
    model = tiny_gpt()
    single_group = torch.optim.AdamW(model.parameters())
    with pytest.raises(ValueError, match="does not fit the objects given"):
        load_checkpoint(folder, model, optimizer=single_group)


def test_missing_folder_or_file_raises_file_not_found(saved, tmp_path):
    folder, _, _ = saved
    with pytest.raises(FileNotFoundError, match="folder does not exist.*llmcourse train --out"):
        load_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no checkpoint.json"):
        load_checkpoint(tmp_path / "empty")
    state = folder / checkpoint_info(folder)["files"]["state"]
    state.unlink()
    with pytest.raises(FileNotFoundError, match=f"{state.name} is missing"):
        load_checkpoint(folder)


def test_a_foreign_json_file_is_not_taken_for_a_checkpoint(tmp_path):
    (tmp_path / "checkpoint.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not an llmcourse checkpoint"):
        load_checkpoint(tmp_path)
