"""The seed's problems 1 and 2 (eqs (1)-(9)), evaluated as written next to the truth.

Where the seed agrees, a test says so (against the hand BPTT and against finite differences of
an independent scalar forward pass); where it does not, a test pins down which term and how
large the difference is.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.backend import select_backend
from core.limits import ConfigError
from core.lstm.experiments import LSTMConfig, make_problem, seed_check
from core.lstm.model import GATES, LSTMParams, lstm_forward
from core.lstm.seed import seed_report, sigmoid

RIGHT = (2, 3, 4, 5, 6, 8, 9)


def scalar_problem(T=8, seed=1, scale=1.5, biases=(0.0, 0.0, 0.0, 0.0)):
    """A scalar LSTM (B = D = H = 1) in the seed's setting; biases in gate order i, f, o, g."""
    pr = make_problem(select_backend("numpy"), T, 1, 1, 1, seed=seed, weight_scale=scale)
    return LSTMParams(pr.p.W_x, pr.p.W_h, np.array(biases, dtype=float)), pr.x, pr.y, pr.h0, pr.c0


def weights(p):
    return {k + s: float(W[0, n]) for n, k in enumerate(GATES) for s, W in (("x", p.W_x), ("h", p.W_h))}


@pytest.mark.parametrize("kind", ["sequence", "last"])
@pytest.mark.parametrize("t", [1, 4, 8])
@pytest.mark.parametrize("seed", [1, 2])
def test_right_equations_agree_with_bptt_and_finite_differences(kind, t, seed):
    p, x, y, h0, c0 = scalar_problem(seed=seed, biases=(0.0, 0.7, 0.0, 0.0))
    rep = seed_report(p, x, y, h0, c0, kind, t)
    for n in RIGHT:
        e = rep.equation(n)
        assert e.verdict == "right"
        if n == 9:  # the seed's model has no b_i; b_i = 0 here, so eq (9) is exact as written
            assert e.corrections[0][1] == 0.0
        assert e.seed_value == pytest.approx(e.true_value, rel=1e-12, abs=1e-15), n
        assert e.fd_value == pytest.approx(e.true_value, rel=1e-8, abs=1e-11), n
        assert e.agrees_here


@pytest.mark.parametrize("kind", ["sequence", "last"])
@pytest.mark.parametrize("t", [1, 3, 7, 8])
def test_eq1_misses_the_loss_term_and_writes_tan(kind, t):
    """eq (1) as written = true h_bar(t) - dL/dh(t) - (tan → tanh effect) - (bias effect),
    each piece pinned; the independent finite differences confirm the true value."""
    biases = (0.3, 0.9, -0.2, 0.4)
    p, x, y, h0, c0 = scalar_problem(biases=biases)
    T = x.shape[0]
    rep = seed_report(p, x, y, h0, c0, kind, t)
    e = rep.equation(1)
    assert e.verdict == "incomplete"
    assert e.fd_value == pytest.approx(e.true_value, rel=1e-8)
    # the ladder of corrections ends exactly at the true value
    assert e.seed_value + sum(d for _, d in e.corrections) == pytest.approx(e.true_value, abs=1e-14)
    bias, tan, loss_term = (d for _, d in e.corrections)
    hs, _ = lstm_forward(p, x, h0, c0)
    h = hs[:, 0, 0]
    expected_loss_term = (h[t - 1] - y[t - 1, 0, 0]) if (kind == "sequence" or t == T) else 0.0
    assert loss_term == pytest.approx(expected_loss_term, abs=1e-15)
    if t == T:  # no step T+1: the seed's sum is empty, so it gives 0 and misses all of h_bar(T)
        assert e.seed_value == 0.0 and bias == tan == 0.0
        assert e.true_value == pytest.approx(expected_loss_term, abs=1e-15)
    else:  # the g term with tan² instead of tanh², at z_g(t+1) = w_gx x(t+1) + w_gh h(t) + b_g
        w = weights(p)
        z_g = w["gx"] * x[t, 0, 0] + w["gh"] * h[t - 1] + biases[3]
        g_bar_next = rep_g_bar(p, x, y, h0, c0, kind, t + 1)
        expected_tan = g_bar_next * w["gh"] * (math.tan(z_g) ** 2 - math.tanh(z_g) ** 2)
        assert tan == pytest.approx(expected_tan, rel=1e-12)
        assert bias != 0.0  # this model has biases; the seed's σ(w x + w h) leaves them out


def rep_g_bar(p, x, y, h0, c0, kind, t):
    return seed_report(p, x, y, h0, c0, kind, t).equation(3).true_value


def test_eq1_agrees_only_where_the_missing_terms_vanish():
    """Last-step loss, no biases, w_gh = 0: both of eq (1)'s errors vanish for t < T, so it agrees
    there; at t = T it still misses dL/dh(T). The verdict stays 'incomplete'."""
    p, x, y, h0, c0 = scalar_problem(T=6)
    p.W_h[0, GATES.index("g")] = 0.0
    for t in range(1, 6):
        assert seed_report(p, x, y, h0, c0, "last", t).equation(1).agrees_here
    last = seed_report(p, x, y, h0, c0, "last", 6).equation(1)
    assert not last.agrees_here and last.verdict == "incomplete"


