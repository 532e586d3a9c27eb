"""Bridges to Hugging Face: the course's pieces next to the libraries that do it for real.

Chapter 01 compares its byte-level BPE with Hugging Face ``tokenizers`` through
``hf_byte_level_bpe``; ``tests/test_tokenizers.py`` and ``benchmarks/bpe.py`` use the same
function, so all three compare against one configuration.

Chapter 04 (``chapters/04_attention_and_transformers.ipynb``) moves the weights of the
course's ``llmcourse.gpt.GPT`` to and from ``transformers.GPT2LMHeadModel`` with
``to_hf_gpt2`` / ``from_hf_gpt2``, and loads the real GPT-2 with ``from_pretrained_gpt2``;
``tests/test_interop.py`` proves both models give the same logits. The architectures are
the same; only the layout differs: HF's ``Conv1D`` stores a Linear's weight transposed,
(in, out) instead of (out, in), and HF names live under ``transformer.``.

Needs the ``hf`` extra (``pip install "llmcourse[hf]"``). Left out on purpose: HF's
vocabulary-file formats (``vocab.json``/``merges.txt``; the course's tokenizers save their
own JSON), HF's generation utilities, and GPT-2 variants with other attention scalings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used, so the tokenizer bridge does not load torch
    from llmcourse.gpt import GPT


def hf_byte_level_bpe(text: str, vocab_size: int, special_tokens: Sequence[str] = ()) -> Any:
    """A Hugging Face ``tokenizers.Tokenizer``: byte-level BPE trained on ``text``.

    Configured like GPT-2 and like ``llmcourse.tokenizers.BPETokenizer``: the GPT-2 regex
    pre-split without an added prefix space, the 256 bytes as the initial alphabet, and
    ``vocab_size`` counting bytes, merges and special tokens.

    >>> hf = hf_byte_level_bpe("low lower lowest " * 10, vocab_size=260)
    >>> hf.decode(hf.encode("lowly").ids)
    'lowly'
    """
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    except ImportError as error:
        raise ImportError(
            "Hugging Face `tokenizers` is not installed; install the course with its hf "
            'extra: pip install "llmcourse[hf]"'
        ) from error
    if not text:
        raise ValueError("cannot train on an empty text; pass the training corpus as a str")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=list(special_tokens),
        show_progress=False,
    )
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


# --- GPT-2 -------------------------------------------------------------------------------

# Weights that HF's Conv1D stores as (in, out), the transpose of nn.Linear's (out, in).
_CONV1D_WEIGHTS = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)
_GPT2_VOCAB_SIZE = 50257  # GPT-2's own vocabulary; its <|endoftext|> id is 50256


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as error:
        raise ImportError(
            "Hugging Face `transformers` is not installed; install the course with its hf "
            'extra: pip install "llmcourse[hf]"'
        ) from error
    return transformers


def to_hf_gpt2(model: GPT) -> Any:
    """A ``transformers.GPT2LMHeadModel`` with the same weights as ``model``.

    Config: ``n_positions = block_size``, ``n_embd``, ``n_layer``, ``n_head``,
    ``vocab_size``, ``activation_function="gelu_new"`` (GPT-2's tanh GELU), all three
    dropouts = ``config.dropout``, ``layer_norm_epsilon=1e-5``, tied embeddings and the
    "eager" attention (written out, like the course's). A model built with ``bias=False``
    gets zero biases, since HF's GPT-2 always has them. Returned in eval mode, float32, on
    the model's device.

    >>> from llmcourse.gpt import GPT, GPTConfig
    >>> hf = to_hf_gpt2(GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=4)))
    >>> type(hf).__name__, hf.config.n_positions
    ('GPT2LMHeadModel', 4)
    """
    import torch

    transformers = _import_transformers()
    c = model.config
    end_id = _GPT2_VOCAB_SIZE - 1 if c.vocab_size >= _GPT2_VOCAB_SIZE else None
    hf_config = transformers.GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.block_size,
        n_embd=c.n_embd,
        n_layer=c.n_layer,
        n_head=c.n_head,
        n_inner=None,  # 4 · n_embd
        activation_function="gelu_new",
        resid_pdrop=c.dropout,
        embd_pdrop=c.dropout,
        attn_pdrop=c.dropout,
        layer_norm_epsilon=1e-5,  # nn.LayerNorm's default, which GPT uses
        scale_attn_weights=True,
        tie_word_embeddings=True,
        bos_token_id=end_id,
        eos_token_id=end_id,
        attn_implementation="eager",
    )
    hf = transformers.GPT2LMHeadModel(hf_config).float()
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to wte in both models
        state["transformer." + name] = tensor.t() if name.endswith(_CONV1D_WEIGHTS) else tensor
    for name, param in hf.named_parameters():
        if name not in state and name != "lm_head.weight" and name.endswith(".bias"):
            state[name] = torch.zeros_like(param)  # bias=False: a zero bias is no bias
    missing, unexpected = hf.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise RuntimeError(
            f"GPT → GPT-2 mapping failed: missing {missing}, unexpected {unexpected}"
        )
    return hf.to(model.wte.weight.device).eval()


def _unsupported(hf_config: Any) -> list[str]:
    """What in a GPT2Config the course's GPT cannot express, one reason per entry."""
    n_embd = hf_config.n_embd
    problems = []
    if getattr(hf_config, "n_inner", None) not in (None, 4 * n_embd):
        problems.append(f"n_inner={hf_config.n_inner} (GPT's MLP is 4 · n_embd = {4 * n_embd})")
    if hf_config.activation_function not in ("gelu_new", "gelu_pytorch_tanh"):
        problems.append(
            f"activation_function={hf_config.activation_function!r} (GPT uses the tanh "
            "GELU, 'gelu_new')"
        )
    if hf_config.layer_norm_epsilon != 1e-5:
        problems.append(f"layer_norm_epsilon={hf_config.layer_norm_epsilon} (GPT uses 1e-5)")
    flags = {
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "add_cross_attention": False,
        "tie_word_embeddings": True,
    }
    for flag, wanted in flags.items():
        if bool(getattr(hf_config, flag, wanted)) != wanted:
            problems.append(f"{flag}={not wanted} (GPT needs {wanted})")
    return problems


