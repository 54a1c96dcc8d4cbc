"""The ``sharpsim`` command line.

Each subcommand lives in its own module under :mod:`sharpsim.commands` and
exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` as the handler. Errors in user input (bad options,
unknown names) print one clear line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module names under sharpsim.commands, in the order ``sharpsim --help`` lists them
COMMANDS = ["report", "reproduce", "bounds", "verify", "passk"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpsim",
        description="Exact toy models of the sharpening theory (Huang et al., arXiv 2412.01951).",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"sharpsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"sharpsim.commands.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError) as exc:
        print(f"sharpsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
