"""Iso-lines of a sampled grid, as segment end points: built in the training process, drawn by
the GUI with one connect="pairs" curve.

The lines come from contourpy (matplotlib's contour engine): about 2x faster than the vectorised
marching squares it replaced on the canvas's 40 x 40 grids and 3-7x on 200 x 200, with the same
segments (``bench/contours.py``).
"""
from __future__ import annotations

import numpy as np
from contourpy import LineType, contour_generator


def iso_segments(grid: np.ndarray, bounds: tuple[float, float, float, float],
                 level: float = 0.5) -> np.ndarray:
    """The ``level`` iso-line of a (rows = y) grid sampled on ``bounds``, as (2N, 2) float32 segment
    end points (draw with connect="pairs")."""
    g = np.asarray(grid, np.float64)
    ny, nx = g.shape
    if ny < 2 or nx < 2:
        return np.zeros((0, 2), np.float32)
    x0, x1, y0, y1 = bounds
    gen = contour_generator(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny), g,
                            line_type=LineType.ChunkCombinedOffset)
    points, offsets = gen.lines(level)
    pts, off = points[0], offsets[0]   # one chunk: all lines' points, and where each line starts
    if pts is None or len(pts) < 2:
        return np.zeros((0, 2), np.float32)
    # consecutive points of one line make a segment; a line's last point and the next's first do not
    joins = np.ones(len(pts) - 1, bool)
    joins[off[1:-1] - 1] = False
    i = np.flatnonzero(joins)
    out = np.empty((2 * len(i), 2), np.float32)
    out[0::2] = pts[i]
    out[1::2] = pts[i + 1]
    return out
