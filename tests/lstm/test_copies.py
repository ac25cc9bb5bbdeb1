"""core/lstm/copies.py: many moved copies of the LSTM in one forward, each with its own loss."""

from __future__ import annotations

import numpy as np
import pytest

from core import check
from core.backend import select_backend
from core.lstm import copies
from core.lstm.experiments import GradcheckConfig, gradcheck, make_problem
from core.lstm.model import LSTMParams, loss, lstm_forward

NUMPY = select_backend("numpy")


@pytest.mark.parametrize("kind", ["sequence", "last"])
def test_moved_copies_in_one_forward_give_each_move_its_own_loss(kind, monkeypatch):
    """Moves of every array, evaluated as copies side by side (x, h(0), c(0), W_x, b) and as
    blocks of hidden units (W_h), several forwards of each (small chunks): each loss is the loss
    of the LSTM with that one entry moved, to rounding."""
    monkeypatch.setattr(copies, "REPLICAS", 7)
    monkeypatch.setattr(copies, "BLOCKS", 3)
    pr = make_problem(NUMPY, 6, 3, 4, 5, seed=4, random_state=True)
    host = {"W_x": pr.p.W_x, "W_h": pr.p.W_h, "b": pr.p.b, "x": pr.x, "h0": pr.h0, "c0": pr.c0}
    rng = np.random.default_rng(0)
    moves = [(name, tuple(int(rng.integers(n)) for n in value.shape), float(rng.choice([-2e-3, 1e-3, 0.3])))
             for name, value in host.items() for _ in range(8)]

    def one(name, idx, s):
        moved = {**host, name: host[name].copy()}
        moved[name][idx] += s
        h, _ = lstm_forward(LSTMParams(moved["W_x"], moved["W_h"], moved["b"]), moved["x"], moved["h0"],
                            moved["c0"])
        return float(loss(kind, h, pr.y)[0])

    got = copies.moved_losses(NUMPY, kind, pr.y, host, moves)
    want = np.array([one(*m) for m in moves])
    unmoved = one("b", (0,), 0.0)
    assert np.all(np.abs(got - want) <= 1e-13 * abs(unmoved))
    assert np.all(np.abs(want - unmoved) > 1e-9 * abs(unmoved)), "every move changes the loss"


@pytest.mark.parametrize("stencil", check.STENCILS)
def test_the_batched_finite_differences_are_the_one_by_one_ones_to_their_noise(stencil):
    """The page's check (its sizes, 8 entries per array): every derivative from the moved copies
    within the rounding-noise level the check allows of the one from one forward per move,
    and the same verdict."""
    cfg = GradcheckConfig(T=20, B=4, D=4, H=8, loss="sequence", entries=8, direction_scale=1, stencil=stencil)
    pr = make_problem(NUMPY, cfg.T, cfg.B, cfg.D, cfg.H, seed=2, random_state=True)
    host = {"W_x": pr.p.W_x, "W_h": pr.p.W_h, "b": pr.p.b, "x": pr.x, "h0": pr.h0, "c0": pr.c0}

    def loss_of(d):
        h, _ = lstm_forward(LSTMParams(d["W_x"], d["W_h"], d["b"]), d["x"], d["h0"], d["c0"])
        return float(loss(cfg.loss, h, pr.y)[0])

    step = check.DEFAULT_STEP[stencil]
    args = dict(h=step, stencil=stencil, limit=8)
    one = check.entrywise(loss_of, host, rng=np.random.default_rng(3), **args)
    many = check.entrywise(loss_of, host, rng=np.random.default_rng(3), **args,
                           batch=lambda h, moves: copies.moved_losses(NUMPY, cfg.loss, pr.y, h, moves))
    atol = check.NOISE_MARGIN * check.rounding_noise(loss_of(host), step, stencil)
    for name in host:
        assert many[name][0] == one[name][0]
        assert np.max(np.abs(many[name][1] - one[name][1])) <= atol, name
    assert gradcheck(cfg, NUMPY, seed=2).ok and gradcheck(cfg, NUMPY, seed=2, batched=False).ok
