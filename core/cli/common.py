"""Shared pieces of the CLI: the parser that fails in one line, run options, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from typing import Any, NoReturn

import numpy as np

from core.backend import BACKEND_NAMES, Backend, select_backend


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def seed_value(text: str) -> int:
    """A random seed from the command line: an integer from 0 to 2**31 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"seed must be from 0 to 2147483647, got {value}")
    return value


def run_options() -> argparse.ArgumentParser:
    """Options every command takes: pass as ``parents=[run_options()]``."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("run options")
    g.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    g.add_argument("--backend", choices=BACKEND_NAMES, default="numpy",
                   help="array backend (default numpy; auto takes CuPy when a GPU is usable)")
    g.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2147483647 (default 0)")
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def backend_from(args: argparse.Namespace) -> Backend:
    """The backend the options ask for; a note goes to stderr when auto falls back."""
    backend = select_backend(args.backend)
    if backend.note and not args.quiet:
        print(backend.note, file=sys.stderr)
    return backend


class StderrProgress:
    """A progress callback that prints at most every ``every`` seconds to stderr."""

    def __init__(self, quiet: bool = False, every: float = 0.5) -> None:
        self.quiet, self.every, self.last = quiet, every, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < self.every and fraction < 1.0):
            return
        self.last = now
        print(f"[{100 * fraction:5.1f}%] {message}", file=sys.stderr, flush=True)


def jsonable(value: Any) -> Any:
    """Results as plain JSON: result dataclasses to objects of their fields, NumPy scalars and
    arrays to Python, non-finite floats to null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _text(value: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    for key, v in value.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{key}:")
            lines += _text(v, indent + 1)
        elif isinstance(v, float):
            lines.append(f"{pad}{key}: {v:.6g}")
        elif isinstance(v, list) and len(v) > 8:
            lines.append(f"{pad}{key}: [{len(v)} values] (use --json for all)")
        else:
            lines.append(f"{pad}{key}: {v}")
    return lines


def emit(result: Any, args: argparse.Namespace) -> int:
    """Print ``result``: JSON with --json, else an indented key: value listing."""
    result = jsonable(result)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print("\n".join(_text(result)))
    return 0
