"""The seed's problems 1 and 2, evaluated as written next to the true values.

In the seed's own setting (B = D = H = 1, scalar weights w_ix, w_ih, ...) and at a chosen step
t, every equation (1)-(9) is evaluated exactly as the seed writes it, with the true values
plugged in on its right-hand side, and compared with

* the hand BPTT of ``core/lstm.py`` (float64), and
* finite differences of an independent scalar forward pass written here in plain Python
  (five-point central stencil), which shares no code with the BPTT.

Where the seed differs, the difference is split into named corrections applied in order (the
biases its model lacks, tanh for its tan, the loss's own term dL/dh(t)); after the last one the
value equals the true one. Verdicts are the equation's, not the step's: eq (1) misses dL/dh(t)
even at a step where that term happens to be zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core import check
from core.lstm.model import GATES, LSTMParams, loss, lstm_backward, lstm_forward

FD_STEP = 1e-3  # five-point stencil: truncation ~ h^4, roundoff ~ 1e-16 / h

SEED_TEX = {  # right-hand sides as the seed writes them (its typos kept)
    1: r"\begin{aligned}\overline{h^{(t)}} = {}& "
       r"\overline{o^{(t+1)}}\,\sigma(w_{ox}x^{(t+1)} + w_{oh}h^{(t)})(1-\sigma(\cdot))\,w_{oh} \\ &+ "
       r"\overline{f^{(t+1)}}\,\sigma(w_{fx}x^{(t+1)} + w_{fh}h^{(t)})(1-\sigma(\cdot))\,w_{fh} \\ &+ "
       r"\overline{i^{(t+1)}}\,\sigma(w_{ix}x^{(t+1)} + w_{ih}h^{(t)})(1-\sigma(\cdot))\,w_{ih} \\ &+ "
       r"\overline{g^{(t+1)}}\,(1 - \tan^2(w_{gx}x^{(t+1)} + w_{gh}h^{(t)})\,w_{gh}\end{aligned}",
    2: r"\overline{c^{(t)}} = \overline{h^{(t)}}\,o^{(t)}\left(1-\tanh^2(c^{(t)})\right) + "
       r"\overline{c^{(t+1)}}\,f^{(t+1)}",
    3: r"\overline{g^{(t)}} = \overline{c^{(t)}}\, i^{(t)}",
    4: r"\overline{o^{(t)}} = \overline{h^{(t)}}\,\tanh(c^{(t)})",
    5: r"\overline{f^{(t)}} = \overline{c^{(t)}}\, c^{(t-1)}",
    6: r"\overline{i^{(t)}} = \overline{c^{(t)}}\, g^{(t)}",
    7: r"\tanh'(z) = 1 - \tan^2(z)",
    8: r"\sigma'(z) = \sigma(z)(1-\sigma(z))",
    9: r"\overline{w_{ix}} = \sum_{t=1}^{T} \overline{i^{(t)}}\,\sigma(w_{ix}x^{(t)} + w_{ih}h^{(t-1)})"
       r"\,(1-\sigma(w_{ix}x^{(t)} + w_{ih}h^{(t-1)}))\,x^{(t)}",
}
CORRECTED_TEX = {
    1: r"\begin{aligned}\overline{h^{(t)}} = {}& \frac{\partial L}{\partial h^{(t)}} + \sum_{k\in\{o,f,i\}} "
       r"\overline{k^{(t+1)}}\,\sigma'(z_k^{(t+1)})\,w_{kh} + \overline{g^{(t+1)}}"
       r"\left(1-\tanh^2(z_g^{(t+1)})\right)w_{gh}, \\ "
       r"z_k^{(t+1)} = {}& w_{kx}x^{(t+1)} + w_{kh}h^{(t)} + b_k\end{aligned}",
    7: r"\tanh'(z) = 1 - \tanh^2(z)",
    9: r"\overline{w_{ix}} = \sum_{t=1}^{T} \overline{i^{(t)}}\,"
       r"\sigma'(w_{ix}x^{(t)} + w_{ih}h^{(t-1)} + b_i)\,x^{(t)} \quad (b_i = 0 \text{ in the seed's model})",
}
VERDICT = {1: "incomplete", 7: "wrong"}  # every other equation: "right"
ISSUES = {
    1: ("misses the loss's own term ∂L/∂h(t) (only h(t)'s effect on step t+1 is summed; there is "
        "no separate path through c: h(t) reaches c(t+1) only through the gates)",
        "writes tan² for tanh² in the g term (as eq (7) does)",
        "one parenthesis is never closed: (1 − tan²(·) w_gh"),
    2: ("right once h̄(t) is the complete adjoint, with ∂L/∂h(t)",),
    7: ("tan for tanh: tanh'(z) = 1 − tanh²(z); for small z the two differ by about −(4/3) z⁴, "
        "at |z| = π/2 the seed's value is infinite",),
    9: ("right for the seed's model, which has no biases; with a bias b_i it goes inside σ",),
}


def sigmoid(z: float) -> float:
    return 0.5 + 0.5 * math.tanh(0.5 * z)  # = 1/(1 + e^-z), without math.exp's OverflowError


@dataclass(frozen=True)
class EquationCheck:
    number: int  # the seed's equation number
    seed_value: float  # the seed's right-hand side as written, true values plugged in
    true_value: float  # from the hand BPTT (float64)
    fd_value: float  # finite differences of the independent scalar forward pass
    verdict: str  # "right", "wrong" or "incomplete" (the equation's, not this step's)
    issues: tuple[str, ...]
    corrections: tuple[tuple[str, float], ...]  # (what is fixed, how much it changes the value)
    seed_tex: str
    corrected_tex: str
    filled_tex: str  # the seed's form with this step's numbers

    @property
    def agrees_here(self) -> bool:
        return abs(self.seed_value - self.true_value) <= 1e-9 * max(1.0, abs(self.true_value))


@dataclass(frozen=True)
class SeedReport:
    t: int  # the step (1..T) the equations are evaluated at
    T: int
    loss: str
    equations: tuple[EquationCheck, ...]
    w_ix_chained: tuple[tuple[str, float], ...]  # eq (9) after running the seed's whole recursion

    def equation(self, number: int) -> EquationCheck:
        return next(e for e in self.equations if e.number == number)


@dataclass(frozen=True)
class Scalar:
    """The seed's scalar model: weights w['ix'], ..., biases b['i'], ..., and the sequence."""

    w: dict[str, float]
    b: dict[str, float]
    x: tuple[float, ...]  # x(1..T)
    y: tuple[float, ...]  # targets y(1..T)
    h0: float
    c0: float
    loss: str

    def loss_value(self, bump: tuple[str, int, float] | None = None) -> float:
        """L of a plain forward pass; ``bump`` = (what, t, amount) adds ``amount`` to h(t), c(t),
        a gate ('i', 'f', 'o', 'g') at step t, or the weight 'w_ix' (t ignored)."""
        what, at, eps = bump or ("", 0, 0.0)
        w = dict(self.w, ix=self.w["ix"] + (eps if what == "w_ix" else 0.0))
        h, c, total, T = self.h0, self.c0, 0.0, len(self.x)
        for t in range(1, T + 1):
            z = {k: w[k + "x"] * self.x[t - 1] + w[k + "h"] * h + self.b[k] for k in GATES}
            a = {k: (math.tanh(z[k]) if k == "g" else sigmoid(z[k])) for k in GATES}
            if what in a and t == at:
                a[what] += eps
            c = a["f"] * c + a["i"] * a["g"] + (eps if (what, t) == ("c", at) else 0.0)
            h = a["o"] * math.tanh(c) + (eps if (what, t) == ("h", at) else 0.0)
            if self.loss == "sequence" or t == T:
                total += 0.5 * (h - self.y[t - 1]) ** 2
        return total

    def fd(self, what: str, t: int = 0, step: float = FD_STEP) -> float:
        """dL/d(what) by the five-point central stencil (``core.check``)."""
        return check.central(lambda s: self.loss_value((what, t, s)), step, stencil=4)


