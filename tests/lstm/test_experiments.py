"""core/lstm/experiments.py: the per-step summaries the page shows, the configs that refuse bad
sizes, and the gradient check's criterion (it cannot go red on noise, and it still has teeth)."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend
from core.limits import ConfigError
from core.lstm.experiments import GradcheckConfig, LSTMConfig, gradcheck, lstm_bytes, simulate
from core.lstm.model import GATES, lstm_flops

NUMPY = select_backend("numpy")


def test_cost_formulas():
    assert lstm_flops(1, 1, 1, 1) == 3 * 2 * 2 * 4
    assert lstm_flops(100, 32, 32, 128) == 3 * 2 * 100 * 32 * 160 * 512
    assert lstm_bytes(10, 2, 3, 4, 8) > 8 * 10 * 2 * (3 + 4 * 4)  # at least x and the gates


def test_simulate_summary_shapes_and_physics():
    cfg = LSTMConfig(T=12, H=4, D=3, B=2, forget_bias=2.0, loss="last")
    out = simulate(cfg, NUMPY)
    assert out.finite and out.warning == ""
    assert set(out.gates) == set(GATES) and out.gates["f"].shape == (12, 4)
    assert out.h_bar_norm.shape == out.c_bar_norm.shape == (12,)
    prod = out.forget_product
    assert prod[-1] == 1.0 and np.all(np.diff(prod) >= 0)  # a running product of gates in (0, 1)
    low = simulate(cfg.replace(forget_bias=-3.0), NUMPY)
    assert low.forget_product[0] < 1e-6 * prod[0]  # a closed forget gate kills the cell path


def test_simulate_keeps_the_units_it_is_asked_for():
    cfg = LSTMConfig(T=3, H=10, D=2, B=1)
    out = simulate(cfg, NUMPY, units=4)
    assert out.units == 4 and out.h.shape == (3, 4) and out.gates["g"].shape == (3, 4)
    table = out.forward_table()
    assert len(table["t"]) == 3 * 4 and set(table) == {"t", "unit", *GATES, "c", "h"}


def test_an_exploding_setting_gives_a_warning_not_a_crash():
    cfg = LSTMConfig(T=200, H=32, B=1, D=1, weight_scale=20.0)
    out = simulate(cfg, NUMPY, precision="float32")
    assert not out.finite
    assert "lower the weight scale" in out.warning and "float64" in out.warning
    assert simulate(cfg, NUMPY, precision="float64").finite  # the same run fits in float64


@pytest.mark.parametrize("changes,text", [
    (dict(T=1000, B=256, H=512), "memory budget"),
    (dict(T=0), "out of range"),
    (dict(loss="cross-entropy"), "is not one of"),
    (dict(weight_scale=float("nan")), "finite"),
])
def test_config_refuses_bad_sizes_with_a_clear_message(changes, text):
    with pytest.raises(ConfigError, match=text):
        LSTMConfig(**changes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_vanished_gradient_is_named_not_failed(seed):
    """With the last-step loss over a long sequence the adjoints of h(0) and c(0) vanish: their
    finite differences are rounding noise, so a relative error there measures the noise. The
    check names those entries as vanished and passes; every other entry meets the 1e-7 bar."""
    out = gradcheck(GradcheckConfig(T=20, B=4, D=4, H=8, loss="last", entries=0, direction_scale=1), NUMPY,
                    seed=seed)
    assert out.ok, out.per_array
    assert out.vanished > 0 and out.max_rel_error <= 1e-7
    assert out.per_array["h0"].vanished + out.per_array["c0"].vanished > 0


def test_the_page_recipe_that_went_red_on_noise():
    """The backward tab's last-step loss at the page's sizes: a plain relative check reports
    errors above 1e-7 (on h(0) and c(0), whose gradients vanished), the mixed one passes."""
    raw = []
    for seed in (0, 1, 3):
        out = gradcheck(GradcheckConfig(T=20, B=4, D=4, H=8, loss="last", entries=8, direction_scale=1), NUMPY,
                        seed=seed)
        assert out.ok, out.per_array
        raw.append(out.max_rel_error_any)
    assert max(raw) > 1e-7


def test_c_bar_follows_the_forget_product_only_when_the_cell_path_carries_it():
    """The backward tab's claim, in its regime: with the last-step loss, small weights and forget
    gates not shut, the adjoint reaching the cell through h stays small beside the cell path, and
    |c̄(1)|/|c̄(T)| is Π f (to a factor of 2); at the page's defaults, with larger weights, or with
    the forget gates nearly shut (the cell path then vanishes below the h-term), it is not."""
    for forget_bias in (-1.0, 0.0, 3.0):
        small = simulate(LSTMConfig(loss="last", weight_scale=0.05, forget_bias=forget_bias), NUMPY)
        assert small.c_bar_follows_forget_product, (forget_bias, small.c_bar_ratio, small.forget_product[0])
    for cfg in (LSTMConfig(), LSTMConfig(loss="last", weight_scale=3.0), LSTMConfig(loss="last", forget_bias=-3.0),
                LSTMConfig(loss="last", weight_scale=0.05, forget_bias=-3.0)):
        run = simulate(cfg, NUMPY)
        assert not run.c_bar_follows_forget_product, (cfg, run.c_bar_ratio, run.forget_product[0])
