"""``python -m core mdrnn sensitivity`` and ``warp-test``: seed problem 5 from a shell.

Registered into the ``mdrnn`` topic by ``core/cli/mdrnn.py`` (:func:`add_commands`), kept in a
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
from dataclasses import dataclass
from typing import Any

from core.cli.common import StderrProgress, add_command, backend_from, emit
from core.config import Config, Options, RunConfig, from_namespace, param
from core.grid import context, warptest


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
    backend = backend_from(args)
    report = context.sensitivity_report(cfg, backend, seed=args.seed)
    sweep = context.forget_bias_sweep(cfg, backend, seed=args.seed)
    models = {}
    for key, m in report["models"].items():
        keep = {k: v for k, v in m.items() if k not in ("context", "map")}
        if args.maps:
            keep["map"] = m["map"]
        models[key] = keep
    # the sweep fits at the same output cell, so where a fit is impossible it is for the same reason
    no_fit = next((v["decay_per_step_note"] for v in report["decay"].values() if v["decay_per_step_note"]), "")
    result = {"G": cfg.G, "i_star": cfg.i_star, "j_star": cfg.j_star, "models": models,
              "decay_per_step": {k: v["decay_per_step"] for k, v in report["decay"].items()},
              "decay_per_step_note": no_fit,
              "decay_profiles": {k: v["profile"] for k, v in report["decay"].items()},
              "cell_state_max": report["cell_state_max"], "forget_bias_sweep": sweep, "forget_bias_sweep_note": no_fit,
              "summary": context.sensitivity_summary(report, sweep, cfg.forget_bias)}
    return _emit_with_summary(result, args)


def _run_warp_test(args: argparse.Namespace) -> int:
    cfg = from_namespace(warptest.WarpTestConfig, args)
    backend = backend_from(args)
    result = warptest.warp_test(cfg, backend, seed=args.seed, dtype=args.precision,
                                  progress=StderrProgress(args.quiet))
    for message in result["diverged"]:
        print(f"warning: {message}", file=sys.stderr)
    result["summary"] = warptest.warp_summary(result)
    return _emit_with_summary(result, args)


def add_commands(cmds: argparse._SubParsersAction) -> None:
    """Add ``sensitivity`` and ``warp-test`` to the ``mdrnn`` topic's commands."""
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
