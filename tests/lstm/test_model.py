"""core/lstm/model.py and core/lstm/sweep.py: the hand BPTT against finite differences, tangents, a
step-by-step run, and each other; losses; bad input. (The seed's equations: test_seed.py;
runs, gradient checks and configs: test_experiments.py; the benchmark: test_bench.py.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import core.lstm.model as lstm_module
from core.backend import select_backend, to_numpy
from core.limits import ConfigError
from core.lstm.experiments import GradcheckConfig, direction_check, gradcheck, make_problem
from core.lstm.model import (
    LSTMCache,
    LSTMParams,
    gate,
    loss,
    lstm_backward,
    lstm_forward,
    lstm_jvp,
    lstm_step,
    lstm_step_backward,
)
from core.lstm.sweep import Workspace

GRAD_FIELDS = ("W_x", "W_h", "b", "x", "h0", "c0", "h_bar", "c_bar", "gates_bar")
NUMPY = select_backend("numpy")


def entries(T: int, B: int, D: int, H: int) -> int:
    """Every entry the finite differences perturb: W_x, W_h, b, x, h(0), c(0)."""
    return 4 * H * (D + H + 1) + T * B * D + 2 * B * H


# --- finite differences, the CS231n bar ------------------------------------------------------

@pytest.mark.parametrize("kind", ["sequence", "last"])
@pytest.mark.parametrize("fast", [True, False], ids=["numpy-sweep", "standard"])
def test_every_entry_against_central_differences(kind, fast):
    cfg = GradcheckConfig(T=5, B=3, D=4, H=3, loss=kind, direction_scale=1)
    out = gradcheck(cfg, NUMPY, seed=3, fast=fast)
    assert out.checked == entries(5, 3, 4, 3) == 174
    assert set(out.per_array) == {"W_x", "W_h", "b", "x", "h0", "c0"}
    assert out.ok and out.vanished <= out.checked // 20, out.per_array
    assert out.max_rel_error <= 1e-7, out.per_array


def test_central_differences_on_every_backend(backend):
    out = gradcheck(GradcheckConfig(T=3, B=2, D=2, H=2, direction_scale=2), backend, seed=1)
    assert out.checked == entries(3, 2, 2, 2)
    assert out.ok and out.max_rel_error <= 1e-7
    assert out.direction_check.rel_error <= 1e-12


def test_two_point_stencil_is_why_the_five_point_one_is_used():
    """Control: the plain (L(θ+h) - L(θ-h)) / 2h, at its best step, is limited by roundoff (error
    ~ 1e-16 / h): on this problem it lands near the 1e-7 bar (1.3e-7 on one machine, a figure
    another machine's rounding moves), an order of magnitude worse than the five-point stencil,
    which clears the bar with room to spare. The mixed criterion knows why: the two-point
    stencil's rounding noise is far larger, so more of its entries can only be judged against
    that noise, not relatively."""
    cfg = GradcheckConfig(T=6, B=3, D=4, H=5, direction_scale=1)
    two = gradcheck(cfg.replace(stencil=2), NUMPY, seed=0)
    five = gradcheck(cfg, NUMPY, seed=0)
    assert two.max_rel_error_any < 1e-5
    assert five.max_rel_error_any < 1e-7 / 10 and five.max_rel_error_any < two.max_rel_error_any / 10
    assert two.atol > 10 * five.atol and two.vanished > five.vanished
    assert two.ok and five.ok


def test_gradcheck_fails_with_the_seeds_tan(monkeypatch):
    """Control: the check has teeth. A backward that uses the seed's eq (7), tanh' = 1 - tan²,
    is caught at once (relative errors far above 1e-7)."""
    def seed_step_backward(p, h_bar, c_next_bar, c_prev, gates, tanh_c):
        s = right_step_backward(p, h_bar, c_next_bar, c_prev, gates, tanh_c)
        H = p.H
        g = gate(gates, "g")
        z_g = np.arctanh(g)
        z_bar = s.z_bar.copy()
        z_bar[:, 3 * H:] = s.gates_bar[:, 3 * H:] * (1 - np.tan(z_g) ** 2)
        return dataclasses.replace(s, z_bar=z_bar, h_prev_bar=z_bar @ p.W_h.T)

    right_step_backward = lstm_module.lstm_step_backward
    monkeypatch.setattr(lstm_module, "lstm_step_backward", seed_step_backward)
    out = gradcheck(GradcheckConfig(T=4, B=2, D=3, H=3, direction_scale=1), NUMPY, seed=0, fast=False)
    assert out.per_array["W_h"].max_rel_error > 1e-4 and not out.ok
    assert out.direction_check.rel_error > 1e-6  # tangents (right) against the wrong adjoint


# --- random-direction check at larger sizes ---------------------------------------------------

@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-4)])
def test_random_direction_at_larger_sizes(backend, dtype, tol):
    sizes = (40, 8, 16, 32) if backend.name != "array_api_strict" else (12, 4, 6, 8)
    out = direction_check(backend, *sizes, seed=5, dtype=dtype)
    assert abs(out.t_JTc) > 1.0
    assert out.rel_error <= tol, out


def test_tangent_matches_finite_differences_of_h():
    pr = make_problem(NUMPY, 7, 3, 4, 5, seed=2, random_state=True)
    rng = np.random.default_rng(0)
    p_dot = LSTMParams(*(rng.standard_normal(a.shape) for a in (pr.p.W_x, pr.p.W_h, pr.p.b)))
    dots = [rng.standard_normal(a.shape) for a in (pr.x, pr.h0, pr.c0)]
    _, h_dot = lstm_jvp(pr.p, p_dot, pr.x, dots[0], pr.h0, dots[1], pr.c0, dots[2])
    eps = 1e-6

    def h_at(s):
        p = LSTMParams(pr.p.W_x + s * p_dot.W_x, pr.p.W_h + s * p_dot.W_h, pr.p.b + s * p_dot.b)
        return lstm_forward(p, pr.x + s * dots[0], pr.h0 + s * dots[1], pr.c0 + s * dots[2])[0]

    fd = (h_at(eps) - h_at(-eps)) / (2 * eps)
    np.testing.assert_allclose(h_dot, fd, rtol=1e-6, atol=1e-8)


# --- the NumPy sweep, the standard path, and a step-by-step run agree --------------------------

@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (6, 3, 4, 5), (9, 1, 2, 7), (4, 5, 1, 1),
                                   (3, 32, 2, 32), (2, 8, 3, 130)])
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-13), ("float32", 3e-5)])
@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "workspace"])
def test_numpy_sweep_equals_standard_path(sizes, dtype, tol, reuse):
    ws = Workspace() if reuse else None
    pr = make_problem(NUMPY, *sizes, seed=4, dtype=dtype, random_state=True)
    h_std, cache_std = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=False)
    dl = loss("sequence", h_std, pr.y)[1]
    g_std = lstm_backward(pr.p, cache_std, dl)
    for _ in range(2 if reuse else 1):  # a second sweep in the same workspace gives the same numbers
        h_fast, cache_fast = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, workspace=ws)
        assert cache_fast.path == "numpy" and cache_std.path == "standard"
        np.testing.assert_allclose(h_fast, h_std, atol=tol, rtol=0)
        for f in ("h", "c", "gates", "tanh_c"):
            np.testing.assert_allclose(getattr(cache_fast, f), getattr(cache_std, f), atol=tol, rtol=0)
        g_fast = lstm_backward(pr.p, cache_fast, dl, workspace=ws)
        for f in GRAD_FIELDS:
            a, b = getattr(g_fast, f), getattr(g_std, f)
            assert a.shape == b.shape and a.dtype == b.dtype == np.dtype(dtype), f
            np.testing.assert_allclose(a, b, atol=tol * max(1.0, float(np.abs(b).max())), rtol=0, err_msg=f)


def test_a_workspace_holds_the_buffers_across_calls():
    """Without a workspace every sweep allocates its buffers anew; with one, the second sweep
    of the same size writes into the first one's buffers (and so overwrites its results)."""
    pr = make_problem(NUMPY, 5, 3, 2, 4, seed=1, random_state=True)
    ws = Workspace()
    _, first = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, workspace=ws)
    _, second = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, workspace=ws)
    _, fresh = lstm_forward(pr.p, pr.x, pr.h0, pr.c0)
    assert np.shares_memory(first.gates, second.gates)
    assert not np.shares_memory(first.gates, fresh.gates)


