"""MDRNN through a grid (seed problems 3 and 4): the wavefront schedule, its measured cost
against the seed's models, how time scales, and the states over the grid."""

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.config import Config, cli_command, param
from core.grid.mdrnn import GridConfig
from core.grid.sweep import SweepConfig
from core.limits import format_bytes
from dashboard import compute, frame, plots, widgets


@dataclass(frozen=True)
class View(Config):
    """What the animation shows."""

    schedule: str = param("wavefront", choices=("wavefront", "raster"), label="Schedule",
                          help="cell by cell (raster) or one anti-diagonal per step (wavefront)")


ANIMATION_MAX_CELLS = 64 * 64  # larger grids: the frames would make the page heavy

page = frame.page(
    "mdrnn",
    "A 2-D RNN computes a state for every cell of a grid from the cell's input and the states of its "
    "**west** and **north** neighbours (the zero state outside the grid). Cell by cell that is "
    "$G^2$ sequential steps; all cells on one anti-diagonal $i + j = d$ depend only on the diagonal "
    "before, so a **wavefront** needs $2G-1$ steps (seed problem 4). Here both run, the arithmetic "
    "each one executes is *counted*, and the counts are held against the seed's formulas (problem 3).",
    r"h^{(i,j)} = \tanh\!\left(W_{in}\,x^{(i,j)} + W_W\,h^{(i,j-1)} + W_N\,h^{(i-1,j)} + b\right)")
run, main = page.run, page.main
grid = page.settings(GridConfig, "mdrnn", title="Grid")
view = page.settings(View, "mdrnn", note=f"Backend **{run.backend}**, {run.precision}, seed {run.seed} (sidebar).")

square = grid.Gr == grid.Gc
cost_args = cli_command(grid, run=run, extra=("--states", "--blas-threads", "1"))  # as the server runs
with main, widgets.stop_on_error(cost_args):
    result = compute.mdrnn_measure(grid, run)
sched = result.schedules

widgets.check_links(SweepConfig, "mdrnn_sweep")  # the Scaling tab's settings, whichever tab is open
with main:
    tab_wave, tab_cost, tab_scale, tab_states = widgets.tabs(
        ["Wavefront", "Cost against the models", "Scaling", "States"], key="mdrnn_tab")

# --------------------------------------------------------------------------- the wavefront
with tab_wave:
    if tab_wave.open:
        c1, c2 = st.columns(2)
        c1.metric("Raster steps", f"{sched['raster'].steps:,}", help="one per cell: Gr × Gc (G² square)")
        c2.metric("Wavefront steps", f"{sched['wavefront'].steps:,}",
                  help="one per anti-diagonal: Gr + Gc − 1 (2G − 1 square); up to min(Gr, Gc) cells each")
        if grid.Gr * grid.Gc <= ANIMATION_MAX_CELLS:
            steps = compute.mdrnn_cell_steps(grid.Gr, grid.Gc, view.schedule)
            widgets.chart(compute.schedule_figure(grid.Gr, grid.Gc, view.schedule, page.lecture),
                          pd.DataFrame({"i": [i for i in range(grid.Gr) for _ in range(grid.Gc)],
                                        "j": [j for _ in range(grid.Gr) for j in range(grid.Gc)],
                                        "step": steps.reshape(-1)}), f"mdrnn_{view.schedule}_steps")
        else:
            st.info(f"The animation is drawn for grids of up to {ANIMATION_MAX_CELLS:,} cells; this one has "
                    f"{grid.Gr * grid.Gc:,}. Every other tab works at this size.")
        st.markdown(
            "**Problem 4 is right.** Cell $(i, j)$ needs only $(i, j-1)$ and $(i-1, j)$, both on diagonal "
            "$i + j - 1$, so the diagonals can run one after another: "
            + (f"$2G - 1 = {2 * grid.Gr - 1}$" if square else f"$G_r + G_c - 1 = {grid.Gr + grid.Gc - 1}$")
            + f" for this grid, counted here as "
            f"{sched['wavefront'].steps:,} steps against {sched['raster'].steps:,} cell by cell. "
            "Each step is one batched product per neighbour over the whole diagonal. The states are "
            "stored *skewed* (diagonal $d$, row $i$), so a diagonal and its two neighbours are contiguous "
            "slices of memory and no cells are gathered with index arrays.")
        wave = sched["wavefront"]
        per_step = (wave.calls - 3) / max(wave.steps - 1, 1)  # the projection, its bias, the corner's tanh apart
        step_calls = ("five arithmetic calls (two products, two additions, one tanh)" if per_step == 5 else
                      f"{per_step:.2g} arithmetic calls on average (a diagonal of one row or column has one "
                      "neighbour: one product, one addition, one tanh)")
        st.markdown(
            f"**It is also a lower bound**, which the seed does not say: walking the grid's dependencies cell by "
            f"cell, the longest chain of cells that must wait for one another has {result.longest_chain:,} cells, "
            "so no schedule, whatever it runs at once, finishes in fewer steps. Outside the count the code does "
            "one more thing, up front: the input projection $W_{in}x$ of every cell in one product, with its bias. "
            f"A step after the first is then {step_calls}, {wave.calls:,} calls in all for this grid: on a GPU "
            "each call is a kernel launch, which is what a step costs at small sizes.")
        widgets.reproduce(cost_args, "Prints the steps of both schedules, the longest chain of dependencies and "
                          "the arithmetic calls (`calls`) of each schedule.")

