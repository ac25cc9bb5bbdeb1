"""LSTM through time (seed problems 1 and 2): the forward pass, backpropagation through time by
hand, vanishing and exploding adjoints, and the seed's eqs (1)-(9) checked with numbers."""

import pandas as pd
import streamlit as st

from core.config import cli_command
from core.lstm.experiments import GradcheckConfig, LSTMConfig
from dashboard import compute, frame, links, plots, widgets

VERDICT_BADGE = {"right": ("checked: right", "green", ":material/check_circle:"),
                 "wrong": ("wrong", "red", ":material/cancel:"),
                 "incomplete": ("incomplete", "orange", ":material/error:")}

page = frame.page(
    "lstm",
    "An LSTM carries a hidden state $h^{(t)}$ and a cell $c^{(t)}$ along a sequence. "
    "**Backpropagation through time** (BPTT) sends the adjoints $\\overline{h^{(t)}} = "
    "\\partial L/\\partial h^{(t)}$ and $\\overline{c^{(t)}}$ back along the same chain, written here "
    "by hand and checked against finite differences. The seed's problems 1 and 2 derive these "
    "adjoints; the last tab evaluates its equations with numbers and marks each one right or wrong.",
    # two lines, so the equation fits the column at a desk and the screen in lecture mode
    r"\begin{gathered}i,f,o = \sigma(W_{\cdot x}x^{(t)} + W_{\cdot h}h^{(t-1)} + b_\cdot),\quad "
    r"g = \tanh(W_{gx}x^{(t)} + W_{gh}h^{(t-1)} + b_g),\\ "
    r"c^{(t)} = f\,c^{(t-1)} + i\,g,\quad h^{(t)} = o\tanh c^{(t)}\end{gathered}")
run, main = page.run, page.main
cfg = page.settings(LSTMConfig, "lstm", title="Network",
                    note=f"Backend **{run.backend}**, {run.precision}, seed {run.seed} (sidebar). Inputs x(t) and "
                         "targets are random; h(0) = c(0) = 0; all biases 0 but b_f.")

with main, widgets.stop_on_error():
    result = compute.lstm_run(cfg, run)
    # the page's gradient check: the config's sizes, capped so it runs in well under a second
    check_cfg = GradcheckConfig(T=min(cfg.T, 20), B=min(cfg.B, 8), D=min(cfg.D, 8), H=min(cfg.H, 8),
                                loss=cfg.loss, entries=8, direction_scale=1)
    nonce = st.session_state.get("lstm_check_nonce", 0)
    check = compute.lstm_gradcheck(check_cfg, run.backend, run.seed + nonce)
run_args = cli_command(cfg, run=run)
check_args = cli_command(check_cfg, run=run.replace(seed=run.seed + nonce))

with main:
    badge, rerun = st.columns([3, 1], vertical_alignment="center")
    ok = check.ok
    vanished = (f"; {check.vanished} vanished (below the noise level {check.atol:.0e}: checked against it, "
                "not failed)" if check.vanished else "")
    badge.badge(f"BPTT vs finite differences: max rel. error {check.max_rel_error:.1e} "
                f"({check.checked} entries, float64{vanished})",
                icon=":material/verified:" if ok else ":material/warning:", color="green" if ok else "red")
    if rerun.button("Re-run check", icon=":material/refresh:", help="new random weights and entries",
                    key="lstm_rerun_check"):
        st.session_state["lstm_check_nonce"] = nonce + 1
        st.rerun()
    if result.warning:
        st.warning(result.warning, icon=":material/warning:")
    # the seed tab's step, checked whichever tab is open, so a bad value is named at once
    step_refused = links.check(links.int_bound("lstm_step", "Step t", min(2, cfg.T), 1, cfg.T))
    tab_fwd, tab_bwd, tab_seed, tab_check = widgets.tabs(
        ["Forward pass", "Backward pass", "The seed's equations (1)-(9)", "Gradient check"], key="lstm_tab")

