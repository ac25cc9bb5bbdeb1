"""Shared pieces of the CLI: the parser that fails in one line, run options, commands, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from core.backend import Backend, select_backend
from core.config import Config, Options, RunConfig, add_arguments, param
from core.limits import ECHO_CHARS, ConfigError, echo, missing_figures

LONGEST_MESSAGE = 240  # characters of an argparse message shown at the most
_QUOTED = re.compile(rf"'([^'…]{{{ECHO_CHARS + 1},}})'")  # a quoted input not yet cut by echo


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2, showing what
    was typed cut short (:func:`~core.limits.echo`)."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, f"invalid choice: {echo(value)} (choose from "
                                                 f"{', '.join(map(str, action.choices))})")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(echo(a) for a in extras[:3])}"
                       + (f" and {len(extras) - 3} more" if len(extras) > 3 else ""))
        return parsed

    def error(self, message: str) -> NoReturn:
        # argparse's own messages quote what was typed ("ignored explicit argument 'x...'")
        message = _QUOTED.sub(lambda m: echo(m.group(1)), message)
        if len(message) > LONGEST_MESSAGE:
            message = message[:LONGEST_MESSAGE] + "…"
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class OutputOptions(Config):
    """How every command prints."""

    json: bool = param(False, label="JSON", help="print machine-readable JSON on stdout")
    quiet: bool = param(False, label="Quiet", help="no progress on stderr")


def run_options() -> argparse.ArgumentParser:
    """Options every command takes (:func:`add_command` adds them): --json, --backend, --seed,
    --quiet, each from its declaration."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("run options")
    add_arguments(g, Options(OutputOptions, only=("json",)))
    add_arguments(g, Options(RunConfig, only=("backend", "seed"), defaults=(("backend", "numpy"),)))
    add_arguments(g, Options(OutputOptions, only=("quiet",)))
    return p


def add_topic(sub: argparse._SubParsersAction, name: str, *, help: str, description: str) -> argparse._SubParsersAction:
    """A topic (``python -m core NAME``) whose commands are added with :func:`add_command`."""
    p = sub.add_parser(name, help=help, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    return p.add_subparsers(dest="command", metavar="COMMAND", required=True)


def add_command(cmds: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int], *,
                help: str, description: str, options: Sequence[type[Config] | Options] = (),
                defaults: Mapping[str, Any] | None = None) -> argparse.ArgumentParser:
    """One command: the run options, one option per declared field of each of ``options``
    (config classes, or :class:`~core.config.Options` selections of their fields), changed
    ``defaults``, and ``func`` to run it."""
    p = cmds.add_parser(name, parents=[run_options()], help=help, description=description)
    for opts in options:
        add_arguments(p, opts)
    p.set_defaults(func=func, **dict(defaults or {}))
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


NOT_COMPUTED = "choose settings that keep the numbers finite (smaller steps, rates or sizes)"


def require_figures(result: Any, hint: str = NOT_COMPUTED) -> None:
    """ConfigError (exit 2), naming the figures and ``hint``, unless every figure of ``result``
    is a number or says why it is missing (:func:`core.limits.missing_figures`)."""
    missing = missing_figures(result)
    if missing:
        names = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise ConfigError(f"no finite result for {names}: {hint}")


def emit(result: Any, args: argparse.Namespace, *, hint: str = NOT_COMPUTED) -> int:
    """Print ``result`` (after :func:`require_figures`): JSON with --json, else an indented
    key: value listing."""
    require_figures(result, hint)
    result = jsonable(result)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print("\n".join(_text(result)))
    return 0
