"""Measuring image GANs without Inception: a small MNIST classifier shipped in ``assets/`` gives
the class histogram, the MNIST score, a Fréchet distance and k-NN precision/recall on its features,
and Stacked MNIST mode counts.

The classifier is trained by ``tools/train_classifier.py``; its weights load with safetensors (no
pickle). Real-image statistics are computed once per data set and kept on it, so the GUI can
evaluate every few hundred steps in well under a second.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

WEIGHTS_NAME = "mnist_classifier.safetensors"
FEATURE_DIM = 128
SIDE = 28


class MNISTClassifier(nn.Module):
    """Three 3x3 conv blocks (16, 32, 64 channels, max-pooled) and a 128-unit feature layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 14x14
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 7x7
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 3x3
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 3, FEATURE_DIM), nn.ReLU())
        self.out = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def weights_path() -> Path:
    from ..assets import asset_path

    return asset_path(WEIGHTS_NAME)


@functools.lru_cache(maxsize=2)
def load_classifier(path: str | None = None) -> MNISTClassifier:
    """The shipped classifier in eval mode on the CPU (weights stored as float16)."""
    from safetensors.torch import load_file

    p = Path(path) if path else weights_path()
    state = {k: v.float() for k, v in load_file(str(p)).items()}
    model = MNISTClassifier()
    model.load_state_dict(state)
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    return model


# ---------------------------------------------------------------- classifier outputs
def as_channels(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, C, 28, 28) float tensor from (N, C*784), (N, 28, 28) or (N, C, 28, 28) in [-1, 1]."""
    x = images if torch.is_tensor(images) else torch.from_numpy(np.asarray(images, dtype=np.float32))
    x = x.detach().float().cpu()
    if x.dim() == 2:
        if x.shape[1] % (SIDE * SIDE):
            raise ValueError(f"flat images must have a multiple of 784 values, got {x.shape[1]}")
        x = x.reshape(x.shape[0], -1, SIDE, SIDE)
    elif x.dim() == 3:
        x = x[:, None]
    if x.shape[-2:] != (SIDE, SIDE):
        raise ValueError(f"images must be 28x28, got {tuple(x.shape[-2:])}")
    return x


@torch.no_grad()
def _run(images: np.ndarray | torch.Tensor, chunk: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(probs (N*C, 10), features (N*C, 128)) with every channel classified as its own digit."""
    model = load_classifier()
    x = as_channels(images)
    x = x.reshape(-1, 1, SIDE, SIDE)
    probs, feats = [], []
    for i in range(0, len(x), chunk):
        f = model.features(x[i:i + chunk])
        probs.append(torch.softmax(model.out(f), 1))
        feats.append(f)
    if not probs:
        return np.zeros((0, 10), np.float64), np.zeros((0, FEATURE_DIM), np.float64)
    return torch.cat(probs).double().numpy(), torch.cat(feats).double().numpy()


