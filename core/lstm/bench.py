"""The LSTM's forward+backward timed: against its own matrix products alone, and against
``torch.nn.LSTM`` on the same weights when PyTorch happens to be installed (it is never
required). Everything is timed by one interleaved timer (:mod:`core.timing`), so background
load falls on all runners alike.

Two ratios say how good the sweep is: ``ratio_to_gemm_floor`` (ours over the products any
LSTM must run, on the same BLAS: what the sweep adds beside them) and ``ratio`` (ours over
PyTorch's whole pass). Ours holds its buffers across the repeats in a workspace, as the
products alone hold their outputs; ``seconds_fresh_buffers`` times the same pass allocating
every buffer anew, as a single call does.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import timing
from core.backend import Backend, blas_threads, inplace_module, synchronize, to_numpy
from core.config import Config, param
from core.limits import ProgressFn, no_progress, optional
from core.lstm.experiments import Problem, check_sizes, make_problem
from core.lstm.model import GATES, lstm_backward, lstm_flops, lstm_forward
from core.lstm.sweep import Workspace


@dataclass(frozen=True)
class BenchConfig(Config):
    cli_topic = "lstm bench"
    T: int = param(100, 1, 5000, label="T (time steps)")  # the large size; lecture: 50, 16, 8, 32
    B: int = param(32, 1, 2048, label="B (batch)")
    D: int = param(32, 1, 4096, label="D (input size)")
    H: int = param(128, 1, 4096, label="H (hidden units)")
    dtype: str = param("float32", choices=("float32", "float64"), label="dtype")
    repeat: int = param(30, 1, 1000, label="Timed repeats", help="the median of these is reported")
    torch: bool = param(True, label="Compare with torch.nn.LSTM", help="when PyTorch is installed")
    gemm_floor: bool = param(True, label="Time the products alone",
                             help="also time the matrix products any LSTM must run, on each library")
    threads: int = param(0, 0, 256, label="CPU threads",
                         help="0 keeps each library's default; n limits BLAS and PyTorch to n threads each")
    max_seconds: float = param(120.0, 1.0, 3600.0, label="Time limit (s)",
                               help="no new round of repeats starts once the timed rounds took this long")

    def check(self) -> None:
        check_sizes(self.T, self.B, self.D, self.H, self.dtype)


def gemm_shapes(T: int, B: int, D: int, H: int) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
    """The matrix products every LSTM forward+backward runs, whatever else it does: (a, b, count).

    Per step, the recurrent product forward (4H x H by H x B) and its adjoint backward
    (H x 4H by 4H x B); once per sequence, the input projection of all steps, the weight
    gradients of W_x and W_h, and the adjoint of x. Their flops are :func:`lstm_flops`."""
    return [((4 * H, H), (H, B), T), ((H, 4 * H), (4 * H, B), T), ((T * B, D), (D, 4 * H), 1),
            ((H, T * B), (T * B, 4 * H), 1), ((D, T * B), (T * B, 4 * H), 1), ((T * B, 4 * H), (4 * H, D), 1)]


def gemm_runner(cfg: BenchConfig, seed: int, asarray: Callable[[np.ndarray], Any],
                matmul: Callable[[Any, Any, Any], Any]) -> Callable[[], None]:
    """A closure running the products of :func:`gemm_shapes` with ``matmul(a, b, out)``."""
    rng = np.random.default_rng(seed + 5)
    work = []
    for sa, sb, count in gemm_shapes(cfg.T, cfg.B, cfg.D, cfg.H):
        a, b = (asarray(rng.standard_normal(s).astype(cfg.dtype)) for s in (sa, sb))
        work.append((a, b, asarray(np.empty((sa[0], sb[1]), dtype=cfg.dtype)), count))

    def run() -> None:
        for a, b, out, count in work:
            for _ in range(count):
                matmul(a, b, out)

    return run


@dataclass(frozen=True)
class TorchRunner:
    run: Callable[[], tuple[Any, Any]]  # forward+backward; returns (h, dL/dW_h) in torch's layout
    gemms: Callable[[], None]  # the same products as gemm_runner, on torch.mm
    perm: np.ndarray  # our gate columns in torch's order [i f g o]
    note: str


def torch_runner(cfg: BenchConfig, pr: Problem, dL_dh: Any, backend: Backend, seed: int) -> TorchRunner | str:
    """torch.nn.LSTM with our weights, or why there is none."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (it is optional)"
    device = "cuda" if backend.name == "cupy" and torch.cuda.is_available() else "cpu"
    if backend.name == "cupy" and device == "cpu":
        return "PyTorch has no CUDA here; a CPU comparison with a GPU run would mislead"
    H, D = pr.p.H, pr.p.D
    order = [GATES.index(k) for k in ("i", "f", "g", "o")]  # torch's gate order
    perm = np.concatenate([np.arange(k * H, (k + 1) * H) for k in order])
    t = lambda a: torch.from_numpy(np.ascontiguousarray(to_numpy(a))).to(device)  # noqa: E731
    lstm = torch.nn.LSTM(D, H).to(device=device, dtype=t(pr.x).dtype)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(t(to_numpy(pr.p.W_x)[:, perm].T))
        lstm.weight_hh_l0.copy_(t(to_numpy(pr.p.W_h)[:, perm].T))
        lstm.bias_ih_l0.copy_(t(to_numpy(pr.p.b)[perm]))
        lstm.bias_hh_l0.zero_()
    x = t(pr.x).requires_grad_(True)
    h0, c0 = t(pr.h0)[None].requires_grad_(True), t(pr.c0)[None].requires_grad_(True)
    g = t(dL_dh)

    def run() -> tuple[Any, Any]:
        for q in (*lstm.parameters(), x, h0, c0):
            q.grad = None
        out, _ = lstm(x, (h0, c0))
        out.backward(g)
        if device == "cuda":
            torch.cuda.synchronize()
        return out, lstm.weight_hh_l0.grad

    gemms = gemm_runner(cfg, seed, t, lambda a, b, out: torch.mm(a, b, out=out))
    return TorchRunner(run, gemms, perm, f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads")


@dataclass(frozen=True)
class LSTMBench:
    """Median seconds of forward+backward, ours and the references, and their ratios (nan, with
    the reason in their note, where a reference did not run or the timings are too short or too
    noisy to divide)."""

    seconds: float  # buffers held across repeats in a workspace (NumPy); see seconds_fresh_buffers
    spread: float  # interquartile range over median of our times
    best_seconds: float
    seconds_fresh_buffers: float  # every buffer allocated anew in each pass
    repeat: int
    sizes: dict[str, int]
    dtype: str
    backend: str
    path: str  # which sweep ran: "numpy" (core.lstm.sweep) or "standard" (lstm_step per step)
    gflop: float
    threads: int  # 0: each library's default
    gemm_floor_seconds: float = optional("gemm_floor_note", math.nan)  # the products of gemm_shapes alone, this backend
    gemm_floor_note: str = ""  # why they were not timed
    ratio_to_gemm_floor: float = optional("ratio_to_gemm_floor_note", math.nan)  # ours / gemm_floor_seconds
    ratio_to_gemm_floor_note: str = ""
    torch_note: str = ""  # why torch.nn.LSTM did not run ('' when it did)
    torch_version: str = ""  # what ran: version, device, threads
    torch_seconds: float = optional("torch_note", math.nan)
    torch_best_seconds: float = optional("torch_note", math.nan)
    ratio: float = optional("ratio_note", math.nan)  # ours / torch.nn.LSTM
    ratio_note: str = ""
    torch_gemm_seconds: float = optional("floor_over_torch_lstm_note", math.nan)  # the same products, torch.mm
    floor_over_torch_lstm: float = optional("floor_over_torch_lstm_note", math.nan)  # our products / torch's pass
    floor_over_torch_lstm_note: str = ""
    max_rel_diff_vs_torch: dict[str, float] | None = optional("torch_note", None)  # h, dL/dW_h over largest entry


def bench(cfg: BenchConfig, backend: Backend, seed: int = 0, progress: ProgressFn = no_progress) -> LSTMBench:
    """Time ours, the products alone and torch.nn.LSTM, interleaved, with BLAS and PyTorch held
    to ``cfg.threads`` threads each (0: their defaults)."""
    torch_threads = None
    if cfg.torch and cfg.threads:
        with contextlib.suppress(ImportError):
            import torch

            torch_threads = torch.get_num_threads()
            torch.set_num_threads(cfg.threads)
    try:
        with blas_threads(cfg.threads or None):
            return _bench(cfg, backend, seed, progress)
    finally:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)


