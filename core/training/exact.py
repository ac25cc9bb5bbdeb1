"""Exact arithmetic that lets momentum SGD run backwards bit for bit (seed eqs (13)-(16)).

Maclaurin, Duvenaud & Adams (2015), "Gradient-based hyperparameter optimization through
reversible learning", section 3:

* p and theta are fixed-point int64: the real x is the integer X = x 2^F (F fraction bits);
  the step alpha grad J(theta) is computed in float64 from theta's exact value and truncated
  to the same grid, so the reverse pass recomputes the very same integer.
* beta is the rational n / d with d = 2^s, so dividing by d is a shift. Multiplying p by n / d
  discards the low s bits of p; they go into the information buffer of
  :mod:`core.training.buffer`, which hands back log2(n) bits as p's new low digits, so the
  buffer grows by log2(1/beta) bits per step and parameter and the inverse finds them there.
* :class:`RangeGuard` stops a run, with the step and what to change, before any int64 could
  overflow; :class:`ExactState` and :func:`exact_step` / :func:`exact_step_inverse` are one
  step each way.

What it trains: the inverse is exact whatever the grid, but the forward step is not the real
momentum step. The digits popped into p are not beta's, so beta p misses by less than n units
of 2^-F, and alpha grad J is truncated to the grid (less than one unit): each step and
parameter may miss by up to (n + 1) 2^-F = about beta 2^(s - F), not 2^-F
(:func:`step_error_bound`). With F close to s that is of the order of the parameters
themselves: the run still reverses bit for bit, but no longer trains the map it claims
(:func:`float64_drift_estimate`, :func:`training_guard`).
"""


from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.backend import abs_max, namespace
from core.limits import ConfigError, ProgressFn, no_progress
from core.training import small
from core.training.buffer import InfoBuffer, NumpyBeta, divide_beta, multiply_beta
from core.training.objectives import Objective
from core.training.observers import Observer

MAX_BETA_BITS = 16  # d = 2^s <= 2^16 keeps h d + r below 2^64
RANGE_BITS = 62  # |X| < 2^62 for theta, p and the step, so any sum of two fits in int64


def beta_fraction(beta: float, s: int) -> tuple[int, int]:
    """(n, d) with d = 2^s and n = round(beta d): beta_eff = n / d (Maclaurin et al. sec. 3)."""
    if not 1 <= s <= MAX_BETA_BITS:
        raise ConfigError(f"beta bits s = {s} is out of range: choose 1 to {MAX_BETA_BITS}")
    d = 1 << s
    n = round(beta * d)
    if not 1 <= n <= d:
        raise ConfigError(f"beta = {beta:g} rounds to {n}/{d}: choose beta in [{1 / d:g}, 1]")
    return n, d


def step_error_bound(n: int, s: int, F: int, step_size: float = 0.0) -> float:
    """Largest |p(k+1) - (beta p(k) - alpha g)| of one exact step, per parameter, in real units,
    given the float64 gradient g it evaluates (beta = n / 2^s exactly): beta p misses by less
    than n units of 2^-F (none when n = 2^s: nothing is popped), the truncation of alpha g to the
    grid by less than one unit, and float64 rounds alpha g 2^F by at most 2^-53 of ``step_size``
    = max |alpha g|. That is (n + 1) 2^-F, about beta 2^(s - F): the shift's s bits are lost
    from p's grid each step, not one unit of it."""
    popped = n if n < (1 << s) else 0
    return (popped + 1) * 2.0**-F + step_size * 2.0**-53


def float64_drift_estimate(steps: int, beta: float, n: int, s: int, F: int) -> float:
    """How far the exact trained path typically ends from float64 training of the same schedule
    (theta units): sqrt(K) step_error_bound / (1 - beta), the per-step misses adding like a
    random walk through the momentum's 1 / (1 - beta) (at most K). An estimate, not a bound:
    measured distances on the quadratic, Rosenbrock and digits objectives (K = 300 to 3000)
    lie 1.3 to 5.5 times below it."""
    gain = steps if beta >= 1 else min(steps, 1.0 / (1.0 - beta))
    return math.sqrt(steps) * step_error_bound(n, s, F) * gain


MEANINGLESS_DRIFT = 1.0  # estimated distance from float64 training, theta units: refused
NOTICEABLE_DRIFT = 0.01  # ... warned about
# the parameters of every objective here are of order one, so the distances are absolute


def training_guard(steps: int, beta: float, n: int, s: int, F: int) -> str:
    """'' when an exact run of these settings trains (close to) the float64 map; a warning when
    its path is estimated to end noticeably away from it; ConfigError, before any work, when the
    estimate is of the order of the parameters themselves, so the trained path means nothing."""
    drift = float64_drift_estimate(steps, beta, n, s, F)
    bound = step_error_bound(n, s, F)
    why = f"each exact step may miss the momentum step by (n + 1) 2^-F = {bound:.2g} (beta = {n}/2^{s}, F = {F})"
    if drift >= MEANINGLESS_DRIFT:
        raise ConfigError(f"exact mode would not train this map: {why}, so theta would end about {drift:.2g} "
                          "from float64 training: choose more fraction bits or fewer beta bits")
    if drift >= NOTICEABLE_DRIFT:
        return f"{why}: theta may end about {drift:.2g} away from float64 training of the same schedule"
    return ""


