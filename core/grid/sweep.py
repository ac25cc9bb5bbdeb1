"""How the grid RNN's cost grows: both schedules timed on square grids while G, H and D double
in turn (``mdrnn sweep``, the page's *Scaling* tab), with fitted log-log slopes of time, counted
multiply-adds and steps against each size, next to the slopes of the seed's model and the
exact count over the same points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from core.backend import Backend
from core.config import Config, param
from core.grid import cost, mdrnn
from core.grid.bench import CostConfig, measure
from core.grid.mdrnn import GridConfig
from core.limits import ProgressFn, no_progress, optional, require_memory, require_time


@dataclass(frozen=True)
class SweepConfig(Config):
    """Square grids of growing size: G doubles up to G_max (at H), H doubles up to H_max (at G),
    D doubles up to D_max (at G and H)."""

    cli_topic: ClassVar[str] = "mdrnn sweep"
    cli_run_options: ClassVar[tuple[str, ...]] = ("backend", "precision", "seed")
    axes: str = param("G,H", choices=("G", "G,H", "G,H,D"), label="Sweep over",
                      help="which sizes to vary, one at a time")
    G_max: int = param(32, choices=(8, 16, 32, 64, 128, 256), label="largest G",
                       help="G runs 4, 8, ... up to this")  # 32: the default view stays fast
    H_max: int = param(64, choices=(8, 16, 32, 64, 128, 256), label="largest H",
                       help="H runs 4, 8, ... up to this")
    D_max: int = param(32, choices=(4, 8, 16, 32, 64, 128), label="largest D",
                       help="D runs 1, 2, 4, ... up to this")
    G: int = param(16, 2, 256, label="G while H or D varies", advanced=True)
    H: int = param(32, 1, 512, label="H while G or D varies", advanced=True)
    D: int = param(3, 1, 256, label="D while G or H varies", advanced=True)
    B: int = param(1, 1, 64, label="B (batch)", advanced=True)
    repeat: int = param(3, 1, 25, label="repeats per point", help="the median is reported", advanced=True)

    def points(self) -> list[dict[str, Any]]:
        """The sweep's (axis, G, H, D) points in the order they run."""

        def doubling(lo: int, hi: int) -> list[int]:
            return [v for v in (2**k for k in range(12)) if lo <= v <= hi]

        pts: list[dict[str, Any]] = []
        for axis in self.axes.split(","):
            if axis == "G":
                pts += [dict(axis="G", G=g, H=self.H, D=self.D) for g in doubling(4, self.G_max)]
            elif axis == "H":
                pts += [dict(axis="H", G=self.G, H=h, D=self.D) for h in doubling(4, self.H_max)]
            else:
                pts += [dict(axis="D", G=self.G, H=self.H, D=d) for d in doubling(1, self.D_max)]
        return pts

    def check(self) -> None:
        need = max(cost.measure_bytes_estimate(p["G"], p["G"], p["D"], p["H"], self.B) for p in self.points())
        require_memory(need, f"the largest grid of this sweep (B={self.B}, float64)")


def sweep_seconds(cfg: SweepConfig) -> float:
    """Rough wall time of a sweep: a warm-up and ``repeat`` runs of both schedules at every point."""
    return sum((cfg.repeat + 1) * sum(cost.forward_seconds(p["G"], p["G"], p["D"], p["H"], cfg.B, s)
                                      for s in mdrnn.SCHEDULES) for p in cfg.points())


@dataclass(frozen=True)
class SweepPoint:
    axis: str
    G: int
    H: int
    D: int
    B: int
    schedule: str
    seconds: float
    steps: int
    macs: int
    macs_model_exact: int
    macs_model_seed: int
    speedup: float = optional("speedup_note")  # raster over wavefront, through timing.compare
    speedup_note: str = ""


@dataclass(frozen=True)
class Sweep:
    rows: list[SweepPoint]
    slopes: dict[str, AxisFit]  # per varied size
    config: dict[str, Any]

    def table(self, axis: str | None = None) -> list[dict[str, Any]]:
        """The rows (of one axis) as plain dicts, for tables and downloads."""
        return [vars(r) for r in self.rows if axis is None or r.axis == axis]


def sweep(cfg: SweepConfig, backend: Backend, *, precision: str = "float64", seed: int = 0,
          progress: ProgressFn = no_progress, budget_seconds: float | None = None) -> Sweep:
    """Both schedules at every point of ``cfg``; rows of measurements and fitted slopes."""
    if budget_seconds is not None:
        require_time(sweep_seconds(cfg), "this sweep", budget_seconds, hint="choose smaller sizes or fewer repeats")
    rows: list[SweepPoint] = []
    points = cfg.points()
    for k, p in enumerate(points):
        progress(k / len(points), f"{p['axis']} sweep: G={p['G']}, H={p['H']}, D={p['D']}")
        grid = GridConfig(Gr=p["G"], Gc=p["G"], D=p["D"], H=p["H"], B=cfg.B)
        m = measure(grid, backend, timing_cfg=CostConfig(repeat=cfg.repeat, max_seconds=2.0), precision=precision,
                    seed=seed, fused=False)
        for s, r in m.schedules.items():
            rows.append(SweepPoint(**p, B=cfg.B, schedule=s, seconds=r.seconds, steps=r.steps, macs=r.macs,
                                   macs_model_exact=m.macs_model_exact, macs_model_seed=m.macs_model_seed,
                                   speedup=m.speedup_wavefront_over_raster, speedup_note=m.speedup_note))
    progress(1.0, "done")
    return Sweep(rows=rows, slopes=slopes(rows),
                 config={**cfg.as_dict(), "precision": precision, "backend": backend.name})


@dataclass(frozen=True)
class Slopes:
    """Fitted log-log slopes of one schedule's seconds, counted multiply-adds and steps."""

    time: float
    macs: float
    steps: float


@dataclass(frozen=True)
class AxisFit:
    """The slopes against one varied size: both schedules, and both models over the same points."""

    raster: Slopes
    wavefront: Slopes
    model_exact: float
    model_seed: float

    def of(self, schedule: str) -> Slopes:
        return {"raster": self.raster, "wavefront": self.wavefront}[schedule]


def slopes(rows: list[SweepPoint]) -> dict[str, AxisFit]:
    """Fitted log-log slopes, per axis and schedule, of seconds and counted multiply-adds
    against the varied size; and the slopes of the two models over the same points."""
    out: dict[str, AxisFit] = {}
    for axis in dict.fromkeys(r.axis for r in rows):
        sub = [r for r in rows if r.axis == axis]
        first = [r for r in sub if r.schedule == "raster"]
        xs = [getattr(r, axis) for r in first]
        out[axis] = AxisFit(raster=_fit(sub, axis, "raster"), wavefront=_fit(sub, axis, "wavefront"),
                            model_exact=cost.loglog_slope(xs, [r.macs_model_exact for r in first]),
                            model_seed=cost.loglog_slope(xs, [r.macs_model_seed for r in first]))
    return out


def _fit(rows: list[SweepPoint], axis: str, schedule: str) -> Slopes:
    pts = [r for r in rows if r.schedule == schedule]
    xs = [getattr(r, axis) for r in pts]
    return Slopes(time=cost.loglog_slope(xs, [r.seconds for r in pts]),
                  macs=cost.loglog_slope(xs, [r.macs for r in pts]),
                  steps=cost.loglog_slope(xs, [r.steps for r in pts]))
