"""The seed's thirty numbered equations, one by one: what each says, where the lab evaluates it,
its verdict, and the evidence, computed with the lab's own functions.

Every equation (1) to (30) of the homework solution the lab grew from is listed. Where there is
something to evaluate, :func:`evidence` computes it (small sizes, float64, well under a second
for all of them); where there is nothing (a definition of notation, an argument that restates
the question), the entry says so. Where the seed's reasoning or notation is wrong although its
conclusion or count is right, the verdict says that too. The pages show the rows of their
problems (``rows(page)``) and README.md holds :func:`table_markdown`, which a test compares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.backend import select_backend


@dataclass(frozen=True)
class SeedEquation:
    number: int
    problem: int
    says: str  # the equation in words
    verdict: str  # right, wrong, incomplete, definition, or what is right and what is not
    where: str  # the module that evaluates it, and the page (tab) that shows it
    page: str  # url_path of the page

    @property
    def evaluated(self) -> bool:
        return self.verdict not in ("definition", "restates the question")


LSTM = ("core/lstm/seed.py (seed_report); page *LSTM through time*, tab *The seed's equations (1)-(9)*", "lstm")
GRID = ("core/grid/cost.py against the Tally of core/grid/mdrnn.py; page *MDRNN through a grid*, tab *Cost*", "mdrnn")
STEP = ("core/training/momentum.py (inverse_order_check); page *Momentum SGD*, tab *Seed eqs (13)-(30)*", "reversible")
JAC = ("core/training/jacobian.py (jacobian_report); page *Momentum SGD*, tab *Seed eqs (13)-(30)*", "reversible")
NOTATION = ("nothing to evaluate: a name for one of the states; consistent with eqs (15)-(16) and (26)-(27)",
            "reversible")


def _eq(number: int, problem: int, says: str, verdict: str, where: tuple[str, str]) -> SeedEquation:
    return SeedEquation(number, problem, says, verdict, *where)


EQUATIONS: tuple[SeedEquation, ...] = (
    _eq(1, 1, "h̄(t) as the four gate terms of step t+1", "incomplete: misses the loss's own term ∂L/∂h(t); "
        "also tan² for tanh² and an unclosed parenthesis", LSTM),
    _eq(2, 1, "c̄(t) = h̄(t) o(t)(1 − tanh² c(t)) + c̄(t+1) f(t+1)", "right (given the complete h̄(t))", LSTM),
    _eq(3, 1, "ḡ(t) = c̄(t) i(t)", "right", LSTM),
    _eq(4, 1, "ō(t) = h̄(t) tanh c(t)", "right", LSTM),
    _eq(5, 1, "f̄(t) = c̄(t) c(t−1)", "right", LSTM),
    _eq(6, 1, "ī(t) = c̄(t) g(t)", "right", LSTM),
    _eq(7, 1, "tanh'(z) = 1 − tan²(z)", "wrong: tan for tanh", LSTM),
    _eq(8, 1, "σ'(z) = σ(z)(1 − σ(z))", "right", LSTM),
    _eq(9, 2, "w̄_ix = Σ_t ī(t) σ'(·) x(t)", "right for the seed's bias-free model", LSTM),
    _eq(10, 3, "weights = W_inᵀ + W_Wᵀ + W_Nᵀ = DH + 2H²", "right count; notation wrong (a sum of matrices "
        "for a sum of their sizes) and the H biases left out", GRID),
    _eq(11, 3, "total ops ≈ G²(DH + H²)", "wrong: each cell has two H×H products, G²(DH + 2H²) less the "
        "border's; its order O(G²DH + G²H²) is right", GRID),
    _eq(12, 6, "s(k) = f⁻¹(s(k+1)), from s(k+1) = f(s(k))", "restates the question", (
        "nothing to evaluate: it applies f⁻¹ to both sides of s(k+1) = f(s(k)) and computes no inverse; "
        "eqs (13)-(14) do", "reversible")),
    _eq(13, 6, "p(k) = (p(k+1) + α∇J(θ(k)))/β", "right as an equation, wrong in its order: it needs θ(k), "
        "which only eq (14) gives", STEP),
    _eq(14, 6, "θ(k) = θ(k+1) − p(k+1)", "right", STEP),
    _eq(15, 7, "p(k+1) = βp(k) − α∇J(θ(k))", "right", STEP),
    _eq(16, 7, "θ(k+1) = θ(k) + βp(k) − α∇J(θ(k))", "right", JAC),
    *(_eq(n, 7, says, "definition", NOTATION) for n, says in (
        (17, "x₁ = p(k)"), (18, "x₂ = θ(k)"), (19, "x = s(k)"), (20, "y₁ = p(k+1)"), (21, "y₂ = θ(k)"),
        (22, "z = s(k+1)"), (23, "z₁ = p(k+1)"), (24, "z₂ = θ(k+1)"))),
    _eq(25, 7, "∂z/∂x = ∂z/∂y ∂y/∂x", "right (the chain rule)", JAC),
    _eq(26, 7, "y₁ = βx₁ + F(x₂), y₂ = x₂", "right", JAC),
    _eq(27, 7, "z₁ = y₁, z₂ = y₂ + G(y₁)", "right", JAC),
    _eq(28, 7, "the two block factors of ∂z/∂x", "wrong labels: ∂F/∂x₁ for ∂F/∂x₂ (the Hessian block), ∂G/∂x₁ "
        "for ∂G/∂y₁ = I, β for βI, a stray third row", JAC),
    _eq(29, 7, "∂s(k+1)/∂s(k) as that product", "wrong labels, as in (28)", JAC),
    _eq(30, 7, "det ∂s(k+1)/∂s(k) = I · β^D = β^D", "right result; notation wrong: the first determinant is the "
        "number 1, not I, and D (the number of parameters) is never defined", JAC),
)


def equation(number: int) -> SeedEquation:
    return EQUATIONS[number - 1]


def rows(page: str) -> tuple[SeedEquation, ...]:
    """The equations a page shows (its url_path)."""
    return tuple(e for e in EQUATIONS if e.page == page)


def evidence() -> dict[int, tuple[float, str]]:
    """For every equation with something to evaluate: (the figure, what it measures), from the
    lab's own functions at small sizes in float64. Equations with nothing to evaluate are absent."""
    from core.grid import cost
    from core.grid.mdrnn import forward, init_params
    from core.lstm.experiments import LSTMConfig, seed_check
    from core.training.jacobian import JacobianConfig, jacobian_report
    from core.training.momentum import TrainConfig, inverse_order_check, inverse_step, momentum_step
    from core.training.objectives import make_objective

    numpy = select_backend("numpy")
    out: dict[int, tuple[float, str]] = {}
    reports = [seed_check(LSTMConfig(T=8, weight_scale=3.0), t) for t in range(1, 9)]
    chained = dict(reports[0].w_ix_chained)
    out[1] = (chained["as written: eqs (1)-(6), (9)"],
              "w̄_ix from running the seed's eqs (1)-(6), (9) as written: exactly 0, because no loss term "
              f"ever enters (the BPTT gives {reports[0].equation(9).true_value:.4g})")
    for n in (2, 3, 4, 5, 6, 8, 9):
        worst = max(abs(r.equation(n).seed_value - r.equation(n).true_value) for r in reports)
        out[n] = (worst, "largest |as written − hand BPTT| over the 8 steps of a scalar LSTM (complete h̄)")
    out[7] = (1 - math.tan(1.0) ** 2, f"1 − tan²(1), against tanh'(1) = 1 − tanh²(1) = {1 - math.tanh(1.0) ** 2:.4f}")
    G, D, H = 16, 3, 32
    params = init_params(numpy, D, H)
    counted = forward(params, numpy.randn((1, G, G, D), 1), "wavefront").cost
    out[10] = (float(params.count(bias=False) - cost.weights_seed(D, H)),
               f"numbers in W_in, W_W, W_N minus DH + 2H² (D = {D}, H = {H}); with the biases {params.count()}")
    out[11] = (counted.macs / cost.macs_seed(G, G, D, H),
               f"counted multiply-adds over G²(DH + H²), G = {G}: the exact count G²(DH + 2H²) − 2GH² is "
               f"{counted.macs / cost.macs_exact(G, G, D, H):.3f} of what runs")
    order = inverse_order_check(TrainConfig(D=10), numpy)
    out[13] = (order.error_seed_order, f"one inverse step in the seed's order misses by this; (14) first: "
                                       f"{order.error_theta_first:.1e}")
    out[14] = (order.error_theta_first, "one inverse step, (14) then (13): its error against s(k)")
    obj = make_objective("quadratic", numpy, D=10)
    p0 = numpy.randn((10,), 3, scale=0.1)
    back = inverse_step(obj, *momentum_step(obj, p0, obj.theta0, 0.05, 0.9), 0.05, 0.9)
    out[15] = (float(max(np.max(np.abs(back[0] - p0)), np.max(np.abs(back[1] - obj.theta0)))),
               "the lab's step is (15)-(16) as written: undone by (14)-(13), s(k) comes back to this error")
    jac = jacobian_report(JacobianConfig(D=10), numpy)
    out[16] = (jac.eq16_error, "|eq (16) − θ(k+1) of the step|, D = 10")
    out[25] = (jac.factors_product_error, "|∂z/∂y ∂y/∂x − the Jacobian|, with the right blocks")
    out[26] = out[27] = (max(jac.block_errors_vs_fd.values()), "largest block error against finite differences")
    out[28] = out[29] = (min(jac.seed_dF_dx1_product_error, jac.seed_dG_dx1_product_error),
                         "the product with either of the seed's labels misses the finite-difference Jacobian "
                         f"by at least this (dF/dx₁: {jac.seed_dF_dx1_product_error:.3g}, dG/dx₁: "
                         f"{jac.seed_dG_dx1_product_error:.3g})")
    out[30] = (jac.det_rel_error, f"|det/β^D − 1| for D = 10; the first factor's determinant is {jac.det_dz_dy:g}")
    return out


@dataclass(frozen=True)
class EquationRow:
    """One equation with its evidence, as a page shows it."""

    equation: SeedEquation
    figure: float | None  # None: nothing to evaluate
    measures: str


def table(page: str | None = None) -> tuple[EquationRow, ...]:
    """The equations of one page (all of them for None), each with its evidence."""
    ev = evidence()
    return tuple(EquationRow(e, *(ev[e.number] if e.number in ev else (None, e.where)))
                 for e in EQUATIONS if page is None or e.page == page)


def table_markdown() -> str:
    """The thirty rows as a Markdown table (README.md holds exactly this)."""
    lines = ["| eq | problem | says | verdict | where the lab evaluates it |", "|---|---|---|---|---|"]
    lines += [f"| ({e.number}) | {e.problem} | {e.says} | {e.verdict} | {e.where} |" for e in EQUATIONS]
    return "\n".join(lines)
