"""LSTM experiments shared by the CLI (``python -m core lstm ...``) and the dashboard page.

* :class:`LSTMConfig` / :func:`simulate`: one forward and backward pass, summarised per step
  (gates, c, h; |h_bar(t)|, |c_bar(t)|, the running product of forget gates);
* :func:`seed_check`: the seed's eqs (1)-(9) at a step of the scalar model (``core/lstm_seed.py``);
* :class:`GradcheckConfig` / :func:`gradcheck`: central finite differences on every entry of
  every parameter, input and initial state, and a random-direction check with tangents;
* :class:`BenchConfig` / :func:`bench`: forward+backward time, against ``torch.nn.LSTM`` on the
  same weights when PyTorch happens to be installed (it is never required).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import mkl
from core.backend import Backend, inplace_module, select_backend, synchronize, to_numpy
from core.config import Config, param
from core.limits import TIME_BUDGET_SECONDS, ConfigError, ProgressFn, no_progress, require_memory
from core.lstm import (
    BLAS_CHOICES,
    GATES,
    LOSSES,
    LSTMParams,
    gate,
    loss,
    lstm_backward,
    lstm_flops,
    lstm_forward,
    lstm_jvp,
)
from core.lstm_seed import SeedReport, seed_report

ASSUMED_FLOPS_PER_SECOND = 2e9  # a slow laptop core; refuses work that could not fit the time budget


def lstm_bytes(T: int, B: int, D: int, H: int, itemsize: int) -> float:
    """Memory of one forward+backward: per step and sequence the cache (x, h, c, tanh c, gates)
    and the backward's adjoints (h_bar, c_bar, z_bar, gate adjoints, derivative factors, x_bar)."""
    return itemsize * (T * B * (3 * D + 24 * H + 2) + 3 * (D + H + 1) * 4 * H)


def check_sizes(T: int, B: int, D: int, H: int, dtype: str) -> None:
    itemsize = 4 if dtype == "float32" else 8
    require_memory(lstm_bytes(T, B, D, H, itemsize), f"an LSTM with T={T}, B={B}, D={D}, H={H}")
    gflop = lstm_flops(T, B, D, H) / 1e9
    if gflop > TIME_BUDGET_SECONDS * ASSUMED_FLOPS_PER_SECOND / 1e9:
        raise ConfigError(f"an LSTM with T={T}, B={B}, D={D}, H={H} needs about {gflop:.0f} GFLOP per "
                          f"forward+backward, over the time budget of {TIME_BUDGET_SECONDS:g} s: "
                          "choose smaller T, B or H")


@dataclass(frozen=True)
class LSTMConfig(Config):
    cli_topic = "lstm run"
    # long enough to see adjoints decay, small enough to render at once
    T: int = param(30, 1, 1000, label="T (time steps)", help="length of the sequence")
    H: int = param(8, 1, 512, label="H (hidden units)", help="size of h(t) and c(t)")  # small: fast default
    D: int = param(4, 1, 256, label="D (input size)", help="size of x(t)")
    B: int = param(4, 1, 256, label="B (batch)", help="sequences run side by side")
    weight_scale: float = param(1.0, 0.05, 20.0, label="Weight scale", log=True,
                                help="weights are drawn N(0, s²/(D+H)); large s saturates gates or explodes")
    forget_bias: float = param(0.0, -6.0, 6.0, step=0.1, label="Forget-gate bias b_f",
                               help="σ(b_f) is the resting forget gate: large b_f keeps c (and c_bar) alive")
    loss: str = param("sequence", choices=LOSSES, label="Loss",
                      help="squared error against a target at every step, or at the last step only")

    def check(self) -> None:
        check_sizes(self.T, self.B, self.D, self.H, "float64")


@dataclass(frozen=True)
class Problem:
    p: LSTMParams
    x: Any  # (T, B, D)
    y: Any  # (T, B, H) targets
    h0: Any  # (B, H)
    c0: Any  # (B, H)


