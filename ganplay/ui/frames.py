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
SURFACE_RES = 48    # decision-surface grid (cost grows with its square; 48 keeps frames cheap)
OPTIMAL_RES = 40    # D* grid: a KDE of G's samples per cell, so coarser
MESH_RES = 21       # manifold mesh: MESH_RES x MESH_RES z-grid
N_IMAGES = 64       # image data: an 8 x 8 grid from a fixed z
FAKE_SEED = 4242    # fixed z for the generated points, so motion on screen is G changing, not z


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
    if "optimal" in layers and with_optimal:
        frame.optimal = M.optimal_surface(trainer, frame.bounds, OPTIMAL_RES, n_fake=400)
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
    """Digits present among n samples (the image analogue of modes covered) and the MNIST score."""
    if classify is None:
        return {}
    try:
        probs = np.asarray(classify(trainer.sample(n, seed=10_000)), np.float64)
    except Exception:  # e.g. Stacked MNIST's three channels: no per-image class
        return {}
    if probs.ndim != 2 or len(probs) == 0:
        return {}
    counts = np.bincount(probs.argmax(1), minlength=probs.shape[1])
    p = np.clip(probs, 1e-12, 1.0)
    score = float(np.exp((p * (np.log(p) - np.log(p.mean(0, keepdims=True)))).sum(1).mean()))
    return {"modes_covered": float((counts > 0).sum()), "modes_total": float(probs.shape[1]),
            "mnist_score": score}


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
