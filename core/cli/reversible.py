"""``python -m core reversible ...``: momentum SGD run forward and undone (seed problems 6, 7).

Commands: ``run`` (forward, inverse, reconstruction error, buffer bits, timings), ``order``
(the inverse step in the seed's order and in the order that works), ``jacobian`` (one-step
Jacobian and its determinant against beta^D, seed eqs (26)-(30)), ``phase`` (area of a
polygon of states for D = 1), ``hypergrad`` (gradients of the validation loss through
training, checked by finite differences) and ``bench`` (exact against float64 time).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from core.cli.common import StderrProgress, add_command, add_topic, backend_from, emit
from core.config import Config, Options, from_namespace, param
from core.training.bench import benchmark
from core.training.hypergrad import HypergradConfig, hypergradients
from core.training.jacobian import JacobianConfig, PhaseConfig, jacobian_report, phase_polygon
from core.training.momentum import TrainConfig, inverse_order_check
from core.training.roundtrip import roundtrip


@dataclass(frozen=True)
class ReversibleOptions(Config):
    """The momentum commands' own options, beside the configs of ``core.training``."""

    errors: bool = param(False, label="Every error", help="also print the error at every compared step")
    at: int = param(10, 0, 10_000, label="step k undone", help="undo step k = AT (after AT forward steps)")
    repeat: int = param(3, 1, 50, label="Timed repeats", help="timed repetitions of each mode (median)")
    max_seconds: float = param(600.0, 1.0, 3600.0, label="Time limit (s)",
                               help="no new round of repeats starts once the timed rounds took this long")


def _run_roundtrip(args: argparse.Namespace) -> int:
    cfg = from_namespace(TrainConfig, args)
    backend = backend_from(args)
    res = roundtrip(cfg, backend, seed=args.seed, progress=StderrProgress(args.quiet))
    precision = cfg.exact_precision()
    out = {**res.summary(), **(precision.as_dict() if precision else {})}
    if args.errors:
        out["error_steps"], out["error"] = res.ks.tolist(), res.error.tolist()
        out["error_note"] = out["error_at_step_0_note"]  # inf (null) where the inverse overflowed
    if res.finite_steps < res.steps and not args.quiet:
        print(f"note: the {cfg.mode} inverse overflowed after undoing {res.finite_steps} of "
              f"{res.steps} steps; max_abs_error is the largest finite error", file=sys.stderr)
    if precision and precision.exact_warning:
        print(f"warning: {precision.exact_warning}", file=sys.stderr)
    return emit({**out, "backend": backend.name}, args)


def _run_order(args: argparse.Namespace) -> int:
    cfg = from_namespace(TrainConfig, args)
    return emit(inverse_order_check(cfg, backend_from(args), seed=args.seed, at=args.at), args)


def _run_jacobian(args: argparse.Namespace) -> int:
    cfg = from_namespace(JacobianConfig, args)
    return emit(jacobian_report(cfg, backend_from(args), seed=args.seed), args)


def _run_phase(args: argparse.Namespace) -> int:
    res = phase_polygon(from_namespace(PhaseConfig, args), backend_from(args))
    return emit({"det": res.det, "max_ratio_error": res.max_ratio_error, "area": res.area,
                 "area_ratio": res.area_ratio, "beta_pow_k": res.beta_pow_k}, args)


def _run_hypergrad(args: argparse.Namespace) -> int:
    cfg = from_namespace(HypergradConfig, args, mode="exact")
    res = hypergradients(cfg, backend_from(args), seed=args.seed, progress=StderrProgress(args.quiet))
    return emit(res.summary(), args)


def _run_reversible_bench(args: argparse.Namespace) -> int:
    cfg = from_namespace(TrainConfig, args)
    backend = backend_from(args)
    out = benchmark(cfg, backend, seed=args.seed, repeat=args.repeat, max_seconds=args.max_seconds,
                    progress=StderrProgress(args.quiet))
    return emit(out, args)


def register(sub: argparse._SubParsersAction) -> None:
    cmds = add_topic(sub, "reversible", help="momentum SGD forward, exactly inverted, hypergradients",
                     description=__doc__.split("\n\n")[1])
    add_command(cmds, "run", _run_roundtrip, help="train forward, undo, measure the error",
                description="Train K steps, undo them, and report the reconstruction error (max_abs_error: 0 in "
                "exact mode, the drift in float mode), the distance of the trained path from float64 training of "
                "the same schedule, the buffer's bits against the bound, and the time of each pass.",
                options=(TrainConfig, Options(ReversibleOptions, only=("errors",))))
    add_command(cmds, "order", _run_order, help="the inverse step in the seed's order",
                description="One inverse step (eqs (13)-(14)) with theta(k) recovered first, and in the seed's "
                "order, where (13) can only use grad J(theta(k+1)).",
                options=(Options(TrainConfig, skip=("mode", "fraction_bits")),
                         Options(ReversibleOptions, only=("at",))))
    add_command(cmds, "jacobian", _run_jacobian, help="one-step Jacobian, det vs beta^D",
                description="The Jacobian of one step from Hessian-vector products and by finite differences, its "
                "determinant against beta^D, and the seed's blocks.", options=(JacobianConfig,))
    add_command(cmds, "phase", _run_phase, help="area of a polygon of states (D = 1)",
                description="Push a polygon of (p, theta) states of J = lam theta^2 / 2 forward; its area shrinks "
                "by det = beta per step.", options=(PhaseConfig,))
    add_command(cmds, "hypergrad", _run_hypergrad, help="d(validation loss)/d(alpha, beta, theta0)",
                description="Reverse-mode hypergradients through training on the exact reverse pass, checked "
                "against central finite differences.", options=(Options(HypergradConfig, skip=("mode",)),))
    add_command(cmds, "bench", _run_reversible_bench, help="exact vs float64 forward+reverse time",
                description="Median wall time of exact and float64 forward+reverse on the same problem "
                "(alternated, so machine noise hits both), and their ratio.",
                options=(Options(TrainConfig, skip=("mode",)),
                         Options(ReversibleOptions, only=("repeat", "max_seconds"))),
                defaults=dict(D=10_000, steps=200))  # quick by default; target: --D 100000 --steps 1000