def make_problem(backend: Backend, T: int, B: int, D: int, H: int, *, seed: int, dtype: str = "float64",
                 weight_scale: float = 1.0, forget_bias: float = 0.0, random_state: bool = False) -> Problem:
    """Weights N(0, s²/(D+H)), inputs N(0, 1), targets N(0, ¼); biases zero but b_f, and zero
    initial states, unless ``random_state`` (for gradient checks: every entry random)."""
    rng = np.random.default_rng(seed)
    std = weight_scale / math.sqrt(D + H)
    W_x, W_h = std * rng.standard_normal((D, 4 * H)), std * rng.standard_normal((H, 4 * H))
    x, y = rng.standard_normal((T, B, D)), 0.5 * rng.standard_normal((T, B, H))
    if random_state:
        b, h0, c0 = 0.5 * rng.standard_normal(4 * H), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    else:
        b, h0, c0 = np.zeros(4 * H), np.zeros((B, H)), np.zeros((B, H))
    gate(b, "f")[...] += forget_bias
    a = lambda v: backend.asarray(v, dtype)  # noqa: E731
    return Problem(LSTMParams(a(W_x), a(W_h), a(b)), a(x), a(y), a(h0), a(c0))


def simulate(cfg: LSTMConfig, backend: Backend, precision: str = "float64", seed: int = 0) -> dict[str, Any]:
    """One forward and backward pass, as NumPy per-step summaries (batch element 0 for the
    per-unit pictures). ``warning`` is non-empty when the adjoints overflowed."""
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, dtype=precision,
                      weight_scale=cfg.weight_scale, forget_bias=cfg.forget_bias)
    with np.errstate(over="ignore", invalid="ignore"):
        h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0)
        L, dL_dh = loss(cfg.loss, h, pr.y)
        gr = lstm_backward(pr.p, cache, dL_dh)
        gates, c, hn = to_numpy(cache.gates), to_numpy(cache.c[1:]), to_numpy(h)
        h_bar, c_bar = to_numpy(gr.h_bar).astype(np.float64), to_numpy(gr.c_bar).astype(np.float64)
        f = gate(gates, "f").astype(np.float64)  # (T, B, H)
        # Π_{s=t+1}^{T} f(s): how much of c_bar(T) survives the cell path back to step t
        tail = np.concatenate([np.cumprod(f[::-1], axis=0)[::-1][1:], np.ones_like(f[:1])])
        norms = {k: float(np.linalg.norm(to_numpy(getattr(gr, k)).astype(np.float64)))
                 for k in ("W_x", "W_h", "b", "x")}
    finite = bool(np.isfinite(h_bar).all() and np.isfinite(c_bar).all()
                  and all(math.isfinite(v) for v in norms.values()))
    warning = "" if finite else (
        f"the backward pass overflowed (non-finite adjoints) at weight scale {cfg.weight_scale:g} and "
        f"T = {cfg.T} in {precision}: lower the weight scale or T, or choose float64")
    return {
        "loss": float(L), "gates": {k: gate(gates, k)[:, 0, :] for k in GATES}, "c": c[:, 0, :],
        "h": hn[:, 0, :], "h_bar_norm": np.linalg.norm(h_bar.reshape(cfg.T, -1), axis=1),
        "c_bar_norm": np.linalg.norm(c_bar.reshape(cfg.T, -1), axis=1),
        "forget_product": tail.reshape(cfg.T, -1).mean(axis=1), "grad_norms": norms,
        "h_bar_ratio": _ratio(np.linalg.norm(h_bar[0]), np.linalg.norm(h_bar[-1])),
        "finite": finite, "warning": warning,
    }


def _ratio(a: float, b: float) -> float:
    """a / b, or nan where b is 0 or either is not finite (shown as such, never a warning)."""
    return float(a / b) if b > 0 and math.isfinite(a) and math.isfinite(b) else float("nan")


def seed_check(cfg: LSTMConfig, t: int, seed: int = 0) -> SeedReport:
    """The seed's eqs (1)-(9) at step ``t`` of the scalar model (B = D = H = 1, float64 NumPy)
    with the config's T, weight scale, forget bias and loss."""
    if not 1 <= t <= cfg.T:
        raise ConfigError(f"step t = {t} is outside 1..T = {cfg.T}: choose t between 1 and {cfg.T}")
    pr = make_problem(select_backend("numpy"), cfg.T, 1, 1, 1, seed=seed, weight_scale=cfg.weight_scale,
                      forget_bias=cfg.forget_bias)
    return seed_report(pr.p, pr.x, pr.y, pr.h0, pr.c0, cfg.loss, t)


