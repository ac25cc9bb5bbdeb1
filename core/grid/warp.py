"""Warping small images: shear, rotation and elastic distortion, by bilinear sampling.

Seed problem 5 claims (after Graves et al. 2007) that an MDRNN is "more robust to input
warping" than a conv net. To test that claim we warp test digits by a growing amount and
measure accuracy. Each warp is an inverse map: output pixel (r, c) reads the input at a
source point (r_src, c_src), interpolated bilinearly from the four pixels around it, with
zeros outside the image (the digits' background is zero).

Strength ``s`` in [0, 1] is mapped onto each kind by :data:`WARP_SCALES`:

* shear: c_src = c + 0.6 s (r - r_centre)  (a horizontal shear, factor up to 0.6),
* rotation: by 45 s degrees about the centre,
* elastic (Simard et al. 2003): a random displacement field, smoothed by a Gaussian of
  width ``ELASTIC_SIGMA`` pixels and scaled to an RMS displacement of 1.5 s pixels.

This is data preparation on the host: NumPy only, deterministic given the seed.
"""

from __future__ import annotations

import math

import numpy as np

from core.limits import ConfigError, echo

WARP_KINDS = ("shear", "rotation", "elastic")
# strength 1 means: shear factor 0.6, rotation 45 degrees, elastic RMS displacement 1.5 px
WARP_SCALES = {"shear": 0.6, "rotation": 45.0, "elastic": 1.5}
WARP_UNITS = {"shear": "shear factor", "rotation": "degrees", "elastic": "px RMS displacement"}
ELASTIC_SIGMA = 1.5  # width (pixels) of the Gaussian that smooths the random field


def bilinear_sample(images: np.ndarray, r_src: np.ndarray, c_src: np.ndarray) -> np.ndarray:
    """``images`` (N, R, C) read at source points (N or 1, R, C); zero outside the image."""
    N, R, C = images.shape
    r0 = np.floor(r_src).astype(np.int64)
    c0 = np.floor(c_src).astype(np.int64)
    fr, fc = r_src - r0, c_src - c0
    n = np.arange(N)[:, None, None]
    out = np.zeros((N, R, C), dtype=np.float64)
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        for dc, wc in ((0, 1.0 - fc), (1, fc)):
            rr, cc = r0 + dr, c0 + dc
            inside = (rr >= 0) & (rr < R) & (cc >= 0) & (cc < C)
            tap = images[n, np.clip(rr, 0, R - 1), np.clip(cc, 0, C - 1)]  # (N, R, C)
            out += wr * wc * np.where(inside, tap, 0.0)
    return out


def _grid(R: int, C: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    r, c = np.meshgrid(np.arange(R, dtype=np.float64), np.arange(C, dtype=np.float64), indexing="ij")
    return r, c, (R - 1) / 2.0, (C - 1) / 2.0


def shear(images: np.ndarray, factor: float) -> np.ndarray:
    """Horizontal shear about the centre row: c_src = c + factor (r - r_centre)."""
    R, C = images.shape[1:]
    r, c, rc, _ = _grid(R, C)
    return bilinear_sample(images, r[None], (c + factor * (r - rc))[None])


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Rotation by ``degrees`` (counter-clockwise as seen on screen) about the centre."""
    R, C = images.shape[1:]
    r, c, rc, cc = _grid(R, C)
    t = math.radians(degrees)
    # inverse map: each output point rotated back by -t, in screen axes (x = c, y = -r)
    dr, dc = r - rc, c - cc
    r_src = rc + math.cos(t) * dr + math.sin(t) * dc
    c_src = cc + math.cos(t) * dc - math.sin(t) * dr
    return bilinear_sample(images, r_src[None], c_src[None])


def gaussian_smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (N, R, C) fields along rows and columns (zero padding)."""
    radius = max(1, math.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    N, R, C = field.shape
    pad = np.zeros((N, R + 2 * radius, C), dtype=np.float64)
    pad[:, radius:radius + R] = field
    rows = sum(w * pad[:, k:k + R] for k, w in enumerate(kernel))
    pad = np.zeros((N, R, C + 2 * radius), dtype=np.float64)
    pad[:, :, radius:radius + C] = rows
    return sum(w * pad[:, :, k:k + C] for k, w in enumerate(kernel))


def elastic_field(N: int, R: int, C: int, rms: float, seed: int,
                  sigma: float = ELASTIC_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacements (dr, dc), each (N, R, C), with RMS length ``rms`` pixels
    per image. The direction pattern depends only on ``seed``; ``rms`` only scales it, so a
    sweep over strength distorts the same way, more and more."""
    rng = np.random.default_rng(seed)
    d = gaussian_smooth(rng.uniform(-1.0, 1.0, size=(2 * N, R, C)), sigma)
    dr, dc = d[:N], d[N:]
    norm = np.sqrt(np.mean(dr**2 + dc**2, axis=(1, 2), keepdims=True))
    scale = rms / np.maximum(norm, 1e-12)
    return dr * scale, dc * scale


def elastic(images: np.ndarray, rms: float, seed: int, sigma: float = ELASTIC_SIGMA) -> np.ndarray:
    """Elastic distortion (Simard et al. 2003) with RMS displacement ``rms`` pixels."""
    N, R, C = images.shape
    dr, dc = elastic_field(N, R, C, rms, seed, sigma)
    r, c, _, _ = _grid(R, C)
    return bilinear_sample(images, r[None] + dr, c[None] + dc)


def warp_amount(kind: str, strength: float) -> float:
    """The size of a warp of ``kind`` at ``strength`` in [0, 1], in its own unit (WARP_UNITS)."""
    if kind not in WARP_SCALES:
        raise ConfigError(f"unknown warp {echo(kind)}: choose one of {', '.join(WARP_KINDS)}")
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"warp strength {strength:g} is out of range: choose 0 to 1")
    return WARP_SCALES[kind] * strength


def warp(images: np.ndarray, kind: str, strength: float, seed: int = 0) -> np.ndarray:
    """``images`` (N, R, C) warped by ``kind`` at ``strength`` in [0, 1]; strength 0 is the identity."""
    amount = warp_amount(kind, strength)
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ConfigError(f"images must be (N, rows, cols), got shape {images.shape}")
    if amount == 0.0:
        return images.copy()
    if kind == "shear":
        return shear(images, amount)
    if kind == "rotation":
        return rotate(images, amount)
    return elastic(images, amount, seed)
