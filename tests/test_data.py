"""core/data.py: one loader and one split of the 8 x 8 digits, shared by both experiments."""

from __future__ import annotations

import numpy as np
import pytest

from core import data


def test_the_split_holds_out_every_fifth_digit():
    d = data.digits()
    assert d.train_images.shape == (1437, 8, 8) and d.test_images.shape == (360, 8, 8)
    assert len(d.train_labels) + len(d.test_labels) == 1797
    assert 0.0 <= d.train_images.min() and d.train_images.max() <= 1.0
    assert set(np.unique(d.test_labels)) == set(range(data.CLASSES))
    assert d.train_features.shape == (1437, 64)
    np.testing.assert_array_equal(d.test_features[0], d.test_images[0].ravel())


def test_the_splits_are_complementary_rows_of_the_table():
    """Every digit of the data set is in exactly one split: the test split is the rows 0, 5, 10, ...
    of the table, the training split every other row, each in the table's order."""
    X, y = data._table()
    d = data.digits()
    test = np.arange(len(y)) % data.HOLD_OUT_EVERY == 0
    np.testing.assert_array_equal(d.test_features * 16.0, X[test])
    np.testing.assert_array_equal(d.train_features * 16.0, X[~test])
    np.testing.assert_array_equal(np.concatenate([d.train_labels, d.test_labels]),
                                  np.concatenate([y[~test], y[test]]))


def test_the_arrays_are_shared_read_only():
    d = data.digits()
    assert data.digits() is d
    with pytest.raises(ValueError, match="read-only"):
        d.train_images[0, 0, 0] = 1.0


def test_digits_are_the_ones_scikit_learn_loads():
    from sklearn.datasets import load_digits

    ref = load_digits()
    d = data.digits()
    val = np.arange(1797) % 5 == 0
    np.testing.assert_array_equal(d.test_features * 16, ref.data[val])
    np.testing.assert_array_equal(d.train_features * 16, ref.data[~val])
    np.testing.assert_array_equal(d.train_labels, ref.target[~val])
    np.testing.assert_array_equal(d.test_labels, ref.target[val])
