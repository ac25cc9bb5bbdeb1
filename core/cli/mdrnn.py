"""``python -m core mdrnn <command>``: the grid RNN of seed problems 3 and 4 from a shell.

Commands (each one ``_add_<name>`` building its parser and a ``_run_<name>`` doing the work;
add a command by writing both and listing the adder in :data:`COMMANDS`):

* ``cost``       both schedules on one grid: counted multiply-adds, steps and memory against
                 the models, median seconds, the fused-product efficiency, optionally PyTorch;
* ``sweep``      time and multiply-adds over G, H and D with fitted log-log slopes (JSON/CSV);
* ``grad-check`` the backward pass against central finite differences.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from typing import Any

from core.backend import blas_threads
from core.cli.common import StderrProgress, backend_from, emit, jsonable, run_options
from core.config import add_arguments, from_namespace
from core.grid.bench import CostConfig, measure
from core.grid.gradcheck import GradCheckConfig, grad_check
from core.grid.mdrnn import PRECISIONS, GridConfig
from core.grid.sweep import SweepConfig, sweep

SQUARE_HELP = "shorthand for a square grid: sets both --Gr and --Gc (the seed's G)"


def _grid_options(p: argparse.ArgumentParser) -> None:
    """--Gr --Gc --D --H --B from GridConfig, plus --G for a square grid."""
    add_arguments(p, GridConfig)
    p.add_argument("--G", type=int, default=None, metavar="G", help=SQUARE_HELP)


def _grid(args: argparse.Namespace) -> GridConfig:
    square = {} if args.G is None else {"Gr": args.G, "Gc": args.G}
    return from_namespace(GridConfig, args, **square)


def _precision(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default="float64",
                   help="floating-point format of the arrays (default float64)")


# --------------------------------------------------------------------------- cost


def _add_cost(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "cost", parents=[run_options()], help="measured cost of both schedules against the models",
        description="Run the raster and wavefront schedules on one grid; print the counted weights, "
        "multiply-adds, steps and state memory against the seed's models, the median seconds of "
        "repeated runs, and the wavefront against one fused product + tanh of the same arithmetic.")
    _grid_options(p)
    _precision(p)
    add_arguments(p, CostConfig)
    p.set_defaults(func=_run_cost)


def _run_cost(args: argparse.Namespace) -> int:
    cfg = _grid(args)
    backend = backend_from(args)
    if not args.quiet:
        print(f"timing raster and wavefront on a {cfg.Gr} x {cfg.Gc} grid ...", file=sys.stderr)
    result = measure(cfg, backend, timing_cfg=from_namespace(CostConfig, args), precision=args.precision,
                     seed=args.seed)
    return emit(result, args)


# --------------------------------------------------------------------------- sweep


def _add_sweep(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "sweep", parents=[run_options()], help="time and multiply-adds over G, H and D, with slopes",
        description="Time both schedules on square grids while G, H and D double in turn; print "
        "every point and the fitted log-log slopes of seconds and counted multiply-adds (JSON), or "
        "the points as CSV (--csv; the slopes then go to stderr). Progress goes to stderr.")
    add_arguments(p, SweepConfig)
    _precision(p)
    add_arguments(p, CostConfig, skip=("repeat", "max_seconds", "compare_torch", "states"))
    p.add_argument("--csv", action="store_true", help="print the points as CSV instead of JSON/text")
    p.set_defaults(func=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    cfg = from_namespace(SweepConfig, args)
    backend = backend_from(args)
    threads = from_namespace(CostConfig, args).blas_threads
    with blas_threads(threads or None):
        result = sweep(cfg, backend, precision=args.precision, seed=args.seed, progress=StderrProgress(args.quiet))
    result.config["blas_threads"] = threads or "default"
    if args.json:
        return emit(result, args)
    rows = jsonable(result.table())
    if not args.csv:  # a readable table, then the slopes
        print(f"{'axis':>4} {'G':>5} {'H':>5} {'D':>5} {'schedule':>10} {'seconds':>11} {'steps':>8} "
              f"{'macs':>13} {'speedup':>8}")
        for r in rows:
            print(f"{r['axis']:>4} {r['G']:>5} {r['H']:>5} {r['D']:>5} {r['schedule']:>10} "
                  f"{r['seconds']:>11.3e} {r['steps']:>8} {r['macs']:>13,} {r['speedup']:>8.2f}")
        return emit({"slopes": result.slopes}, args)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    if not args.quiet:
        for axis, entry in result.slopes.items():
            fits = ", ".join(f"{s} time {entry[s]['time']:.2f} macs {entry[s]['macs']:.2f}"
                             for s in ("raster", "wavefront"))
            print(f"slopes against {axis}: {fits}; exact model {entry['model_exact']:.2f}, "
                  f"seed model {entry['model_seed']:.2f}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- grad-check


def _add_grad_check(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "grad-check", parents=[run_options()], help="backward against central finite differences",
        description="Adjoints of W_in, W_W, W_N, b and x from the reverse wavefront, against central "
        "differences in float64: entry by entry (up to --max-entries per input) and in one random "
        "direction. Relative error = max |analytic - fd| / max |fd|.")
    _grid_options(p)
    p.set_defaults(Gr=4, Gc=5, D=2, H=3, B=2)
    add_arguments(p, GradCheckConfig)
    p.set_defaults(func=_run_grad_check)


def _run_grad_check(args: argparse.Namespace) -> int:
    result = grad_check(_grid(args), backend_from(args), from_namespace(GradCheckConfig, args), seed=args.seed)
    return emit(result, args)


# --------------------------------------------------------------------------- registration

# One adder per command, in the order --help lists them.
COMMANDS: tuple[Callable[[argparse._SubParsersAction], Any], ...] = (_add_cost, _add_sweep, _add_grad_check)

# Seed problem 5's commands (sensitivity, warp-test) live in their own module.
from core.cli.mdrnn_compare import COMMANDS as COMPARE_COMMANDS  # noqa: E402

COMMANDS += COMPARE_COMMANDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mdrnn", help="2-D grid RNN: schedules, measured cost, gradients",
                       description="The grid RNN of seed problems 3 and 4: h(i,j) = tanh(W_in x(i,j) + "
                       "W_W h(i,j-1) + W_N h(i-1,j) + b), cell by cell (raster) or by anti-diagonals "
                       "(wavefront).")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(cmds)
