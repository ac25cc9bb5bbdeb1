"""Shown against real time: the three longest jobs a page runs, and a long run of the smallest problem.

The pages show an estimate before long work ("about 14 s") and refuse work over the budget by
the same estimate; both come from the estimators in core, scaled by the calibration of
``core.timing.speed``. This script runs each job as its page does and prints the estimate, the
wall time and their ratio (target: within 1.5x either way). It measures, so it is a script and
not a test:

    .venv/bin/python -m tests.check_estimates [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from core import timing
from core.backend import select_backend
from core.grid import claims, sweep, warptest
from core.training import hypergrad, momentum, roundtrip


def jobs() -> dict[str, tuple[float, object]]:
    """name: (the shown estimate, the job as the page runs it)."""
    numpy = select_backend("numpy")
    warp_cfg = warptest.WarpTestConfig()  # the warping test's defaults
    sweep_cfg = sweep.SweepConfig(axes="G,H,D", G_max=256, H_max=256, D_max=128)  # the largest the page offers
    train = momentum.TrainConfig(objective="digits", steps=2000)  # the momentum page with the digits
    hg_cfg = hypergrad.HypergradConfig(**{**train.as_dict(), "steps": min(train.steps, 500), "mode": "exact",
                                          "fd_points": 6})  # the page's Hypergradients tab
    page_2d = momentum.TrainConfig(steps=30_000)  # the momentum page's 2-D picture, exact, many steps
    return {
        "round trip, D = 2": (roundtrip.roundtrip_seconds(page_2d),
                              lambda: roundtrip.roundtrip(page_2d, numpy, seed=0)),
        "warping test (training)": (warptest.warp_test_seconds(warp_cfg),
                                    lambda: claims.warp_study(warp_cfg, numpy, seed=0, dtype="float64")),
        "largest sweep": (sweep.sweep_seconds(sweep_cfg),
                          lambda: sweep.sweep(sweep_cfg, numpy, precision="float64", seed=0)),
        "hypergradients": (hypergrad.hypergrad_seconds(hg_cfg),
                           lambda: hypergrad.hypergradients(hg_cfg, numpy, seed=0)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    speed = timing.speed()
    rows = []
    for name, (shown, run) in jobs().items():
        start = time.perf_counter()
        run()
        real = time.perf_counter() - start
        rows.append({"job": name, "shown_seconds": round(shown, 2), "real_seconds": round(real, 2),
                     "real_over_shown": round(real / shown, 2)})
    if args.json:
        print(json.dumps({"speed": speed.summary(), "jobs": rows}, indent=1))
    else:
        print(f"calibration: {speed.summary()}")
        for r in rows:
            print(f"{r['job']:<26} shown {r['shown_seconds']:7.2f} s   real {r['real_seconds']:7.2f} s   "
                  f"real / shown {r['real_over_shown']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
