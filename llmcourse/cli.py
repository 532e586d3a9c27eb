"""The ``llmcourse`` command: environment doctor, exercise checks, and maintainer tools.

llmcourse doctor                       can this machine run the course?
llmcourse check NOTEBOOK               run an exercise notebook and print a score table
llmcourse build-exercises [--check]    write exercises/ from solutions/
llmcourse execute NOTEBOOK...          re-execute notebooks in place (maintainers)
llmcourse stamp-colab [--check]        write Colab badges and install cells (maintainers)
llmcourse train --out DIR              train a small GPT (or LSTM) on a corpus, save it in DIR
llmcourse generate DIR --prompt TEXT   sample text from a model saved by `llmcourse train`
                                       (--temperature, --top-k, --top-p; GPTs use a KV cache)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from llmcourse.doctor import run_doctor

    return run_doctor()


def _check(args: argparse.Namespace) -> int:
    from llmcourse.exercises import format_score_table, score_notebook

    score = score_notebook(Path(args.notebook), timeout=args.timeout)
    print(format_score_table(score))
    return 0 if score.all_passed else 1


def _build_exercises(args: argparse.Namespace) -> int:
    from llmcourse.exercises import build_exercises

    changed = build_exercises(Path(args.solutions), Path(args.exercises), check=args.check)
    if args.check:
        for path in changed:
            print(f"stale: {path} (run `llmcourse build-exercises` and commit the result)")
        if not changed:
            print(f"{args.exercises}/ is in sync with {args.solutions}/")
        return 1 if changed else 0
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print(f"{args.exercises}/ was already in sync with {args.solutions}/")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from llmcourse.notebooks import execute_in_place

    for name in args.notebooks:
        print(f"executing {name} …", flush=True)
        execute_in_place(Path(name), timeout=args.timeout)
    return 0


def _stamp_colab(args: argparse.Namespace) -> int:
    from llmcourse.notebooks import stamp_colab

    changed = stamp_colab(Path(args.root), check=args.check)
    verb = "needs stamping" if args.check else "stamped"
    for path in changed:
        print(f"{verb}: {path}")
    if not changed:
        print("every notebook's Colab badge and install cell are up to date")
    return 1 if (args.check and changed) else 0


# ---------------------------------------------------------------- train and generate

#: Defaults of `llmcourse train`: a "baby GPT" (or an LSTM of about its size) that learns
#: pydoc's characters in a minute or two on a laptop CPU. The LSTM's n_embd is its
#: embedding size.
_MODEL_DEFAULTS = {
    "gpt": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0},
    "lstm": {"n_layer": 1, "n_embd": 128, "hidden_size": 256, "block_size": 64, "dropout": 0.0},
}
_ARCH_FLAGS = ("n_layer", "n_head", "n_embd", "hidden_size", "dropout", "block_size")
_GPT_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout")


class _CLIError(Exception):
    """A mistake in the command line or its files: printed as one line, exit status 1."""


def _reporting_errors(command: str, run, args: argparse.Namespace) -> int:
    from llmcourse.data import CorpusUnavailableError

    try:
        return run(args)
    except (_CLIError, ValueError, FileNotFoundError, CorpusUnavailableError) as err:
        print(f"llmcourse {command}: error: {err}", file=sys.stderr)
        return 1


def _corpus_ids(name: str, tokenizer=None):
    """(train_ids, val_ids, tokenizer) of a corpus; pydoc is cleaned with ``clean_pydoc``."""
    from llmcourse.data import available_corpora, load_corpus, train_val_split
    from llmcourse.text import clean_pydoc
    from llmcourse.tokenizers import CharTokenizer

    if name not in available_corpora():
        raise _CLIError(f"unknown corpus {name!r}; known corpora: {', '.join(available_corpora())}")
    text = load_corpus(name)
    text = clean_pydoc(text) if name == "pydoc" else text
    tokenizer = CharTokenizer.train(text) if tokenizer is None else tokenizer
    return (*train_val_split(tokenizer.encode(text), 0.1), tokenizer)


def _sample(model, tokenizer, prompt: str, max_new_tokens: int, args) -> str:
    """prompt + max_new_tokens sampled tokens, decoded."""
    import torch

    from llmcourse.gpt import GPT

    if not prompt:
        raise _CLIError("the prompt is empty; give at least one character, e.g. --prompt 'The'")
    try:
        ids = tokenizer.encode(prompt)
    except ValueError:
        unknown = [c for c in dict.fromkeys(prompt) if not _encodable(tokenizer, c)]
        raise _CLIError(
            f"the prompt holds characters this run's tokenizer never saw in training: "
            f"{', '.join(map(repr, unknown))}; write the prompt with characters of the corpus"
        ) from None
    device = next(model.parameters()).device
    idx = torch.tensor([ids], dtype=torch.long, device=device)  # (1, T)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    if isinstance(model, GPT):
        out = model.generate(
            idx,
            max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            generator=generator,
        )
    elif args.top_k is not None or args.top_p is not None:
        flag = "--top-k" if args.top_k is not None else "--top-p"
        raise _CLIError(f"{flag} is not available for the lstm model; leave it out")
    else:
        out = model.eval().generate(idx, max_new_tokens, args.temperature, generator)
    return tokenizer.decode(out[0].tolist())


def _encodable(tokenizer, text: str) -> bool:
    try:
        tokenizer.encode(text)
    except ValueError:
        return False
    return True


class _SaveAtEval:
    """A trainer callback: save the run after every evaluation, so a stopped run keeps it."""

    def __init__(self, out: Path, tokenizer, extra: dict) -> None:
        self.out, self.tokenizer, self.extra = out, tokenizer, extra

    def on_eval(self, trainer) -> None:
        trainer.save(self.out, tokenizer=self.tokenizer, extra=self.extra)

    def on_start(self, trainer) -> None:
        pass

    on_step = on_end = on_start


def _new_run(args: argparse.Namespace):
    from llmcourse.gpt import GPT, GPTConfig
    from llmcourse.rnn import RNNLM
    from llmcourse.train import TrainConfig, Trainer

    corpus = args.corpus or "pydoc"
    train_ids, val_ids, tokenizer = _corpus_ids(corpus)
    size = {k: getattr(args, k) for k in _ARCH_FLAGS if getattr(args, k) is not None}
    size = {**_MODEL_DEFAULTS[args.model], **size}
    V = tokenizer.vocab_size
    if args.model == "gpt":
        model = GPT(GPTConfig(vocab_size=V, **{k: v for k, v in size.items() if k in _GPT_KEYS}))
    else:
        sizes = (size["n_embd"], size["hidden_size"], size["n_layer"])
        model = RNNLM(V, *sizes, dropout=size["dropout"])
    steps = None if args.minutes is not None else (args.steps or 1000)
    warmup = min(100, (steps or 1000) // 10) if args.warmup_steps is None else args.warmup_steps
    config = TrainConfig(
        steps=steps,
        minutes=args.minutes,
        batch_size=args.batch_size,
        block_size=size["block_size"],
        lr=args.lr,
        min_lr=args.min_lr,
        warmup_steps=warmup,
        grad_accum_steps=args.grad_accum_steps,
        eval_every=args.eval_every,
        eval_batches=args.eval_batches,
        seed=args.seed,
        device=args.device,
        compile=args.compile,
        progress=not args.no_progress,
    )
    trainer = Trainer(model, train_ids, val_ids, config)
    return trainer, tokenizer, {"corpus": corpus, "model": args.model}


def _resumed_run(args: argparse.Namespace):
    from llmcourse.checkpoint import checkpoint_info
    from llmcourse.tokenizers import Tokenizer
    from llmcourse.train import Trainer

    info = checkpoint_info(args.resume)
    extra = info["extra"]
    fixed = [f"--{k.replace('_', '-')}" for k in _ARCH_FLAGS if getattr(args, k) is not None]
    if args.corpus not in (None, extra.get("corpus")):
        fixed.append("--corpus")
    if fixed:
        raise _CLIError(f"{', '.join(fixed)} cannot change when resuming {args.resume}")
    overrides = {"progress": not args.no_progress}
    if args.minutes is not None:
        overrides.update(steps=None, minutes=args.minutes)
    elif args.steps is not None:
        overrides.update(steps=args.steps, minutes=None)
    steps = overrides.get("steps", info["train_config"]["steps"])
    if steps is not None and steps <= info["step"]:
        raise _CLIError(
            f"the run in {args.resume} has already trained {info['step']} steps; pass "
            f"--steps larger than {info['step']} to continue it"
        )
    minutes, elapsed = overrides.get("minutes", info["train_config"]["minutes"]), extra["elapsed_s"]
    if minutes is not None and minutes * 60 <= elapsed:
        raise _CLIError(
            f"the run in {args.resume} has already trained {elapsed / 60:.1f} min; "
            "pass a larger --minutes (budgets count the whole run)"
        )
    tokenizer = Tokenizer.load(Path(args.resume) / "tokenizer.json")
    train_ids, val_ids, _ = _corpus_ids(extra["corpus"], tokenizer)
    if args.device is not None:
        overrides["device"] = args.device
    return Trainer.resume(args.resume, train_ids, val_ids, **overrides), tokenizer, extra


def _run_training(args: argparse.Namespace) -> int:
    if args.out is None and args.resume is None:
        raise _CLIError("say where to save the run: --out DIR (or --resume DIR)")
    out = Path(args.out or args.resume)
    trainer, tokenizer, extra = _resumed_run(args) if args.resume else _new_run(args)
    trainer.callbacks.insert(0, _SaveAtEval(out, tokenizer, extra))
    c = trainer.config
    budget = " or ".join(
        ([f"{c.steps} steps"] if c.steps else []) + ([f"{c.minutes:g} min"] if c.minutes else [])
    )
    n_params = sum(p.numel() for p in trainer.model.parameters())
    print(
        f"training a {extra['model']} ({n_params:,} parameters) on {extra['corpus']} from "
        f"step {trainer.step} to {budget} on {trainer.device}",
        flush=True,
    )
    try:
        trainer.run()
    except KeyboardInterrupt:
        print(f"\nstopped; {out} holds the run as of its last evaluation", file=sys.stderr)
        return 130
    trainer.save(out, tokenizer=tokenizer, extra=extra)
    if not c.progress:  # the progress bar prints this line itself
        print(trainer.history.summary())
    print(f"saved to {out} (step {trainer.step}); sample with: llmcourse generate {out}")
    for k in range(args.samples):
        args.seed = c.seed + k
        print(f"--- sample {k + 1} ---")
        print(_sample(trainer.model, tokenizer, args.prompt, args.sample_tokens, args))
    return 0


def _train(args: argparse.Namespace) -> int:
    return _reporting_errors("train", _run_training, args)


def _run_generate(args: argparse.Namespace) -> int:
    import torch

    from llmcourse.checkpoint import load_checkpoint
    from llmcourse.device import pick_device

    device = torch.device(args.device) if args.device else pick_device()
    checkpoint = load_checkpoint(args.run, device=device)
    if checkpoint.tokenizer is None:
        raise _CLIError(f"{args.run} holds no tokenizer.json; it was not saved by llmcourse train")
    print(_sample(checkpoint.model, checkpoint.tokenizer, args.prompt, args.max_new_tokens, args))
    return 0


def _generate(args: argparse.Namespace) -> int:
    return _reporting_errors("generate", _run_generate, args)


def _add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a small GPT or LSTM on a corpus and save it",
        description="Train a language model with a progress bar, save a checkpoint, print samples.",
    )
    train.add_argument("--model", choices=("gpt", "lstm"), default="gpt")
    train.add_argument("--corpus", default=None, help="corpus name (default: pydoc)")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="optimizer steps in total (default 1000)")
    budget.add_argument("--minutes", type=float, help="wall-clock budget in total, in minutes")
    train.add_argument("--out", help="folder to save the run in")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    for flag in ("--n-layer", "--n-head", "--n-embd", "--hidden-size", "--block-size"):
        train.add_argument(flag, type=int, help="model size (default: a baby GPT / LSTM)")
    train.add_argument("--dropout", type=float)
    train.add_argument("--batch-size", type=int, default=12, help="B")
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    train.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end")
    train.add_argument("--warmup-steps", type=int, help="default: 10%% of the steps, ≤ 100")
    train.add_argument("--grad-accum-steps", type=int, default=1)
    train.add_argument("--eval-every", type=int, default=100)
    train.add_argument("--eval-batches", type=int, default=20)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    train.add_argument("--compile", action="store_true", help="use torch.compile (not Windows)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--samples", type=int, default=2, help="samples printed at the end")
    train.add_argument("--sample-tokens", type=int, default=200)
    train.add_argument("--prompt", default="\n", help="prompt of the samples")
    train.set_defaults(handler=_train, temperature=1.0, top_k=None, top_p=None)


def _add_generate_parser(commands) -> None:
    generate = commands.add_parser("generate", help="sample text from a saved run")
    generate.add_argument("run", metavar="DIR", help="a folder written by `llmcourse train`")
    generate.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    generate.add_argument("--max-new-tokens", type=int, default=200)
    generate.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    generate.add_argument("--top-k", type=int, default=None, help="keep the k likeliest tokens")
    generate.add_argument("--top-p", type=float, default=None, help="keep the nucleus of mass p")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    generate.set_defaults(handler=_generate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``llmcourse`` command."""
    parser = argparse.ArgumentParser(
        prog="llmcourse",
        description="Tools for the llmcourse notebooks: check your setup and your exercises.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    doctor = commands.add_parser(
        "doctor", help="report the environment and whether the course can run"
    )
    doctor.set_defaults(handler=_doctor)

    check = commands.add_parser("check", help="run an exercise notebook and print a score table")
    check.add_argument("notebook", help="path to a notebook, e.g. exercises/00_setup.ipynb")
    check.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    check.set_defaults(handler=_check)

    build = commands.add_parser("build-exercises", help="write exercises/ from solutions/")
    build.add_argument(
        "--check", action="store_true", help="only report stale files; exit 1 if any"
    )
    build.add_argument("--solutions", default="solutions", help="folder of solution notebooks")
    build.add_argument("--exercises", default="exercises", help="folder to write exercises into")
    build.set_defaults(handler=_build_exercises)

    execute = commands.add_parser("execute", help="re-execute notebooks in place, top to bottom")
    execute.add_argument("notebooks", nargs="+", help="notebooks to execute")
    execute.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    execute.set_defaults(handler=_execute)

    stamp = commands.add_parser(
        "stamp-colab", help="write Colab badges and install cells from pyproject.toml"
    )
    stamp.add_argument("--check", action="store_true", help="only report; exit 1 if any is stale")
    stamp.add_argument("--root", default=".", help="the course repository's root folder")
    stamp.set_defaults(handler=_stamp_colab)
    _add_train_parser(commands)
    _add_generate_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``llmcourse`` console script."""
    for stream in (sys.stdout, sys.stderr):  # ✅/❌ must not crash a cp1252 pipe on Windows
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
