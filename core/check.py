"""Gradient checks, written once: central finite differences and the random-direction check.

Every backward pass in the lab is held to the function it differentiates in one of two ways:

* **entry by entry** (small sizes): each entry of each input is moved by ±h and the loss
  difference is set against the hand adjoint (:func:`entrywise`, with the two-point stencil
  (L(+h) − L(−h)) / 2h, error ~h², or the five-point one, error ~h⁴);
* **in a random direction** (large sizes): with tangents t and a cotangent c, ⟨t, Jᵀc⟩ from
  reverse mode must equal ⟨J t, c⟩ from forward mode or from finite differences along t
  (:func:`direction_agreement`).

What counts as agreement is decided here too, once (:func:`judge`). A relative error alone
goes red on noise: where a gradient has vanished (h(0) of a long sequence, say), the finite
difference is rounding noise of size ~ε|L|/h and the relative error measures that noise, not
the backward pass. So each entry passes if |a − n| ≤ rtol·max(|a|, |n|) + atol, with atol the
stencil's rounding-noise level; an entry whose gradient lies below atol/rtol is *vanished*:
named as such, checked only against atol, never failed for its relative error.

Everything here works on NumPy arrays on the host in float64; the callers move arrays to and
from their backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from core.limits import ConfigError, echo

STENCILS = (2, 4)  # points of the central stencil (the five-point stencil has four evaluations)
# The step that balances truncation against rounding for each stencil (float64, |L| ~ 1).
DEFAULT_STEP = {2: 1e-5, 4: 1e-3}
# Rounding noise of a stencil, in units of eps |L| / h: sum of |coefficients| over the divisor.
ROUNDING_GAIN = {2: 1.0, 4: 18.0 / 12.0}
RTOL = 1e-7  # the usual bar for float64 gradient checks (CS231n's notes)
NOISE_MARGIN = 4.0  # atol is this many times the estimated rounding noise


def check_step(h: float, stencil: int) -> None:
    """A finite-difference step must be a positive, finite number small enough to mean a
    derivative; the stencil one of :data:`STENCILS`. ConfigError otherwise."""
    if stencil not in STENCILS:
        raise ConfigError(f"stencil must be one of {', '.join(map(str, STENCILS))}, got {echo(stencil)}")
    if not (isinstance(h, int | float) and math.isfinite(h) and 0.0 < h <= 0.1):
        raise ConfigError(f"the finite-difference step must be a number in (0, 0.1], got {echo(h)}")


# Where a stencil evaluates f, in units of the step h, in the order :func:`combine` reads them.
POINTS = {2: (1, -1), 4: (-2, -1, 1, 2)}


def combine(values: list[float], h: float, stencil: int) -> float:
    """The central difference from f at the stencil's :data:`POINTS` (in that order)."""
    if stencil == 2:
        f_p, f_m = values
        return (f_p - f_m) / (2 * h)
    f_m2, f_m1, f_p1, f_p2 = values
    return (f_m2 - 8 * f_m1 + 8 * f_p1 - f_p2) / (12 * h)


def central(f: Callable[[float], float], h: float, stencil: int = 2) -> float:
    """df/ds at s = 0 from values of ``f(s)``: (f(h) − f(−h)) / 2h, or the five-point
    (f(−2h) − 8 f(−h) + 8 f(h) − f(2h)) / 12h."""
    check_step(h, stencil)
    return combine([f(m * h) for m in POINTS[stencil]], h, stencil)


def rounding_noise(loss_value: float, h: float, stencil: int) -> float:
    """Estimated absolute error of a central difference from rounding alone: ε |L| / h times
    the stencil's gain (truncation is smaller at the default steps)."""
    return ROUNDING_GAIN[stencil] * np.finfo(np.float64).eps * max(abs(loss_value), 1e-300) / h


