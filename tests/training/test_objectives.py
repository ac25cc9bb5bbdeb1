"""core.objectives: gradients and Hessian-vector products against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.limits import ConfigError
from core.training.objectives import DIGITS_D, FEW, make_objective, objective_size

KINDS = [("quadratic", {"D": 7, "cond": 50.0}), ("rosenbrock", {}), ("digits", {"l2": 0.01})]


def _obj(name, kw, backend, dtype="float64"):
    return make_objective(name, backend, seed=3, dtype=dtype, **kw)


def _theta(obj, backend, seed=5):
    # a point away from the minimum, so that gradients and curvatures are not trivial
    rng = np.random.default_rng(seed)
    base = to_numpy(obj.theta0).astype(np.float64)
    return backend.asarray(base + 0.3 * rng.standard_normal(obj.D), "float64")


@pytest.mark.parametrize("name, kw", KINDS, ids=[k[0] for k in KINDS])
def test_gradient_matches_central_differences_in_random_directions(backend, name, kw):
    obj = _obj(name, kw, backend)
    theta = _theta(obj, backend)
    g = to_numpy(obj.grad(theta))
    rng = np.random.default_rng(0)
    for _ in range(3):
        u = rng.standard_normal(obj.D)
        u /= np.linalg.norm(u)
        h = 1e-5
        ud = backend.asarray(u, "float64")
        fd = (obj.loss(theta + h * ud) - obj.loss(theta - h * ud)) / (2 * h)
        assert abs(fd - g @ u) <= 1e-7 * max(1.0, abs(fd)), (fd, g @ u)


@pytest.mark.parametrize("name, kw", KINDS, ids=[k[0] for k in KINDS])
def test_hvp_matches_differences_of_the_gradient(backend, name, kw):
    obj = _obj(name, kw, backend)
    theta = _theta(obj, backend)
    v = backend.asarray(np.random.default_rng(1).standard_normal(obj.D), "float64")
    h = 1e-5
    fd = (to_numpy(obj.grad(theta + h * v)) - to_numpy(obj.grad(theta - h * v))) / (2 * h)
    hv = to_numpy(obj.hvp(theta, v))
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_gradient_entry_by_entry_for_small_sizes():
    b = select_backend("numpy")
    for name, kw in KINDS[:2]:
        obj = _obj(name, kw, b)
        theta = _theta(obj, b)
        g = obj.grad(theta)
        for i in range(obj.D):
            e = np.zeros(obj.D)
            e[i] = 1e-6
            fd = (obj.loss(theta + e) - obj.loss(theta - e)) / 2e-6
            assert abs(fd - g[i]) < 1e-7 * max(1.0, abs(fd))


def test_validation_gradient_of_digits():
    b = select_backend("numpy")
    obj = make_objective("digits", b, seed=0)
    theta = _theta(obj, b)
    u = np.random.default_rng(2).standard_normal(obj.D)
    fd = (obj.val_loss(theta + 1e-5 * u) - obj.val_loss(theta - 1e-5 * u)) / 2e-5
    assert abs(fd - obj.val_grad(theta) @ u) < 1e-7 * abs(fd)
    # the validation loss has no penalty and differs from the training loss
    assert obj.val_loss(theta) != obj.loss(theta)


def test_quadratic_spectrum_is_the_control():
    obj = make_objective("quadratic", select_backend("numpy"), D=12, cond=1e3, seed=1)
    A = obj.hessian_host()
    eig = np.linalg.eigvalsh(A)
    assert eig.max() == pytest.approx(1.0) and eig.min() == pytest.approx(1e-3)
    assert eig.max() / eig.min() == pytest.approx(1e3)
    assert np.abs(A - np.diag(np.diag(A))).max() > 1e-3, "A is not diagonal (a reflection mixes axes)"
    np.testing.assert_allclose(obj.grad(obj.theta0), A @ obj.theta0, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("D", [12, 1000])  # the dense product and the two reflections
def test_in_place_gradient_gives_the_same_bits(dtype, D):
    b = select_backend("numpy")
    obj = make_objective("quadratic", b, D=D, seed=2, dtype=dtype)
    assert (obj.A is not None) == (D <= obj.DENSE_MAX)
    out = np.empty(D, dtype=dtype)
    got = obj.grad(obj.theta0, out=out)
    assert got is out and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, obj.grad(obj.theta0))


def test_the_dense_gradient_is_the_reflections_gradient():
    obj = make_objective("quadratic", select_backend("numpy"), D=40, cond=1e3, seed=3)
    assert obj.A is not None
    theta = np.random.default_rng(4).standard_normal(40)
    reflected = obj._reflect(obj.lam * obj._reflect(theta))  # R diag(lam) R theta, no matrix formed
    np.testing.assert_allclose(obj.grad(theta), reflected, rtol=1e-13, atol=1e-15)


def test_gradients_are_deterministic_bit_for_bit():
    b = select_backend("numpy")
    for name, kw in KINDS:
        obj = _obj(name, kw, b)
        theta = _theta(obj, b)
        np.testing.assert_array_equal(obj.grad(theta), obj.grad(theta.copy()))


def test_float32_objective_computes_in_float32(backend):
    obj = make_objective("digits", backend, dtype="float32")
    g = obj.grad(obj.theta0)
    assert to_numpy(g).dtype == np.float32


def test_objective_sizes():
    assert objective_size("digits", 5) == DIGITS_D == 650
    assert objective_size("rosenbrock", 5) == 2 and objective_size("quadratic", 5) == 5


def test_rosenbrock_minimum_and_classical_start():
    obj = make_objective("rosenbrock", select_backend("numpy"))
    assert obj.loss(np.array([1.0, 1.0])) == 0.0
    np.testing.assert_array_equal(obj.grad(np.array([1.0, 1.0])), [0.0, 0.0])
    np.testing.assert_array_equal(obj.theta0, [-1.2, 1.0])


def test_bad_objectives_are_refused():
    b = select_backend("numpy")
    with pytest.raises(ConfigError, match="unknown objective"):
        make_objective("himmelblau", b)
    with pytest.raises(ConfigError, match="float16"):
        make_objective("quadratic", b, dtype="float16")


@pytest.mark.parametrize("D", [1, 2, 5, FEW])
def test_a_few_parameters_have_one_gradient_in_python_floats_numpy_and_any_namespace(D):
    """Up to FEW float64 parameters the quadratic's A theta is each row summed left to right: the
    same bits from Python's floats (grad_floats, which the small passes use), a NumPy vector (also
    in place) and array-api-strict; and it is A theta to rounding. Rosenbrock's alike. float32 and
    larger D have none (their gradient keeps to the arrays)."""
    strict = select_backend("array_api_strict")
    for name in ("quadratic", "rosenbrock"):
        if name == "rosenbrock" and D != 2:
            continue
        obj, ref = (make_objective(name, b, D=D, seed=7) for b in (select_backend("numpy"), strict))
        rng = np.random.default_rng(D)
        for _ in range(20):
            theta = to_numpy(obj.theta0) + rng.standard_normal(D) * 10.0 ** rng.integers(-6, 3)
            want = np.array(obj.grad_floats(theta.tolist()))
            out = np.empty(D)
            on_strict = to_numpy(ref.grad(strict.asarray(theta, "float64")))
            for got in (obj.grad(theta), obj.grad(theta, out=out), on_strict):
                np.testing.assert_array_equal(got, want)
            if name == "quadratic":
                np.testing.assert_allclose(want, obj.hessian_host() @ theta, rtol=1e-13,
                                           atol=1e-15 * np.abs(theta).max())
    assert make_objective("quadratic", select_backend("numpy"), D=D, dtype="float32").grad_floats is None
    assert make_objective("quadratic", select_backend("numpy"), D=FEW + 1).grad_floats is None
    assert make_objective("digits", select_backend("numpy")).grad_floats is None