def _bench(cfg: BenchConfig, backend: Backend, seed: int, progress: ProgressFn) -> LSTMBench:
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, dtype=cfg.dtype, random_state=True)
    dL_dh = backend.asarray(np.random.default_rng(seed + 3).standard_normal((cfg.T, cfg.B, cfg.H)), cfg.dtype)
    xp = backend.xp

    ws = Workspace()

    def ours(workspace: Workspace | None = ws) -> tuple[Any, Any]:
        h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, workspace=workspace)
        return h, lstm_backward(pr.p, cache, dL_dh, workspace=workspace).W_h

    path = lstm_forward(pr.p, pr.x, pr.h0, pr.c0)[1].path
    tr = torch_runner(cfg, pr, dL_dh, backend, seed) if cfg.torch else "not asked for"
    mod = inplace_module(xp)  # NumPy's or CuPy's own matmul writes into out; the array API's cannot
    runners: dict[str, Callable[[], Any]] = {
        "ours": ours, "fresh": lambda: ours(None),
        "gemms": gemm_runner(cfg, seed, lambda a: backend.asarray(a, cfg.dtype),
                             (lambda a, b, out: mod.matmul(a, b, out=out)) if mod is not None
                             else (lambda a, b, out: a @ b))}
    if not cfg.gemm_floor:
        del runners["gemms"]
    if isinstance(tr, TorchRunner):
        runners["torch"] = tr.run
        if cfg.gemm_floor:
            runners["torch_gemms"] = tr.gemms
    t = timing.interleaved(runners, repeat=cfg.repeat, warmup=2, max_seconds=cfg.max_seconds,
                           sync=lambda: synchronize(xp), progress=progress)
    floor = timing.compare(t["ours"], t["gemms"], "ours over the products alone") if "gemms" in t else None
    no_torch = "" if isinstance(tr, TorchRunner) else tr
    out: dict[str, Any] = dict(
        seconds=t["ours"].median, spread=t["ours"].spread, best_seconds=t["ours"].best,
        seconds_fresh_buffers=t["fresh"].median, repeat=len(t["ours"].seconds),
        sizes={"T": cfg.T, "B": cfg.B, "D": cfg.D, "H": cfg.H}, dtype=cfg.dtype, backend=backend.name, path=path,
        gflop=lstm_flops(cfg.T, cfg.B, cfg.D, cfg.H) / 1e9, threads=cfg.threads,
        gemm_floor_seconds=t["gemms"].median if floor else math.nan,
        gemm_floor_note="" if floor else "not asked for",
        ratio_to_gemm_floor=floor.value if floor else math.nan,
        ratio_to_gemm_floor_note=(floor.reason if floor else "not asked for"),
        torch_note=no_torch, ratio_note=no_torch, floor_over_torch_lstm_note=no_torch or "not asked for",
        torch_version=tr.note if isinstance(tr, TorchRunner) else "")
    if isinstance(tr, TorchRunner):
        ratio = timing.compare(t["ours"], t["torch"], "ours over torch.nn.LSTM")
        h_t, gWh_t = tr.run()
        h, gWh = ours()
        scale = lambda a: float(np.max(np.abs(a))) or 1.0  # noqa: E731
        gWh_ours = to_numpy(gWh)[:, tr.perm].T
        out |= dict(torch_seconds=t["torch"].median, torch_best_seconds=t["torch"].best, ratio=ratio.value,
                    ratio_note=ratio.reason,
                    max_rel_diff_vs_torch={
                        "h": float(np.max(np.abs(to_numpy(h) - h_t.detach().cpu().numpy()))) / scale(to_numpy(h)),
                        "W_h": float(np.max(np.abs(gWh_ours - gWh_t.cpu().numpy()))) / scale(gWh_ours)})
        if "torch_gemms" in t:
            over = timing.compare(t["gemms"], t["torch"], "our products over torch.nn.LSTM")
            out |= dict(torch_gemm_seconds=t["torch_gemms"].median, floor_over_torch_lstm=over.value,
                        floor_over_torch_lstm_note=over.reason)
    return LSTMBench(**out)
