"""The information buffer: where exact momentum keeps the bits that β discards.

Maclaurin, Duvenaud & Adams (2015), section 3. Multiplying p by β = n / d with d = 2^s
discards the low s bits r = p mod d of every fixed-point entry. They are pushed into a
per-parameter buffer and, in the same step, log2(n) bits are popped back out of it into p's
new low digits (r2 in [0, n)), so the buffer grows by log2(d / n) = log2(1 / β) bits per step
and parameter: the information bound, not s bits. This is the paper's push-then-pop trick.

The buffer is one uint64 "head" per parameter, kept in [2^16, 2^48) as in range ANS
(asymmetric numeral systems): push r is h <- h d + r, pop is r2 = h mod n, h <- h // n. When
the head would pass 2^48 its low 32 bits are spilled onto a stack of whole words (one uint32
layer per depth); the reverse pass refills from the stack in the mirror order. Everything is
elementwise over the D parameters: no object arrays, no per-element loops.

Invariants that make the inverse exact (h head, M = h d + r, T = 2^48 n, L = 2^16): forward
spills iff M >= T, leaving M >> 32 in [L n, L d); unspilled M lies in [L d, 2^48 n). The two
ranges are disjoint, so the reverse pass knows from M = h' n + r2 alone whether to refill.
All of M, h d and h' n stay below 2^64.

What the pop costs the trained path: the new low digits r2 are not β's. The true product is
n floor(p / d) + n r / d, the returned one n floor(p / d) + r2, and both n r / d and r2 lie in
[0, n): β p is off by less than n units of 2^-F per step and parameter, about β 2^(s - F) in
real terms, not 2^-F; nothing when n = d (β = 1: r2 = r). With the truncation of α ∇J that is
:func:`core.training.exact.step_error_bound`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.backend import is_cupy, namespace

HEAD_LO = 1 << 16  # L: the head always holds at least 16 bits, so a pop never runs dry
WORD = 32  # bits per spilled word
HEAD_HI = HEAD_LO << WORD  # 2^48: the head stays below this
LOW32 = (1 << WORD) - 1


class InfoBuffer:
    """Per-parameter information buffer: a uint64 head each, and a stack of spilled words."""

    def __init__(self, xp: Any, D: int) -> None:
        self.xp, self.D = xp, D
        self.head = xp.full((D,), HEAD_LO, dtype=xp.uint64)
        self.depth = xp.zeros((D,), dtype=xp.int64)  # spilled words per parameter
        self.spilled = 0  # their sum, kept as spills and refills happen (asked every step)
        self.layers: list[Any] = []  # layers[j][i] = parameter i's (j+1)-th spilled word

    def spill(self, mask: Any, M: Any) -> None:
        """Push the low 32 bits of M onto the stack of every parameter where ``mask``."""
        xp = self.xp
        words = xp.astype(M & LOW32, xp.uint32)
        top = int(xp.max(xp.where(mask, self.depth, -1)))
        bottom = int(xp.min(xp.where(mask, self.depth, top)))
        for level in range(bottom, top + 1):  # parameters at different depths: usually one level
            if level == len(self.layers):
                self.layers.append(xp.zeros((self.D,), dtype=xp.uint32))
            self.layers[level] = xp.where(mask & (self.depth == level), words, self.layers[level])
        grown = xp.astype(mask, xp.int64)
        self.depth = self.depth + grown
        self.spilled += int(xp.sum(grown))

    def refill(self, mask: Any) -> Any:
        """Pop one word (as uint64) for every parameter where ``mask``; 0 elsewhere."""
        xp = self.xp
        taken = xp.astype(mask, xp.int64)
        depth = self.depth - taken
        if int(xp.min(depth)) < 0:
            raise RuntimeError("information buffer underflow: this state was not produced forward")
        words = xp.zeros((self.D,), dtype=xp.uint64)
        top = int(xp.max(xp.where(mask, depth, -1)))
        bottom = int(xp.min(xp.where(mask, depth, top)))
        for level in range(bottom, top + 1):
            words = xp.where(mask & (depth == level), xp.astype(self.layers[level], xp.uint64), words)
        self.depth = depth
        self.spilled -= int(xp.sum(taken))
        del self.layers[int(xp.max(depth)):]  # layers nobody uses any more
        return words

    def words(self) -> int:
        """Spilled 32-bit words held, over all parameters."""
        return self.spilled

    def bits_stored(self) -> int:
        """Memory actually used: every spilled word plus one 64-bit head per parameter."""
        return WORD * self.words() + 64 * self.D

    def bits_information(self) -> float:
        """Information held: 32 per spilled word plus log2(head / 2^16) per parameter."""
        xp = self.xp
        if xp is np:  # asked every step: uint64 goes to float64 inside log2, as astype would
            heads = float(np.log2(self.head, dtype=np.float64).sum()) - 16 * self.D
        else:
            heads = float(xp.sum(xp.log2(xp.astype(self.head, xp.float64)))) - 16 * self.D
        return WORD * self.words() + heads

    def is_empty(self) -> bool:
        xp = self.xp
        return self.words() == 0 and bool(xp.all(self.head == HEAD_LO))


def multiply_beta(p: Any, buf: InfoBuffer, n: int, s: int) -> Any:
    """p n / d (d = 2^s), reversibly: r = p mod d goes into ``buf``, log2 n bits come out.

    Returns floor(p / d) n + r2 with r2 = (h d + r) mod n, which is within n units of beta p;
    the head becomes (h d + r) // n (after a spill if h d + r >= 2^48 n)."""
    xp = namespace(p)
    if is_cupy(xp):
        return _cupy_multiply(p, buf, n, s)
    r = xp.astype(p & ((1 << s) - 1), xp.uint64)
    M = (buf.head << s) | r
    T = HEAD_HI * n  # n < d: below 2^64; n = d (beta = 1) never spills
    if n < (1 << s) and bool(xp.max(M) >= T):
        mask = M >= T
        buf.spill(mask, M)
        M = xp.where(mask, M >> WORD, M)
    q = M // n
    buf.head = q
    return (p >> s) * n + xp.astype(M - q * n, xp.int64)


