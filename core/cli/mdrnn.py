"""``python -m core mdrnn <command>``: the grid RNN of seed problems 3 and 4 from a shell.

Commands (each a ``_run_<name>`` doing the work, registered in :func:`register`):

* ``cost``       both schedules on one grid: counted multiply-adds, steps and memory against
                 the models, median seconds, the fused-product efficiency, optionally PyTorch;
* ``sweep``      time and multiply-adds over G, H and D with fitted log-log slopes (JSON/CSV);
* ``grad-check`` the backward pass against central finite differences.

Seed problem 5's commands (``sensitivity``, ``warp-test``) are :mod:`core.cli.mdrnn_compare`'s.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass

from core.backend import blas_threads
from core.cli import mdrnn_compare
from core.cli.common import StderrProgress, add_command, add_topic, backend_from, emit, jsonable, require_figures
from core.config import Config, Options, RunConfig, from_namespace, param, specs
from core.grid.bench import CostConfig, measure
from core.grid.gradcheck import GradCheckConfig, grad_check
from core.grid.mdrnn import GridConfig
from core.grid.sweep import SweepConfig, sweep

PRECISION = Options(RunConfig, only=("precision",))


@dataclass(frozen=True)
class GridOptions(Config):
    """The grid commands' own options, beside the configs of ``core.grid``."""

    G: int | None = param(None, 1, specs(GridConfig)["Gr"].hi, kind=int, label="G (square grid)",
                          help="shorthand for a square grid: sets both --Gr and --Gc (the seed's G)")
    csv: bool = param(False, label="CSV", help="print the points as CSV instead of JSON/text")


def _grid_config(args: argparse.Namespace) -> GridConfig:
    square = {} if args.G is None else {"Gr": args.G, "Gc": args.G}
    return from_namespace(GridConfig, args, **square)


def _run_cost(args: argparse.Namespace) -> int:
    cfg, timing_cfg = _grid_config(args), from_namespace(CostConfig, args)
    backend = backend_from(args)
    if not args.quiet:
        print(f"timing raster and wavefront on a {cfg.Gr} x {cfg.Gc} grid ...", file=sys.stderr)
    result = measure(cfg, backend, timing_cfg=timing_cfg, precision=args.precision, seed=args.seed)
    return emit(result, args)


# --------------------------------------------------------------------------- sweep


def _run_sweep(args: argparse.Namespace) -> int:
    cfg = from_namespace(SweepConfig, args)
    backend = backend_from(args)
    threads = from_namespace(CostConfig, args).blas_threads
    with blas_threads(threads or None):
        result = sweep(cfg, backend, precision=args.precision, seed=args.seed, progress=StderrProgress(args.quiet))
    result.config["blas_threads"] = threads or "default"
    if args.json:
        return emit(result, args)
    require_figures(result)
    rows = jsonable(result.table())
    if not args.csv:  # a readable table, then the slopes
        print(f"{'axis':>4} {'G':>5} {'H':>5} {'D':>5} {'schedule':>10} {'seconds':>11} {'steps':>8} "
              f"{'macs':>13} {'speedup':>8}")
        for r in rows:
            print(f"{r['axis']:>4} {r['G']:>5} {r['H']:>5} {r['D']:>5} {r['schedule']:>10} "
                  f"{r['seconds']:>11.3e} {r['steps']:>8} {r['macs']:>13,} "
                  + (f"{r['speedup']:>8.2f}" if r["speedup_note"] == "" else f"{'—':>8}"))
        return emit({"slopes": result.slopes}, args)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    if not args.quiet:
        for axis, entry in result.slopes.items():
            fits = ", ".join(f"{s} time {entry.of(s).time:.2f} macs {entry.of(s).macs:.2f}"
                             for s in ("raster", "wavefront"))
            print(f"slopes against {axis}: {fits}; exact model {entry.model_exact:.2f}, "
                  f"seed model {entry.model_seed:.2f}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- grad-check


def _run_grad_check(args: argparse.Namespace) -> int:
    result = grad_check(_grid_config(args), backend_from(args), from_namespace(GradCheckConfig, args), seed=args.seed)
    return emit(result, args)


# --------------------------------------------------------------------------- registration


def register(sub: argparse._SubParsersAction) -> None:
    cmds = add_topic(sub, "mdrnn", help="2-D grid RNN: schedules, measured cost, gradients",
                     description="The grid RNN of seed problems 3 and 4: h(i,j) = tanh(W_in x(i,j) + W_W h(i,j-1) "
                     "+ W_N h(i-1,j) + b), cell by cell (raster) or by anti-diagonals (wavefront).")
    add_command(cmds, "cost", _run_cost, help="measured cost of both schedules against the models",
                description="Run the raster and wavefront schedules on one grid; print the counted weights, "
                "multiply-adds, steps and state memory against the seed's models, the median seconds of repeated "
                "runs, and the wavefront against one fused product + tanh of the same arithmetic.",
                options=(GridConfig, Options(GridOptions, only=("G",)), PRECISION, CostConfig))
    add_command(cmds, "sweep", _run_sweep, help="time and multiply-adds over G, H and D, with slopes",
                description="Time both schedules on square grids while G, H and D double in turn; print every "
                "point and the fitted log-log slopes of seconds and counted multiply-adds (JSON), or the points "
                "as CSV (--csv; the slopes then go to stderr). Progress goes to stderr.",
                options=(SweepConfig, PRECISION, Options(CostConfig, only=("blas_threads",)),
                         Options(GridOptions, only=("csv",))))
    add_command(cmds, "grad-check", _run_grad_check, help="backward against central finite differences",
                description="Adjoints of W_in, W_W, W_N, b and x from the reverse wavefront, against central "
                "differences in float64: entry by entry (up to --max-entries per input) and in one random "
                "direction. Relative error = max |analytic - fd| / max |fd|.",
                options=(GridConfig, Options(GridOptions, only=("G",)), GradCheckConfig),
                defaults=dict(Gr=4, Gc=5, D=2, H=3, B=2))
    mdrnn_compare.add_commands(cmds)
