"""`python -m data_tools {import,demo,noise,export,issues} ...`: every subcommand exits non-zero with a
one-line reason on bad input, never a traceback."""
from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

# subcommand -> module that defines configure_parser(parser) and main(args) -> int
COMMANDS = {
    "import": ("data_tools.importers.cli", "import a dataset as distributed into a dataset folder"),
    "demo": ("data_tools.demo", "generate the embedded synthetic demo dataset"),
    "noise": ("data_tools.noise", "inject controlled label noise into a dataset's training split"),
    "export": ("data_tools.export.cli", "export corrected labels from an audit database"),
    "issues": ("data_tools.issues.cli", "find duplicates, leaks and unusable images of a dataset folder"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser; only the chosen subcommand's module is imported, so one broken
    subcommand cannot take the others down."""
    parser = argparse.ArgumentParser(prog="python -m data_tools", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command is None or name == command:
            mod = importlib.import_module(module)
            mod.configure_parser(p)
            p.set_defaults(_main=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args._main(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, sqlite3.Error) as e:  # our errors subclass ValueError
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
