"""The 8 x 8 digits, loaded once, split once.

scikit-learn ships 1797 handwritten digits (8 x 8 pixels, values 0 to 16) with the package:
nothing is downloaded. Two experiments use them: logistic regression trained by momentum SGD
(``core.training.objectives``) and the warping test of the grid models
(``core.grid.warptest``). Both use this one split: every fifth digit (index % 5 == 0) is held
out, 360 test digits against 1437 for training.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = 10
SIDE = 8  # pixels per row and column
HOLD_OUT_EVERY = 5  # index % 5 == 0: the test split


@dataclass(frozen=True)
class Digits:
    """Images scaled to [0, 1] as (N, 8, 8) float64 and labels 0..9 as (N,) int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    @property
    def train_features(self) -> np.ndarray:
        """The training images as (N, 64) rows."""
        return self.train_images.reshape(len(self.train_labels), SIDE * SIDE)

    @property
    def test_features(self) -> np.ndarray:
        return self.test_images.reshape(len(self.test_labels), SIDE * SIDE)


def _table() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (1797, 64) in 0..16, labels): read straight from the scikit-learn package (the
    file ``sklearn.datasets.load_digits`` reads), which saves the seconds that importing
    scikit-learn takes; through scikit-learn itself where the layout is one we do not know."""
    spec = importlib.util.find_spec("sklearn")
    path = (Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
            if spec and spec.submodule_search_locations else None)
    if path is not None and path.exists():
        table = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels, then the label
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float64), data.target.astype(np.int64)


@functools.cache
def digits() -> Digits:
    """The digits and their one split (see the module docstring). Cached: read once per process;
    the arrays are read-only so no caller can change them for the others."""
    X, y = _table()
    images = (X / 16.0).reshape(-1, SIDE, SIDE)
    test = np.arange(len(y)) % HOLD_OUT_EVERY == 0
    parts = [images[~test], y[~test], images[test], y[test]]
    for a in parts:
        a.setflags(write=False)
    return Digits(*parts)