# --------------------------------------------------------------------------- cost
with tab_cost:
    if tab_cost.open:
        seed_m, exact_m, dense_m = result.macs_model_seed, result.macs_model_exact, result.macs_model_dense
        table = pd.DataFrame([
            {"what": "measured: raster", "multiply-adds": sched["raster"].macs,
             "where from": "counted from the shapes of every product run"},
            {"what": "measured: wavefront", "multiply-adds": sched["wavefront"].macs,
             "where from": "counted from the shapes of every product run"},
            {"what": "seed eq (11): G²(DH + H²)", "multiply-adds": seed_m,
             "where from": "one H×H product per cell"},
            {"what": "exact: G²(DH + 2H²) − (Gr + Gc)H²", "multiply-adds": exact_m,
             "where from": "two H×H products per cell, minus those reading the zero state at the border"},
            {"what": "dense: G²(DH + 2H²)", "multiply-adds": dense_m,
             "where from": "two H×H products per cell, border zeros multiplied too"},
        ])
        table.insert(2, "measured / this", sched["wavefront"].macs / table["multiply-adds"])
        widgets.table(table, {"measured / this": "%.3f", "multiply-adds": "localized"})
        labels = ["raster", "wavefront", "seed G²(DH+H²)", "exact", "dense G²(DH+2H²)"]
        kinds = ["measured", "measured", "model (seed)", "model (exact)", "model (dense)"]
        macs = [sched["raster"].macs, sched["wavefront"].macs, seed_m, exact_m, dense_m]
        widgets.chart(plots.cost_bars(labels, macs, kinds),
                      {"label": labels, "kind": kinds, "multiply_adds": macs}, "mdrnn_macs")
        st.markdown(f"**Which model is right.** {result.verdict}")
        st.dataframe(pd.DataFrame([
            {"unit": "multiply-adds (counted)", "this grid": sched["wavefront"].macs,
             "the seed's eq (11)": result.macs_model_seed,
             "verdict on the seed": "eq (11) is wrong: one H×H product per cell instead of two"},
            {"unit": "floating-point operations (2 per multiply-add, plus additions; counted)",
             "this grid": sched["wavefront"].flops, "the seed's eq (11)": 2 * result.macs_model_seed,
             "verdict on the seed": "about twice the multiply-adds; eq (11) undercounts here too"},
            {"unit": "tanh evaluations (counted, not arithmetic operations)", "this grid": sched["wavefront"].tanh,
             "the seed's eq (11)": None, "verdict on the seed": "not in the seed's count"},
            {"unit": "order of growth", "this grid": None, "the seed's eq (11)": None,
             "verdict on the seed": "O(G²DH + G²H²), the seed's last line, is right"}]),
            hide_index=True, width="stretch",
            column_config={"this grid": st.column_config.NumberColumn(format="localized"),
                           "the seed's eq (11)": st.column_config.NumberColumn(format="localized")})
        if grid.B > 1:
            st.caption(f"All counts are for the batch of B = {grid.B} grids (the seed's formulas are per grid).")

        widgets.seed_table(compute.seed_equations("mdrnn"), "Eqs (10)-(11) at a glance")

        st.subheader("Weights (problem 3, eq (10))")
        w1, w2, w3 = st.columns(3)
        w1.metric("Counted in the arrays (W_in, W_W, W_N)", f"{result.weights:,}")
        w2.metric("DH + 2H² (eq (10))", f"{result.weights_formula:,}",
                  help="right: it counts the three matrices exactly")
        w3.metric("With the H biases", f"{result.weights_with_bias:,}", help="eq (10) leaves b out")

        st.subheader("Time and memory (this grid)")
        fused = result.fused
        timing = pd.DataFrame([
            {"schedule": s, "steps": r.steps, "matrix products": r.products, "median seconds": r.seconds,
             "spread": r.spread, "peak state memory": format_bytes(r.peak_state_bytes), "repeats": r.repeats}
            for s, r in sched.items()])
        widgets.table(timing, {"median seconds": "%.2e", "spread": "percent"})
        t1, t2 = st.columns(2)
        speedup = result.speedup_wavefront_over_raster
        t1.metric("Wavefront speedup over raster", f"{speedup:.1f}×" if result.speedup_note == "" else "—",
                  help=result.speedup_note or "median raster time over median wavefront time, interleaved")
        t2.metric("Wavefront efficiency", "—" if fused.note else f"{fused.efficiency:.0%}",
                  help=fused.note or f"best time per multiply-add of one fused call {fused.shape} divided by "
                                     "the wavefront's: 100% means the sequential sweep costs nothing extra")
        for note in (result.speedup_note, fused.note):
            if note:
                st.caption(f"Not shown, {note}.")
        st.caption("Timings are medians of interleaved repeats on this machine; on a shared or busy CPU "
                   "they vary, the counts do not. On small grids each wavefront step is too small to keep "
                   "the processor busy, so the efficiency is low; it rises with G and H (see Scaling). "
                   "The wavefront holds more state memory: its skewed layout pads each diagonal to "
                   "Gr + 1 rows.")
        widgets.reproduce(cost_args, "Prints every number of this tab and of the States tab "
                          "(add --compare-torch to time a PyTorch cell-by-cell loop too).")