def test_step_by_step_bptt_by_hand_equals_the_batched_one(backend):
    """Run lstm_step T times, then walk back with lstm_step_backward carrying h_bar and c_bar by
    hand and summing each step's weight gradients: the batched BPTT gives the same numbers."""
    xp = backend.xp
    T, B, D, H = 6, 3, 4, 5
    pr = make_problem(backend, T, B, D, H, seed=8, random_state=True)
    p = pr.p
    hs, cs, gs, ts = [pr.h0], [pr.c0], [], []
    for t in range(T):
        h, c, g, tc = lstm_step(p, pr.x[t, ...], hs[-1], cs[-1])
        hs.append(h)
        cs.append(c)
        gs.append(g)
        ts.append(tc)
    _, dl = loss("last", xp.stack(hs[1:]), pr.y)
    W_x_bar, W_h_bar, b_bar = xp.zeros_like(p.W_x), xp.zeros_like(p.W_h), xp.zeros_like(p.b)
    x_bar, h_bars, c_bars = [None] * T, [None] * T, [None] * T
    h_carry, c_carry = xp.zeros_like(pr.h0), xp.zeros_like(pr.c0)
    for t in reversed(range(T)):
        h_bars[t] = dl[t, ...] + h_carry
        s = lstm_step_backward(p, h_bars[t], c_carry, cs[t], gs[t], ts[t])
        c_bars[t] = s.c_bar
        W_x_bar = W_x_bar + xp.matrix_transpose(pr.x[t, ...]) @ s.z_bar
        W_h_bar = W_h_bar + xp.matrix_transpose(hs[t]) @ s.z_bar
        b_bar = b_bar + xp.sum(s.z_bar, axis=0)
        x_bar[t] = s.z_bar @ xp.matrix_transpose(p.W_x)
        h_carry, c_carry = s.h_prev_bar, s.c_prev_bar
    by_hand = dict(W_x=W_x_bar, W_h=W_h_bar, b=b_bar, x=xp.stack(x_bar), h0=h_carry, c0=c_carry,
                   h_bar=xp.stack(h_bars), c_bar=xp.stack(c_bars))
    for fast in (True, False):
        _, cache = lstm_forward(p, pr.x, pr.h0, pr.c0, fast=fast)
        grads = lstm_backward(p, cache, dl)
        for name, value in by_hand.items():
            np.testing.assert_allclose(to_numpy(getattr(grads, name)), to_numpy(value), atol=1e-13,
                                       err_msg=f"{name} (fast={fast})")