def divide_beta(p: Any, buf: InfoBuffer, n: int, s: int) -> Any:
    """The inverse of :func:`multiply_beta`: recovers p and the buffer bit for bit."""
    xp = namespace(p)
    d = 1 << s
    if is_cupy(xp):
        return _cupy_divide(p, buf, n, s)
    p_hi = p // n
    M = buf.head * n + xp.astype(p - p_hi * n, xp.uint64)
    if bool(xp.min(M) < HEAD_LO * d):
        mask = M < HEAD_LO * d
        M = xp.where(mask, (M << WORD) | buf.refill(mask), M)
    buf.head = M >> s
    return p_hi * d + xp.astype(M & (d - 1), xp.int64)


class NumpyBeta:
    """In-place NumPy version of :func:`multiply_beta` / :func:`divide_beta` (bit-identical,
    fewer passes over memory): uses wrap-around int64 arithmetic, exact modulo 2^64.

    Up to :attr:`SMALL` parameters a step is done in Python's integers instead (the same
    arithmetic, exact), the arrays read and written once each: there NumPy's cost per call,
    not the arithmetic, set the time (a 2-parameter step made nine calls). A step that spills
    or refills a word takes the array path."""

    SMALL = 8

    def __init__(self, D: int) -> None:
        self.M = np.empty(D, np.uint64)
        self.c = np.empty(D, np.int64)
        self.small = D <= self.SMALL

    def multiply(self, p: np.ndarray, buf: InfoBuffer, n: int, s: int) -> np.ndarray:
        if self.small:
            d = 1 << s
            P, heads = p.tolist(), buf.head.tolist()
            Ms = [(h << s) | (x & (d - 1)) for x, h in zip(P, heads, strict=True)]  # h d + r
            if n == d or max(Ms) < HEAD_HI * n:  # no spill
                qs = [m // n for m in Ms]
                p[:] = [(x >> s) * n + (m - q * n) for x, m, q in zip(P, Ms, qs, strict=True)]
                buf.head[:] = qs
                return p
        M, h = self.M, buf.head
        np.bitwise_and(p.view(np.uint64), (1 << s) - 1, out=self.c.view(np.uint64))
        np.left_shift(h, s, out=M)
        np.bitwise_or(M, self.c.view(np.uint64), out=M)  # M = h d + r
        T = HEAD_HI * n
        if n < (1 << s) and M.max() >= T:
            mask = M >= T
            buf.spill(mask, M)
            np.right_shift(M, WORD, out=M, where=mask)
        np.right_shift(p, s, out=p)
        np.floor_divide(M, n, out=h)  # the new head q
        np.subtract(p, h.view(np.int64), out=p)
        np.multiply(p, n, out=p)
        np.add(p, M.view(np.int64), out=p)  # (p_hi - q) n + M = p_hi n + (M - q n)
        return p

    def divide(self, p: np.ndarray, buf: InfoBuffer, n: int, s: int) -> np.ndarray:
        d = 1 << s
        if self.small:
            P, heads = p.tolist(), buf.head.tolist()
            his = [x // n for x in P]
            Ms = [h * n + (x - q * n) for x, h, q in zip(P, heads, his, strict=True)]  # h n + r2
            if min(Ms) >= HEAD_LO * d:  # no refill
                buf.head[:] = [m >> s for m in Ms]
                p[:] = [(q << s) | (m & (d - 1)) for q, m in zip(his, Ms, strict=True)]
                return p
        M, c, h = self.M, self.c, buf.head
        np.floor_divide(p, n, out=c)  # p_hi
        np.subtract(h, c.view(np.uint64), out=M)
        np.multiply(M, n, out=M)
        np.add(M, p.view(np.uint64), out=M)  # (h - p_hi) n + p = h n + r2
        if M.min() < HEAD_LO * d:
            mask = M < HEAD_LO * d
            words = buf.refill(mask)
            np.left_shift(M, WORD, out=M, where=mask)
            np.bitwise_or(M, words, out=M)
        np.right_shift(M, s, out=h)
        np.bitwise_and(M, d - 1, out=M)
        np.left_shift(c, s, out=p)
        np.bitwise_or(p, M.view(np.int64), out=p)
        return p


# CuPy: the same arithmetic fused into one elementwise kernel per direction (one pass over
# memory instead of ten); the rare spills and refills go through InfoBuffer as above.
_CUPY_MULTIPLY = """
    unsigned long long r = ((unsigned long long)p) & (d - 1);
    long long p_hi = (p - (long long)r) / (long long)d;  // exact: floor(p / d)
    unsigned long long M = (h << s) | r;
    bool f = T != 0 && M >= T;
    unsigned long long M2 = f ? (M >> 32) : M;
    unsigned long long q = M2 / n;
    p_out = p_hi * (long long)n + (long long)(M2 - q * n);
    h_out = q;
    M_out = M;
    spill = f;
"""
_CUPY_DIVIDE = """
    long long nn = (long long)n;
    long long p_hi = p / nn;
    if (p % nn != 0 && p < 0) p_hi -= 1;  // floor division
    unsigned long long M = h * n + (unsigned long long)(p - p_hi * nn);
    p_hi_out = p_hi;
    M_out = M;
    refill = M < LD;
"""
_kernels: dict[str, Any] = {}


def _kernel(name: str) -> Any:
    if name not in _kernels:
        import cupy

        if name == "multiply":
            _kernels[name] = cupy.ElementwiseKernel(
                "int64 p, uint64 h, uint64 n, uint64 d, int32 s, uint64 T",
                "int64 p_out, uint64 h_out, uint64 M_out, bool spill", _CUPY_MULTIPLY, "rl_multiply_beta")
        else:
            _kernels[name] = cupy.ElementwiseKernel(
                "int64 p, uint64 h, uint64 n, uint64 LD", "int64 p_hi_out, uint64 M_out, bool refill",
                _CUPY_DIVIDE, "rl_divide_beta")
    return _kernels[name]


def _cupy_multiply(p: Any, buf: InfoBuffer, n: int, s: int) -> Any:
    d = 1 << s
    T = HEAD_HI * n if n < d else 0
    p_out, h_out, M, spill = _kernel("multiply")(p, buf.head, np.uint64(n), np.uint64(d), np.int32(s),
                                                 np.uint64(T))
    if bool(spill.any()):
        buf.spill(spill, M)
    buf.head = h_out
    return p_out


def _cupy_divide(p: Any, buf: InfoBuffer, n: int, s: int) -> Any:
    xp = namespace(p)
    d = 1 << s
    p_hi, M, refill = _kernel("divide")(p, buf.head, np.uint64(n), np.uint64(HEAD_LO * d))
    if bool(refill.any()):
        M = xp.where(refill, (M << WORD) | buf.refill(refill), M)
    buf.head = M >> s
    return p_hi * d + xp.astype(M & (d - 1), xp.int64)
