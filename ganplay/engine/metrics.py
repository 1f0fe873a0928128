"""Measuring 2D generators (VEEGAN/GDPP protocol, W1, energy distance, implied JSD) and the
arrays the GUI draws: decision surface, analytic D*, G's gradient field and manifold mesh."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from . import losses as L


# ---------------------------------------------------------------- sample-based metrics
def mode_metrics(samples: np.ndarray, centers: np.ndarray, std: float) -> dict[str, Any]:
    """VEEGAN protocol: high quality = within 3 std of the nearest centre; a mode is covered when
    a high-quality sample is nearest to it; reverse KL = KL(mode histogram || uniform).

    The histogram counts high-quality samples (samples far from every mode belong to none);
    with no high-quality sample at all the reverse KL is log(K), the value of total collapse.
    """
    samples = np.asarray(samples, dtype=np.float64)
    d = cdist(samples, centers)
    nearest = d.argmin(1)
    hq = d[np.arange(len(samples)), nearest] < 3 * std
    K = len(centers)
    counts = np.bincount(nearest[hq], minlength=K)
    covered = counts > 0
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        rkl = float((p[nz] * np.log(p[nz] * K)).sum())
    else:
        rkl = math.log(K)
    return {
        "modes_covered": int(covered.sum()),
        "modes_total": K,
        "hq_fraction": float(hq.mean()),
        "reverse_kl": rkl,
        "mode_counts": counts,
        "covered": covered,
    }


def label_mode_metrics(samples: np.ndarray, labels: np.ndarray, centers: np.ndarray,
                       std: float) -> dict[str, Any]:
    """A conditional GAN whose label is the mode index, by the VEEGAN criterion per label: the
    samples of label k are high quality (within 3 std of a centre) and nearest to mode k.

    ``on_own_mode[k]``: the share of label k's samples on mode k; ``own_covered[k]``: some high-
    quality sample of label k is nearest to mode k (mode k is covered for label k);
    ``labels_on_mode``: the share of all samples on their own label's mode."""
    samples = np.asarray(samples, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    d = cdist(samples, centers)
    nearest = d.argmin(1)
    hit = (d[np.arange(len(samples)), nearest] < 3 * std) & (nearest == labels)
    K = len(centers)
    n_k = np.bincount(labels, minlength=K)[:K]
    hits = np.bincount(labels[hit], minlength=K)[:K]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_k > 0, hits / np.maximum(n_k, 1), np.nan)
    return {"on_own_mode": share, "own_covered": hits > 0,
            "labels_on_mode": float(hit.mean()) if len(samples) else float("nan")}


def mode_extras(trainer: Any, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """The figures of a training mode, on fixed draws: a BiGAN's inversion errors
    (``bigan.inversion_errors``: z_recon, x_recon) and, for a conditional GAN on a 2D mixture,
    the share of samples on their own label's mode and the labels whose mode is covered
    (``label_mode_metrics``, labels in turn). Empty for other runs."""
    out: dict[str, float] = {}
    if hasattr(trainer, "encode"):
        from .bigan import inversion_errors

        out.update(inversion_errors(trainer, n, seed))
    data = trainer.data
    K = int(getattr(trainer, "n_classes", 0) or 0)
    if K and getattr(data, "centers", None) is not None and len(data.centers) == K:
        y = np.arange(n) % K
        g = torch.Generator(trainer.device).manual_seed(70_000 + seed)
        lm = label_mode_metrics(trainer.generate(trainer.sample_z(n, g), y), y, data.centers, data.std)
        out["labels_on_mode"] = lm["labels_on_mode"]
        out["labels_covered"] = float(lm["own_covered"].sum())
    return out


def w1_distance(a: np.ndarray, b: np.ndarray, max_n: int = 1000, seed: int = 0) -> float:
    """Exact W1 between equal-size empirical sets by optimal assignment (subsampled to max_n)."""
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b), max_n)
    a = a[rng.choice(len(a), n, replace=False)] if len(a) > n else a
    b = b[rng.choice(len(b), n, replace=False)] if len(b) > n else b
    cost = cdist(a.astype(np.float64), b.astype(np.float64))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean())


