"""What the training worker hands to the window: plain numpy copies, never tensors.

This module imports no Qt, so the frame builder can be tested and timed on its own. Building a
frame costs a few forward passes of D and G, so the worker calls it at a bounded rate and the
expensive parts (D*, metrics, generator copies) at lower rates still (see ``worker.Budget``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_REAL = 512        # real points drawn on the canvas (fixed per reset: they do not move)
N_FAKE = 512        # generated points per frame
N_ARROWS = 96       # gradient arrows (on the first N_ARROWS generated points)
SURFACE_RES = 40    # decision-surface grid: D on 1,600 points, the largest part of a frame's cost
OPTIMAL_RES = 40    # D* grid: a KDE of G's samples per cell, so coarser
MESH_RES = 21       # manifold mesh: MESH_RES x MESH_RES z-grid
N_IMAGES = 64       # image data: an 8 x 8 grid from a fixed z
FAKE_SEED = 4242    # fixed z for the generated points, so motion on screen is G changing, not z


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
        with np.errstate(divide="ignore", invalid="ignore"):
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


@dataclass
class Frame:
    """One picture of the training state, built in the worker thread."""

    step: int
    running: bool
    steps_per_sec: float
    stats: dict[str, np.ndarray]                 # per-step StepStats since the previous frame
    bounds: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)
    real: np.ndarray | None = None               # (N, 2); only in the first frame after a reset
    real_version: int = 0                        # bumps when the real points change
    fake: np.ndarray | None = None               # (N, 2)
    surface: np.ndarray | None = None            # (res, res) in [0, 1], rows = y
    optimal: np.ndarray | None = None            # (res, res) D*, when the data density is known
    surface_contour: np.ndarray | None = None    # (2N, 2) segments of D = 1/2
    optimal_contour: np.ndarray | None = None    # (2N, 2) segments of D* = 1/2
    arrows: np.ndarray | None = None             # (N_ARROWS, 2) push vectors at fake[:N_ARROWS]
    mesh: np.ndarray | None = None               # (res, res, 2) or (res, 2)
    centers: np.ndarray | None = None            # (K, 2) mode centres
    mode_counts: np.ndarray | None = None        # (K,) samples of this frame nearest each mode (HQ)
    covered: np.ndarray | None = None            # (K,) bool
    metrics: dict[str, float] | None = None      # scalar metrics (only on frames where they ran)
    metrics_step: int = 0
    images: np.ndarray | None = None             # (N_IMAGES, C, H, W) in [-1, 1] for image data
    image_cols: int | None = None                # grid columns (a cGAN shows one row per digit)
    class_hist: np.ndarray | None = None         # (n_classes,) for image data with a classifier
    generator: Any = None                        # GeneratorSnapshot, at a lower rate
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)


def is_image_data(data: Any) -> bool:
    return getattr(data, "image_shape", None) is not None


def real_points(trainer: Any, n: int = N_REAL) -> np.ndarray | None:
    data = trainer.data
    if is_image_data(data) or not hasattr(data, "sample_numpy"):
        return None
    return data.sample_numpy(n, seed=777).astype(np.float32)


def fixed_z(trainer: Any, n: int, seed: int = FAKE_SEED) -> Any:
    import torch

    g = torch.Generator(trainer.device).manual_seed(seed)
    return trainer.sample_z(n, g)


def build_2d(trainer: Any, frame: Frame, z: Any, layers: set[str], with_optimal: bool) -> None:
    """Fill the 2D canvas arrays of ``frame`` (only the layers that are switched on)."""
    from ganplay.engine import metrics as M

    data = trainer.data
    frame.bounds = tuple(float(b) for b in data.bounds)
    fake = trainer.generate(z)
    frame.fake = fake
    if "surface" in layers:
        frame.surface = M.decision_surface(trainer, frame.bounds, SURFACE_RES)
        frame.surface_contour = iso_segments(frame.surface, frame.bounds)
    if "optimal" in layers and with_optimal:
        frame.optimal = M.optimal_surface(trainer, frame.bounds, OPTIMAL_RES, n_fake=400)
        if frame.optimal is not None:
            frame.optimal_contour = iso_segments(frame.optimal, frame.bounds)
    if "arrows" in layers and np.isfinite(fake).all():
        frame.arrows = M.gradient_field(trainer, fake[:N_ARROWS])
    if "mesh" in layers:
        frame.mesh = M.manifold_mesh(trainer, MESH_RES)
    centers = getattr(data, "centers", None)
    if centers is not None:
        mm = M.mode_metrics(fake, centers, data.std)
        frame.centers = np.asarray(centers, np.float32)
        frame.mode_counts = mm["mode_counts"]
        frame.covered = mm["covered"]


def image_grid_inputs(trainer: Any, seed: int = FAKE_SEED) -> tuple[Any, Any, int]:
    """The fixed (z, y, columns) of the sample grid: 8 x 8, or for a cGAN one row per digit."""
    from ganplay.engine.image_models import fixed_grid_inputs

    cond = trainer.n_classes
    n = 8 * cond if cond and cond <= 10 else N_IMAGES
    return fixed_grid_inputs(trainer.latent_dim, trainer.cfg.model.prior, cond, n, seed)


def build_images(trainer: Any, frame: Frame, z: Any, classify: Any, y: Any = None,
                 cols: int | None = None) -> None:
    imgs = trainer.generate(z, y)
    frame.images = imgs.reshape((len(imgs),) + tuple(trainer.data.image_shape))
    frame.image_cols = cols
    if classify is not None:
        try:
            out = np.asarray(classify(frame.images))
        except Exception:  # a classifier problem must never stop training
            return
        labels = out.argmax(1) if out.ndim == 2 else out.astype(np.int64)
        n = max(10, int(getattr(trainer.data, "n_classes", 0) or 0))
        frame.class_hist = np.bincount(labels.ravel(), minlength=n)[:max(n, labels.max() + 1)]


def image_metrics(trainer: Any, classify: Any, n: int = 500) -> dict[str, float]:
    """The image charts' figures on n samples, in the shipped classifier's terms: classes (or
    Stacked MNIST modes) present, the MNIST score, the Fréchet distance and k-NN precision/recall
    against n real images (their statistics are computed once and cached on the data set)."""
    if classify is None:
        return {}
    from ganplay.engine.image_metrics import evaluate_images

    try:
        m = evaluate_images(trainer, n=n, seed=10_000, n_real=n)
    except Exception:  # a data set the classifier cannot read (tests' tiny images)
        return {}
    out = {"mnist_score": float(m["mnist_score"]), "fid": float(m["fid"]),
           "precision": float(m["precision"]), "recall": float(m["recall"])}
    if "modes_total" in m:  # Stacked MNIST: 1,000 digit triples
        out.update(modes_covered=float(m["modes_covered"]), modes_total=float(m["modes_total"]))
    else:
        out.update(modes_covered=float(m["classes_covered"]), modes_total=10.0)
    return out


def live_metrics(trainer: Any, n: int = 2500, w1_n: int = 256) -> dict[str, float]:
    """The 2D metrics for the charts: modes / HQ / reverse KL on the VEEGAN protocol (2,500
    samples, as the CLI), W1 on a 256-point subsample (exact assignment is O(n^3)), and the JSD
    that D implies. Cheaper than ``evaluate_2d`` so the charts can update often."""
    from ganplay.engine import metrics as M

    fake = trainer.sample(n, seed=10_000).astype(np.float64)
    real = trainer.data.sample_numpy(n, seed=20_000)
    out: dict[str, float] = {}
    centers = getattr(trainer.data, "centers", None)
    if centers is not None:
        mm = M.mode_metrics(fake, centers, trainer.data.std)
        out["modes_covered"] = float(mm["modes_covered"])
        out["modes_total"] = float(mm["modes_total"])
        out["hq_fraction"] = float(mm["hq_fraction"])
        out["reverse_kl"] = float(mm["reverse_kl"])
    if np.isfinite(fake).all():
        out["w1"] = M.w1_distance(real, fake, max_n=w1_n)
    out["jsd"] = M.implied_jsd(trainer, real.astype(np.float32), fake.astype(np.float32))
    return out