def test_eq1_has_no_missing_path_through_c():
    """Corrected eq (1) (loss term, tanh, biases) equals finite differences of L w.r.t. h(t) to
    1e-9: no separate term through c(t+1) is missing, h(t) reaches it only through the gates."""
    p, x, y, h0, c0 = scalar_problem(T=10, seed=4, scale=2.0, biases=(0.1, 1.0, 0.0, -0.3))
    for t in range(1, 11):
        e = seed_report(p, x, y, h0, c0, "sequence", t).equation(1)
        corrected = e.seed_value + sum(d for _, d in e.corrections)
        assert corrected == pytest.approx(e.fd_value, rel=1e-9, abs=1e-12)


def test_eq7_tan_for_tanh():
    """tanh'(z) = 1 - tan²(z) as written: off by about -(4/3) z⁴ for small z, negative at z = 1
    (impossible: tanh increases), unbounded near π/2; 1 - tanh²(z) matches finite differences."""
    for z, rel in ((0.1, 1e-2), (0.05, 1e-2)):
        diff = (1 - math.tan(z) ** 2) - (1 - math.tanh(z) ** 2)
        assert diff == pytest.approx(-4 / 3 * z ** 4, rel=rel)
    assert 1 - math.tan(1.0) ** 2 == pytest.approx(-1.4255, abs=1e-4)
    assert 1 - math.tanh(1.0) ** 2 == pytest.approx(0.419974, abs=1e-6)
    assert 1 - math.tan(math.pi / 2 - 1e-6) ** 2 < -1e11
    # and in the report, at the step's own z_g
    p, x, y, h0, c0 = scalar_problem(scale=3.0)
    e = seed_report(p, x, y, h0, c0, "sequence", 2).equation(7)
    assert e.verdict == "wrong" and not e.agrees_here
    assert e.fd_value == pytest.approx(e.true_value, rel=1e-9)
    assert e.corrections[0][1] == pytest.approx(e.true_value - e.seed_value, abs=1e-15)


def test_eq8_sigma_prime_is_right():
    p, x, y, h0, c0 = scalar_problem()
    e = seed_report(p, x, y, h0, c0, "sequence", 5).equation(8)
    assert e.verdict == "right" and e.fd_value == pytest.approx(e.seed_value, rel=1e-10)
    assert sigmoid(0.0) == 0.5 and sigmoid(-800.0) == 0.0  # no OverflowError from math.exp


def test_eq9_with_a_bias_needs_it_inside_sigma():
    p, x, y, h0, c0 = scalar_problem(biases=(0.8, 0.0, 0.0, 0.0))
    e = seed_report(p, x, y, h0, c0, "sequence", 1).equation(9)
    assert e.fd_value == pytest.approx(e.true_value, rel=1e-8)
    (what, bias), = e.corrections
    assert "b_i" in what and abs(bias) > 1e-4
    assert e.seed_value + bias == pytest.approx(e.true_value, rel=1e-12)


@pytest.mark.parametrize("kind", ["sequence", "last"])
def test_the_seeds_whole_recursion(kind):
    """Running eqs (1)-(6) and (9) end to end as written gives w_ix_bar = 0 exactly: eq (1) never
    lets the loss in. Adding dL/dh(t) but keeping tan is close but not exact; fully corrected it
    is the BPTT value."""
    p, x, y, h0, c0 = scalar_problem(scale=2.0, biases=(0.0, 1.0, 0.0, 0.0))
    rep = seed_report(p, x, y, h0, c0, kind, 1)
    (_, as_written), (_, tan_kept), (_, corrected) = rep.w_ix_chained
    true = rep.equation(9).true_value
    assert as_written == 0.0 and abs(true) > 1e-3
    assert corrected == pytest.approx(true, rel=1e-12)
    assert tan_kept != pytest.approx(true, rel=1e-6)


def test_filled_equations_carry_the_numbers():
    rep = seed_check(LSTMConfig(T=5), t=2)
    assert rep.t == 2 and rep.T == 5 and len(rep.equations) == 9
    e3 = rep.equation(3)
    assert r"\overline{g^{(2)}}" in e3.filled_tex and "=" in e3.filled_tex
    assert r"\tan^2" in rep.equation(7).seed_tex and r"\tanh^2" in rep.equation(7).corrected_tex
    assert r"\partial L" in rep.equation(1).corrected_tex
    last = seed_check(LSTMConfig(T=5), t=5).equation(1)
    assert "no step" in last.filled_tex


def test_step_outside_the_sequence_is_refused():
    with pytest.raises(ConfigError, match="choose t between 1 and 5"):
        seed_check(LSTMConfig(T=5), t=6)
