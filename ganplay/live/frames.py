"""What the training worker hands to the window: plain numpy copies, never tensors.

This module imports no Qt, so the frame builder can be tested and timed on its own. Building a
frame costs a few forward passes of D and G, so the worker calls it at a bounded rate and the
expensive parts (D*, metrics, generator copies) at lower rates still (see ``budget.Budget``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import layers as L

N_FAKE = 512        # generated points per frame
N_IMAGES = 64       # image data: an 8 x 8 grid from a fixed z
FAKE_SEED = 4242    # fixed z for the generated points, so motion on screen is G changing, not z


@dataclass
class Frame:
    """One picture of the training state, built in the training process: numpy copies only."""

    step: int
    running: bool
    steps_per_sec: float
    stats: dict[str, np.ndarray]                 # per-step StepStats since the previous frame
    bounds: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)   # the data's; grid payloads carry theirs
    layers: dict[str, Any] = field(default_factory=dict)   # canvas layer name -> payload (layers.py)
    mode_counts: np.ndarray | None = None        # (K,) samples of this frame nearest each mode (HQ)
    covered: np.ndarray | None = None            # (K,) bool
    metrics: dict[str, float] | None = None      # scalar metrics (only on frames where they ran)
    metrics_step: int = 0
    images: np.ndarray | None = None             # (N_IMAGES, C, H, W) in [-1, 1] for image data
    image_cols: int | None = None                # grid columns (a cGAN shows one row per digit)
    class_hist: np.ndarray | None = None         # (n_classes,) for image data with a classifier
    generator: Any = None                        # GeneratorSnapshot, at a lower rate
    device: str = "cpu"
    formulas: Any = None                         # (step, loss, L_D, L_G): engine.formulas.Formula of a recent step
    rewind_steps: tuple[int, ...] = ()          # the steps of the kept snapshots (the timeline's range)

    def carry_from(self, older: "Frame") -> None:
        """Keep what ``older`` (a frame that was never drawn) sent only once or at a lower rate."""
        for name, payload in older.layers.items():
            self.layers.setdefault(name, payload)
        if self.generator is None:
            self.generator = older.generator


def is_image_data(data: Any) -> bool:
    return getattr(data, "image_shape", None) is not None


def fixed_z(trainer: Any, n: int, seed: int = FAKE_SEED) -> Any:
    import torch

    g = torch.Generator(trainer.device).manual_seed(seed)
    return trainer.sample_z(n, g)


def build_2d(trainer: Any, frame: Frame, z: Any, layers: set[str] | frozenset[str],
             cadences: set[str], view: tuple[float, float, float, float] | None = None,
             y: Any = None) -> L.LayerContext:
    """Fill ``frame`` with the generated points' mode counts and the payloads of the named
    layers whose cadence is due (see ``layers.compute_layers``). ``view``: the canvas's visible
    area, where grid layers are sampled (None: the data's bounds); ``frame.bounds`` stays the
    data's bounds. ``y``: a conditional GAN's labels for the fixed z (None: all labels in turn).
    Returns the layer context, for more layers on the same samples."""
    frame.bounds = tuple(float(b) for b in trainer.data.bounds)
    if getattr(trainer, "n_classes", 0) and y is None:
        y = np.arange(len(z)) % trainer.n_classes
    ctx = L.LayerContext(trainer, frame.bounds, trainer.generate(z, y), view,
                         labels=None if y is None else np.asarray(y.cpu() if hasattr(y, "cpu") else y))
    frame.layers.update(L.compute_layers(ctx, layers, cadences))
    mm = ctx.modes()
    if mm is not None:
        frame.mode_counts = mm["mode_counts"]
        frame.covered = mm["covered"]
    return ctx


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
    """The 2D charts' figures: ``metrics.sample_metrics`` on 2,500 samples (as the CLI), W1 on a
    256-point subsample, and the JSD that D implies. Cheaper than ``evaluate_2d``, so the charts
    can update often."""
    from ganplay.engine import metrics as M

    fake = trainer.sample(n, seed=10_000).astype(np.float64)
    real = trainer.data.sample_numpy(n, seed=20_000)
    out = {k: float(v) for k, v in M.sample_metrics(fake, real, trainer.data, w1_n=w1_n).items() if v is not None}
    out["jsd"] = M.implied_jsd(trainer, real.astype(np.float32), fake.astype(np.float32))
    out.update(M.mode_extras(trainer, n=1000))   # BiGAN's inversion errors, a 2D cGAN's label accuracy
    return out


def data_preview(data_cfg: Any, points: np.ndarray | None = None) -> Frame | None:
    """A step-0 picture of the real data alone (its points and density contours), computed
    without networks: the window shows it while the training process is still starting. None for
    image data or data that cannot be built here."""
    from types import SimpleNamespace

    from ganplay.engine.data import make_data

    try:
        data = make_data(data_cfg, points)
    except Exception:  # the training process will report what is wrong with the data
        return None
    if is_image_data(data) or getattr(data, "bounds", None) is None:
        return None
    bounds = tuple(float(b) for b in data.bounds)
    ctx = L.LayerContext(SimpleNamespace(data=data), bounds, np.zeros((0, 2), np.float32))
    fr = Frame(step=0, running=False, steps_per_sec=0.0, stats={}, bounds=bounds)
    fr.layers.update(L.compute_layers(ctx, {"real", "density"}, {"once"}))
    return fr