# --------------------------------------------------------------------------- scaling
with tab_scale:
    if tab_scale.open:
        st.markdown("Both schedules on square grids while one size doubles. The counted multiply-adds "
                    "grow as the exact model says; time follows them once the products are large enough "
                    "to hide the cost of each Python-level step.")
        sweep_cfg = widgets.config_controls(SweepConfig, "mdrnn_sweep", lecture=page.lecture,
                                            container=st.container(border=True, horizontal=True))
        guess = compute.mdrnn_sweep_seconds(sweep_cfg)
        sweep = None
        if guess <= 3 or st.session_state.get("mdrnn_sweep_ok") == sweep_cfg:
            with widgets.stop_on_error():
                sweep = compute.mdrnn_sweep(sweep_cfg, run)
        elif st.button(f"Run this sweep (about {guess:.0f} s)", icon=":material/play_arrow:"):
            st.session_state["mdrnn_sweep_ok"] = sweep_cfg
            with widgets.stop_on_error():
                sweep = compute.mdrnn_sweep(sweep_cfg, run)
        if sweep is not None:
            for axis, slope in sweep.slopes.items():
                rows = sweep.table(axis)
                widgets.chart(plots.scaling_plot(rows, axis, slope), pd.DataFrame(rows), f"mdrnn_sweep_{axis}")
            st.subheader("Fitted log-log slopes")
            st.dataframe(pd.DataFrame([
                {"against": axis, "schedule": s, "time": e.of(s).time, "counted multiply-adds": e.of(s).macs,
                 "steps": e.of(s).steps, "exact model": e.model_exact, "seed model": e.model_seed}
                for axis, e in sweep.slopes.items() for s in ("raster", "wavefront")]),
                hide_index=True, width="stretch")
        widgets.reproduce(cli_command(sweep_cfg, run=run, extra=("--blas-threads", "1")),
                          "Add --csv for the points as CSV (the slopes then go to stderr).")

# --------------------------------------------------------------------------- states
with tab_states:
    if tab_states.open:
        widgets.chart(plots.state_heatmap(result.h_abs_mean.tolist()),
                      pd.DataFrame(result.h_abs_mean).rename_axis("i").reset_index()
                      .melt(id_vars="i", var_name="j", value_name="mean_abs_h"), "mdrnn_states")
        st.caption("First input of the batch; random weights with fan-in scaling and random inputs. The "
                   "top-left cell sees only its own input; context accumulates towards the bottom right.")
