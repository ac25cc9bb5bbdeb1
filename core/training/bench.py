"""Exact against floating-point momentum SGD, timed (``reversible bench``).

Forward and back on the same problem in float64 and in exact arithmetic, timed by the shared
interleaved timer (``core.timing``) after one untimed round (first calls and cold caches fall on
no sample), so that a noisy machine slows both alike, with BLAS held to one thread for both: its
idle threads spin after each dot product and, on a small shared machine, steal the core the
loop runs on. Every ratio goes through ``timing.compare``, in wall and in CPU time: a side too
short or too noisy to divide gives nan and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core import timing
from core.backend import Backend, blas_threads
from core.limits import ProgressFn, no_progress, optional
from core.training.momentum import TrainConfig
from core.training.roundtrip import roundtrip


@dataclass(frozen=True)
class ExactBench:
    D: int
    steps: int
    objective: str
    repeat: int
    seconds_float64_forward_reverse: float  # medians of whole round trips
    seconds_exact_forward_reverse: float
    ratio_exact_over_float64: float = optional("ratio_note")  # nan where the timings cannot be divided
    ratio_note: str = ""
    ratio_of_best_times: float = optional("ratio_note", math.nan)  # given only beside a trusted median ratio
    ratio_of_median_cpu_times: float = optional("cpu_ratio_note", math.nan)  # process CPU time, through compare too
    cpu_ratio_note: str = ""
    times_float64: tuple[float, ...] = ()
    times_exact: tuple[float, ...] = ()
    cpu_times_float64: tuple[float, ...] = ()
    cpu_times_exact: tuple[float, ...] = ()
    exact_bit_exact: bool = False  # every exact run came home bit for bit
    backend: str = ""
    device: str = ""


def benchmark(cfg: TrainConfig, backend: Backend, *, seed: int = 0, repeat: int = 3,
              max_seconds: float | None = None, progress: ProgressFn = no_progress) -> ExactBench:
    """Median wall (and CPU) times of float64 and exact forward+reverse, and their ratio."""
    exact_ok: list[bool] = []

    def run(mode: str) -> Any:
        res = roundtrip(cfg.replace(mode=mode), backend, seed=seed, snapshots=False)
        if mode == "exact":
            exact_ok.append(res.bit_exact)
        return res

    with blas_threads(1):
        t = timing.interleaved({"float64": lambda: run("float64"), "exact": lambda: run("exact")},
                               repeat=repeat, warmup=1, max_seconds=max_seconds, sync=backend.sync,
                               progress=progress)
    ratio = timing.compare(t["exact"], t["float64"], "exact over float64")
    cpu = timing.compare(timing.Timing(t["exact"].cpu_seconds), timing.Timing(t["float64"].cpu_seconds),
                         "exact over float64 in CPU time")
    return ExactBench(D=cfg.size, steps=cfg.steps, objective=cfg.objective, repeat=repeat,
                      seconds_float64_forward_reverse=t["float64"].median,
                      seconds_exact_forward_reverse=t["exact"].median,
                      ratio_exact_over_float64=ratio.value, ratio_note=ratio.reason,
                      ratio_of_best_times=t["exact"].best / t["float64"].best if ratio.ok else math.nan,
                      ratio_of_median_cpu_times=cpu.value, cpu_ratio_note=cpu.reason,
                      times_float64=t["float64"].seconds, times_exact=t["exact"].seconds,
                      cpu_times_float64=t["float64"].cpu_seconds, cpu_times_exact=t["exact"].cpu_seconds,
                      exact_bit_exact=all(exact_ok), backend=backend.name, device=backend.device()["summary"])
