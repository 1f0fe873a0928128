"""The canvas's contours: contourpy (what ``live/contours.iso_segments`` uses) against the
vectorised marching squares it replaced (kept below as the reference), on the grids the window
contours: D(x) of a trained ring GAN at the canvas's 40 x 40 and at 200 x 200, and the real data's
density at 4 levels. Same segments checked (count and total length), then the median time of
interleaved rounds.

Run:  python bench/contours.py [--rounds 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

# Marching squares as ganplay had it: for each corner pattern (bit 1 = bottom-left, 2 = bottom-right,
# 4 = top-right, 8 = top-left above the level) the cell edges a segment joins (0 bottom, 1 right,
# 2 top, 3 left).
_CASES = {1: ((3, 0),), 2: ((0, 1),), 3: ((3, 1),), 4: ((1, 2),), 5: ((3, 0), (1, 2)), 6: ((0, 2),),
          7: ((3, 2),), 8: ((2, 3),), 9: ((0, 2),), 10: ((0, 1), (2, 3)), 11: ((1, 2),), 12: ((1, 3),),
          13: ((0, 1),), 14: ((0, 3),)}


def marching_squares(grid: np.ndarray, bounds: tuple[float, float, float, float], level: float = 0.5) -> np.ndarray:
    g = np.asarray(grid, np.float64)
    ny, nx = g.shape
    a, b = g[:-1, :-1], g[:-1, 1:]
    d, c = g[1:, :-1], g[1:, 1:]
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
            parts.append(np.stack([edges[e0][sel], edges[e1][sel]], 1).reshape(-1, 2))
    if not parts:
        return np.zeros((0, 2), np.float32)
    pts = np.concatenate(parts)
    x0, x1, y0, y1 = bounds
    out = np.empty_like(pts)
    out[:, 0] = x0 + pts[:, 0] * (x1 - x0) / (nx - 1)
    out[:, 1] = y0 + pts[:, 1] * (y1 - y0) / (ny - 1)
    return out.astype(np.float32)


def length(seg: np.ndarray) -> float:
    return float(np.linalg.norm(seg[1::2] - seg[0::2], axis=1).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    import torch

    from ganplay.engine import metrics as M
    from ganplay.engine.config import Config, apply_overrides
    from ganplay.engine.trainer import Trainer
    from ganplay.live.contours import iso_segments
    from ganplay.live.layers import mass_levels, real_density

    torch.set_num_threads(1)
    tr = Trainer(apply_overrides(Config(), ["train.seed=1", "train.device=cpu"]))
    for _ in range(300):  # a D with some shape: the D = 1/2 line curves around modes
        tr.step()
    bounds = tuple(float(b) for b in tr.data.bounds)
    cases = []
    for res in (40, 200):
        cases.append((f"D(x) {res}x{res}, D = 1/2", M.decision_surface(tr, bounds, res), (0.5,)))
    for res in (40, 200):
        g, _ = real_density(tr.data, bounds, res)
        cases.append((f"density {res}x{res}, 4 levels", g, tuple(mass_levels(g))))

    def run(fn, grid, levels) -> np.ndarray:
        return np.concatenate([fn(grid, bounds, lv) for lv in levels])

    print(f"{'grid':28s} {'marching squares':>17s} {'contourpy':>11s} {'speed-up':>9s}  segments (ms/cp)  length (ms/cp)")
    for name, grid, levels in cases:
        ms, cp = run(marching_squares, grid, levels), run(iso_segments, grid, levels)
        # the density's levels are grid values themselves, where the two differ by a cell's worth
        assert abs(length(ms) - length(cp)) < 0.01 * max(length(ms), 1), (name, length(ms), length(cp))
        reps = max(3, int(0.02 / max(1e-6, _once(lambda: run(marching_squares, grid, levels)))))
        t_ms, t_cp = [], []
        for _ in range(a.rounds):  # interleaved, so a busy machine slows both alike
            t_ms.append(_time(lambda: run(marching_squares, grid, levels), reps))
            t_cp.append(_time(lambda: run(iso_segments, grid, levels), reps))
        m, c = statistics.median(t_ms), statistics.median(t_cp)
        print(f"{name:28s} {m * 1e6:>14.0f} us {c * 1e6:>8.0f} us {m / c:>8.1f}x  {len(ms) // 2:>7d}/{len(cp) // 2:<7d}  "
              f"{length(ms):.3f}/{length(cp):.3f}")
    return 0


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _time(fn, reps: int) -> float:
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


if __name__ == "__main__":
    sys.exit(main())