def classify(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """p(y|x), (N, 10), for single-channel digits in [-1, 1]."""
    x = as_channels(images)
    if x.shape[1] != 1:
        raise ValueError("classify takes one-channel digits; use stacked_modes for Stacked MNIST")
    return _run(x)[0]


def features(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Classifier features, (N, 128 * C): one 128-vector per channel, concatenated."""
    x = as_channels(images)
    n, c = x.shape[:2]
    return _run(x)[1].reshape(n, c * FEATURE_DIM)


def class_histogram(probs: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """How many images the classifier assigns to each class (argmax), int64 (n_classes,)."""
    return np.bincount(np.asarray(probs).argmax(1), minlength=n_classes).astype(np.int64)


def mnist_score(probs: np.ndarray) -> float:
    """The Inception score with the MNIST classifier: exp(E_x KL(p(y|x) || p(y))), in [1, 10]."""
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    py = p.mean(0, keepdims=True)
    return float(math.exp((p * (np.log(p) - np.log(py))).sum(1).mean()))


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(feats, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) between two Gaussians.

    Tr (S1 S2)^1/2 is the sum of the square roots of the eigenvalues of S1 S2 (real and >= 0 for
    two covariance matrices), which stays exact when a collapsed generator makes S2 singular,
    where ``scipy.linalg.sqrtm`` warns and loses precision.
    """
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    ev = np.linalg.eigvals(np.asarray(s1, np.float64) @ np.asarray(s2, np.float64))
    tr_covmean = float(np.sqrt(np.clip(ev.real, 0, None)).sum())
    return float(max(0.0, diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean))


def _knn_radii(f: np.ndarray, k: int) -> np.ndarray:
    from scipy.spatial.distance import cdist

    d = cdist(f, f)
    return np.partition(d, k, axis=1)[:, k]   # column 0 is the point itself


def precision_recall(real_feats: np.ndarray, fake_feats: np.ndarray, k: int = 3,
                     real_radii: np.ndarray | None = None) -> tuple[float, float]:
    """Improved precision/recall (Kynkäänniemi et al. 2019): a sample is inside a manifold when it
    falls within the k-th nearest-neighbour radius of some point of the other set."""
    from scipy.spatial.distance import cdist

    r = np.asarray(real_feats, np.float64)
    g = np.asarray(fake_feats, np.float64)
    if len(r) <= k or len(g) <= k:
        return float("nan"), float("nan")
    rr = _knn_radii(r, k) if real_radii is None else real_radii
    rg = _knn_radii(g, k)
    d = cdist(g, r)                         # (fake, real)
    precision = float((d <= rr[None, :]).any(1).mean())
    recall = float((d.T <= rg[None, :]).any(1).mean())
    return precision, recall


# ---------------------------------------------------------------- Stacked MNIST
def stacked_modes(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Mode id 100*d0 + 10*d1 + d2 (0..999) of three-channel images, each channel classified."""
    x = as_channels(images)
    if x.shape[1] != 3:
        raise ValueError(f"Stacked MNIST images have 3 channels, got {x.shape[1]}")
    digits = _run(x)[0].argmax(1).reshape(-1, 3)
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def mode_coverage(modes: np.ndarray, n_modes: int = 1000) -> dict[str, Any]:
    """Modes with at least one sample and KL(mode histogram || uniform) (VEEGAN / PacGAN)."""
    counts = np.bincount(np.asarray(modes, np.int64), minlength=n_modes)
    p = counts / max(1, counts.sum())
    nz = p > 0
    kl = float((p[nz] * np.log(p[nz] * n_modes)).sum())
    return {"modes_covered": int(nz.sum()), "modes_total": n_modes, "kl_uniform": kl, "mode_counts": counts}


# ---------------------------------------------------------------- real reference and evaluation
@dataclass
class RealStats:
    """Classifier statistics of n real images, computed once per data set."""

    feats: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    radii: np.ndarray          # k-NN radii for precision
    score: float               # MNIST score of real digits (per channel for stacked)
    k: int


def real_stats(data: Any, n: int = 2000, seed: int = 0, k: int = 3) -> RealStats:
    """Reference statistics for ``data`` (an ImageDataset), cached on it by (n, seed, k)."""
    cache = getattr(data, "reference_cache", None)
    key = (n, seed, k)
    if cache is not None and key in cache:
        return cache[key]
    x, _ = data.real_numpy(n, seed=10_000 + seed)   # a seed apart from the generated-sample one
    probs, f = _run(x)
    feats = f.reshape(len(x), -1)
    mu, sigma = feature_stats(feats)
    st = RealStats(feats, mu, sigma, _knn_radii(feats, k), mnist_score(probs), k)
    if cache is not None:
        cache[key] = st
    return st


def _generate(source: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """n images (N, C, 28, 28) from a Trainer or a GeneratorSnapshot, labels when conditional."""
    n_classes = int(getattr(source, "n_classes", 0))
    y = np.arange(n) % n_classes if n_classes else None   # balanced labels for a cGAN
    if hasattr(source, "generate") and hasattr(source, "cfg"):       # a Trainer
        g = torch.Generator(source.device).manual_seed(seed)
        z = source.sample_z(n, g)
        x = source.generate(z, y)
        shape = source.data.image_shape
        return x.reshape((n,) + tuple(shape)), y, source.data
    from .models import sample_prior                                # a GeneratorSnapshot

    z = sample_prior(n, source.latent_dim, source.prior, torch.Generator().manual_seed(seed), "cpu")
    x = source(z.numpy(), y)
    return x, y, None


def evaluate_images(source: Any, n: int = 2000, seed: int = 0, data: Any = None, k: int = 3,
                    n_real: int | None = None) -> dict[str, Any]:
    """Image metrics of a Trainer or GeneratorSnapshot against real digits.

    MNIST: ``mnist_score``, ``fid``, ``precision``, ``recall``, ``classes_covered`` (classes given at
    least a fifth of their fair share of samples), ``class_hist`` (counts, array), ``real_score``; a cGAN
    adds ``label_accuracy`` (how often the classifier reads the requested digit). Stacked MNIST:
    ``modes_covered``, ``modes_total``, ``kl_uniform``, ``mode_counts`` (array) plus the same
    Fréchet distance and precision/recall on per-channel features.
    """
    x, y, src_data = _generate(source, n, seed)
    data = data if data is not None else src_data
    if data is None:
        from .config import DataConfig
        from .mnist import make_image_dataset

        data = make_image_dataset(DataConfig(name="stacked_mnist" if x.shape[1] == 3 else "mnist"))
    ref = real_stats(data, n_real or n, seed, k)
    probs, f = _run(x)
    feats = f.reshape(len(x), -1)
    mu, sigma = feature_stats(feats)
    precision, recall = precision_recall(ref.feats, feats, k, ref.radii)
    out: dict[str, Any] = {
        "n": int(n),
        "fid": frechet_distance(mu, sigma, ref.mu, ref.sigma),
        "precision": precision,
        "recall": recall,
        "real_score": ref.score,
    }
    if x.shape[1] == 3:
        digits = probs.argmax(1).reshape(-1, 3)
        modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
        out.update(mode_coverage(modes, 1000))
        out["mnist_score"] = mnist_score(probs)       # per channel: is each a clear digit?
        return out
    hist = class_histogram(probs)
    out["mnist_score"] = mnist_score(probs)
    # a class counts as present when it gets at least a fifth of its fair share of samples,
    # so a few stray misreads of a collapsed generator do not count as coverage
    out["classes_covered"] = int((hist >= max(1, 0.2 * n / 10)).sum())
    out["class_hist"] = hist
    if y is not None and len(y) and int(getattr(source, "n_classes", 0)) == 10:
        out["label_accuracy"] = float((probs.argmax(1) == y).mean())
    return out
