"""Training objectives J(theta) with exact gradients and Hessian-vector products.

Momentum SGD (seed problems 6 and 7) runs on one of three objectives, each written against
the array API so the same code runs on NumPy, CuPy and array-api-strict:

* ``quadratic``: J = 1/2 theta^T A theta with A = R diag(lambda) R, R = I - 2 u u^T a
  Householder reflection (so A is not diagonal, yet costs O(D) to apply); the spectrum
  lambda runs geometrically from 1 down to 1/cond, so ``cond`` is the condition number.
* ``rosenbrock``: the 2-D banana valley ((a - x)^2 + b (y - x^2)^2) / b with a = 1, b = 100.
  Dividing by b keeps its contours and puts its largest curvature near 10, so the same
  learning rate suits every objective here.
* ``digits``: multinomial logistic regression with an L2 penalty on scikit-learn's bundled
  8x8 digits (``core.data``: nothing is downloaded; every fifth digit is held out for
  validation).

Every objective has ``loss``, ``grad``, ``hvp`` (training loss) and ``val_loss``, ``val_grad``
(the loss that hyperparameters are tuned on: the validation split for ``digits``, J itself
for the two synthetic functions). All of them are deterministic: the same theta gives the
same bits, which the exact reverse pass relies on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.backend import Backend, dtype_of, namespace
from core.data import digits
from core.limits import ConfigError, echo

OBJECTIVES = ("quadratic", "rosenbrock", "digits")
DIGITS_CLASSES = 10
DIGITS_FEATURES = 64
DIGITS_D = DIGITS_FEATURES * DIGITS_CLASSES + DIGITS_CLASSES  # W (64, 10) and b (10,)
# Up to FEW float64 parameters an objective may also offer its gradient in Python's floats,
# ``grad_floats(theta: list[float]) -> list[float]``, with the bits of ``grad`` on a float64 NumPy
# vector (same operations, same order: Python's floats are IEEE doubles rounded as NumPy's are);
# ``None`` where it does not. A training pass of a few parameters (``core.training.small``) keeps
# theta in Python's floats and pays two conversions and a NumPy call a step without it.
FEW = 8


def objective_size(name: str, D: int) -> int:
    """Number of parameters: D for the quadratic, fixed by the problem otherwise."""
    return {"quadratic": D, "rosenbrock": 2, "digits": DIGITS_D}[name]


class Quadratic:
    """J(theta) = 1/2 theta^T A theta, A = R diag(lam) R, R = I - 2 u u^T (u a unit vector)."""

    name = "quadratic"

    def __init__(self, D: int, cond: float, seed: int, backend: Backend, dtype: str) -> None:
        rng = np.random.default_rng(seed)
        self.D = D
        lam = cond ** (-np.arange(D) / max(D - 1, 1))  # 1 ... 1/cond, geometric
        u = rng.standard_normal(D)
        u /= np.linalg.norm(u)
        self.lam_host, self.u_host = lam, u
        self.lam = backend.asarray(lam, dtype)
        self.u = backend.asarray(u, dtype)
        self.theta0_host = rng.standard_normal(D)
        self.theta0 = backend.asarray(self.theta0_host, dtype)
        # up to DENSE_MAX parameters the gradient is one product with A itself (fewer calls than
        # the two reflections, which a training step of a few parameters pays for in call time)
        self.A = backend.asarray(self.hessian_host(), dtype) if D <= self.DENSE_MAX else None
        # up to FEW float64 parameters, A theta is each row's products summed left to right, in
        # Python's floats and on NumPy vectors alike (a BLAS product may fuse or reorder them)
        self._rows = self.hessian_host().tolist() if D <= FEW and np.dtype(dtype) == np.float64 else None
        self.grad_floats = None if self._rows is None else self._grad_floats

    DENSE_MAX = 64

    def _grad_floats(self, theta: list[float]) -> list[float]:
        if len(theta) == 2:  # the 2-D pictures' size, written out
            t0, t1 = theta
            (a, b), (c, d) = self._rows
            return [a * t0 + b * t1, c * t0 + d * t1]
        out = []
        for row in self._rows:
            acc = row[0] * theta[0]
            for a, t in zip(row[1:], theta[1:], strict=True):
                acc += a * t
            out.append(acc)
        return out

    def _reflect(self, x: Any) -> Any:  # R x = x - 2 (u . x) u
        xp = namespace(x)
        return x - (2 * xp.vecdot(self.u, x)) * self.u

    def loss(self, theta: Any) -> float:
        xp = namespace(theta)
        y = self._reflect(theta)
        return float(0.5 * xp.sum(self.lam * y * y))

    def grad(self, theta: Any, out: Any = None) -> Any:
        """A theta; with NumPy and ``out`` given, written into ``out`` in place (same bits)."""
        if self._rows is not None and theta.ndim == 1:  # a few float64 parameters: rows in order
            if isinstance(theta, np.ndarray):
                g = self._grad_floats(theta.tolist())
                if out is None:
                    return np.array(g)
                out[:] = g
                return out
            acc = self.A[:, 0] * theta[0]  # any array namespace: one rounding an operation, in order
            for j in range(1, self.D):
                acc = acc + self.A[:, j] * theta[j]
            return acc
        if out is not None and self.A is not None and isinstance(theta, np.ndarray):  # asked at every step
            return np.matmul(self.A, theta, out=out)
        xp = namespace(theta)
        if out is None or xp is not np:
            return self._reflect(self.lam * self._reflect(theta)) if self.A is None else xp.matmul(self.A, theta)
        y = self._scratch(theta)
        np.multiply(self.u, 2 * np.vecdot(self.u, theta), out=y)
        np.subtract(theta, y, out=y)  # R theta
        np.multiply(self.lam, y, out=y)
        np.multiply(self.u, 2 * np.vecdot(self.u, y), out=out)
        return np.subtract(y, out, out=out)  # R lam R theta

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        y = getattr(self, "_y", None)
        if y is None or y.dtype != like.dtype or y.shape != like.shape:
            self._y = y = np.empty_like(like)
        return y

    def hvp(self, theta: Any, v: Any) -> Any:
        return self.grad(v)  # the Hessian is A everywhere

    val_loss, val_grad = loss, grad

    def hessian_host(self) -> np.ndarray:
        """A as a dense NumPy matrix (for checks with small D)."""
        R = np.eye(self.D) - 2 * np.outer(self.u_host, self.u_host)
        return R @ np.diag(self.lam_host) @ R


class Rosenbrock:
    """J(x, y) = ((a - x)^2 + b (y - x^2)^2) / b, a = 1, b = 100; minimum 0 at (1, 1)."""

    name = "rosenbrock"
    a, b = 1.0, 100.0

    def __init__(self, backend: Backend, dtype: str) -> None:
        self.D = 2
        self.theta0_host = np.array([-1.2, 1.0])  # the classical starting point
        self.theta0 = backend.asarray(self.theta0_host, dtype)
        self.grad_floats = self._grad_floats if np.dtype(dtype) == np.float64 else None

    def _grad_floats(self, theta: list[float]) -> list[float]:  # grad's operations, in its order
        x, y = theta
        r = y - x * x
        return [(-2 * (self.a - x) - 4 * self.b * x * r) / self.b, 2 * r]

    def loss(self, theta: Any) -> float:
        x, y = float(theta[0]), float(theta[1])
        return ((self.a - x) ** 2 + self.b * (y - x * x) ** 2) / self.b

    def grad(self, theta: Any, out: Any = None) -> Any:
        xp = namespace(theta)
        x, y = theta[0], theta[1]
        r = y - x * x
        gx = (-2 * (self.a - x) - 4 * self.b * x * r) / self.b
        gy = 2 * r
        return xp.stack([gx, gy])

    def hvp(self, theta: Any, v: Any) -> Any:
        xp = namespace(theta, v)
        x, y = theta[0], theta[1]
        hxx = (2 - 4 * self.b * (y - x * x) + 8 * self.b * x * x) / self.b
        hxy = -4 * x
        return xp.stack([hxx * v[0] + hxy * v[1], hxy * v[0] + 2 * v[1]])

    val_loss, val_grad = loss, grad


class LogisticDigits:
    """Mean cross-entropy of softmax(X W + b) plus l2/2 |W|^2; theta = (W.ravel(), b)."""

    name = "digits"

    def __init__(self, l2: float, seed: int, backend: Backend, dtype: str) -> None:
        data = digits()
        Xt, yt, Xv, yv = data.train_features, data.train_labels, data.test_features, data.test_labels
        self.D, self.l2 = DIGITS_D, l2
        self.X, self.Xv = backend.asarray(Xt, dtype), backend.asarray(Xv, dtype)
        self.Y = backend.asarray(np.eye(DIGITS_CLASSES)[yt], dtype)  # (n, 10) one-hot
        self.Yv = backend.asarray(np.eye(DIGITS_CLASSES)[yv], dtype)
        self.theta0_host = 0.01 * np.random.default_rng(seed).standard_normal(DIGITS_D)
        self.theta0 = backend.asarray(self.theta0_host, dtype)

    def _split(self, theta: Any) -> tuple[Any, Any]:
        xp = namespace(theta)
        W = xp.reshape(theta[: DIGITS_FEATURES * DIGITS_CLASSES], (DIGITS_FEATURES, DIGITS_CLASSES))
        return W, theta[DIGITS_FEATURES * DIGITS_CLASSES:]  # (64, 10), (10,)

    @staticmethod
    def _softmax(Z: Any) -> Any:
        xp = namespace(Z)
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)  # (n, 10)

    def _cross_entropy(self, theta: Any, X: Any, Y: Any) -> float:
        xp = namespace(theta)
        W, b = self._split(theta)
        Z = xp.matmul(X, W) + b  # (n, 10)
        m = xp.max(Z, axis=1, keepdims=True)
        logz = xp.log(xp.sum(xp.exp(Z - m), axis=1)) + m[:, 0]
        return float(xp.mean(logz - xp.sum(Y * Z, axis=1)))

    def _grad(self, theta: Any, X: Any, Y: Any, l2: float) -> Any:
        xp = namespace(theta)
        W, b = self._split(theta)
        G = (self._softmax(xp.matmul(X, W) + b) - Y) / X.shape[0]  # (n, 10)
        dW = xp.matmul(xp.matrix_transpose(X), G) + l2 * W
        return xp.concat([xp.reshape(dW, (-1,)), xp.sum(G, axis=0)])

    def loss(self, theta: Any) -> float:
        W, _ = self._split(theta)
        xp = namespace(theta)
        return self._cross_entropy(theta, self.X, self.Y) + 0.5 * self.l2 * float(xp.sum(W * W))

    grad_floats = None  # never a few parameters

    def grad(self, theta: Any, out: Any = None) -> Any:
        return self._grad(theta, self.X, self.Y, self.l2)

    def hvp(self, theta: Any, v: Any) -> Any:
        xp = namespace(theta, v)
        W, b = self._split(theta)
        VW, vb = self._split(v)
        P = self._softmax(xp.matmul(self.X, W) + b)  # (n, 10)
        dZ = xp.matmul(self.X, VW) + vb
        dG = P * (dZ - xp.sum(P * dZ, axis=1, keepdims=True)) / self.X.shape[0]  # softmax JVP
        HW = xp.matmul(xp.matrix_transpose(self.X), dG) + self.l2 * VW
        return xp.concat([xp.reshape(HW, (-1,)), xp.sum(dG, axis=0)])

    def val_loss(self, theta: Any) -> float:
        return self._cross_entropy(theta, self.Xv, self.Yv)

    def val_grad(self, theta: Any) -> Any:
        return self._grad(theta, self.Xv, self.Yv, 0.0)


Objective = Quadratic | Rosenbrock | LogisticDigits


def make_objective(name: str, backend: Backend, *, D: int = 2, cond: float = 100.0, l2: float = 1e-3,
                   seed: int = 0, dtype: str = "float64") -> Objective:
    """The objective ``name`` with its constants on ``backend`` in ``dtype``."""
    dtype_of(backend.xp, dtype)  # ConfigError for anything but float32/float64
    if name == "quadratic":
        if not (1 <= D and math.isfinite(cond) and cond >= 1):
            raise ConfigError(f"quadratic needs D >= 1 and cond >= 1, got D={D}, cond={cond}")
        return Quadratic(D, cond, seed, backend, dtype)
    if name == "rosenbrock":
        return Rosenbrock(backend, dtype)
    if name == "digits":
        return LogisticDigits(l2, seed, backend, dtype)
    raise ConfigError(f"unknown objective {echo(name)}: choose one of {', '.join(OBJECTIVES)}")


@dataclass(frozen=True)
class LossSurface:
    """J of a 2-D objective on the grid ys x xs, for a contour plot."""

    x: np.ndarray  # (nx,)
    y: np.ndarray  # (ny,)
    J: np.ndarray  # (ny, nx)


def surface_over(obj: Objective, xs: tuple[float, float], ys: tuple[float, float], n: int = 80) -> LossSurface:
    """J on an n x n grid over the box xs x ys."""
    gx, gy = np.linspace(*xs, n), np.linspace(*ys, n)
    return LossSurface(x=gx, y=gy, J=loss_surface(obj, gx, gy))


def loss_surface(obj: Objective, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """J on the grid (ys, xs) of a 2-D objective, on the host (for contour plots): (ny, nx)."""
    X, Y = np.meshgrid(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    if isinstance(obj, Quadratic) and obj.D == 2:
        A = obj.hessian_host()
        return 0.5 * (A[0, 0] * X * X + 2 * A[0, 1] * X * Y + A[1, 1] * Y * Y)
    if isinstance(obj, Rosenbrock):
        return ((obj.a - X) ** 2 + obj.b * (Y - X * X) ** 2) / obj.b
    raise ConfigError(f"{obj.name} with D = {obj.D} has no 2-D picture: choose Rosenbrock or the quadratic "
                      "with D = 2")


def plot_coordinates(name: str, D: int) -> tuple[int, ...]:
    """Indices of theta worth drawing against k: the first three of the quadratic, both of
    Rosenbrock's, and three weights of central pixels for the digits (index = 10 pixel + class;
    the corner pixels are blank and their weights barely move)."""
    if name == "digits":
        return (28 * DIGITS_CLASSES, 28 * DIGITS_CLASSES + 1, 36 * DIGITS_CLASSES + 2)
    return tuple(range(min(3, objective_size(name, D))))
