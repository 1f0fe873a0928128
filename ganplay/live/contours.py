"""Iso-lines of a sampled grid, as segment end points: built in the training process, drawn by
the GUI with one connect="pairs" curve."""
from __future__ import annotations

import numpy as np

# Marching squares: for each corner pattern (bit 1 = bottom-left, 2 = bottom-right, 4 = top-right,
# 8 = top-left above the level) the cell edges a segment joins (0 bottom, 1 right, 2 top, 3 left).
_CASES = {1: ((3, 0),), 2: ((0, 1),), 3: ((3, 1),), 4: ((1, 2),), 5: ((3, 0), (1, 2)), 6: ((0, 2),),
          7: ((3, 2),), 8: ((2, 3),), 9: ((0, 2),), 10: ((0, 1), (2, 3)), 11: ((1, 2),), 12: ((1, 3),),
          13: ((0, 1),), 14: ((0, 3),)}


def iso_segments(grid: np.ndarray, bounds: tuple[float, float, float, float],
                 level: float = 0.5) -> np.ndarray:
    """The ``level`` iso-line of a (rows = y) grid sampled on ``bounds``, as (2N, 2) float32 segment
    end points (draw with connect="pairs"). Vectorised numpy, so the worker builds it, not the GUI."""
    g = np.asarray(grid, np.float64)
    ny, nx = g.shape
    if ny < 2 or nx < 2:
        return np.zeros((0, 2), np.float32)
    a, b = g[:-1, :-1], g[:-1, 1:]      # bottom-left, bottom-right
    d, c = g[1:, :-1], g[1:, 1:]        # top-left, top-right
    case = ((a > level) * 1 + (b > level) * 2 + (c > level) * 4 + (d > level) * 8).astype(np.int8)

    def frac(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        den = v - u
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = np.where(np.abs(den) > 1e-12, (level - u) / den, 0.5)
        return np.clip(t, 0.0, 1.0)

    jj, ii = np.meshgrid(np.arange(nx - 1, dtype=np.float64), np.arange(ny - 1, dtype=np.float64))
    edges = np.empty((4, ny - 1, nx - 1, 2))
    edges[0] = np.stack([jj + frac(a, b), ii], -1)
    edges[1] = np.stack([jj + 1, ii + frac(b, c)], -1)
    edges[2] = np.stack([jj + frac(d, c), ii + 1], -1)
    edges[3] = np.stack([jj, ii + frac(a, d)], -1)
    parts = []
    for k, segs in _CASES.items():
        sel = case == k
        if not sel.any():
            continue
        for e0, e1 in segs:
            p0, p1 = edges[e0][sel], edges[e1][sel]
            parts.append(np.stack([p0, p1], 1).reshape(-1, 2))
    if not parts:
        return np.zeros((0, 2), np.float32)
    pts = np.concatenate(parts)
    x0, x1, y0, y1 = bounds
    out = np.empty_like(pts)
    out[:, 0] = x0 + pts[:, 0] * (x1 - x0) / (nx - 1)
    out[:, 1] = y0 + pts[:, 1] * (y1 - y0) / (ny - 1)
    return out.astype(np.float32)