def bits_bound(ns: list[int], s: int, D: int) -> float:
    """The information bound sum_k D log2(1 / beta_eff(k)): bits that K steps destroy."""
    return float(D * sum(s - math.log2(n) for n in ns))


def to_fixed(x: Any, F: int) -> Any:
    """round(x 2^F) as int64; ConfigError if any |x| is beyond the fixed-point range."""
    xp = namespace(x)
    X = xp.round(xp.astype(x, xp.float64) * 2.0**F)
    big = float(xp.max(xp.abs(X)))
    if not big < 2.0**RANGE_BITS:
        raise ConfigError(f"a starting value of size {big * 2.0**-F:.3g} does not fit the fixed-point "
                          f"range +-{2.0 ** (RANGE_BITS - F):.3g} of {F} fraction bits: "
                          "lower the fraction bits")
    return xp.astype(X, xp.int64)


def from_fixed(X: Any, F: int) -> Any:
    """The real value X 2^-F as float64 (exact while |X| < 2^53, deterministic always)."""
    if type(X) is np.ndarray:  # int64 to float64, then the power of two: the bits of the branch below
        return np.multiply(X, 2.0**-F, dtype=np.float64)
    xp = namespace(X)
    return xp.astype(X, xp.float64) * 2.0**-F


class RangeGuard:
    """Detects, before it happens, any int64 overflow of the fixed-point p and theta.

    Cheap scalar bounds P >= max|p| and Theta >= max|theta| (integer units) follow the step:
    |floor(p / d) n + r2 - q| <= beta P + 2n + Q and |theta + p| <= Theta + P. Only when a bound nears
    2^62 are the true maxima measured; if those are near 2^62 too, the run stops with a
    ConfigError naming the step, so an overflow never returns wrong numbers."""

    LIMIT = 2.0**RANGE_BITS

    def __init__(self, p: Any, theta: Any, F: int) -> None:
        self.F = F
        self.P, self.Theta = abs_max(p), abs_max(theta)

    def _fail(self, what: str, value: float, k: int) -> None:
        span = 2.0 ** (RANGE_BITS - self.F)
        raise ConfigError(
            f"exact run would overflow the fixed-point range at step {k}: {what} reached "
            f"{value * 2.0**-self.F:.3g}, beyond +-{span:.3g} with {self.F} fraction bits. The run "
            "diverges (choose a smaller alpha) or needs a wider range (fewer fraction bits)")

    def step_size(self, g: Any, scale: float, k: int) -> float:
        """Q = max|g| scale = max|alpha 2^F grad J| (scale > 0, and rounding is monotone), checked
        before the product is truncated to int64 (NaN also stops)."""
        Q = abs_max(g) * scale
        if not Q < self.LIMIT:
            self._fail("|alpha grad J|", Q, k)
        return Q

    def after_momentum(self, p: Any, beta: float, Q: float, n: int, k: int) -> None:
        self.P = beta * self.P + 2 * n + Q
        if self.P >= self.LIMIT / 2:
            self.P = abs_max(p)  # p was computed without wrapping: |beta p|, |q| < 2^62
            if self.P >= self.LIMIT:
                self._fail("|p|", self.P, k)

    def before_position(self, theta: Any, k: int) -> None:
        if self.Theta + self.P >= self.LIMIT / 2:
            self.Theta = abs_max(theta)
            if self.Theta + self.P >= self.LIMIT:
                self._fail("|theta|", self.Theta + self.P, k)
        self.Theta += self.P



@dataclass
class ExactState:
    """Fixed-point p and theta (int64, x 2^F), the information buffer, and scratch space."""

    p: Any
    theta: Any
    buf: InfoBuffer
    F: int
    s: int
    guard: RangeGuard | None = None
    kernel: NumpyBeta | None = field(default=None, repr=False)
    scratch: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls, p: Any, theta: Any, F: int, s: int) -> ExactState:
        xp = namespace(theta)
        P, T = to_fixed(p, F), to_fixed(theta, F)
        st = cls(P, T, InfoBuffer(xp, T.shape[0]), F, s, RangeGuard(P, T, F))
        if xp is np:  # the in-place path: no temporaries in the loop
            D = T.shape[0]
            st.kernel = NumpyBeta(D)
            st.scratch = {"theta": np.empty(D), "g": np.empty(D)}
        return st

    def floats(self) -> tuple[Any, Any]:
        return from_fixed(self.p, self.F), from_fixed(self.theta, self.F)

    def _grad_numpy(self, obj: Objective) -> tuple[np.ndarray, np.ndarray]:
        """theta as float64 and grad J there, in scratch space (same bits as from_fixed and
        obj.grad in the array-API branch)."""
        sc = self.scratch
        np.multiply(self.theta, 2.0**-self.F, out=sc["theta"])
        return sc["theta"], obj.grad(sc["theta"], out=sc["g"])

    def _quantise_numpy(self, g: np.ndarray, scale: float) -> np.ndarray:
        """q = trunc(g scale) as int64 in one pass: the product is formed in float64 and cast
        on output, the same bits as astype(g * scale, int64). It lands in the beta kernel's
        scratch word array, free between its calls (one array less to stream through cache)."""
        return np.multiply(g, scale, out=self.kernel.c, casting="unsafe")