def energy_distance(a: np.ndarray, b: np.ndarray, max_n: int = 1500, seed: int = 0) -> float:
    """Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| (zero iff the distributions match)."""
    rng = np.random.default_rng(seed)
    if len(a) > max_n:
        a = a[rng.choice(len(a), max_n, replace=False)]
    if len(b) > max_n:
        b = b[rng.choice(len(b), max_n, replace=False)]
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean())


# ---------------------------------------------------------------- discriminator views
def view_labels(trainer: Any, pts: np.ndarray, y: Any = None) -> torch.Tensor | None:
    """The labels a conditional D judges ``pts`` with in the views: ``y`` (one label for all, or
    one per point), else each point's nearest mode (the label a real point there would carry),
    else 0. None for an unconditional D."""
    if not int(getattr(trainer.D, "n_classes", 0) or 0):
        return None
    n = len(pts)
    if y is None:
        centers = getattr(trainer.data, "centers", None)
        lab = cdist(np.asarray(pts, np.float64).reshape(n, -1)[:, :2], centers).argmin(1) \
            if centers is not None and n else np.zeros(n, np.int64)
    else:
        lab = np.broadcast_to(np.asarray(y, np.int64), (n,))
    return torch.tensor(lab, dtype=torch.int64, device=trainer.device)


def _d_scores(trainer: Any, pts: np.ndarray, chunk: int = 16384, y: Any = None) -> np.ndarray:
    D = trainer.D
    m = getattr(D, "pack", 1)
    labels = view_labels(trainer, pts, y)
    out = []
    was = D.training
    D.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(pts), chunk):
                x = torch.as_tensor(pts[i:i + chunk], dtype=torch.float32, device=trainer.device)
                if m > 1:  # a packed D judges m copies of the same point
                    x = x.repeat_interleave(m, 0)
                out.append((D(x) if labels is None else D(x, labels[i:i + chunk])).float().cpu().numpy())
    finally:
        D.train(was)
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def grid_points(bounds: tuple[float, float, float, float], res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, res, dtype=np.float32)
    ys = np.linspace(y0, y1, res, dtype=np.float32)
    xx, yy = np.meshgrid(xs, ys)  # row-major: image[iy, ix]
    return xs, ys, np.stack([xx.ravel(), yy.ravel()], 1)


def decision_surface(trainer: Any, bounds: tuple[float, float, float, float], res: int = 64,
                     y: int | None = None) -> np.ndarray:
    """D on a res x res grid (rows = y), as a probability in [0, 1].

    For logit losses this is sigmoid(score). Critic losses (WGAN, hinge) have no probability;
    their scores are centred on the grid's median and squashed with tanh so the ½ level still
    separates 'more real' from 'more fake'. A conditional D judges each grid point with label
    ``y``, or with its nearest mode's label (``view_labels``).
    """
    _, _, pts = grid_points(bounds, res)
    s = _d_scores(trainer, pts, y=y).reshape(res, res)
    if L.is_critic(trainer.cfg.loss.name):
        scale = float(np.std(s)) or 1.0
        p = 0.5 + 0.5 * np.tanh((s - np.median(s)) / (2 * scale))
    else:
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -60, 60)))
    return np.ascontiguousarray(p, dtype=np.float32)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g), with ½ where both densities vanish."""
    tot = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(tot > 0, p_data / np.where(tot > 0, tot, 1), 0.5)
    return d.astype(np.float32)


def gaussian_density(pts: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    diff = pts - mean
    inv = np.linalg.inv(cov)
    q = np.einsum("ni,ij,nj->n", diff, inv, diff)
    return np.exp(-q / 2) / (2 * math.pi * math.sqrt(np.linalg.det(cov)))


def kde_density(samples: np.ndarray, pts: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian KDE of generated samples (Scott's rule), evaluated at pts."""
    n, dim = samples.shape
    sd = samples.std(0).mean()
    h = bandwidth or max(1e-3, sd * n ** (-1 / (dim + 4)))
    d2 = cdist(pts, samples, "sqeuclidean")
    return np.exp(-d2 / (2 * h * h)).mean(1) / (2 * math.pi * h * h)


def optimal_surface(trainer: Any, bounds: tuple[float, float, float, float], res: int = 64,
                    n_fake: int = 1000) -> np.ndarray | None:
    """D* on the grid where the data density is known; p_g from a KDE of G's samples."""
    density = getattr(trainer.data, "density", None)
    if density is None:
        return None
    _, _, pts = grid_points(bounds, res)
    p_data = density(pts.astype(np.float64))
    fake = trainer.sample(n_fake, seed=7).astype(np.float64)
    p_g = kde_density(fake, pts.astype(np.float64))
    return optimal_discriminator(p_data, p_g).reshape(res, res)


