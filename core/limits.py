"""Budgets and the one error type for bad input.

Every size check in the project raises :class:`ConfigError` with a message a student can act
on, before any work starts. The budgets live here, and so do the checks against them
(:func:`require_memory`, :func:`require_time`): the CLI, the dashboard and the tests agree on
what is too large.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """Bad or oversized input, described in one line that says what to change."""


# Longest piece of an input a message shows back: a link or a shell may hold 100,000 characters.
ECHO_CHARS = 40


def echo(value: object, limit: int = ECHO_CHARS) -> str:
    """An input as a message shows it back: inert text, cut short.

    Text is quoted with its control and invisible characters escaped (``repr``), and cut to
    ``limit`` characters with its full length said; a number is written out unless it has more
    than ``limit`` digits. Every message that repeats what someone typed goes through here."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        digits = int(abs(value).bit_length() * 0.30103) + 1  # str() of a huge int is refused
        return str(value) if digits <= limit else f"an integer of about {digits:,} digits"
    if isinstance(value, float):
        return repr(value)
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text)
    return f"{repr(text[:limit])[:-1]}…{repr(text[:limit])[-1]} ({len(text):,} characters)"


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# Largest working set one request may allocate (bytes). RECURRENCE_LAB_MEMORY_BUDGET_MB overrides.
MEMORY_BUDGET_BYTES = int(_env_float("RECURRENCE_LAB_MEMORY_BUDGET_MB", 1024) * 2**20)
# Longest a single dashboard request is allowed to run by estimate (seconds).
TIME_BUDGET_SECONDS = _env_float("RECURRENCE_LAB_TIME_BUDGET_S", 20.0)
# Entries each dashboard cache keeps (least recently used are dropped).
CACHE_MAX_ENTRIES = int(_env_float("RECURRENCE_LAB_CACHE_ENTRIES", 32))


def format_bytes(n: float) -> str:
    """Human-readable size: 1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def require_memory(nbytes: float, what: str, budget: int | None = None) -> None:
    """Refuse work whose estimated memory ``nbytes`` exceeds the budget, before it starts."""
    budget = MEMORY_BUDGET_BYTES if budget is None else budget
    if nbytes > budget:
        raise ConfigError(
            f"{what} needs about {format_bytes(nbytes)}, over the memory budget of "
            f"{format_bytes(budget)}: choose smaller sizes"
        )


def require_time(seconds: float, what: str, budget: float | None = None,
                 hint: str = "choose smaller sizes or fewer steps, or run the command from a shell") -> None:
    """Refuse work whose estimated wall time ``seconds`` exceeds ``budget`` (default: the page's
    :data:`TIME_BUDGET_SECONDS`), before it starts. The one place that refuses over-budget work:
    every estimate in the lab ends here."""
    budget = TIME_BUDGET_SECONDS if budget is None else budget
    if not seconds <= budget:  # NaN refuses too
        raise ConfigError(f"{what} would take about {seconds:.0f} s, over the budget of {budget:.0f} s: {hint}")


def require_finite(value: float, what: str, hint: str) -> None:
    """Refuse a non-finite result instead of returning it (``hint`` says what to change)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{what} is not finite ({value}): {hint}")


def optional(note: str, default: Any = dataclasses.MISSING) -> Any:
    """Declare a result field that may hold no number (nan, inf or None): ``note`` names the
    field of the same result that then says why (a timing too short to divide, say)."""
    return dataclasses.field(default=default, metadata={"note": note})


def _gap(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def missing_figures(result: Any, path: str = "") -> list[str]:
    """Where ``result`` (dataclasses, dicts, lists, arrays, numbers) holds no number (nan, inf
    or None) without saying why: the dotted paths of those figures. A figure is explained when
    its dataclass field is declared :func:`optional` and the note it names is not empty, or
    when it is a dict's ``key`` and the same dict holds a non-empty ``key_note``; everything
    below an explained figure is explained with it."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return [gap for f in dataclasses.fields(result) if f.repr
                and not (f.metadata.get("note") and getattr(result, f.metadata["note"]))
                for gap in missing_figures(getattr(result, f.name), f"{path}.{f.name}" if path else f.name)]
    if isinstance(result, dict):
        return [gap for k, v in result.items() if not result.get(f"{k}_note")
                for gap in missing_figures(v, f"{path}.{k}" if path else str(k))]
    if isinstance(result, list | tuple):
        return [path] if any(missing_figures(v) for v in result) else []
    if isinstance(result, np.ndarray):
        return [path] if result.dtype.kind in "fc" and not np.isfinite(result).all() else []
    if isinstance(result, np.generic):
        result = result.item()
    return [path] if _gap(result) else []


# Long work reports progress through a plain callback, so core never knows who listens:
# the CLI prints to stderr, the dashboard moves a progress bar.
ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default progress callback: ignore."""
