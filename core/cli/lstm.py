"""``python -m core lstm ...``: the LSTM page's numbers, the seed's equations, checks, benchmark.

    lstm run        one forward and backward pass: loss, |h_bar(t)|, |c_bar(t)|, Π f per step
    lstm seed       the seed's eqs (1)-(9) at a step of the scalar LSTM: as written vs true
    lstm gradcheck  hand BPTT against finite differences (float64) and a random-direction check
    lstm bench      forward+backward seconds against the products alone and torch.nn.LSTM
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.common import StderrProgress, backend_from, emit, run_options
from core.config import add_arguments, from_namespace
from core.limits import ConfigError
from core.lstm.bench import BenchConfig, bench
from core.lstm.experiments import GradcheckConfig, LSTMConfig, gradcheck, seed_check, simulate
from core.lstm.model import GATES


def run(args: argparse.Namespace) -> int:
    cfg = from_namespace(LSTMConfig, args)
    backend = backend_from(args)
    out = simulate(cfg, backend, args.precision, args.seed)
    if not out.finite:
        raise ConfigError(out.warning)
    result: dict[str, Any] = {
        "config": cfg.as_dict(), "backend": backend.name, "precision": args.precision, "seed": args.seed,
        "loss": out.loss, "grad_norms": out.grad_norms,
        "h_bar_norm": out.h_bar_norm, "c_bar_norm": out.c_bar_norm, "forget_product": out.forget_product,
    }
    if args.units:  # the page's heatmaps: per step and unit, batch element 0
        result["units"] = {**{k: out.gates[k] for k in GATES}, "c": out.c, "h": out.h}
    return emit(result, args)


def seed(args: argparse.Namespace) -> int:
    cfg = from_namespace(LSTMConfig, args, B=1, D=1, H=1)
    backend_from(args)  # the scalar check always runs on NumPy in float64; this only validates
    rep = seed_check(cfg, args.step, args.seed)
    eqs = {}
    for e in rep.equations:
        eqs[f"eq{e.number}"] = {
            "verdict": e.verdict, "agrees_here": e.agrees_here, "seed_as_written": e.seed_value,
            "true_bptt": e.true_value, "finite_differences": e.fd_value,
            "corrections": {what: delta for what, delta in e.corrections}, "issues": list(e.issues)}
    return emit({"t": rep.t, "T": rep.T, "loss": rep.loss, "equations": eqs,
                 "w_ix_bar_whole_recursion": dict(rep.w_ix_chained)}, args)


def check(args: argparse.Namespace) -> int:
    cfg = from_namespace(GradcheckConfig, args)
    backend = backend_from(args)
    out = gradcheck(cfg, backend, args.seed, fast=args.path == "fast", progress=StderrProgress(args.quiet))
    return emit({"ok": out.ok, **{k: v for k, v in vars(out).items()}, "backend": backend.name, "path": args.path},
                args)


def benchmark(args: argparse.Namespace) -> int:
    cfg = from_namespace(BenchConfig, args)
    backend = backend_from(args)
    return emit(bench(cfg, backend, args.seed, progress=StderrProgress(args.quiet)), args)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lstm", help="LSTM through time: BPTT by hand, the seed's eqs (1)-(9)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = cmds.add_parser("run", parents=[run_options()], help="one forward and backward pass, per step",
                        description="Loss, |h_bar(t)|, |c_bar(t)| and the running product of forget "
                                    "gates per step: the numbers behind the LSTM page.")
    add_arguments(r, LSTMConfig)
    r.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="floating-point format (default float64)")
    r.add_argument("--units", action="store_true",
                   help="also print gates, c and h per step and unit (batch element 0)")
    r.set_defaults(func=run)

    s = cmds.add_parser("seed", parents=[run_options()], help="the seed's eqs (1)-(9), as written vs true",
                        description="Evaluate the seed's eqs (1)-(9) at step --step of the scalar LSTM "
                                    "(B = D = H = 1, float64), next to the hand BPTT and independent "
                                    "finite differences.")
    add_arguments(s, LSTMConfig, skip=("B", "D", "H"))
    s.add_argument("--step", type=int, default=1, metavar="t", help="the step t, 1..T (default 1)")
    s.set_defaults(func=seed)

    g = cmds.add_parser("gradcheck", parents=[run_options()], help="BPTT against finite differences",
                        description="Central finite differences (float64) on every entry of W_x, W_h, "
                                    "b, x, h(0), c(0), and <t, J^T c> against <J t, c> for random "
                                    "directions at sizes times --direction-scale.")
    add_arguments(g, GradcheckConfig)
    g.add_argument("--path", choices=("fast", "standard"), default="fast",
                   help="fast: the in-place NumPy sweep; standard: the array-API path, one lstm_step per step")
    g.set_defaults(func=check)

    b = cmds.add_parser("bench", parents=[run_options()], help="forward+backward time (vs torch.nn.LSTM)",
                        description="Median seconds of forward+backward over --repeat runs, interleaved "
                                    "with the same matrix products alone (ratio_to_gemm_floor) and, with "
                                    "PyTorch installed, torch.nn.LSTM on the same weights (ratio).")
    add_arguments(b, BenchConfig)
    b.set_defaults(func=benchmark)