def _fd(fn, z: float, step: float = FD_STEP) -> float:
    return check.central(lambda s: fn(z + s), step, stencil=4)


def _n(v: float) -> str:
    s = f"{v + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0.replace("e-0", "e-").replace("e+0", "e")
    if "e" in s:
        m, e = s.split("e")
        s = rf"{m}\times 10^{{{int(e)}}}"
    return f"({s})" if v < 0 else s


def seed_report(p: LSTMParams, x: np.ndarray, y: np.ndarray, h0: np.ndarray, c0: np.ndarray,
                kind: str, t: int) -> SeedReport:
    """Evaluate eqs (1)-(9) at step ``t`` (1..T) for a scalar LSTM (NumPy float64 arrays,
    x and y of shape (T, 1, 1), h0 and c0 of shape (1, 1))."""
    T = x.shape[0]
    if not 1 <= t <= T:
        raise ValueError(f"step t = {t} must be between 1 and T = {T}")
    h_seq, cache = lstm_forward(p, x, h0, c0)
    _, dL_dh = loss(kind, h_seq, y)
    gr = lstm_backward(p, cache, dL_dh)
    k_of = {k: n for n, k in enumerate(GATES)}
    m = Scalar(w={k + "x": float(p.W_x[0, n]) for k, n in k_of.items()}
               | {k + "h": float(p.W_h[0, n]) for k, n in k_of.items()},
               b={k: float(p.b[n]) for k, n in k_of.items()},
               x=tuple(float(v) for v in x[:, 0, 0]), y=tuple(float(v) for v in y[:, 0, 0]),
               h0=float(h0[0, 0]), c0=float(c0[0, 0]), loss=kind)
    w, xs = m.w, (None, *m.x)  # xs[t] = x(t), 1-based as in the seed
    hs, cs = cache.h[:, 0, 0].tolist(), cache.c[:, 0, 0].tolist()  # hs[t] = h(t), hs[0] = h(0)
    a = {k: (None, *gate_vals) for k, gate_vals in
         ((k, cache.gates[:, 0, n].tolist()) for k, n in k_of.items())}  # a['i'][t] = i(t)
    bar = {k: (None, *gr.gates_bar[:, 0, n].tolist(), 0.0) for k, n in k_of.items()}  # 0 at T+1
    hb, cb = (None, *gr.h_bar[:, 0, 0].tolist()), (None, *gr.c_bar[:, 0, 0].tolist(), 0.0)
    dldh = float(dL_dh[t - 1, 0, 0])
    f_next = a["f"][t + 1] if t < T else 0.0

    def eq1_terms(bias: bool, tanh: bool) -> list[tuple[float, float, float]]:
        """(gate adjoint at t+1, derivative, weight) for k = o, f, i, g; none at t = T."""
        if t == T:
            return []
        terms = []
        for k in ("o", "f", "i", "g"):
            z = w[k + "x"] * xs[t + 1] + w[k + "h"] * hs[t] + (m.b[k] if bias else 0.0)
            d = ((1 - math.tanh(z) ** 2) if tanh else (1 - math.tan(z) ** 2)) if k == "g" \
                else sigmoid(z) * (1 - sigmoid(z))
            terms.append((bar[k][t + 1], d, w[k + "h"]))
        return terms

    def total(terms: list[tuple[float, float, float]]) -> float:
        return sum(u * v * q for u, v, q in terms)

    seed1 = total(eq1_terms(False, False))
    ladder1 = [seed1, total(eq1_terms(True, False)), total(eq1_terms(True, True))]
    ladder1.append(ladder1[-1] + dldh)
    fill1 = r" \\ &+ ".join(rf"{_n(u)} \cdot {_n(v)} \cdot {_n(q)}" for u, v, q in eq1_terms(False, False)) \
        or r"0 \;(\text{no step } t+1)"
    zg, zi = (w[k + "x"] * xs[t] + w[k + "h"] * hs[t - 1] + m.b[k] for k in ("g", "i"))
    tc = math.tanh(cs[t])
    seed2 = hb[t] * a["o"][t] * (1 - tc ** 2) + cb[t + 1] * f_next
    s_ix = [sigmoid(w["ix"] * xs[s] + w["ih"] * hs[s - 1] + (m.b["i"] if bias else 0.0))
            for bias in (False, True) for s in range(1, T + 1)]
    seed9 = [sum(bar["i"][s] * q * (1 - q) * xs[s] for s, q in zip(range(1, T + 1), part, strict=True))
             for part in (s_ix[:T], s_ix[T:])]

    rows = [  # number, seed, true, fd, corrections (ladder of values), filled
        (1, seed1, hb[t], m.fd("h", t), [("add the biases inside σ, tanh (the seed's model has none)",
                                           ladder1[1] - ladder1[0]),
                                          ("tanh² for tan² in the g term", ladder1[2] - ladder1[1]),
                                          ("add the loss's own term ∂L/∂h(t)", ladder1[3] - ladder1[2])],
         rf"\begin{{aligned}}\overline{{h^{{({t})}}}} &= {fill1} \\ &= {_n(seed1)}\end{{aligned}}"),
        (2, seed2, cb[t], m.fd("c", t), [],
         rf"\overline{{c^{{({t})}}}} = {_n(hb[t])}\,{_n(a['o'][t])}\,(1-{_n(tc)}^2) + "
         rf"{_n(cb[t + 1])}\,{_n(f_next)} = {_n(seed2)}"),
        (3, cb[t] * a["i"][t], bar["g"][t], m.fd("g", t), [],
         rf"\overline{{g^{{({t})}}}} = {_n(cb[t])}\,{_n(a['i'][t])} = {_n(cb[t] * a['i'][t])}"),
        (4, hb[t] * tc, bar["o"][t], m.fd("o", t), [],
         rf"\overline{{o^{{({t})}}}} = {_n(hb[t])}\,\tanh({_n(cs[t])}) = {_n(hb[t] * tc)}"),
        (5, cb[t] * cs[t - 1], bar["f"][t], m.fd("f", t), [],
         rf"\overline{{f^{{({t})}}}} = {_n(cb[t])}\,{_n(cs[t - 1])} = {_n(cb[t] * cs[t - 1])}"),
        (6, cb[t] * a["g"][t], bar["i"][t], m.fd("i", t), [],
         rf"\overline{{i^{{({t})}}}} = {_n(cb[t])}\,{_n(a['g'][t])} = {_n(cb[t] * a['g'][t])}"),
        (7, 1 - math.tan(zg) ** 2, 1 - math.tanh(zg) ** 2, _fd(math.tanh, zg),
         [("tanh² for tan²", (1 - math.tanh(zg) ** 2) - (1 - math.tan(zg) ** 2))],
         rf"\tanh'(z_g^{{({t})}} = {_n(zg)}) = 1 - \tan^2({_n(zg)}) = {_n(1 - math.tan(zg) ** 2)}"),
        (8, sigmoid(zi) * (1 - sigmoid(zi)), sigmoid(zi) * (1 - sigmoid(zi)), _fd(sigmoid, zi), [],
         rf"\sigma'(z_i^{{({t})}} = {_n(zi)}) = {_n(sigmoid(zi))}\,(1-{_n(sigmoid(zi))}) = "
         rf"{_n(sigmoid(zi) * (1 - sigmoid(zi)))}"),
        (9, seed9[0], float(gr.W_x[0, 0]), m.fd("w_ix"),
         [("add the bias b_i inside σ (the seed's model has none)", seed9[1] - seed9[0])],
         rf"\overline{{w_{{ix}}}} = \sum_{{t=1}}^{{{T}}} \overline{{i^{{(t)}}}}\,\sigma'(\cdot)\,x^{{(t)}}"
         rf" = {_n(seed9[0])}"),
    ]
    eqs = tuple(EquationCheck(number=n, seed_value=float(s) + 0.0, true_value=float(tv) + 0.0,
                              fd_value=float(fv) + 0.0,
                              verdict=VERDICT.get(n, "right"), issues=ISSUES.get(n, ()),
                              corrections=tuple((what, float(d)) for what, d in corr),
                              seed_tex=SEED_TEX[n], corrected_tex=CORRECTED_TEX.get(n, SEED_TEX[n]),
                              filled_tex=fill)
                for n, s, tv, fv, corr, fill in rows)
    return SeedReport(t=t, T=T, loss=kind, equations=eqs, w_ix_chained=_chained(m, hs, cs, a, T))


