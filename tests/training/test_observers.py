"""The observers of a training run: what they keep and what they measure."""

import math

import numpy as np

from core.backend import select_backend
from core.training.momentum import TrainConfig
from core.training.observers import Recorder, Snapshots, blockwise, chain, row_gaps
from core.training.roundtrip import roundtrip

NP = select_backend("numpy")


def test_snapshots_measure_each_kept_step_and_inf_where_the_inverse_never_came():
    snap = Snapshots(K=4, stride=2)
    states = {k: (np.full(3, float(k)), np.arange(3.0) * k) for k in range(5)}
    for k, (p, theta) in states.items():
        snap.keep(k, p, theta)
    assert sorted(snap.kept) == [0, 2, 4]
    snap.compare(4, states[4][0] + 0.25, states[4][1])  # p off by 0.25
    snap.compare(2, states[2][0], states[2][1] - np.array([0.0, 3.0, 0.0]))  # theta off by 3
    ks, err = snap.table()  # the inverse stopped before it got back to step 0
    assert ks.tolist() == [0, 2, 4]
    assert err.tolist() == [math.inf, 3.0, 0.25]


def test_snapshots_copy_what_a_float_pass_changes_in_place():
    snap = Snapshots(K=1, stride=1)
    p, theta = np.zeros(2), np.ones(2)
    snap.keep(0, p, theta)
    theta += 5.0  # the pass moves on in place
    snap.compare(0, p, theta)
    theta -= 5.0
    assert snap.table()[1].tolist() == [5.0]


def test_row_gaps_are_inf_where_a_state_is_not_finite():
    a = [(np.array([1.0, np.nan]), np.zeros(2)), (np.zeros(2), np.array([np.inf, 0.0])), (np.ones(2), np.ones(2))]
    b = [(np.zeros(2), np.zeros(2))] * 3
    assert row_gaps(a, b).tolist() == [math.inf, math.inf, 1.0]


def test_a_recorder_of_fresh_arrays_records_what_one_that_copies_records():
    fwd, inv = Recorder((0, 2), fresh=True), Recorder((0, 2), fresh=True)
    ref_fwd, ref_inv = Recorder((0, 2)), Recorder((0, 2))

    def both(a, b):
        return lambda k, p, theta: (a(k, p, theta), b(k, p, theta))

    res = roundtrip(TrainConfig(D=5, steps=40, mode="exact"), NP, observer=both(fwd, ref_fwd),
                    inverse_observer=both(inv, ref_inv))
    assert res.bit_exact
    assert fwd.steps == ref_fwd.steps == list(range(41))
    for got, want in ((fwd, ref_fwd), (inv, ref_inv)):
        assert got.theta.shape == (41, 2)
        np.testing.assert_array_equal(got.theta, want.theta)
        np.testing.assert_array_equal(got.p, want.p)
    np.testing.assert_array_equal(inv.theta[::-1], fwd.theta)  # the way back, the same states


def test_a_recorder_keeps_call_order_across_kinds_of_arrays_and_reads():
    """States kept whole (fresh NumPy), picked per step (other arrays) and read in between come
    back in the order they were handed."""
    import array_api_strict as xps

    rng = np.random.default_rng(5)
    states = [(rng.standard_normal(4), rng.standard_normal(4)) for _ in range(9)]
    rec = Recorder((3, 1), fresh=True)
    for k, (p, theta) in enumerate(states):
        if k == 4:
            np.testing.assert_array_equal(rec.theta, [t[[3, 1]] for _, t in states[:4]])  # a read midway
        if k in (2, 3, 6):
            p, theta = xps.asarray(p), xps.asarray(theta)
        rec(k, p, theta)
    assert rec.steps == list(range(9))
    np.testing.assert_array_equal(rec.p, [p[[3, 1]] for p, _ in states])
    np.testing.assert_array_equal(rec.theta, [t[[3, 1]] for _, t in states])
    rec.theta[0, 0] = 99.0  # what a read hands out is the caller's
    assert rec.theta[0, 0] == states[0][1][3]


def test_row_gaps_in_several_stacks_are_the_gaps_of_one(monkeypatch):
    from core.training import observers

    rng = np.random.default_rng(3)
    a = [(rng.standard_normal(5), rng.standard_normal(5)) for _ in range(9)]
    b = [(x + rng.standard_normal(5) * 1e-3, y) for x, y in a]
    whole = row_gaps(a, b)
    monkeypatch.setattr(observers, "STACK_BYTES", 2 * 5 * 8)  # two rows a stack: five stacks per part
    np.testing.assert_array_equal(row_gaps(a, b), whole)
    want = [max(np.max(np.abs(x - u)), np.max(np.abs(y - v))) for (x, y), (u, v) in zip(a, b, strict=True)]
    np.testing.assert_array_equal(whole, want)


