"""The digits experiment (core/grid_train.py): data, the classifier's gradients, Adam, training
that learns, divergence said plainly, determinism, and the computed verdict."""

from __future__ import annotations

import numpy as np
import pytest

from core import grid_train
from core.backend import select_backend
from core.grid_train import WarpTestConfig
from core.gridnets import GridNet
from core.limits import ConfigError

NP = select_backend("numpy")
TINY = WarpTestConfig(mdrnn=False, H=4, epochs=6, n_train=400, batch=16, lr=0.03, levels=2)


@pytest.fixture(scope="module")
def tiny_result():
    return grid_train.warp_test(TINY, NP, seed=0)


def test_digits_split_is_deterministic_and_disjoint():
    a = grid_train.load_digits_split(3)
    b = grid_train.load_digits_split(3)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    x_train, _, x_test, y_test = a
    assert x_train.shape == (1297, 8, 8) and x_test.shape == (grid_train.N_TEST, 8, 8)
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_classifier_gradients_by_central_differences():
    net = GridNet("mdlstm", 1, 3, directions=4)
    params = {**net.init(NP, 0), **grid_train.readout_init(NP, net.F, 0, "float64")}
    x_train, y_train, _, _ = grid_train.load_digits_split(0)
    x, y = x_train[:5, ..., None], np.eye(10)[y_train[:5]]
    _, grads, _ = grid_train.loss_and_grads(net, params, x, y)
    eps = 1e-6
    for name in ("W_out", "b_out", "top-left.W_W", "bottom-right.b"):
        t = NP.randn(params[name].shape, seed=4)
        plus = grid_train.loss_and_grads(net, {**params, name: params[name] + eps * t}, x, y)[0]
        minus = grid_train.loss_and_grads(net, {**params, name: params[name] - eps * t}, x, y)[0]
        assert float(np.sum(grads[name] * t)) == pytest.approx((plus - minus) / (2 * eps), rel=1e-6)


def test_adam_minimises_a_quadratic():
    opt = grid_train.Adam(0.1)
    params = {"w": np.array([3.0, -2.0])}
    for _ in range(300):
        opt.step(params, {"w": 2 * params["w"]})
    assert np.all(np.abs(params["w"]) < 1e-2)


def test_training_learns_and_beats_chance(tiny_result):
    for key in ("mdlstm", "conv"):
        m = tiny_result["models"][key]
        assert not m["diverged"]
        assert m["losses"][-1] < m["losses"][0] - 0.3, (key, m["losses"])
        clean = tiny_result["accuracy"]["rotation"][key][0]
        assert clean > 0.25, (key, clean)  # chance is 0.10
        assert m["train_accuracy"] > 0.25
    # the models were sized to a similar parameter count
    counts = [m["params"] for m in tiny_result["models"].values()]
    assert max(counts) / min(counts) < 1.15
    # strength 0 is the same clean accuracy for every warp
    for key in tiny_result["models"]:
        assert len({tiny_result["accuracy"][k][key][0] for k in ("shear", "rotation", "elastic")}) == 1


def test_same_seed_same_numbers(tiny_result):
    again = grid_train.warp_test(TINY.replace(mdlstm=False), NP, seed=0)
    assert again["models"]["conv"]["losses"] == tiny_result["models"]["conv"]["losses"]
    assert again["accuracy"]["elastic"]["conv"] == tiny_result["accuracy"]["elastic"]["conv"]


def test_divergence_is_reported_not_hidden():
    net = GridNet("conv", 1, 4, L=1)
    x_train, y_train, _, _ = grid_train.load_digits_split(0)
    for lr in (1e300, 1e308):  # a loss blown up to ~1e300, and one that overflows to inf / nan
        res = grid_train.train(net, NP, x_train[:64], y_train[:64], epochs=3, batch=32, lr=lr, seed=0)
        assert "training diverged" in res.diverged and "lower the learning rate" in res.diverged
    ok = grid_train.train(net, NP, x_train[:64], y_train[:64], epochs=2, batch=32, lr=0.01, seed=0)
    assert ok.diverged == "" and len(ok.losses) == 2  # control: a sane rate does not trip it
    result = {"diverged": [res.diverged], "n_test": 500,
              "models": {"conv": {"label": net.label, "diverged": res.diverged}}, "accuracy": {}}
    assert any("Training diverged" in line for line in grid_train.summarize(result))


def _result(clean_rnn, warped_rnn, clean_conv, warped_conv):
    acc = {kind: {"mdlstm": [clean_rnn, warped_rnn], "conv": [clean_conv, warped_conv]}
           for kind in ("shear", "rotation", "elastic")}
    models = {k: {"label": k, "diverged": ""} for k in ("mdlstm", "conv")}
    return {"diverged": [], "n_test": 500, "models": models, "accuracy": acc,
            "amounts": {k: [0.0, 1.0] for k in acc}, "units": {k: "u" for k in acc}}


@pytest.mark.parametrize("numbers, verdict", [
    ((0.9, 0.8, 0.9, 0.5), "supports the claim"),
    ((0.9, 0.5, 0.9, 0.8), "goes against the claim"),
    ((0.9, 0.8, 0.9, 0.79), "shows no clear difference"),
    ((0.12, 0.12, 0.9, 0.5), "near chance"),
    # fewer points lost (25 against 30) but a smaller share kept (37.5% against 62.5%)
    ((0.5, 0.25, 0.9, 0.6), "goes against the claim"),
])
def test_verdict_is_computed_from_the_numbers(numbers, verdict):
    text = " ".join(grid_train.summarize(_result(*numbers)))
    assert verdict in text


def test_config_checks():
    with pytest.raises(ConfigError, match="at least one model"):
        WarpTestConfig(mdrnn=False, mdlstm=False, conv=False)
    with pytest.raises(ConfigError, match="out of range"):
        WarpTestConfig(epochs=0)
    estimate = grid_train.estimate_seconds
    assert estimate(WarpTestConfig()) < estimate(WarpTestConfig(epochs=40))
