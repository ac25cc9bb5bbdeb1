"""core.training.small: the passes of a few parameters in Python's numbers are the array passes,
bit for bit (exact in integers, float64 in floats)."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.limits import ConfigError
from core.training import exact
from core.training.buffer import NumpyBeta
from core.training.exact import ExactState, forward_exact, inverse_exact
from core.training.momentum import TrainConfig, forward_float, inverse_float, schedules
from core.training.objectives import make_objective
from core.training.observers import Recorder, Snapshots, chain

NP, STRICT = select_backend("numpy"), select_backend("array_api_strict")


def _passes(backend, objective, D, F, alphas, ns):
    """Forward and back with a recorder of every coordinate, snapshots and the bits trace."""
    obj = make_objective(objective, backend, D=D, seed=3)
    st = ExactState.start(backend.xp.zeros_like(obj.theta0), obj.theta0, F, 16)
    fwd, back, bits = Recorder(obj.D, fresh=True), Recorder(obj.D, fresh=True), []
    snap = Snapshots(len(alphas), 7, copies=False)
    forward_exact(obj, st, alphas, ns, observer=chain(snap.keep, fwd), bits=bits)
    after = [to_numpy(a).copy() for a in (st.p, st.theta, st.buf.head, st.buf.depth)]
    inverse_exact(obj, st, alphas, ns, observer=chain(snap.compare, back))
    start = exact.to_fixed(obj.theta0, F)
    returned = st.buf.is_empty() and bool(np.all(to_numpy(st.theta) == to_numpy(start))) and not np.any(to_numpy(st.p))
    return dict(small=st.kernel is not None and st.kernel.small, after=after, fwd=(fwd.steps, fwd.p, fwd.theta),
                back=(back.steps, back.p, back.theta), table=snap.table(), bits=np.array(bits), returned=returned)


@pytest.mark.parametrize(("objective", "D"), [("quadratic", 1), ("rosenbrock", 2), ("quadratic", 5),
                                              ("quadratic", NumpyBeta.SMALL)])
def test_python_integer_passes_are_the_array_passes_bit_for_bit(objective, D):
    """Over a schedule that spills and refills words, with F = 56 (states beyond 2^53, so their
    floats are rounded): the same states after every step both ways, the same recorded floats,
    the same words and heads, the same bits stored; the information held agrees to rounding."""
    cfg = TrainConfig(objective=objective, D=D, steps=250, beta=0.6, alpha=0.01, alpha_schedule="linear")
    alphas, ns, _ = schedules(cfg)
    small, ref = (_passes(b, objective, D, 56, alphas, ns) for b in (NP, STRICT))
    assert small["small"] and not ref["small"]
    assert small["returned"] and ref["returned"]
    assert ref["after"][3].min() >= 2, "every parameter spilled words (and the inverse refilled them)"
    assert np.abs(ref["fwd"][2]).max() * 2.0**56 > 2.0**53, "states a float cannot hold exactly"
    for key in ("after", "fwd", "back", "table"):
        for a, b in zip(small[key], ref[key], strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(small["bits"][:, 0], ref["bits"][:, 0])
    # log2 of the heads: a sum of D values, which another summation order may round differently
    np.testing.assert_allclose(small["bits"][:, 1], ref["bits"][:, 1], rtol=0, atol=1e-9)
    assert np.ptp(ref["bits"][:, 1]) > 100, "information was gained step after step"


def test_an_overflow_stops_both_paths_at_the_same_step_with_the_same_state():
    states, messages = [], []
    for backend in (NP, STRICT):
        obj = make_objective("quadratic", backend, D=4, cond=1.0)
        st = ExactState.start(backend.xp.zeros_like(obj.theta0), obj.theta0, 48, 16)
        with pytest.raises(ConfigError, match=r"overflow the fixed-point range at step \d+") as err:
            forward_exact(obj, st, np.full(100, 5.0), [58982] * 100)
        messages.append(str(err.value))
        states.append([to_numpy(a).copy() for a in (st.p, st.theta, st.buf.head)])
    assert messages[0] == messages[1]
    for a, b in zip(*states, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.abs(states[0][1]).max() < 2**62, "the state it stopped in is inside the range: nothing wrapped"


@pytest.mark.parametrize("block", [7, 4096])
def test_observers_see_every_step_up_to_an_error_as_the_array_pass_shows_them(monkeypatch, block):
    """The states are handed to observers in blocks (here also of 7 steps): an exact pass
    stopped by an overflow, and a float pass stopped by divergence, have shown their observers
    the same steps and the same floats as the array passes, up to the step they stopped at."""
    from core.training import small

    monkeypatch.setattr(small._Seen, "BLOCK", block)
    seen = []
    for backend in (NP, STRICT):
        obj = make_objective("quadratic", backend, D=4, cond=1.0)
        st = ExactState.start(backend.xp.zeros_like(obj.theta0), obj.theta0, 48, 16)
        exact_rec, float_rec = Recorder(4, fresh=True), Recorder(4)
        with pytest.raises(ConfigError, match="overflow the fixed-point range"):
            forward_exact(obj, st, np.full(100, 5.0), [58982] * 100, observer=exact_rec)
        with pytest.raises(ConfigError, match="diverge"):
            forward_float(obj, backend.xp.zeros_like(obj.theta0), obj.theta0, np.full(100, 5.0), np.full(100, 0.9),
                          observer=float_rec)
        seen.append([exact_rec.steps, exact_rec.p, exact_rec.theta, float_rec.steps, float_rec.p, float_rec.theta])
    assert len(seen[0][0]) > 8 and len(seen[0][3]) > 8, "both ran more than one block of 7 before stopping"
    for a, b in zip(*seen, strict=True):
        np.testing.assert_array_equal(a, b)


def _float_passes(backend, objective, D, alphas, betas, dtype="float64"):
    obj = make_objective(objective, backend, D=D, seed=4, dtype=dtype)
    fwd, back = Recorder(obj.D), Recorder(obj.D)
    p, theta = forward_float(obj, backend.xp.zeros_like(obj.theta0), obj.theta0, alphas, betas, observer=fwd)
    p_back, theta_back, finite = inverse_float(obj, p, theta, alphas, betas, observer=back)
    arrays = [to_numpy(a) for a in (p, theta, p_back, theta_back, fwd.p, fwd.theta, back.p, back.theta)]
    return arrays, finite, fwd.steps + back.steps


@pytest.mark.parametrize(("objective", "D", "dtype"), [("quadratic", 1, "float64"), ("rosenbrock", 2, "float64"),
                                                       ("quadratic", NumpyBeta.SMALL, "float64"),
                                                       ("quadratic", 3, "float32")])
def test_python_float_passes_are_the_array_passes_bit_for_bit(objective, D, dtype):
    """float64 forward and back in Python's floats: the same states at every step both ways as
    the array-API path, to the step where the drift overflows (float32 keeps to the arrays, and
    agrees with them too). The inverse drifts, so the way back is not the way forward: the
    comparison is of two drifting paths."""
    cfg = TrainConfig(objective=objective, D=D, steps=400, beta=0.7, alpha=0.02, alpha_schedule="cosine")
    alphas, _, betas = schedules(cfg)
    (got, finite, steps), (want, finite_ref, steps_ref) = (_float_passes(b, objective, D, alphas, betas, dtype)
                                                           for b in (NP, STRICT))
    assert finite == finite_ref > 100 and steps == steps_ref  # a drift that overflows stops both alike
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.abs(got[3] - to_numpy(make_objective(objective, NP, D=D, seed=4, dtype=dtype).theta0)).max() > 0, \
        "the float inverse did drift (a path that stayed exact would not test the rounding)"


def test_a_float_pass_that_diverges_or_overflows_ends_as_the_array_pass_does():
    alphas, betas = np.full(300, 5.0), np.full(300, 0.9)
    messages = []
    for backend in (NP, STRICT):
        obj = make_objective("quadratic", backend, D=3, cond=1.0, seed=2)
        with pytest.raises(ConfigError, match=r"diverged at step \d+") as err:
            forward_float(obj, backend.xp.zeros_like(obj.theta0), obj.theta0, alphas, betas)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    # undoing steps of a tiny beta from a large state overflows to inf: both stop at the same step
    ends = []
    for backend in (NP, STRICT):
        obj = make_objective("quadratic", backend, D=3, cond=1.0, seed=2)
        p, theta, finite = inverse_float(obj, obj.theta0 * 1e30, obj.theta0, np.full(300, 0.1), np.full(300, 1e-3))
        ends.append((finite, [to_numpy(a) for a in (p, theta)]))
    assert ends[0][0] == ends[1][0] < 300
    for a, b in zip(ends[0][1], ends[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