# --------------------------------------------------------------------------- forward
with tab_fwd:
    if tab_fwd.open:
        units = result.units
        panels = {**result.gates, "c": result.c, "h": result.h}
        if cfg.H == 1:
            fig = plots.lstm_forward_lines({k: v[:, 0] for k, v in panels.items()})
        else:
            fig = plots.lstm_forward_heatmaps(panels, units)
        widgets.chart(fig, result.forward_table(), "lstm_forward")
        where = "every step" if cfg.loss == "sequence" else "the last step"
        st.caption(f"Sequence 1 of {cfg.B}" + (f"; units 1 to {units} of {cfg.H}" if units < cfg.H else "")
                   + f". Loss L = {result.loss:.6g} (squared error at {where}).")
        st.markdown(
            "The gates are in (0, 1): $f^{(t)}$ near 1 keeps the cell, near 0 forgets it. The forget-gate "
            "bias $b_f$ sets where $f$ rests, $\\sigma(b_f)$; a large weight scale saturates the gates "
            "(values pinned at 0 or 1).")
        widgets.reproduce([*run_args, "--units"], "--units prints the gates, c(t) and h(t) per step and unit "
                          "of sequence 1 (the heatmaps' values); --json for machine-readable output.")

# --------------------------------------------------------------------------- backward
with tab_bwd:
    if tab_bwd.open:
        hb, cb, fp = result.h_bar_norm, result.c_bar_norm, result.forget_product
        m1, m2, m3 = st.columns(3)
        m1.metric("|h̄(1)| / |h̄(T)|", f"{result.h_bar_ratio:.2e}",
                  help="how much of the adjoint at the last step reaches the first one")
        m2.metric("Π f(s) over s = 2…T", f"{fp[0]:.2e}",
                  help="the cell path c(T) → c(1) scales c̄ by this (computed in float64)")
        m3.metric("‖∂L/∂W_h‖", f"{result.grad_norms['W_h']:.3g}")
        if result.forget_product_underflows:
            st.caption(f"Π f = {fp[0]:.2e} is below the smallest {result.dtype} number ({result.dtype_tiny:.1e}): "
                       f"it is computed in float64 to show how small it is; in {result.dtype} the cell path's "
                       "share of c̄ is flushed to 0 long before t = 1.")
        widgets.chart(plots.lstm_adjoint_norms(hb, cb, fp),
                      {"t": list(range(1, cfg.T + 1)), "h_bar_norm": hb, "c_bar_norm": cb, "forget_product": fp},
                      "lstm_adjoints")
        st.markdown(
            "Read it from the right: the backward pass starts at $t = T$. Along the cell, eq (2) multiplies "
            "$\\overline{c}$ by $f^{(t+1)}$ at every step, so the part of $\\overline{c^{(T)}}$ that travels "
            "back along the cell alone is scaled by the running product of forget gates (dashed): it "
            "**vanishes** when $\\sigma(b_f)$ is small and is kept alive when $b_f$ is large. But eq (2) also "
            "adds, at every step, $\\overline{h^{(t)}}\\,o^{(t)}(1-\\tanh^2 c^{(t)})$: the adjoint that "
            "reaches the cell through $h$. Only where that term stays small beside the cell path (the "
            "last-step loss, small weights, forget gates not shut) does $|\\overline{c^{(t)}}|$ follow the "
            "dashed line.")
        follows = result.c_bar_follows_forget_product
        st.markdown(
            f"Here $|\\overline{{c^{{(1)}}}}| / |\\overline{{c^{{(T)}}}}| = {result.c_bar_ratio:.2e}$ against "
            f"$\\prod f = {fp[0]:.2e}$: " + ("they agree to within a factor of 2, the cell path carries "
                                              "the adjoint." if follows else
                                              "they do not agree (within a factor of 2): the h-term of eq (2) "
                                              "sets |c̄| here, not the forget gates alone."))
        st.markdown(
            "Through $h$ the adjoint is multiplied by $W_h$ and the gates' slopes each step: a large weight "
            "scale makes it **explode** (until the gates saturate); try weight scale 20 with T = 200 and H = 32 "
            "in float32 (the scene *Exploding*) to overflow.")
        widgets.reproduce(run_args, "Prints the loss and |h̄(t)|, |c̄(t)|, Π f per step; --json for "
                          "machine-readable output.")

