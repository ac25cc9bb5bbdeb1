"""The digits experiment (core/grid/train.py, core/grid/warptest.py): the classifier's gradients,
Adam, training that learns, divergence said plainly, determinism, and the computed verdict."""

from __future__ import annotations

import numpy as np
import pytest

from core import check
from core.backend import select_backend
from core.data import digits
from core.grid import claims, train, warptest
from core.grid.nets import GridNet
from core.grid.warptest import WarpTestConfig
from core.limits import ConfigError

NP = select_backend("numpy")
TINY = WarpTestConfig(mdrnn=False, H=4, epochs=6, n_train=400, batch=16, lr=0.03, levels=2)


@pytest.fixture(scope="module")
def tiny_result():
    return warptest.warp_test(TINY, NP, seed=0)


def test_classifier_gradients_by_central_differences():
    net = GridNet("mdlstm", 1, 3, directions=4)
    params = {**net.init(NP, 0), **train.readout_init(NP, net.F, 0, "float64")}
    data = digits()
    x, y = data.train_images[:5, ..., None], np.eye(10)[data.train_labels[:5]]
    _, grads, _ = train.loss_and_grads(net, params, x, y)
    for name in ("W_out", "b_out", "top-left.W_W", "bottom-right.b"):
        t = {name: NP.randn(params[name].shape, seed=4)}
        fd = check.along(lambda a, name=name: train.loss_and_grads(net, {**params, **a}, x, y)[0],
                         {name: params[name]}, t, h=1e-6)
        assert check.inner(grads, t) == pytest.approx(fd, rel=1e-6)


def test_adam_minimises_a_quadratic():
    opt = train.Adam(0.1)
    params = {"w": np.array([3.0, -2.0])}
    for _ in range(300):
        opt.step(params, {"w": 2 * params["w"]})
    assert np.all(np.abs(params["w"]) < 1e-2)


def test_training_learns_and_beats_chance(tiny_result):
    for key in ("mdlstm", "conv"):
        m = tiny_result.models[key]
        assert not m.diverged
        assert m.losses[-1] < m.losses[0] - 0.3, (key, m.losses)
        clean = tiny_result.accuracy["rotation"][key][0]
        assert clean > 0.25, (key, clean)  # chance is 0.10
        assert m.train_accuracy > 0.25
    # the models were sized to a similar parameter count
    counts = [m.params for m in tiny_result.models.values()]
    assert max(counts) / min(counts) < 1.15
    # strength 0 is the same clean accuracy for every warp
    for key in tiny_result.models:
        assert len({tiny_result.accuracy[k][key][0] for k in ("shear", "rotation", "elastic")}) == 1


def test_same_seed_same_numbers(tiny_result):
    again = warptest.warp_test(TINY.replace(mdlstm=False), NP, seed=0)
    assert again.models["conv"].losses == tiny_result.models["conv"].losses
    assert again.accuracy["elastic"]["conv"] == tiny_result.accuracy["elastic"]["conv"]


def test_divergence_is_reported_not_hidden():
    net = GridNet("conv", 1, 4, L=1)
    data = digits()
    x_train, y_train = data.train_images, data.train_labels
    for lr in (1e300, 1e308):  # a loss blown up to ~1e300, and one that overflows to inf / nan
        res = train.train(net, NP, x_train[:64], y_train[:64], epochs=3, batch=32, lr=lr, seed=0)
        assert "training diverged" in res.diverged and "lower the learning rate" in res.diverged
    ok = train.train(net, NP, x_train[:64], y_train[:64], epochs=2, batch=32, lr=0.01, seed=0)
    assert ok.diverged == "" and len(ok.losses) == 2  # control: a sane rate does not trip it
    model = warptest.TrainedModel(label=net.label, H=4, params=0, macs=0, steps=3, losses=(), train_seconds=0.0,
                                  diverged=res.diverged, train_accuracy=None)
    result = warptest.WarpTest(n_train=64, n_test=360, strengths=np.array([0.0, 1.0]), amounts={}, units={},
                               models={"conv": model}, accuracy={}, diverged=[res.diverged], correct={})
    assert any("Training diverged" in line for line in claims.warp_summary(result))


def _digits(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """n digits, exactly round(rate n) of them classified right, in a random order."""
    right = np.zeros(n, dtype=bool)
    right[:round(rate * n)] = True
    return rng.permutation(right)


def _result(clean_rnn, warped_rnn, clean_conv, warped_conv, n=360):
    """A warping test with these accuracies (clean, then one warped strength), digit by digit."""
    rng = np.random.default_rng(0)
    correct = {kind: {"mdlstm": np.stack([_digits(n, clean_rnn, rng), _digits(n, warped_rnn, rng)]),
                      "conv": np.stack([_digits(n, clean_conv, rng), _digits(n, warped_conv, rng)])}
               for kind in ("shear", "rotation", "elastic")}
    models = {k: warptest.TrainedModel(label=k, H=4, params=0, macs=0, steps=1, losses=(), train_seconds=0.0,
                                       diverged="", train_accuracy=0.9) for k in ("mdlstm", "conv")}
    return warptest.WarpTest(n_train=100, n_test=n, strengths=np.array([0.0, 1.0]),
                             amounts={k: [0.0, 1.0] for k in correct}, units={k: "u" for k in correct},
                             models=models, diverged=[], correct=correct,
                             accuracy={kind: {key: list(c.mean(axis=1)) for key, c in per.items()}
                                       for kind, per in correct.items()})


@pytest.mark.parametrize("numbers, verdict", [
    ((0.9, 0.8, 0.9, 0.5), "supports the claim"),
    ((0.9, 0.5, 0.9, 0.8), "goes against the claim"),
    ((0.9, 0.8, 0.9, 0.79), "shows no clear difference"),
    ((0.12, 0.12, 0.9, 0.5), "near chance"),
    # fewer points lost (25 against 30) but a smaller share kept (37.5% against 62.5%)
    ((0.5, 0.25, 0.9, 0.6), "goes against the claim"),
])
def test_verdict_is_computed_from_the_numbers(numbers, verdict):
    text = " ".join(claims.warp_summary(_result(*numbers)))
    assert verdict in text


def test_the_verdict_interval_is_over_the_test_digits_and_paired():
    """The share kept is compared digit by digit on the same test digits; a difference a handful of
    digits could make is no verdict, the same difference over many digits is one."""
    few = " ".join(claims.warp_summary(_result(0.9, 0.8, 0.9, 0.7, n=40)))
    many = " ".join(claims.warp_summary(_result(0.9, 0.8, 0.9, 0.7, n=2000)))
    assert "shows no clear difference" in few and "over the 40 test digits" in few
    assert "supports the claim" in many and "over the 2000 test digits" in many


def test_config_checks():
    with pytest.raises(ConfigError, match="at least one model"):
        WarpTestConfig(mdrnn=False, mdlstm=False, conv=False)
    with pytest.raises(ConfigError, match="out of range"):
        WarpTestConfig(epochs=0)
    estimate = warptest.warp_test_seconds
    assert estimate(WarpTestConfig()) < estimate(WarpTestConfig(epochs=40))
