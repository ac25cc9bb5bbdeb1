"""``python -m core mdrnn sensitivity`` and ``warp-test``: seed problem 5 from a shell.

Registered into the ``mdrnn`` topic by ``core/cli/mdrnn.py`` (:func:`add_commands`), kept in a
module of its own:

* ``sensitivity`` |d h(i*, j*) / d x(i, j)| maps of the tanh MDRNN, the MDLSTM (one and four
                  directions) and the conv net, their contexts, the decay with distance, and
                  the decay of the MDLSTM cells against their forget-gate bias;
* ``warp-test``   train the grid RNNs and a conv net of similar size on 8x8 digits, then
                  accuracy on test digits warped by shear, rotation and elastic distortion;
* ``depth``       forward time of the tanh MDRNN and the conv net against G.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from core.cli.common import StderrProgress, add_command, backend_from, emit
from core.config import Config, Options, RunConfig, from_namespace, param
from core.grid import claims, context, depth, warptest


@dataclass(frozen=True)
class SensitivityOptions(Config):
    """What ``mdrnn sensitivity`` prints, beside its config."""

    maps: bool = param(True, label="Maps", help="print the G x G maps (--no-maps leaves them out)")


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


def _run_sensitivity(args: argparse.Namespace) -> int:
    cfg = from_namespace(context.SensitivityConfig, args)
    study = claims.sensitivity_study(cfg, backend_from(args), seed=args.seed)
    report = study.report
    # every field but the context mask (the map shows it), the map where asked, a window where there is one
    models = {key: {k: v for k, v in vars(m).items()
                    if k != "context" and (k != "map" or args.maps) and (k != "window" or v is not None)}
              for key, m in report.models.items()}
    result = {"G": cfg.G, "i_star": cfg.i_star, "j_star": cfg.j_star, "models": models,
              "decay_per_step": {k: v.mean for k, v in report.decay.items()}, "decay": report.decay,
              "against_tanh": report.against_tanh, "cell_state_max": report.cell_state_max,
              "forget_bias_sweep": study.sweep, "summary": study.summary}
    return _emit_with_summary(result, args)


def _run_depth(args: argparse.Namespace) -> int:
    t = depth.depth_timing(backend_from(args), D=args.D, H=args.H, L=args.L, k=args.k, seed=args.seed)
    return _emit_with_summary({**vars(t), "summary": [claims.depth_summary(t)]}, args)


def _run_warp_test(args: argparse.Namespace) -> int:
    cfg = from_namespace(warptest.WarpTestConfig, args)
    study = claims.warp_study(cfg, backend_from(args), seed=args.seed, dtype=args.precision,
                              progress=StderrProgress(args.quiet))
    for message in study.result.diverged:
        print(f"warning: {message}", file=sys.stderr)
    result = {k: v for k, v in vars(study.result).items() if k != "correct"}  # digit by digit: too long to print
    return _emit_with_summary({**result, "summary": study.summary}, args)


def add_commands(cmds: argparse._SubParsersAction) -> None:
    """Add ``sensitivity``, ``warp-test`` and ``depth`` to the ``mdrnn`` topic's commands."""
    add_command(cmds, "sensitivity", _run_sensitivity, help="context and sensitivity maps (seed problem 5)",
                description="Sensitivity S(i, j) = ||d h(i*, j*) / d x(i, j)|| of one output cell, from the "
                "backward passes, for the tanh MDRNN, the MDLSTM (one and four directions) and the conv net, on "
                "random weights and a random input: the maps, whether each is non-zero exactly on the model's "
                "context, the largest S at each distance and its fitted factor per step, and the MDLSTM's factor "
                "against its forget-gate bias.", options=(context.SensitivityConfig, SensitivityOptions))
    add_command(cmds, "warp-test", _run_warp_test, help="train on 8x8 digits, test on warped digits",
                description="Train a tanh MDRNN, an MDLSTM and a conv net of similar parameter count on "
                "scikit-learn's 8x8 digits (Adam, our own backward passes), then print the accuracy of each on the "
                "held-out digits warped by shear, rotation and elastic distortion at each strength, and what that "
                "says about the seed's claim. Progress goes to stderr.",
                options=(warptest.WarpTestConfig, Options(RunConfig, only=("precision",))))
    add_command(cmds, "depth", _run_depth, help="forward time against G: sequential steps or arithmetic",
                description="Time the forward pass of the one-direction tanh MDRNN (2G - 1 sequential steps) "
                f"and the conv net (L steps) on one G x G input for G in {', '.join(map(str, depth.SIZES))}, "
                "interleaved, with one BLAS thread; print the seconds, the steps, the fitted log-log slope of "
                "time against G, and what that says of the grid RNN's sequential steps.",
                options=(Options(context.SensitivityConfig, only=("D", "H", "L", "k")),))