# --------------------------------------------------------------------------- seed equations
with tab_seed:
    if tab_seed.open:
        if st.session_state.get("lstm_step", 1) > cfg.T:
            st.session_state["lstm_step"] = cfg.T
        t = 1 if cfg.T == 1 else st.slider(
            "Step t", 1, cfg.T, 2, key="lstm_step", bind=None if step_refused else "query-params",
            help="the step at which eqs (1)-(8) are evaluated (eq (9) sums over all steps)")
        with widgets.stop_on_error():
            rep = compute.lstm_seed(cfg, t, run.seed)
        st.markdown(
            f"The seed's own setting: one unit, scalar weights $w_{{ix}}, w_{{ih}}, \\dots$ (B = D = H = 1, "
            f"float64), with this page's T = {cfg.T}, weight scale, forget bias and loss. Each equation is "
            "evaluated **exactly as the seed writes it** with the true values on its right-hand side, next to "
            "the hand BPTT and to finite differences of an independent scalar forward pass.")
        labels = [f"({e.number})" for e in rep.equations]
        widgets.chart(plots.lstm_seed_values(labels, [e.seed_value for e in rep.equations],
                                             [e.true_value for e in rep.equations]),
                      pd.DataFrame([{"equation": e.number, "verdict": e.verdict, "seed_as_written": e.seed_value,
                                     "true_bptt": e.true_value, "finite_differences": e.fd_value}
                                    for e in rep.equations]), "lstm_seed_equations")
        for e in rep.equations:
            label, color, icon = VERDICT_BADGE[e.verdict]
            with st.container(border=True):
                head, tag = st.columns([3, 2])
                head.markdown(f"**Eq ({e.number})** as the seed writes it")
                tag.badge(label, color=color, icon=icon)
                st.latex(e.seed_tex)
                st.latex(e.filled_tex)
                st.markdown(f"As written **{e.seed_value:.6g}** · hand BPTT **{e.true_value:.6g}** · finite "
                            f"differences **{e.fd_value:.6g}**"
                            + (" · agrees at this step" if e.agrees_here else " · differs at this step"))
                for issue in e.issues:
                    st.markdown(f"- {issue}")
                if e.corrections and not e.agrees_here:
                    st.dataframe(pd.DataFrame([{"correction, in order": what, "changes the value by": d}
                                               for what, d in e.corrections]),
                                 hide_index=True, width="stretch")
                if e.verdict != "right":
                    st.markdown("Corrected:")
                    st.latex(e.corrected_tex)
        st.subheader("The seed's recursion run end to end")
        st.dataframe(pd.DataFrame([{"eqs (1)-(6) then (9)": what, "w̄_ix": v} for what, v in rep.w_ix_chained]
                                  + [{"eqs (1)-(6) then (9)": "hand BPTT", "w̄_ix": rep.equation(9).true_value}]),
                     hide_index=True, width="stretch")
        st.caption("As written, eq (1) never adds ∂L/∂h(t), so no loss ever enters the recursion and every "
                   "adjoint, w̄_ix included, is exactly 0.")
        widgets.seed_table(compute.seed_equations("lstm"), "Eqs (1)-(9) at a glance")
        seed_args = cli_command(cfg, topic="lstm seed", skip=("B", "D", "H"),
                                extra=("--step", str(t), "--seed", str(run.seed)))
        widgets.reproduce(seed_args, "Prints every equation: as written, BPTT, finite "
                          "differences, the corrections. Add --json for machine-readable output.")

# --------------------------------------------------------------------------- gradient check
with tab_check:
    if tab_check.open:
        rows = [{"array": k, "entries checked": v.checked, "max relative error": v.max_rel_error,
                 "vanished": v.vanished, "failed": v.failed} for k, v in check.per_array.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"max relative error": st.column_config.NumberColumn(format="%.2e")})
        d = check.direction_check
        st.markdown(
            f"Central finite differences in float64 (five-point stencil, step {check.step:g}) on "
            f"{check.checked} random entries of W_x, W_h, b, x, h(0) and c(0), at T = {check_cfg.T}, "
            f"B = {check_cfg.B}, D = {check_cfg.D}, H = {check_cfg.H}: relative error "
            f"|a − n| / max(|a|, |n|), with 10⁻⁷ the usual bar. In a random direction t with a random "
            f"cotangent c on h(1…T): ⟨t, Jᵀc⟩ = {d.t_JTc:.12g} (hand BPTT) against ⟨J t, c⟩ = "
            f"{d.Jt_c:.12g} (forward-mode tangents), relative difference {d.rel_error:.1e}.")
        widgets.reproduce(check_args, "Add --entries 0 to check every entry, --json for machine-readable output.")
