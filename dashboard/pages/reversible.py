"""Momentum SGD through training: run forward, undo exactly or in floats (seed problems 6, 7)."""

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.config import Config, cli_command, param
from core.training.hypergrad import HypergradConfig
from core.training.jacobian import JacobianConfig, PhaseConfig
from core.training.momentum import TrainConfig
from core.training.objectives import OBJECTIVES
from dashboard import compute, frame, plots, widgets

NAMES = {"quadratic": "ill-conditioned quadratic", "rosenbrock": "Rosenbrock (2-D)",
         "digits": "logistic regression, 8x8 digits"}
# The page runs 1,000 steps unless told otherwise (the CLI's default is 300): long enough for the
# information buffer to spill word after word and for a float64 inverse to leave the forward path.
PAGE_DEFAULTS = {"steps": 1000}


@dataclass(frozen=True)
class Problem(Config):
    """What is trained, and in which arithmetic (the precision of float is the sidebar's)."""

    objective: str = param("quadratic", choices=OBJECTIVES, label="Objective J(θ)",
                           help="; ".join(f"{k}: {v}" for k, v in NAMES.items()))
    arith: str = param("exact", choices=("exact", "float"), label="Arithmetic",
                       help="exact: fixed point with an information buffer; float: the sidebar's precision")


page = frame.page(
    "reversible",
    "One training step maps $s^{(k)} = (p^{(k)}, \\theta^{(k)})$ to $s^{(k+1)}$: "
    "$p^{(k+1)} = \\beta p^{(k)} - \\alpha \\nabla J(\\theta^{(k)})$, "
    "$\\theta^{(k+1)} = \\theta^{(k)} + p^{(k+1)}$. The map is invertible, so training can be run "
    "backwards. But it shrinks volume by $\\beta^D$ per step, while floating point keeps a fixed relative "
    "resolution: states brought closer than that land on the same number, and the information that told "
    "them apart, $D \\log_2(1/\\beta)$ bits per step, is gone. The inverse divides by $\\beta$, so each "
    "rounding error grows by $1/\\beta$ per step undone: the inverse drifts like $\\beta^{-k}$. In **exact** "
    "arithmetic (fixed point, with the discarded bits kept in a buffer; Maclaurin, Duvenaud & Adams 2015) "
    "the start comes back bit for bit, which gives gradients with respect to the learning rates "
    "without storing the trajectory.")
run, main = page.run, page.main
problem = page.settings(Problem, "rev")
objective = problem.objective
mode = "exact" if problem.arith == "exact" else run.precision
# only the settings that apply: D and the condition number to the quadratic, the L2 penalty to the
# digits, the fraction bits to exact arithmetic
skip = tuple(name for name, applies in (("D", objective == "quadratic"), ("cond", objective == "quadratic"),
                                        ("l2", objective == "digits"), ("fraction_bits", mode == "exact"))
             if not applies)
cfg = page.settings(TrainConfig, "rev", skip=skip, defaults=PAGE_DEFAULTS, objective=objective, mode=mode,
                    note="" if objective == "quadratic" else
                    f"D = {'2' if objective == 'rosenbrock' else '650'} is fixed by the objective.")