def exact_step(obj: Objective, st: ExactState, alpha: float, n: int, k: int) -> None:
    """Eqs (15)-(16) in fixed point: p <- n/d p (bits to the buffer) - [alpha grad J]_F."""
    scale = alpha * 2.0**st.F
    if st.kernel is not None:  # NumPy, in place (same bits as the branch below)
        _, g = st._grad_numpy(obj)
        Q = st.guard.step_size(g, scale, k)  # checked before the cast could wrap
        st.kernel.multiply(st.p, st.buf, n, st.s)
        np.subtract(st.p, st._quantise_numpy(g, scale), out=st.p)
    else:
        g = obj.grad(from_fixed(st.theta, st.F))
        Q = st.guard.step_size(g, scale, k)
        xp = namespace(g)
        st.p = multiply_beta(st.p, st.buf, n, st.s) - xp.astype(g * scale, xp.int64)
    st.guard.after_momentum(st.p, n / 2**st.s, Q, n, k)
    st.guard.before_position(st.theta, k)
    if st.kernel is not None:
        np.add(st.theta, st.p, out=st.theta)
    else:
        st.theta = st.theta + st.p


def exact_step_inverse(obj: Objective, st: ExactState, alpha: float, n: int) -> tuple[Any, Any]:
    """Eq (14) then (13), exactly. Returns theta(k) and grad J(theta(k)) as float64, the very
    numbers the forward step used (the hypergradient pass reuses them; with NumPy they live
    in scratch space that the next step overwrites)."""
    if st.kernel is not None:
        np.subtract(st.theta, st.p, out=st.theta)
        theta_f, g = st._grad_numpy(obj)
        np.add(st.p, st._quantise_numpy(g, alpha * 2.0**st.F), out=st.p)
        st.kernel.divide(st.p, st.buf, n, st.s)
        return theta_f, g
    st.theta = st.theta - st.p
    theta_f = from_fixed(st.theta, st.F)
    g = obj.grad(theta_f)
    xp = namespace(g)
    q = xp.astype(g * (alpha * 2.0**st.F), xp.int64)
    st.p = divide_beta(st.p + q, st.buf, n, st.s)
    return theta_f, g


def forward_exact(obj: Objective, st: ExactState, alphas: np.ndarray, ns: list[int], *,
                  observer: Observer | None = None, bits: list[tuple[int, float]] | None = None,
                  progress: ProgressFn = no_progress) -> ExactState:
    """K exact steps; ``bits`` (if given) collects (bits stored, bits of information) per step."""
    if st.kernel is not None and st.kernel.small:  # a few parameters: Python's integers, the same bits
        small.forward_exact(obj, st, alphas, ns, observer=observer, bits=bits, progress=progress)
        return st
    K = len(alphas)
    for k in range(K):
        if observer is not None:
            observer(k, *st.floats())
        if bits is not None:
            bits.append((st.buf.bits_stored(), st.buf.bits_information()))
        exact_step(obj, st, float(alphas[k]), ns[k], k + 1)
        if k % max(1, K // 100) == 0:
            progress(k / K, f"exact forward step {k:,} of {K:,}")
    if observer is not None:
        observer(K, *st.floats())
    if bits is not None:
        bits.append((st.buf.bits_stored(), st.buf.bits_information()))
    return st


def inverse_exact(obj: Objective, st: ExactState, alphas: np.ndarray, ns: list[int], *,
                  observer: Observer | None = None, progress: ProgressFn = no_progress) -> ExactState:
    """K exact inverse steps, from step K back to 0."""
    if st.kernel is not None and st.kernel.small:
        small.inverse_exact(obj, st, alphas, ns, observer=observer, progress=progress)
        return st
    K = len(alphas)
    for k in range(K - 1, -1, -1):
        if observer is not None:
            observer(k + 1, *st.floats())
        exact_step_inverse(obj, st, float(alphas[k]), ns[k])
        if k % max(1, K // 100) == 0:
            progress((K - k) / K, f"exact inverse step {K - k:,} of {K:,}")
    if observer is not None:
        observer(0, *st.floats())
    return st