def test_stack_is_numpy_stack():
    from core.training.observers import stack

    rng = np.random.default_rng(4)
    for arrays in ([rng.standard_normal(3) for _ in range(5)], [rng.integers(0, 9, 2) for _ in range(4)],
                   [rng.standard_normal((2, 2)) for _ in range(3)], [np.float32([1.5])]):
        got, want = stack(arrays), np.stack(arrays)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_steps_handed_in_blocks_are_the_steps_handed_one_by_one():
    """A pass may hand its observers blocks of steps (core.training.small): the recorders, both
    sides of the snapshots, a chain of them and an observer without a block method of its own
    end with what the same steps handed one call a step give them, blocks and single steps mixed."""
    rng = np.random.default_rng(0)
    K, D = 23, 3
    P, T = rng.standard_normal((K + 1, D)), rng.standard_normal((K + 1, D))

    def observers():
        snap, rec, fresh, plain = Snapshots(K, 4), Recorder((2, 0)), Recorder(2, fresh=True), []
        return (snap, rec, fresh, plain), chain(snap.keep, rec, fresh, lambda k, p, t: plain.append((k, p, t)))

    (snap_a, rec_a, fresh_a, plain_a), one = observers()
    for k in range(K + 1):
        one(k, P[k].copy(), T[k].copy())
    assert [k for k, _, _ in plain_a] == list(range(K + 1))
    (snap_b, rec_b, fresh_b, plain_b), blocks = observers()
    for lo, hi in ((0, 5), (5, 6), (6, 17), (17, K + 1)):
        if hi - lo == 1:
            blocks(lo, P[lo].copy(), T[lo].copy())
        else:
            blockwise(blocks)(list(range(lo, hi)), P[lo:hi].copy(), T[lo:hi].copy())
    assert sorted(snap_a.kept) == sorted(snap_b.kept) == [0, 4, 8, 12, 16, 20, 23]
    for k in snap_a.kept:
        for a, b in zip(snap_a.kept[k], snap_b.kept[k], strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in ((rec_a, rec_b), (fresh_a, fresh_b)):
        assert a.steps == b.steps == list(range(K + 1))
        np.testing.assert_array_equal(a.p, b.p)
        np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(rec_b.theta, T[:, [2, 0]])
    assert [k for k, _, _ in plain_b] == list(range(K + 1))
    np.testing.assert_array_equal(np.array([t for _, _, t in plain_b]), T)


def test_snapshots_of_blocks_measure_what_snapshots_of_single_steps_measure():
    """Blocks are measured as stacked arrays, single steps through their dicts: the same table
    (inf where the way back stopped short or came back to NaN) and the same gaps to another run."""
    rng = np.random.default_rng(7)
    K, D = 30, 3
    P, T = rng.standard_normal((K + 1, D)), rng.standard_normal((K + 1, D))
    Pb, Tb = P + rng.standard_normal((K + 1, D)) * 1e-9, T.copy()
    Tb[12, 1] = np.nan
    other_T = T + rng.standard_normal((K + 1, D)) * 1e-6
    made = []
    for blocks in (False, True):
        snap, other = Snapshots(K, 4), Snapshots(K, 4)
        for side, (PP, TT), steps in ((snap.keep, (P, T), range(K + 1)), (other.keep, (P, other_T), range(K + 1)),
                                      (snap.compare, (Pb, Tb), range(K, 6, -1))):  # back only to k = 7
            ks = list(steps)
            if blocks:
                for lo in range(0, len(ks), 9):
                    part = ks[lo:lo + 9]
                    blockwise(side)(part, PP[part].copy(), TT[part].copy())
            else:
                for k in ks:
                    side(k, PP[k].copy(), TT[k].copy())
        assert (snap.keep.arrays() is not None) == blocks
        made.append((snap.table(), snap.theta_gaps(other)))
    (ks_a, err_a), (gk_a, gaps_a) = made[0]
    (ks_b, err_b), (gk_b, gaps_b) = made[1]
    assert ks_a.tolist() == ks_b.tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 30]
    np.testing.assert_array_equal(err_a, err_b)
    assert err_b[:2].tolist() == [math.inf, math.inf] and err_b[3] == math.inf  # never back; NaN
    assert np.all(err_b[[2, 4, 5, 6, 7, 8]] > 0) and np.all(err_b[[2, 4, 5, 6, 7, 8]] < 1e-8)
    assert gk_a == gk_b == ks_b.tolist()
    np.testing.assert_array_equal(gaps_a, gaps_b)
    want = np.abs(T - other_T)[ks_b].max(axis=1)
    np.testing.assert_array_equal(gaps_b, want)
