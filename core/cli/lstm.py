"""``python -m core lstm ...``: the LSTM page's numbers, the seed's equations, checks, benchmark.

    lstm run        one forward and backward pass: loss, |h_bar(t)|, |c_bar(t)|, Π f per step
    lstm seed       the seed's eqs (1)-(9) at a step of the scalar LSTM: as written vs true
    lstm gradcheck  hand BPTT against finite differences (float64) and a random-direction check
    lstm bench      forward+backward seconds against the products alone and torch.nn.LSTM
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from core.cli.common import StderrProgress, add_command, add_topic, backend_from, emit
from core.config import Config, Options, RunConfig, from_namespace, param, specs
from core.limits import ConfigError
from core.lstm.bench import BenchConfig, bench
from core.lstm.experiments import GradcheckConfig, LSTMConfig, gradcheck, seed_check, simulate
from core.lstm.model import GATES


@dataclass(frozen=True)
class LSTMOptions(Config):
    """The LSTM commands' own options, beside the configs of ``core.lstm``."""

    units: bool = param(False, label="Per-unit arrays",
                        help="also print gates, c and h per step and unit (batch element 0)")
    step: int = param(1, 1, specs(LSTMConfig)["T"].hi, label="step t", help="the step t of eqs (1)-(9), 1..T")
    path: str = param("fast", choices=("fast", "standard"), label="Sweep",
                      help="fast: the in-place NumPy sweep; standard: the array-API path, one lstm_step per step")


def _run_lstm(args: argparse.Namespace) -> int:
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


def _run_lstm_seed(args: argparse.Namespace) -> int:
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


def _run_lstm_gradcheck(args: argparse.Namespace) -> int:
    cfg = from_namespace(GradcheckConfig, args)
    backend = backend_from(args)
    out = gradcheck(cfg, backend, args.seed, fast=args.path == "fast", progress=StderrProgress(args.quiet))
    return emit({"ok": out.ok, **{k: v for k, v in vars(out).items()}, "backend": backend.name, "path": args.path},
                args)


def _run_lstm_bench(args: argparse.Namespace) -> int:
    cfg = from_namespace(BenchConfig, args)
    backend = backend_from(args)
    return emit(bench(cfg, backend, args.seed, progress=StderrProgress(args.quiet)), args)


def register(sub: argparse._SubParsersAction) -> None:
    cmds = add_topic(sub, "lstm", help="LSTM through time: BPTT by hand, the seed's eqs (1)-(9)", description=__doc__)
    add_command(cmds, "run", _run_lstm, help="one forward and backward pass, per step",
                description="Loss, |h_bar(t)|, |c_bar(t)| and the running product of forget gates per step: "
                "the numbers behind the LSTM page.",
                options=(LSTMConfig, Options(RunConfig, only=("precision",)), Options(LSTMOptions, only=("units",))))
    add_command(cmds, "seed", _run_lstm_seed, help="the seed's eqs (1)-(9), as written vs true",
                description="Evaluate the seed's eqs (1)-(9) at step --step of the scalar LSTM (B = D = H = 1, "
                "float64), next to the hand BPTT and independent finite differences.",
                options=(Options(LSTMConfig, skip=("B", "D", "H")), Options(LSTMOptions, only=("step",))))
    add_command(cmds, "gradcheck", _run_lstm_gradcheck, help="BPTT against finite differences",
                description="Central finite differences (float64) on every entry of W_x, W_h, b, x, h(0), c(0), "
                "and <t, J^T c> against <J t, c> for random directions at sizes times --direction-scale.",
                options=(GradcheckConfig, Options(LSTMOptions, only=("path",))))
    add_command(cmds, "bench", _run_lstm_bench, help="forward+backward time (vs torch.nn.LSTM)",
                description="Median seconds of forward+backward over --repeat runs, interleaved with the same "
                "matrix products alone (ratio_to_gemm_floor) and, with PyTorch installed, torch.nn.LSTM on the "
                "same weights (ratio).", options=(BenchConfig,))
