"""``python -m core mdrnn sensitivity`` and ``warp-test``: seed problem 5 from a shell.

Registered into the ``mdrnn`` topic by ``core/cli/mdrnn.py`` (its ``COMMANDS``), kept in a
module of its own:

* ``sensitivity`` |d h(i*, j*) / d x(i, j)| maps of the tanh MDRNN, the MDLSTM (one and four
                  directions) and the conv net, their contexts, the decay with distance, and
                  the decay of the MDLSTM cells against their forget-gate bias;
* ``warp-test``   train the grid RNNs and a conv net of similar size on 8x8 digits, then
                  accuracy on test digits warped by shear, rotation and elastic distortion.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from core.cli.common import StderrProgress, backend_from, emit, run_options
from core.config import add_arguments, from_namespace
from core.grid import claims, context, warptest


def _emit_with_summary(result: dict[str, Any], args: argparse.Namespace) -> int:
    """JSON keeps ``summary`` as a list; the text view prints its sentences one per line."""
    if args.json:
        return emit(result, args)
    summary = result.pop("summary")
    emit(result, args)
    print("summary:")
    for line in summary:
        print(f"  - {line}")
    return 0


def _add_sensitivity(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "sensitivity", parents=[run_options()], help="context and sensitivity maps (seed problem 5)",
        description="Sensitivity S(i, j) = ||d h(i*, j*) / d x(i, j)|| of one output cell, from the "
        "backward passes, for the tanh MDRNN, the MDLSTM (one and four directions) and the conv net, "
        "on random weights and a random input: the maps, whether each is non-zero exactly on the "
        "model's context, the largest S at each distance and its fitted factor per step, and the "
        "MDLSTM's factor against its forget-gate bias.")
    add_arguments(p, context.SensitivityConfig)
    p.add_argument("--no-maps", action="store_true", help="leave the G x G maps out of the output")
    p.set_defaults(func=_run_sensitivity)


def _run_sensitivity(args: argparse.Namespace) -> int:
    cfg = from_namespace(context.SensitivityConfig, args)
    study = claims.sensitivity_study(cfg, backend_from(args), seed=args.seed)
    report = study.report
    models = {key: {k: v for k, v in vars(m).items() if k != "context" and (k != "map" or not args.no_maps)}
              for key, m in report.models.items()}
    result = {"G": cfg.G, "i_star": cfg.i_star, "j_star": cfg.j_star, "models": models,
              "decay_per_step": {k: v.mean for k, v in report.decay.items()}, "decay": report.decay,
              "against_tanh": report.against_tanh, "cell_state_max": report.cell_state_max,
              "forget_bias_sweep": study.sweep, "summary": study.summary}
    return _emit_with_summary(result, args)


def _add_warp_test(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "warp-test", parents=[run_options()], help="train on 8x8 digits, test on warped digits",
        description="Train a tanh MDRNN, an MDLSTM and a conv net of similar parameter count on "
        "scikit-learn's 8x8 digits (Adam, our own backward passes), then print the accuracy of "
        "each on the held-out digits warped by shear, rotation and elastic distortion at each "
        "strength, and what that says about the seed's claim. Progress goes to stderr.")
    add_arguments(p, warptest.WarpTestConfig)
    p.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="floating-point format of the arrays (default float64)")
    p.set_defaults(func=_run_warp_test)


def _run_warp_test(args: argparse.Namespace) -> int:
    cfg = from_namespace(warptest.WarpTestConfig, args)
    study = claims.warp_study(cfg, backend_from(args), seed=args.seed, dtype=args.precision,
                              progress=StderrProgress(args.quiet))
    for message in study.result.diverged:
        print(f"warning: {message}", file=sys.stderr)
    result = {k: v for k, v in vars(study.result).items() if k != "correct"}  # digit by digit: too long to print
    return _emit_with_summary({**result, "summary": study.summary}, args)


# One adder per command; core/cli/mdrnn.py appends these to its COMMANDS.
COMMANDS: tuple[Callable[[argparse._SubParsersAction], Any], ...] = (_add_sensitivity, _add_warp_test)