def _chained(m: Scalar, hs: list[float], cs: list[float], a: dict, T: int) -> tuple[tuple[str, float], ...]:
    """w_ix_bar from running the seed's recursion (1)-(6), (9) end to end, three ways."""
    w, b, xs = m.w, m.b, (None, *m.x)
    def run(loss_term: bool, tanh: bool, bias: bool) -> float:
        nb = {k: 0.0 for k in GATES}  # gate adjoints at t+1 (none beyond T)
        c_bar_next, f_next, total = 0.0, 0.0, 0.0
        for t in range(T, 0, -1):
            h_bar = 0.0
            if t < T:
                for k in GATES:
                    z = w[k + "x"] * xs[t + 1] + w[k + "h"] * hs[t] + (b[k] if bias else 0.0)
                    d = ((1 - math.tanh(z) ** 2) if tanh else (1 - math.tan(z) ** 2)) if k == "g" \
                        else sigmoid(z) * (1 - sigmoid(z))
                    h_bar += nb[k] * d * w[k + "h"]
            if loss_term and (m.loss == "sequence" or t == T):
                h_bar += hs[t] - m.y[t - 1]
            c_bar = h_bar * a["o"][t] * (1 - math.tanh(cs[t]) ** 2) + c_bar_next * f_next
            nb = {"g": c_bar * a["i"][t], "o": h_bar * math.tanh(cs[t]), "f": c_bar * cs[t - 1],
                  "i": c_bar * a["g"][t]}
            s = sigmoid(w["ix"] * xs[t] + w["ih"] * hs[t - 1] + (b["i"] if bias else 0.0))
            total += nb["i"] * s * (1 - s) * xs[t]
            c_bar_next, f_next = c_bar, a["f"][t]
        return total

    return (("as written: eqs (1)-(6), (9)", run(False, False, False)),
            ("with ∂L/∂h(t) added to eq (1), tan kept", run(True, False, False)),
            ("corrected: ∂L/∂h(t), tanh, biases", run(True, True, True)))