@dataclass(frozen=True)
class GradcheckConfig(Config):
    cli_topic = "lstm gradcheck"
    T: int = param(5, 1, 20, label="T (time steps)")  # small: every entry is checked
    B: int = param(3, 1, 8, label="B (batch)")
    D: int = param(4, 1, 8, label="D (input size)")
    H: int = param(3, 1, 8, label="H (hidden units)")
    loss: str = param("sequence", choices=LOSSES, label="Loss")
    stencil: int = param(4, choices=(2, 4), label="Stencil points",
                         help="2: (L(θ+h) - L(θ-h))/2h, error ~h²; 4: the five-point stencil, error ~h⁴")
    entries: int = param(0, 0, 10_000, label="Entries per array", help="0 checks every entry; n samples n")
    direction_scale: int = param(4, 1, 16, label="Direction-check scale",
                                 help="the random-direction check runs at T, B, D, H times this")


def _rel(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a|, |n|) entry by entry (0 where both are 0), as in CS231n's notes."""
    den = np.maximum(np.abs(a), np.abs(n))
    return np.where(den > 0, np.abs(a - n) / np.where(den > 0, den, 1.0), 0.0)


def gradcheck(cfg: GradcheckConfig, backend: Backend, seed: int = 0, *, fast: bool = True,
              progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Hand BPTT against central finite differences (float64), entry by entry, on W_x, W_h, b,
    x, h(0) and c(0); plus <t, J^T c> against <J t, c> in a random direction at larger sizes."""
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, random_state=True)
    arrays = {"W_x": pr.p.W_x, "W_h": pr.p.W_h, "b": pr.p.b, "x": pr.x, "h0": pr.h0, "c0": pr.c0}
    host = {k: to_numpy(v).copy() for k, v in arrays.items()}

    def loss_at(name: str, idx: tuple[int, ...], delta: float) -> float:
        v = host[name].copy()
        v[idx] += delta
        a = dict(arrays, **{name: backend.asarray(v)})
        h, _ = lstm_forward(LSTMParams(a["W_x"], a["W_h"], a["b"]), a["x"], a["h0"], a["c0"], fast=fast)
        return float(loss(cfg.loss, h, pr.y)[0])

    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=fast)
    gr = lstm_backward(pr.p, cache, loss(cfg.loss, h, pr.y)[1])
    step = 1e-5 if cfg.stencil == 2 else 1e-3  # near the error's minimum for each stencil
    rng = np.random.default_rng(seed + 1)
    per_array, checked = {}, 0
    for n_done, name in enumerate(host):
        analytic = to_numpy(getattr(gr, name))
        idxs = list(np.ndindex(host[name].shape))
        if cfg.entries and cfg.entries < len(idxs):
            idxs = [idxs[k] for k in rng.choice(len(idxs), cfg.entries, replace=False)]
        errs = []
        for idx in idxs:
            if cfg.stencil == 2:
                num = (loss_at(name, idx, step) - loss_at(name, idx, -step)) / (2 * step)
            else:
                f = [loss_at(name, idx, k * step) for k in (-2, -1, 1, 2)]
                num = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * step)
            errs.append(float(_rel(np.asarray(analytic[idx]), np.asarray(num))))
        per_array[name] = {"max_rel_error": max(errs), "checked": len(errs)}
        checked += len(errs)
        progress((n_done + 1) / (len(host) + 1), f"finite differences on {name}")
    s = cfg.direction_scale
    direction = direction_check(backend, cfg.T * s, cfg.B * s, cfg.D * s, cfg.H * s, seed=seed, fast=fast)
    progress(1.0, "random-direction check")
    return {"max_rel_error": max(v["max_rel_error"] for v in per_array.values()), "checked": checked,
            "per_array": per_array, "stencil": cfg.stencil, "step": step, "dtype": "float64",
            "sizes": {"T": cfg.T, "B": cfg.B, "D": cfg.D, "H": cfg.H}, "loss": cfg.loss,
            "direction_check": direction}


def direction_check(backend: Backend, T: int, B: int, D: int, H: int, *, seed: int = 0,
                    dtype: str = "float64", fast: bool = True) -> dict[str, Any]:
    """<t, J^T c> (hand BPTT with dL/dh = c) against <J t, c> (forward-mode tangents), for random
    tangents t of every input and a random cotangent c on h(1..T)."""
    pr = make_problem(backend, T, B, D, H, seed=seed, dtype=dtype, random_state=True)
    rng = np.random.default_rng(seed + 2)
    r = lambda a: backend.asarray(rng.standard_normal(tuple(a.shape)), dtype)  # noqa: E731
    p_dot = LSTMParams(r(pr.p.W_x), r(pr.p.W_h), r(pr.p.b))
    x_dot, h0_dot, c0_dot = r(pr.x), r(pr.h0), r(pr.c0)
    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=fast)
    c = r(h)
    gr = lstm_backward(pr.p, cache, c)
    _, h_dot = lstm_jvp(pr.p, p_dot, pr.x, x_dot, pr.h0, h0_dot, pr.c0, c0_dot)
    dot = lambda u, v: float(np.sum(to_numpy(u).astype(np.float64) * to_numpy(v)))  # noqa: E731
    lhs = (dot(gr.W_x, p_dot.W_x) + dot(gr.W_h, p_dot.W_h) + dot(gr.b, p_dot.b) + dot(gr.x, x_dot)
           + dot(gr.h0, h0_dot) + dot(gr.c0, c0_dot))
    rhs = dot(h_dot, c)
    return {"t_JTc": lhs, "Jt_c": rhs, "rel_error": abs(lhs - rhs) / max(abs(lhs), abs(rhs)),
            "sizes": {"T": T, "B": B, "D": D, "H": H}, "dtype": dtype}


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
    blas: str = param("auto", choices=BLAS_CHOICES, label="BLAS of the compiled sweeps",
                      help="mkl: Intel oneMKL (requirements-mkl.txt); default: the BLAS SciPy brings; "
                           "auto: oneMKL where it is installed and the work reaches 5e7 flops")

    def check(self) -> None:
        check_sizes(self.T, self.B, self.D, self.H, self.dtype)


def blas_name(cache: Any) -> str:
    """Which library ran the products of the sweep that made ``cache``, in words."""
    if cache.blas == "mkl":
        kind = "s" if cache.gates.dtype == np.float32 else "d"
        return f"oneMKL {mkl.library().version.split('Version')[-1].split('-')[0].strip()} (packed {kind}gemm)"
    if cache.path == "jit":
        return "the BLAS SciPy brings, through Numba"
    return "the array library's own matmul"


def _torch_runner(pr: Problem, dL_dh: Any, backend: Backend) -> tuple[Any, str]:
    """A forward+backward closure of torch.nn.LSTM with our weights, or (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed (it is optional)"
    device = "cuda" if backend.name == "cupy" and torch.cuda.is_available() else "cpu"
    if backend.name == "cupy" and device == "cpu":
        return None, "PyTorch has no CUDA here; a CPU comparison with a GPU run would mislead"
    H = pr.p.H
    order = [GATES.index(k) for k in ("i", "f", "g", "o")]  # torch's gate order
    perm = np.concatenate([np.arange(k * H, (k + 1) * H) for k in order])
    t = lambda a: torch.from_numpy(np.ascontiguousarray(to_numpy(a))).to(device)  # noqa: E731
    D = pr.p.D
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

    def gemms_run(cfg: BenchConfig, seed: int) -> Any:
        return _gemm_runner(cfg, seed, t, lambda a, b, out: torch.mm(a, b, out=out))

    return (run, perm, gemms_run), f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads"


def gemm_shapes(T: int, B: int, D: int, H: int) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
    """The matrix products every LSTM forward+backward runs, whatever else it does: (a, b, count).

    Per step, the recurrent product forward (4H x H by H x B) and its adjoint backward
    (H x 4H by 4H x B); once per sequence, the input projection of all steps, the weight
    gradients of W_x and W_h, and the adjoint of x. Their flops are :func:`lstm_flops`."""
    return [((4 * H, H), (H, B), T), ((H, 4 * H), (4 * H, B), T), ((T * B, D), (D, 4 * H), 1),
            ((H, T * B), (T * B, 4 * H), 1), ((D, T * B), (T * B, 4 * H), 1), ((T * B, 4 * H), (4 * H, D), 1)]


def _gemm_runner(cfg: BenchConfig, seed: int, asarray: Any, matmul: Any) -> Any:
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


def bench(cfg: BenchConfig, backend: Backend, seed: int = 0, progress: ProgressFn = no_progress) -> dict:
    """Median seconds of forward+backward (ours, and torch.nn.LSTM on the same weights), timed
    alternately in this process so both see the same machine load."""
    if cfg.torch:
        # PyTorch first: a oneMKL loaded before it (core/mkl.py) would take its matrix products too,
        # single-threaded (torch.mm on 2000 x 2000 took 0.092 s instead of 0.046 on 2 threads)
        with contextlib.suppress(ImportError):
            import torch
    if not cfg.threads:
        return _bench(cfg, backend, seed, progress)
    from threadpoolctl import threadpool_limits  # ships with scikit-learn

    if backend.name == "numpy":
        from core import lstm_jit

        lstm_jit.mkl_available()  # loads Numba and the BLAS it calls now, so that the limit covers it too

    torch_threads = None
    if cfg.torch:
        try:
            import torch

            torch_threads = torch.get_num_threads()
            torch.set_num_threads(cfg.threads)
        except ImportError:
            pass
    try:
        with threadpool_limits(limits=cfg.threads):
            return _bench(cfg, backend, seed, progress) | {"threads": cfg.threads}
    finally:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)


def _bench(cfg: BenchConfig, backend: Backend, seed: int, progress: ProgressFn) -> dict:
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, dtype=cfg.dtype, random_state=True)
    dL_dh = backend.asarray(np.random.default_rng(seed + 3).standard_normal((cfg.T, cfg.B, cfg.H)), cfg.dtype)
    xp = backend.xp

    def ours() -> tuple[Any, Any]:
        h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, blas=cfg.blas)
        return h, lstm_backward(pr.p, cache, dL_dh).W_h

    cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, blas=cfg.blas)[1]  # a clear error here, before timing

    torch_run, note = _torch_runner(pr, dL_dh, backend) if cfg.torch else (None, "not asked for")
    runners = {"ours": ours} | ({"torch": torch_run[0]} if torch_run else {})
    if cfg.gemm_floor:  # the products alone, on each library's own matrix product
        mod = inplace_module(xp)  # NumPy's or CuPy's own matmul writes into out; the array API's cannot
        runners["gemms"] = _gemm_runner(cfg, seed, lambda a: backend.asarray(a, cfg.dtype),
                                        (lambda a, b, out: mod.matmul(a, b, out=out)) if mod is not None
                                        else (lambda a, b, out: a @ b))
        if cache.blas == "mkl":  # the same products on oneMKL, which our sweeps call here
            runners["mkl_gemms"] = _gemm_runner(cfg, seed, np.asarray, lambda a, b, out: mkl.matmul(a, b, out))
        if torch_run:
            runners["torch_gemms"] = torch_run[2](cfg, seed)
    for fn in runners.values():  # warm up: allocations, thread pools, oneDNN primitives
        for _ in range(2):
            fn()
    times: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(cfg.repeat):
        for name, fn in runners.items():
            synchronize(xp)
            t0 = time.perf_counter()
            fn()
            synchronize(xp)
            times[name].append(time.perf_counter() - t0)
        progress((r + 1) / cfg.repeat, f"repeat {r + 1} of {cfg.repeat}")
    med = {k: float(np.median(v)) for k, v in times.items()}
    out = {"seconds": med["ours"], "best_seconds": min(times["ours"]), "repeat": cfg.repeat,
           "sizes": {"T": cfg.T, "B": cfg.B, "D": cfg.D, "H": cfg.H}, "dtype": cfg.dtype,
           "backend": backend.name, "path": cache.path, "blas": blas_name(cache),
           "gflop": lstm_flops(cfg.T, cfg.B, cfg.D, cfg.H) / 1e9, "torch_note": note}
    if "gemms" in med:
        out["gemm_floor"] = {"seconds": med["gemms"], "gflop": out["gflop"], "note": (
            "the matrix products alone (recurrent ones per step forward and backward, input projection, "
            "weight gradients, adjoint of x) on this backend's matmul: a floor for any LSTM built on it")}
        if "mkl_gemms" in med:
            out["gemm_floor"]["mkl_seconds"] = med["mkl_gemms"]
        if "torch_gemms" in med:
            out["gemm_floor"] |= {"torch_seconds": med["torch_gemms"],
                                  "floor_over_torch_lstm": med["gemms"] / med["torch"]}
    if torch_run:
        run, perm, _ = torch_run
        h_t, gWh_t = run()
        h, gWh = ours()
        scale = lambda a: float(np.max(np.abs(a))) or 1.0  # noqa: E731
        gWh_ours = to_numpy(gWh)[:, perm].T
        out |= {"torch_seconds": med["torch"], "torch_best_seconds": min(times["torch"]),
                "ratio": med["ours"] / med["torch"],
                "max_rel_diff_vs_torch": {
                    "h": float(np.max(np.abs(to_numpy(h) - h_t.detach().cpu().numpy()))) / scale(to_numpy(h)),
                    "W_h": float(np.max(np.abs(gWh_ours - gWh_t.cpu().numpy()))) / scale(gWh_ours)}}
    return out