def from_hf_gpt2(hf_model: Any, attention: str = "sdpa") -> GPT:
    """The course's ``GPT`` with the weights of a ``transformers.GPT2LMHeadModel``.

    ``block_size`` is ``n_positions``; ``dropout`` is the largest of HF's three rates.
    Refuses, with every reason listed, configs the course's GPT cannot express: another
    MLP width or activation, ``layer_norm_epsilon`` ≠ 1e-5, ``scale_attn_by_inverse_layer_idx``,
    ``reorder_and_upcast_attn``, cross-attention or an untied head. Returned in eval mode
    (like ``from_pretrained``; call ``.train()`` to fine-tune), float32, on the HF model's
    device.
    """
    import torch

    from llmcourse.gpt import GPT, GPTConfig

    transformers = _import_transformers()
    if not isinstance(hf_model, transformers.GPT2LMHeadModel):
        raise TypeError(
            f"expected a transformers.GPT2LMHeadModel, got {type(hf_model).__name__}; a bare "
            "GPT2Model has no language-model head"
        )
    hf_config = hf_model.config
    problems = _unsupported(hf_config)
    state = hf_model.state_dict()
    if not problems and not torch.equal(state["lm_head.weight"], state["transformer.wte.weight"]):
        problems.append("lm_head.weight differs from wte.weight (GPT ties them)")
    if problems:
        raise ValueError("cannot convert this GPT-2 to llmcourse.gpt.GPT: " + "; ".join(problems))
    config = GPTConfig(
        vocab_size=hf_config.vocab_size,
        block_size=hf_config.n_positions,
        n_layer=hf_config.n_layer,
        n_head=hf_config.n_head,
        n_embd=hf_config.n_embd,
        dropout=max(hf_config.resid_pdrop, hf_config.embd_pdrop, hf_config.attn_pdrop),
        bias=True,
        attention=attention,
    )
    model = GPT(config).to(hf_model.lm_head.weight.device)
    ours = {}
    for name in model.state_dict():
        hf_name = name if name == "lm_head.weight" else "transformer." + name
        tensor = state[hf_name]
        ours[name] = tensor.t() if name.endswith(_CONV1D_WEIGHTS) else tensor
    model.load_state_dict(ours)
    return model.eval()


def from_pretrained_gpt2(name: str = "gpt2", attention: str = "sdpa", **kwargs: Any) -> GPT:
    """OpenAI's GPT-2 from the Hugging Face hub (or a local folder) as the course's ``GPT``.

    ``name`` is a hub id — ``"gpt2"`` (124M parameters, ~550 MB download),
    ``"gpt2-medium"`` (350M), ``"gpt2-large"`` (774M), ``"gpt2-xl"`` (1.5B) — or a folder
    written by ``save_pretrained``. The first call downloads into HF's cache; ``kwargs`` go
    to ``GPT2LMHeadModel.from_pretrained`` (e.g. ``local_files_only=True``). Pair it with
    GPT-2's tokenizer (``transformers.GPT2TokenizerFast.from_pretrained(name)``).
    """
    transformers = _import_transformers()
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(name, **kwargs)
    return from_hf_gpt2(hf_model.float(), attention=attention)
