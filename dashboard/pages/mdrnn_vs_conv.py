"""MDRNN against a conv net (seed problem 5): what each model sees, whether gradients vanish,
what each costs, and a warping test of the seed's robustness claim."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core.config import Config, cli_command, param, specs
from core.grid.context import SensitivityConfig
from core.grid.warptest import WarpTestConfig
from dashboard import compute, frame, plots, widgets

ORDER = ("mdrnn", "mdlstm", "mdrnn4", "mdlstm4", "conv")
SHORT = {"mdrnn": "MDRNN tanh, 1 dir.", "mdlstm": "MDLSTM, 1 dir.", "mdrnn4": "MDRNN tanh, 4 dir.",
         "mdlstm4": "MDLSTM, 4 dir.", "conv": "conv net"}



@dataclass(frozen=True)
class DigitView(Config):
    """Which of the first test digits the warp pictures show."""

    digit: int = param(0, choices=(0, 1, 2, 3), label="Test digit shown")


page = frame.page(
    "mdrnn-vs-conv",
    "Seed problem 5 answers *\"one advantage and one disadvantage of an MDRNN compared to a conv net\"* "
    "with two claims: the MDRNN is **more robust to input warping** (its recurrences give it context from "
    "the whole grid, which holds with four directions: one sweep sees only the quadrant above-left), and it "
    "is **more prone to vanishing gradients**, which LSTM cells relieve. This page tests both, and the "
    "standard disadvantage too (2G − 1 sequential steps against a conv net's L): the warping test on "
    "trained models, the vanishing-gradient claim on the models' sensitivity at initialisation, for the "
    "grid RNNs and the conv net alike. Every number comes from the models' own forward and backward passes: the "
    "seed's tanh grid RNN, the MDLSTM (Graves et al. 2007, and the bounded cell of Leifert et al. 2016), "
    "each swept from one corner or from all four, and a conv net of L layers of k × k convolutions.")
run, main = page.run, page.main
cfg = page.settings(SensitivityConfig, "mvc", title="Models and output cell",
                    note=f"Random weights and a random input; backend **{run.backend}**, float64, seed {run.seed}. "
                         "The warping test's settings are in its tab.")

with main, widgets.stop_on_error():
    ctx = compute.mdrnn_context(cfg, run)  # the decay study (eight initialisations) only where it is shown
models = ctx.models
i, j = cfg.i_star, cfg.j_star
sens_args = cli_command(cfg, run=run)

widgets.check_links(WarpTestConfig, "mvcw")  # the warping test's settings, whichever tab is open
widgets.check_links(DigitView, "mvcw")
with main:
    tab_ctx, tab_vanish, tab_cost, tab_warp = widgets.tabs(
        ["Context", "Vanishing gradients", "Cost", "Warping test"], key="compare_tab")

# --------------------------------------------------------------------------- context
with tab_ctx:
    if tab_ctx.open:
        def definition() -> None:
            st.latex(r"S(i, j) = \left\| \frac{\partial h^{(i^*, j^*)}}{\partial x^{(i, j)}} \right\|_F")
            st.markdown("One backward sweep per output unit (run as one batch) gives a row of this Jacobian; no "
                        "finite differences. Grey cells are **exactly zero**: the output cannot see that input.")

        if not page.lecture:  # above the maps at a desk, under them in lecture mode
            definition()
        rows, cols = np.indices((cfg.G, cfg.G)).reshape(2, -1)  # one row of the table per model and cell
        maps = pd.DataFrame({"model": np.repeat([models[k].label for k in ORDER], cfg.G * cfg.G),
                             "i": np.tile(rows, len(ORDER)), "j": np.tile(cols, len(ORDER)),
                             "S": np.concatenate([models[k].map.reshape(-1) for k in ORDER])})
        fig = plots.sensitivity_maps([models[k].map for k in ORDER], [SHORT[k] for k in ORDER], i, j)
        widgets.chart(fig, maps, "mdrnn_vs_conv_sensitivity")
        if page.lecture:
            definition()
        st.markdown("\n".join(f"- {line}" for line in ctx.summary))
        st.dataframe(pd.DataFrame([{"model": models[k].label, "cells seen (S > 0)": models[k].seen_cells,
                                    "cells in its context": models[k].context_cells,
                                    "exactly its context": models[k].matches_context} for k in ORDER]),
                     hide_index=True, width="stretch")
        widgets.reproduce(sens_args)

# --------------------------------------------------------------------------- vanishing gradients
with tab_vanish:
    if tab_vanish.open:
        with widgets.stop_on_error():
            sens = compute.mdrnn_sensitivity(cfg, run)
        report, summary = sens.report, sens.summary
        decay = report.decay
        profiles = {decay[k].label: (report.profiles[k][0].tolist(), report.profiles[k][1].tolist())
                    for k in report.profiles}
        longest = max(report.profiles.values(), key=lambda dp: len(dp[0]))[0]
        widgets.chart(plots.decay_plot(profiles),
                      {"distance": longest.tolist(), **{label: prof for label, (_, prof) in profiles.items()}},
                      "mdrnn_vs_conv_decay")
        st.markdown("\n".join(f"- {line}" for line in summary[2:]))
        st.dataframe(pd.DataFrame([{"model": d.label, "factor per step (mean)": d.mean,
                                    "95% interval": f"[{d.low:.3f}, {d.high:.3f}]", "initialisations": len(d.factors)}
                                   for d in decay.values()]),
                     hide_index=True, width="stretch",
                     column_config={"factor per step (mean)": st.column_config.NumberColumn(format="%.3f")})
        sweep = sens.sweep
        widgets.chart(plots.forget_bias_plot(list(sweep.forget_bias),
                                             {"MDLSTM graves": list(sweep.graves), "MDLSTM stable": list(sweep.stable)},
                                             sweep.tanh),
                      {"forget_bias": sweep.forget_bias, "graves": sweep.graves, "stable": sweep.stable,
                       "tanh": [sweep.tanh] * len(sweep.forget_bias)}, "mdrnn_vs_conv_forget_bias")
        st.caption("Factor per step: exp of the least-squares slope of log S against distance, over the "
                   "distances where S > 0. Below 1 the sensitivity vanishes with distance, above 1 it grows. "
                   "Weights are at their initial values: this is the starting point of training.")
        widgets.reproduce([*sens_args, "--no-maps"], "Prints the factors per step of every initialisation, their "
                          "means and intervals (decay:), and the forget-bias sweep (forget_bias_sweep:).")

# --------------------------------------------------------------------------- cost
with tab_cost:
    if tab_cost.open:
        G = cfg.G
        formulas = {"mdrnn": ("(DH + 2H² + H)", "(G²DH + (2G² − 2G)H²)"),
                    "mdlstm": ("5H(D + 2H + 1)", "5G²H(D + 2H)"),
                    "conv": ("k²DH + H + (L−1)(k²H² + H)", "G²(k²DH + (L−1)k²H²)")}  # parenthesised where "4 ×" applies
        rows = []
        for k in ORDER:
            m = models[k]
            base = k.rstrip("4")
            four = k.endswith("4")
            bare = lambda f: f[1:-1] if f.startswith("(") and f.endswith(")") else f  # noqa: E731
            rows.append({
                "model": m.label, "parameters": m.params,
                "parameters formula": ("4 × " + formulas[base][0]) if four else bare(formulas[base][0]),
                "multiply-adds (one input)": m.macs,
                "multiply-adds formula": ("4 × " + formulas[base][1]) if four else bare(formulas[base][1]),
                "sequential steps": m.steps,
                "steps": (f"2G − 1 = {2 * G - 1}" + (" per direction (the 4 run side by side)" if four else ""))
                if base != "conv" else f"L = {cfg.L}",
                "receptive field": m.receptive_field})
        table = pd.DataFrame(rows)
        widgets.table(table, {"parameters": "localized", "multiply-adds (one input)": "localized"})
        widgets.downloads(table, "mdrnn_vs_conv_cost")
        st.markdown(
            f"The grid RNNs need $2G-1 = {2 * G - 1}$ sequential steps (seed problem 4) however the work is "
            f"spread, against the conv net's $L = {cfg.L}$; in exchange one output cell of a four-direction "
            f"grid RNN sees all {G * G} inputs, while the conv net's sees a "
            f"{cfg.L * (cfg.k - 1) + 1} × {cfg.L * (cfg.k - 1) + 1} window. Counts are the formulas in "
            "`core/grid/cost.py`; the tanh MDRNN's multiply-adds skip the zero states at the border (as "
            "`core/grid/mdrnn.py` does), the MDLSTM's and the conv net's multiply them too (as their code does).")
        depth = compute.mdrnn_depth_timing(cfg.D, cfg.H, cfg.L, cfg.k, run)
        widgets.chart(plots.depth_plot(depth.G, depth.seconds, depth.steps, depth.labels),
                      {"G": depth.G, **{f"{k}_seconds": v for k, v in depth.seconds.items()},
                       **{f"{k}_steps": v for k, v in depth.steps.items()}}, "mdrnn_vs_conv_depth")
        st.markdown(compute.mdrnn_depth_sentence(depth))
        depth_fields = ("D", "H", "L", "k")
        widgets.reproduce([*sens_args, "--no-maps"], "Prints every model's parameters, multiply-adds and "
                          "sequential steps (models:).")
        widgets.reproduce(cli_command(cfg, run=run, topic="mdrnn depth",
                                      skip=tuple(f for f in specs(type(cfg)) if f not in depth_fields)),
                          "Times the forward passes against G as above (seconds:, slope:), with the same sentence.")

# --------------------------------------------------------------------------- warping test
with tab_warp:
    if tab_warp.open:
        st.markdown(
            "Train each model on scikit-learn's 8 × 8 digits (the grid RNNs read a digit as an 8 × 8 grid of "
            "pixels; every model averages its output over the cells and a linear read-out gives 10 scores; "
            "plain Adam with our own backward passes), then measure accuracy on held-out digits warped by "
            "shear, rotation and elastic distortion of growing strength. The tanh MDRNN and the conv net are "
            "sized to the MDLSTM's parameter count.")
        with st.container(border=True):
            st.markdown("**Settings of the warping test**")
            wcfg = widgets.config_controls(WarpTestConfig, "mvcw", lecture=page.lecture, columns=3)
        go = st.button("Train and test", type="primary", icon=":material/play_arrow:", key="mvcw_go",
                       help="train with the settings of the warping test above")
        if go:
            st.session_state["mvcw_ran"] = (wcfg, run)
        status = st.empty()  # under the button: what to press, then the training's progress bar
        samples = compute.mdrnn_warp_samples(run.seed, wcfg.levels)
        view = widgets.config_controls(DigitView, "mvcw", lecture=page.lecture)
        widgets.chart(plots.warped_digits(samples.images, samples.amounts, samples.units, view.digit),
                      {f"{k} {a:g}": samples.images[k][c][view.digit].ravel()
                       for k in samples.images for c, a in enumerate(samples.amounts[k])},
                      "mdrnn_vs_conv_warped_digit")
        warp_args = cli_command(wcfg, run=run)
        if st.session_state.get("mvcw_ran") != (wcfg, run):
            status.info(f"Press *Train and test* to run the experiment: about {compute.mdrnn_warp_seconds(wcfg):.0f} s "
                        "with these settings. Results are cached: the same settings again come back at once.")
        else:
            with status.container(), widgets.stop_on_error(warp_args):
                study = compute.mdrnn_warp_test(wcfg, run)
            result, warp_lines = study.result, study.summary
            for message in result.diverged:
                st.warning(message, icon=":material/warning:")
            labels = {k: m.label for k, m in result.models.items()}
            widgets.chart(plots.warp_accuracy(result.amounts, result.units, result.accuracy, labels),
                          pd.DataFrame([{"warp": kind, "strength": s, "amount": result.amounts[kind][n],
                                         "model": labels[key], "accuracy": acc[n]}
                                        for kind, per in result.accuracy.items() for key, acc in per.items()
                                        for n, s in enumerate(result.strengths)]), "mdrnn_vs_conv_warp")
            st.markdown("**What this says about the seed's claim.**\n\n"
                        + "\n".join(f"- {line}" for line in warp_lines))
            widgets.table(pd.DataFrame([{
                "model": m.label, "parameters (with read-out)": m.params,
                "multiply-adds per digit": m.macs, "sequential steps": m.steps,
                "training seconds": round(m.train_seconds, 2),
                "final training loss": m.losses[-1] if m.losses else None,
                "training accuracy": m.train_accuracy,
                "clean test accuracy": result.accuracy["shear"].get(k, [None])[0],
            } for k, m in result.models.items()]), {"training accuracy": "percent", "clean test accuracy": "percent",
                                                    "final training loss": "%.3f"})
            widgets.chart(plots.loss_curves({m.label: list(m.losses) for m in result.models.values()}),
                          {m.label: m.losses for m in result.models.values()}, "mdrnn_vs_conv_loss")
        widgets.reproduce(warp_args, "Prints the accuracy of each model at each warp strength and the verdict; "
                          "add --json for machine-readable output.")
