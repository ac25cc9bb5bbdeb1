"""Budgets and the one error type for bad input.

Every size check in the project raises :class:`ConfigError` with a message a student can act
on, before any work starts. The budgets live here, and so do the checks against them
(:func:`require_memory`, :func:`require_time`): the CLI, the dashboard and the tests agree on
what is too large.
"""

from __future__ import annotations

import os
from collections.abc import Callable


class ConfigError(ValueError):
    """Bad or oversized input, described in one line that says what to change."""


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


# Long work reports progress through a plain callback, so core never knows who listens:
# the CLI prints to stderr, the dashboard moves a progress bar.
ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default progress callback: ignore."""
