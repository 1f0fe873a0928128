"""A tiny scatter-plot rasteriser for 2D samples, so ``ganplay sample -o x.png`` needs no plotting library.

Points are splatted as small discs and composited with a per-point opacity, so dense regions
(modes) read darker than sparse ones, the way a scatter plot with alpha looks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .png import encode_png

POINT_RGB = (31, 119, 180)
AXIS_RGB = (200, 200, 200)
FRAME_RGB = (120, 120, 120)


def auto_bounds(points: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    """Square bounds around the bulk of the points (0.5-99.5 percentiles, plus a margin)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    if len(p) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = np.percentile(p, 0.5, axis=0), np.percentile(p, 99.5, axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def scatter_image(points: np.ndarray, size: int = 480,
                  bounds: tuple[float, float, float, float] | None = None,
                  radius: int = 1, alpha: float = 0.35) -> np.ndarray:
    """An RGB uint8 image (size, size, 3) of the (N, 2) points; rows run from y1 (top) to y0."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    x0, x1, y0, y1 = bounds if bounds is not None else auto_bounds(p)
    img = np.full((size, size, 3), 255.0)
    # axes through the origin, when it is in view
    if x0 < 0 < x1:
        img[:, int((0 - x0) / (x1 - x0) * (size - 1))] = AXIS_RGB
    if y0 < 0 < y1:
        img[int((y1 - 0) / (y1 - y0) * (size - 1)), :] = AXIS_RGB
    cols = np.round((p[:, 0] - x0) / (x1 - x0) * (size - 1)).astype(np.int64)
    rows = np.round((y1 - p[:, 1]) / (y1 - y0) * (size - 1)).astype(np.int64)
    counts = np.zeros((size, size))
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius + radius:  # a disc, not a square
                continue
            r, c = rows + dy, cols + dx
            ok = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            np.add.at(counts, (r[ok], c[ok]), 1.0)
    cover = 1.0 - (1.0 - alpha) ** counts   # n overlapping points of opacity alpha
    img = img * (1 - cover[..., None]) + np.array(POINT_RGB, float) * cover[..., None]
    img[[0, -1], :] = FRAME_RGB
    img[:, [0, -1]] = FRAME_RGB
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def save_scatter_png(points: np.ndarray, path: str | Path, size: int = 480,
                     bounds: tuple[float, float, float, float] | None = None) -> Path:
    p = Path(path)
    p.write_bytes(encode_png(scatter_image(points, size, bounds)))
    return p