def test_zero_weights_give_the_closed_form():
    """All weights and biases 0: every sigmoid gate is ½ and g = 0, so c(t) = c(0)/2^t and
    h(t) = ½ tanh(c(t)); the adjoints follow eq (2) by hand."""
    T, B, H = 4, 2, 3
    p = LSTMParams(np.zeros((2, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H))
    c0 = np.full((B, H), 0.8)
    h, cache = lstm_forward(p, np.ones((T, B, 2)), np.zeros((B, H)), c0)
    c = 0.8 / 2.0 ** np.arange(1, T + 1)
    np.testing.assert_allclose(cache.c[1:, 0, 0], c, rtol=1e-15)
    np.testing.assert_allclose(h[:, 0, 0], 0.5 * np.tanh(c), rtol=1e-15)
    np.testing.assert_allclose(gate(cache.gates, "f"), 0.5)
    dl = np.zeros((T, B, H))
    dl[-1] = 1.0
    grads = lstm_backward(p, cache, dl)
    c_bar = np.zeros(T)
    c_bar[-1] = 0.5 * (1 - np.tanh(c[-1]) ** 2)
    for t in range(T - 2, -1, -1):
        c_bar[t] = c_bar[t + 1] * 0.5  # no h path (W_h = 0): eq (2) is c_bar(t+1) f(t+1) alone
    np.testing.assert_allclose(grads.c_bar[:, 0, 0], c_bar, rtol=1e-14)
    np.testing.assert_allclose(grads.c0[0, 0], 0.5 * c_bar[0], rtol=1e-14)


# --- losses ----------------------------------------------------------------------------------

def test_losses_and_their_adjoints(xp):
    rng = np.random.default_rng(0)
    h, y = (xp.asarray(rng.standard_normal((5, 4, 3))) for _ in range(2))
    L_seq, dl_seq = loss("sequence", h, y)
    L_last, dl_last = loss("last", h, y)
    hn, yn = to_numpy(h), to_numpy(y)
    assert float(L_seq) == pytest.approx(0.5 * np.sum((hn - yn) ** 2) / 4, rel=1e-14)
    assert float(L_last) == pytest.approx(0.5 * np.sum((hn[-1] - yn[-1]) ** 2) / 4, rel=1e-14)
    np.testing.assert_allclose(to_numpy(dl_seq), (hn - yn) / 4, rtol=1e-15)
    dl_last = to_numpy(dl_last)
    assert not dl_last[:-1].any()
    np.testing.assert_allclose(dl_last[-1], (hn[-1] - yn[-1]) / 4, rtol=1e-15)


# --- bad input -------------------------------------------------------------------------------

def test_bad_arrays_say_which_one_is_off():
    pr = make_problem(NUMPY, 3, 2, 4, 5, seed=0)
    p = pr.p
    with pytest.raises(ConfigError, match=r"x must have shape \(T, B, D\).*D = 4"):
        lstm_forward(p, pr.x[..., :3], pr.h0, pr.c0)
    with pytest.raises(ConfigError, match=r"h0 must have shape \(B, H\) = \(2, 5\)"):
        lstm_forward(p, pr.x, pr.h0[:1], pr.c0)
    with pytest.raises(ConfigError, match="W_x \\(D, 4H\\)"):
        lstm_forward(LSTMParams(p.W_x[:, :7], p.W_h, p.b), pr.x, pr.h0, pr.c0)
    with pytest.raises(ConfigError, match="share one dtype"):
        lstm_forward(p, pr.x.astype(np.float32), pr.h0, pr.c0)
    _, cache = lstm_forward(p, pr.x, pr.h0, pr.c0)
    assert isinstance(cache, LSTMCache)
    with pytest.raises(ConfigError, match=r"dL/dh must have shape \(T, B, H\) = \(3, 2, 5\)"):
        lstm_backward(p, cache, np.zeros((3, 2, 4)))
    with pytest.raises(ConfigError, match="is not one of"):
        loss("hinge", pr.y, pr.y)
    with pytest.raises(ConfigError, match="target y must have the shape"):
        loss("last", pr.y, pr.y[:2])