reproduce_run = cli_command(cfg, run=run)
with main, widgets.stop_on_error(reproduce_run):
    tabs = widgets.tabs(["Forward & inverse", "Reconstruction error", "Phase space", "Info buffer",
                    "Hypergradients", "Seed eqs (13)-(30)"], key="reversible_tab")
    precision = cfg.exact_precision()
    if precision and precision.exact_warning:
        st.warning(f"Exact mode: {precision.exact_warning}.", icon=":material/warning:")
    res = compute.reversible_roundtrip(cfg, run)
    out = res.result

    with tabs[0]:
        if tabs[0].open:
            cols = st.columns(4)
            cols[0].metric("max error back", f"{out.max_abs_error:.3g}",
                           help="max |reconstructed − forward| over p and θ at every compared step")
            cols[1].metric("bit for bit", "yes" if out.bit_exact else "no",
                           help="θ(0) and p(0) came back equal bit for bit, and the buffer emptied")
            far, why_not = out.theta_distance_to_float64, out.float64_note
            cols[2].metric("trained path vs float64", "—" if why_not else f"{far:.2g}",
                           help=why_not or "max |θ(k) − θ_float64(k)| over the "
                           "compared steps: float64 training of the same schedule from the same start, "
                           f"which ends at loss {out.loss_end_float64:.3g}")
            cols[3].metric("loss J(θ(K))", f"{out.loss_end:.3g}",
                           help=f"J(θ(0)) = {out.loss_start:.3g}")
            bound = (f" Bit for bit says the inverse is exact, not what was trained: each exact step may miss "
                     f"the momentum step by (n + 1)·2^−F = {precision.step_error_bound:.2g} per parameter "
                     f"(about β·2^(s−F), F = {cfg.fraction_bits}, s = {cfg.beta_bits}), not 2^−F."
                     if precision else "")
            st.caption(f"Forward {out.seconds_forward:.3f} s, back {out.seconds_reverse:.3f} s "
                       f"on {run.backend}; β = {cfg.beta:g} rounded to n/2^{cfg.beta_bits} in every mode.{bound}")
            two_d = objective == "rosenbrock" or (objective == "quadratic" and cfg.D == 2)
            surface = None
            if two_d:
                ext = plots.trajectory_extent(res.theta_fwd)
                surface = compute.reversible_surface(cfg, run, ext[0], ext[1])
            title = (f"{mode}: forward (solid) and inverse (dashed), K = {cfg.steps:,}"
                     + ("" if two_d else f", {len(res.coords)} of D = {res.result.D:,} coordinates"))
            data = {"k": res.k}
            for i, c in enumerate(res.coords):
                data[f"theta{c}_forward"] = res.theta_fwd[:, i]
                data[f"theta{c}_inverse"] = res.theta_inv[:, i]
            fig = plots.trajectory_animation(res.k, res.theta_fwd, res.theta_inv, surface=surface,
                                             coords=list(res.coords), title=title)
            widgets.chart(fig, data, "reversible_trajectory")
            st.caption("Press ▶ to undo training step by step from k = K. In exact mode the dashed inverse "
                       "lies on the forward path to the last bit; in float mode it leaves it once β⁻ʲ times "
                       "the rounding error is visible (at the other settings' defaults: float32 after about "
                       "200 steps, float64 after about 400).")
            if out.finite_steps < cfg.steps:
                st.warning(f"The {mode} inverse overflowed after undoing "
                           f"{out.finite_steps:,} of {cfg.steps:,} steps.")
            widgets.reproduce(reproduce_run)

    with tabs[1]:
        if tabs[1].open:
            err = compute.reversible_errors(cfg, run)
            note = (f"exact: error 0 at all {err.compared:,} compared steps" if err.exact_zero
                    else "exact: NOT zero (a bug)")
            widgets.chart(plots.reconstruction_errors(err.curves, err.references, note,
                                                      "Reconstruction error of the inverse, per precision"),
                          {f"{mode_}_{col}": values for mode_, (j, e) in err.curves.items()
                           for col, values in (("steps_undone", j), ("error", e))}, "reversible_errors")
            g = err.growth
            st.markdown(
                f"Fitted growth per step undone: float32 **{g['float32'] or float('nan'):.4f}**, float64 "
                f"**{g['float64'] or float('nan'):.4f}**, against 1/β = **{err.one_over_beta:.4f}**. "
                "Each inverse step divides p by β, so a rounding error made j steps ago has been multiplied "
                "by about β⁻ʲ (modes whose Hessian curvature makes the 2x2 step matrix rotate grow only "
                "like β^(−j/2); the slowest modes set the rate).")
            widgets.reproduce(cli_command(cfg.replace(mode="float64"), run=run, extra=("--errors",)),
                              "Add --mode float32 or exact for the other curves.")

    with tabs[2]:
        if tabs[2].open:
            phase_cfg = PhaseConfig(alpha=cfg.alpha, beta=cfg.beta, steps=min(cfg.steps, 60))
            ph = compute.reversible_phase(phase_cfg, run)
            K1 = phase_cfg.steps
            c1, c2, c3 = st.columns(3)
            c1.metric("det ∂s(k+1)/∂s(k) for D = 1", f"{cfg.beta:g}")
            c2.metric(f"area after {K1} steps / βᴷ", f"{ph.area_ratio[-1] / ph.beta_pow_k[-1]:.9f}")
            c3.metric(f"det for this run's D = {res.result.D:,}: β^D", f"{cfg.beta ** res.result.D:.4g}")
            shown = sorted({0, K1 // 4, K1 // 2, 3 * K1 // 4, K1})
            widgets.chart(plots.phase_polygons(ph.p, ph.theta, ph.area_ratio, ph.beta_pow_k, shown,
                                               "J = λθ²/2 with D = 1: a polygon of states shrinks by β per step"),
                          {"k": list(range(K1 + 1)), "area": ph.area, "area_ratio": ph.area_ratio,
                           "beta_pow_k": ph.beta_pow_k}, "reversible_phase")
            st.caption("The step is linear when J is quadratic, so the polygon maps onto a polygon and its "
                       "area is multiplied by the determinant β exactly; points do not merge, they only "
                       "get closer: volume, and with it information, is lost at log₂(1/β) bits per step.")
            widgets.reproduce(cli_command(phase_cfg, run=run))

    with tabs[3]:
        if tabs[3].open:
            ex = res if mode == "exact" else compute.reversible_roundtrip(cfg.replace(mode="exact"), run)
            stored, info, bound = ex.result.bits_trace.T
            bits = ex.result
            c1, c2, c3 = st.columns(3)
            c1.metric("bits stored", f"{bits.bits_stored:,}")
            c2.metric("bound Σ D log₂(1/β)", f"{bits.bits_bound:,.1f}")
            c3.metric("stored − bound, per parameter", f"{(bits.bits_stored - bits.bits_bound) / bits.D:.1f} bits",
                      help="at most 64: one 64-bit head word per parameter")
            widgets.chart(plots.buffer_bits(ex.k, stored, info, bound, ex.result.D,
                                            "The information buffer: bits kept so that the inverse is exact"),
                          {"k": ex.k, "bits_stored": stored, "bits_information": info, "bound": bound},
                          "reversible_buffer")
            st.caption("Each step multiplies p by β = n/2ˢ: the s low bits it shifts out are pushed into a "
                       "per-parameter head word and log₂ n bits are popped back into p, so the buffer grows "
                       "by log₂(1/β) bits, the bound. Full heads spill 32-bit words onto a stack.")
            widgets.reproduce(cli_command(cfg.replace(mode="exact"), run=run))

    with tabs[4]:
        if tabs[4].open:
            hg_cfg = HypergradConfig(**{**cfg.as_dict(), "steps": min(cfg.steps, 500), "mode": "exact",
                                        "fd_points": 6})
            hg = compute.reversible_hypergrad(hg_cfg, run)
            c1, c2, c3 = st.columns(3)
            c1.metric("max relative error vs finite differences", f"{hg.max_rel_error:.2g}")
            c2.metric("validation loss after K steps", f"{hg.val_loss:.4g}")
            c3.metric("reverse pass landed on θ(0) exactly", "yes" if hg.reversed_exactly else "no")
            fig = plots.hypergradient_plot(hg.alpha_bar, hg.beta_bar, hg.fd_steps, hg.fd_alpha,
                                           hg.fd_beta, f"Gradient of the validation loss after K = "
                                           f"{hg_cfg.steps} steps, per step k")
            widgets.chart(fig, {"k": list(range(hg_cfg.steps)), "dL_dalpha": hg.alpha_bar,
                                "dL_dbeta": hg.beta_bar}, "reversible_hypergradients")
            st.caption("Reverse mode through training: the cotangents of (p, θ) are pulled back one step at a "
                       "time while the exact inverse recovers θ(k), p(k) — no trajectory is stored. "
                       "Circles: central finite differences of float64 training.")
            widgets.reproduce(cli_command(hg_cfg, run=run, skip=("mode",)))

    with tabs[5]:
        if tabs[5].open:
            order = compute.reversible_order(cfg.replace(mode="float64"), run)
            jac_cfg = JacobianConfig(objective=objective, D=min(cfg.D, 50), alpha=cfg.alpha, beta=cfg.beta,
                                     cond=cfg.cond, l2=cfg.l2)
            jac = compute.reversible_jacobian(jac_cfg, run)
            st.markdown("#### Problem 6: the inverse, eqs (13)-(14)")
            st.latex(r"p^{(k)} = \frac{p^{(k+1)} + \alpha\nabla J(\theta^{(k)})}{\beta}\quad(13)\qquad"
                     r"\theta^{(k)} = \theta^{(k+1)} - p^{(k+1)}\quad(14)")
            st.markdown(
                "**Right as equations, wrong as an order.** (13) needs $\\nabla J(\\theta^{(k)})$, which is "
                "only known after (14). Evaluated in the written order, (13) can only use "
                "$\\theta^{(k+1)}$ and misses by "
                "$\\alpha(\\nabla J(\\theta^{(k+1)}) - \\nabla J(\\theta^{(k)}))/\\beta$: exactly "
                "$\\alpha H p^{(k+1)}/\\beta$ when $J$ is quadratic, and to first order in $p^{(k+1)}$ "
                "otherwise. Corrected: evaluate (14) first.")
            st.dataframe(pd.DataFrame({
                "one inverse step": ["(14) then (13): the order that works", "(13) then (14): the seed's order",
                                     "α|H p(k+1)|/β (exact for a quadratic J, first order otherwise)"],
                "max error": [f"{getattr(order, key):.3e}" for key in ("error_theta_first", "error_seed_order",
                                                              "predicted_alpha_H_p_over_beta")]}),
                hide_index=True)
            st.markdown("#### Problem 7: the Jacobian, eqs (25)-(30)")
            st.latex(r"y_1 = \beta x_1 + F(x_2),\; y_2 = x_2\;(26)\qquad z_1 = y_1,\; z_2 = y_2 + G(y_1)\;(27)")
            st.latex(r"x = (p^{(k)}, \theta^{(k)}),\quad F = -\alpha\nabla J,\quad G = \mathrm{identity}")
            st.latex(r"\frac{\partial z}{\partial x} = \begin{bmatrix} I & 0\\ \partial G/\partial y_1 = I & I"
                     r"\end{bmatrix}\begin{bmatrix}\beta I & \partial F/\partial x_2 = -\alpha H\\ 0 & I"
                     r"\end{bmatrix}")
            st.latex(r"= \begin{bmatrix}\beta I & -\alpha H\\ \beta I & I-\alpha H\end{bmatrix},\qquad"
                     r"\det\frac{\partial s^{(k+1)}}{\partial s^{(k)}} = 1\cdot\beta^D")
            st.markdown(
                "- (15), (16), (26), (27) are **right** (eq (16) against the step: "
                f"{jac.eq16_error:.1e}).\n"
                "- (28)-(29) **label two blocks wrongly**: the Hessian block is $\\partial F/\\partial x_2$ "
                "(the seed writes $\\partial F/\\partial x_1$, which is 0: with it the product misses the "
                f"Hessian, error {jac.seed_dF_dx1_product_error:.3g}); the lower-left block of "
                "$\\partial z/\\partial y$ is $\\partial G/\\partial y_1 = I$ (the seed writes "
                "$\\partial G/\\partial x_1$, which by the chain rule is $\\beta I$: product error "
                f"{jac.seed_dG_dx1_product_error:.3g}). With the right blocks the product is the "
                f"finite-difference Jacobian to {jac.jacobian_hvp_vs_fd_max_error:.1e}. The first "
                "matrix of (28) also has a stray third row.\n"
                "- The notation of (28)-(30): the block $\\partial y_1/\\partial x_1$ is the matrix $\\beta I$, "
                "written as the scalar $\\beta$, and $D$ in $\\beta^D$ is never defined for this problem: it is "
                f"the number of parameters, the length of $\\theta$ (here {jac.D}), not problem 3's input size.\n"
                "- (30) writes the first determinant as $I$; it is the number "
                f"{jac.det_dz_dy:g}. The conclusion is **right**: for D = {jac.D}, "
                f"det = {jac.det:.10g} and β^D = {jac.beta_pow_D:.10g}.")
            blocks = jac.block_errors_vs_fd
            st.dataframe(pd.DataFrame({"block (state order (p, θ))": list(blocks),
                                       "max error vs finite differences": [f"{v:.1e}" for v in blocks.values()]}),
                         hide_index=True)
            widgets.seed_table(compute.seed_equations("reversible"), "Eqs (12)-(30) one by one")
            widgets.reproduce(cli_command(jac_cfg, run=run),
                              "And `.venv/bin/python -m core reversible order` for the order of (13) and (14).")
