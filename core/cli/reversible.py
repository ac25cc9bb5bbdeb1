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

from core.cli.common import StderrProgress, backend_from, emit, run_options
from core.config import add_arguments, from_namespace
from core.limits import ConfigError
from core.training.bench import benchmark
from core.training.hypergrad import HypergradConfig, hypergradients
from core.training.jacobian import JacobianConfig, PhaseConfig, jacobian_report, phase_polygon
from core.training.momentum import TrainConfig, inverse_order_check
from core.training.roundtrip import roundtrip


def run(args: argparse.Namespace) -> int:
    cfg = from_namespace(TrainConfig, args)
    backend = backend_from(args)
    res = roundtrip(cfg, backend, seed=args.seed, progress=StderrProgress(args.quiet))
    out = res.summary()
    if args.errors:
        out["error_steps"], out["error"] = res.ks.tolist(), res.error.tolist()
    if res.finite_steps < res.steps and not args.quiet:
        print(f"note: the {cfg.mode} inverse overflowed after undoing {res.finite_steps} of "
              f"{res.steps} steps; max_abs_error is the largest finite error", file=sys.stderr)
    return emit({**out, "backend": backend.name}, args)


def order(args: argparse.Namespace) -> int:
    if not 0 <= args.at <= 10_000:
        raise ConfigError(f"--at {args.at} is out of range: choose 0 to 10000")
    cfg = from_namespace(TrainConfig, args)
    return emit(inverse_order_check(cfg, backend_from(args), seed=args.seed, at=args.at), args)


def jacobian(args: argparse.Namespace) -> int:
    cfg = from_namespace(JacobianConfig, args)
    return emit(jacobian_report(cfg, backend_from(args), seed=args.seed), args)


def phase(args: argparse.Namespace) -> int:
    res = phase_polygon(from_namespace(PhaseConfig, args), backend_from(args))
    return emit({"det": res.det, "max_ratio_error": res.max_ratio_error, "area": res.area,
                 "area_ratio": res.area_ratio, "beta_pow_k": res.beta_pow_k}, args)


def hypergrad(args: argparse.Namespace) -> int:
    cfg = from_namespace(HypergradConfig, args, mode="exact")
    res = hypergradients(cfg, backend_from(args), seed=args.seed, progress=StderrProgress(args.quiet))
    return emit(res.summary(), args)


def bench(args: argparse.Namespace) -> int:
    if not 1 <= args.repeat <= 50:
        raise ConfigError(f"--repeat {args.repeat} is out of range: choose 1 to 50")
    cfg = from_namespace(TrainConfig, args)
    backend = backend_from(args)
    out = benchmark(cfg, backend, seed=args.seed, repeat=args.repeat, progress=StderrProgress(args.quiet))
    return emit({**vars(out), "backend": backend.name, "device": backend.device()["summary"]}, args)


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("reversible", help="momentum SGD forward, exactly inverted, hypergradients",
                         description=__doc__.split("\n\n")[1])
    cmds = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = cmds.add_parser("run", parents=[run_options()], help="train forward, undo, measure the error",
                        description="Train K steps, undo them, and report the reconstruction error "
                        "(max_abs_error: 0 in exact mode, the drift in float mode), the buffer's bits "
                        "against the bound, and the time of each pass.")
    add_arguments(p, TrainConfig)
    p.add_argument("--errors", action="store_true", help="also print the error at every compared step")
    p.set_defaults(func=run)

    p = cmds.add_parser("order", parents=[run_options()], help="the inverse step in the seed's order",
                        description="One inverse step (eqs (13)-(14)) with theta(k) recovered first, "
                        "and in the seed's order, where (13) can only use grad J(theta(k+1)).")
    add_arguments(p, TrainConfig, skip=("mode", "fraction_bits"))
    p.add_argument("--at", type=int, default=10, help="undo step k = AT (after AT forward steps), 0 to 10000")
    p.set_defaults(func=order)

    p = cmds.add_parser("jacobian", parents=[run_options()], help="one-step Jacobian, det vs beta^D",
                        description="The Jacobian of one step from Hessian-vector products and by "
                        "finite differences, its determinant against beta^D, and the seed's blocks.")
    add_arguments(p, JacobianConfig)
    p.set_defaults(func=jacobian)

    p = cmds.add_parser("phase", parents=[run_options()], help="area of a polygon of states (D = 1)",
                        description="Push a polygon of (p, theta) states of J = lam theta^2 / 2 "
                        "forward; its area shrinks by det = beta per step.")
    add_arguments(p, PhaseConfig)
    p.set_defaults(func=phase)

    p = cmds.add_parser("hypergrad", parents=[run_options()],
                        help="d(validation loss)/d(alpha, beta, theta0)",
                        description="Reverse-mode hypergradients through training on the exact "
                        "reverse pass, checked against central finite differences.")
    add_arguments(p, HypergradConfig, skip=("mode",))
    p.set_defaults(func=hypergrad)

    p = cmds.add_parser("bench", parents=[run_options()], help="exact vs float64 forward+reverse time",
                        description="Median wall time of exact and float64 forward+reverse on the "
                        "same problem (alternated, so machine noise hits both), and their ratio.")
    add_arguments(p, TrainConfig, skip=("mode",))
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions of each mode (median), 1 to 50")
    p.set_defaults(func=bench, D=10_000, steps=200)  # quick by default; target: --D 100000 --steps 1000
