"""Command-line front door onto the same core functions the dashboard calls.

Each topic lives in its own module here with a ``register(subparsers)`` function; the
dashboard's "reproduce" boxes print commands of this CLI, so every number on a page can be
reproduced from a shell. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np

from core.cli.common import OneLineParser
from core.limits import ConfigError

# Topic modules under core/cli/, in the order --help lists them.
TOPICS = ("info", "lstm", "mdrnn", "reversible")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m core",
        description="Recurrence Lab from a shell: the numbers behind every page of the dashboard.",
        epilog="Every command takes --json (machine-readable on stdout), --backend and --seed. "
        "Progress goes to stderr.",
    )
    sub = parser.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    for name in TOPICS:
        importlib.import_module(f"core.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # NumPy's overflow and invalid-value warnings are not messages for the user: a result
        # that is not finite is refused in one line (core.cli.common.emit), a usable one printed
        with np.errstate(all="ignore"):
            return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory: choose smaller sizes", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`, say: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line unless debugging
        if os.environ.get("RECURRENCE_LAB_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} "
              "(set RECURRENCE_LAB_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