def pick_entries(shape: tuple[int, ...], limit: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every index of an array of ``shape``, or ``limit`` of them drawn without replacement
    (``limit`` 0: all)."""
    idxs = list(np.ndindex(shape))
    if limit and limit < len(idxs):
        idxs = [idxs[k] for k in sorted(rng.choice(len(idxs), limit, replace=False))]
    return idxs


Move = tuple[str, tuple[int, ...], float]  # (array, entry, amount added to it)


def entrywise(loss: Callable[[dict[str, np.ndarray]], float], arrays: dict[str, np.ndarray], *,
              h: float, stencil: int = 2, limit: int = 0, rng: np.random.Generator | None = None,
              progress: Callable[[str], None] | None = None,
              batch: Callable[[dict[str, np.ndarray], list[Move]], np.ndarray] | None = None,
              ) -> dict[str, tuple[list[tuple[int, ...]], np.ndarray]]:
    """Central differences of ``loss`` in every entry (or ``limit`` sampled entries) of each
    array: {name: (indices, derivatives)}. ``loss`` receives the dict with one entry moved.

    ``batch(arrays, moves)``, if given, returns the loss after each move at once (for a model
    that can run many moved copies in one pass); the same entries, stencils and formulas."""
    check_step(h, stencil)
    rng = rng or np.random.default_rng(0)
    host = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    if batch is not None:
        picked = {name: pick_entries(value.shape, limit, rng) for name, value in host.items()}
        moves = [(name, idx, m * h) for name, idxs in picked.items() for idx in idxs for m in POINTS[stencil]]
        losses = np.asarray(batch(host, moves), dtype=np.float64).tolist()
        n = len(POINTS[stencil])
        out, k = {}, 0
        for name, idxs in picked.items():
            out[name] = (idxs, np.array([combine(losses[k + n * e:k + n * (e + 1)], h, stencil)
                                         for e in range(len(idxs))]))
            k += n * len(idxs)
            if progress is not None:
                progress(name)
        return out
    out = {}
    for name, value in host.items():
        idxs = pick_entries(value.shape, limit, rng)
        values = np.empty(len(idxs))
        for n, idx in enumerate(idxs):
            def moved(s: float, idx: tuple[int, ...] = idx, name: str = name, value: np.ndarray = value) -> float:
                v = value.copy()
                v[idx] += s
                return loss({**host, name: v})

            values[n] = central(moved, h, stencil)
        out[name] = (idxs, values)
        if progress is not None:
            progress(name)
    return out


def along(loss: Callable[[dict[str, np.ndarray]], float], arrays: dict[str, np.ndarray],
          direction: dict[str, np.ndarray], *, h: float, stencil: int = 2) -> float:
    """The derivative of ``loss`` along ``direction`` (same keys and shapes) by central differences."""
    host = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    return central(lambda s: loss({k: v + s * direction[k] for k, v in host.items()}), h, stencil)


def random_direction(arrays: dict[str, np.ndarray], rng: np.random.Generator,
                     unit: bool = True) -> dict[str, np.ndarray]:
    """Standard normal tangents shaped like ``arrays``, scaled to unit length over all of them
    (so a finite-difference step means the same whatever the sizes)."""
    t = {k: rng.standard_normal(np.shape(v)) for k, v in arrays.items()}
    if unit:
        norm = math.sqrt(sum(float(np.sum(v * v)) for v in t.values()))
        t = {k: v / norm for k, v in t.items()}
    return t


def inner(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Σ over the keys of ``b`` of ⟨a[k], b[k]⟩, in float64."""
    return float(sum(np.sum(np.asarray(a[k], dtype=np.float64) * np.asarray(b[k], dtype=np.float64))
                     for k in b))


def relative_difference(x: float, y: float) -> float:
    """|x − y| / max(|x|, |y|) (0 when both are 0; inf when one is not finite)."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.inf
    den = max(abs(x), abs(y))
    return abs(x - y) / den if den > 0 else 0.0


@dataclass(frozen=True)
class DirectionCheck:
    """⟨t, Jᵀc⟩ (reverse mode) against ⟨J t, c⟩ (forward mode or finite differences)."""

    t_JTc: float
    Jt_c: float
    rel_error: float


def direction_agreement(t_JTc: float, Jt_c: float) -> DirectionCheck:
    return DirectionCheck(float(t_JTc), float(Jt_c), relative_difference(float(t_JTc), float(Jt_c)))


@dataclass(frozen=True)
class ArrayCheck:
    """How one array's hand adjoint agrees with its finite differences."""

    checked: int  # entries compared
    max_rel_error: float  # largest |a − n| / max(|a|, |n|) over the entries that did not vanish
    max_rel_error_any: float  # the same over every entry: what a plain relative check would report
    max_abs_error: float  # largest |a − n| over every entry
    scaled_error: float  # max |a − n| / max |n|: the error relative to the array's own scale
    vanished: int  # entries whose gradient is below atol / rtol: checked against atol only
    failed: int  # entries outside |a − n| <= rtol max(|a|, |n|) + atol
    worst: tuple[int, ...]  # index of the entry with the largest relative error

    @property
    def ok(self) -> bool:
        return self.failed == 0


def judge(analytic: np.ndarray, numeric: np.ndarray, *, atol: float, rtol: float = RTOL,
          indices: Iterable[tuple[int, ...]] | None = None) -> ArrayCheck:
    """Compare hand adjoints with finite differences entry by entry (see the module docstring)."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    idxs = list(indices) if indices is not None else [(k,) for k in range(a.size)]
    if a.size == 0:
        return ArrayCheck(0, 0.0, 0.0, 0.0, 0.0, 0, 0, ())
    diff = np.abs(a - n)
    big = np.maximum(np.abs(a), np.abs(n))
    finite = np.isfinite(diff)
    vanished = finite & (big * rtol <= atol)
    rel = np.where(big > 0, diff / np.where(big > 0, big, 1.0), 0.0)
    rel = np.where(finite, rel, np.inf)
    rel_live = np.where(vanished, 0.0, rel)
    failed = ~finite | (diff > rtol * big + atol)
    worst = int(np.argmax(rel_live)) if rel_live.size else 0
    scale = float(np.max(np.abs(n)))
    return ArrayCheck(checked=int(a.size), max_rel_error=float(np.max(rel_live)),
                      max_rel_error_any=float(np.max(rel)), max_abs_error=float(np.max(diff)),
                      scaled_error=float(np.max(diff) / scale) if scale > 0 else float(np.max(diff)),
                      vanished=int(vanished.sum()), failed=int(failed.sum()), worst=tuple(idxs[worst]))


def gradient_error(loss: Callable[[dict[str, np.ndarray]], float], arrays: dict[str, np.ndarray],
                   analytic: dict[str, np.ndarray], *, h: float = 1e-5, stencil: int = 2) -> float:
    """One number for a whole gradient: max |analytic − numeric| over every entry of every array,
    relative to max |numeric| (central differences of ``loss`` in every entry)."""
    numeric = entrywise(loss, arrays, h=h, stencil=stencil)
    a = np.concatenate([np.asarray(analytic[k], dtype=np.float64).ravel() for k in numeric])
    n = np.concatenate([values for _, values in numeric.values()])
    return float(np.max(np.abs(a - n)) / np.max(np.abs(n)))
