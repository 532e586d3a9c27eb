"""The ``llmcourse`` command: environment doctor, exercise checks, and maintainer tools.

llmcourse doctor                       can this machine run the course?
llmcourse check NOTEBOOK               run an exercise notebook and print a score table
llmcourse build-exercises [--check]    write exercises/ from solutions/
llmcourse execute NOTEBOOK...          re-execute notebooks in place (maintainers)
llmcourse stamp-colab [--check]        write Colab badges and install cells (maintainers)
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