def gradient_field(trainer: Any, points: np.ndarray, y: Any = None) -> np.ndarray:
    """-dL_G/dx at each generated point: the direction G's loss pushes that sample (a conditional
    D judges it with its label ``y``, see ``view_labels``)."""
    x = torch.as_tensor(points, dtype=torch.float32, device=trainer.device).requires_grad_(True)
    D = trainer.D
    m = getattr(D, "pack", 1)
    labels = view_labels(trainer, points, y)
    was = D.training
    D.eval()
    try:
        xin = x.repeat_interleave(m, 0) if m > 1 else x
        v = D(xin) if labels is None else D(xin, labels)
        loss = L.g_loss(trainer.cfg.loss.name, v) * len(v)
        (g,) = torch.autograd.grad(loss, x)
    finally:
        D.train(was)
    return (-g).detach().cpu().numpy().astype(np.float32)


def manifold_mesh(trainer: Any, res: int = 21, span: float = 2.5) -> np.ndarray | None:
    """G applied to a regular z-grid: (res, res, 2) for a 2D latent, (res, 2) for 1D, else None."""
    zd = trainer.latent_dim
    lim = 1.0 if trainer.cfg.model.prior == "uniform" else span
    t = np.linspace(-lim, lim, res, dtype=np.float32)
    if zd == 1:
        return trainer.generate(t[:, None])
    if zd == 2:
        zz = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
        return trainer.generate(zz).reshape(res, res, -1)
    return None


def implied_jsd(trainer: Any, real: np.ndarray, fake: np.ndarray) -> float:
    v_r = torch.as_tensor(_d_scores(trainer, real))
    v_f = torch.as_tensor(_d_scores(trainer, fake))
    return L.implied_jsd(v_r, v_f)


# ---------------------------------------------------------------- one call for a 2D run
def evaluate_2d(trainer: Any, n: int = 2500, seed: int = 0) -> dict[str, Any]:
    """The 2D metrics on n fresh samples: modes/HQ/reverse KL (mixtures), W1, energy, JSD."""
    fake = trainer.sample(n, seed=10_000 + seed).astype(np.float64)
    real = trainer.data.sample_numpy(n, seed=20_000 + seed)
    out: dict[str, Any] = {}
    if getattr(trainer.data, "centers", None) is not None:
        mm = mode_metrics(fake, trainer.data.centers, trainer.data.std)
        out.update(mm)
    else:
        out.update(modes_covered=None, modes_total=None, hq_fraction=None, reverse_kl=None)
    if np.isfinite(fake).all():
        out["w1"] = w1_distance(real, fake)
        out["energy"] = energy_distance(real, fake)
    else:
        out["w1"] = out["energy"] = float("nan")
    out["jsd"] = implied_jsd(trainer, real.astype(np.float32), fake.astype(np.float32))
    out.update(mode_extras(trainer, n=min(n, 2000), seed=seed))
    return out


def scalar_metrics(m: dict[str, Any]) -> dict[str, Any]:
    """Drop the array entries so the dict serialises to JSON/CSV."""
    return {k: v for k, v in m.items() if not isinstance(v, np.ndarray)}


def sample_metrics(fake: np.ndarray, real: np.ndarray, data: Any, w1_n: int = 300) -> dict[str, Any]:
    """The live charts' and the compare ranking's figures from samples already drawn: modes
    covered, high-quality share and reverse KL where the data has modes (VEEGAN's protocol), and
    W1 on ``w1_n`` points (exact assignment is O(n^3)). None where a figure does not apply."""
    out: dict[str, Any] = {"modes_covered": None, "modes_total": None, "hq_fraction": None, "reverse_kl": None}
    fake = np.asarray(fake, dtype=np.float64)
    if not np.isfinite(fake).all():
        return {**out, "w1": float("nan")}
    if getattr(data, "centers", None) is not None:
        mm = mode_metrics(fake, data.centers, data.std)
        out.update({k: mm[k] for k in out})
    out["w1"] = w1_distance(np.asarray(real, dtype=np.float64), fake, max_n=w1_n)
    return out
