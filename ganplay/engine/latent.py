"""Latent-space math for the explorer: interpolation, principal directions, manifold cells.

Pure numpy + torch (no Qt), so the same functions serve the GUI panel, the CLI and the tests.
Everything takes a ``GeneratorSnapshot`` (or anything with its ``module``/``latent_dim``/
``n_classes`` attributes), never a live trainer, so it is safe to call while training runs.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

INTERPOLATIONS = ("linear", "spherical")

# Below this angle between A and B, slerp's sin(omega) denominator loses precision; the two
# interpolations agree there to first order, so linear is used instead.
_SLERP_MIN_ANGLE = 1e-4


def _as_vec(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).reshape(-1)


def lerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Linear interpolation; ``t`` scalar -> (d,), ``t`` of shape (M,) -> (M, d), float32.

    Rows at t == 0 and t == 1 are copies of ``a`` and ``b`` bit for bit (not "a + 0 * (b - a)"),
    so G(z(0)) and G(z(1)) reproduce G(A) and G(B) exactly.
    """
    return interpolate(a, b, t, "linear")


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation (White 2016): follows the great circle, so the norm stays typical
    of a Gaussian prior instead of shrinking in the middle as it does on the straight line.
    Endpoints are exact as in ``lerp``."""
    return interpolate(a, b, t, "spherical")


def interpolate(a: np.ndarray, b: np.ndarray, t: float | np.ndarray, method: str = "linear") -> np.ndarray:
    """z(t) between ``a`` (t=0) and ``b`` (t=1) by ``method`` in INTERPOLATIONS."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {method!r}; choose one of {', '.join(INTERPOLATIONS)}")
    a32 = np.asarray(a, dtype=np.float32).reshape(-1)
    b32 = np.asarray(b, dtype=np.float32).reshape(-1)
    if a32.shape != b32.shape:
        raise ValueError(f"A and B differ in size ({a32.size} vs {b32.size})")
    scalar = np.ndim(t) == 0
    ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if np.any((ts < 0) | (ts > 1)):
        raise ValueError("t must lie in [0, 1]")
    a64, b64 = _as_vec(a32), _as_vec(b32)
    out = _slerp64(a64, b64, ts) if method == "spherical" else (1 - ts)[:, None] * a64 + ts[:, None] * b64
    out = out.astype(np.float32)
    out[ts == 0] = a32
    out[ts == 1] = b32
    return out[0] if scalar else out


def _slerp64(a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return (1 - ts)[:, None] * a + ts[:, None] * b
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < _SLERP_MIN_ANGLE:
        return (1 - ts)[:, None] * a + ts[:, None] * b
    so = np.sin(omega)
    if so < 1e-6:
        # A and B (nearly) opposite: the great circle is not unique. Go through a direction
        # orthogonal to A chosen deterministically so the path does not flicker between redraws.
        e = np.zeros_like(a)
        e[int(np.argmin(np.abs(a)))] = 1.0
        perp = e - np.dot(e, a / na) * a / na
        perp /= np.linalg.norm(perp)
        theta = ts * np.pi
        radius = (1 - ts) * na + ts * nb
        return radius[:, None] * (np.cos(theta)[:, None] * (a / na) + np.sin(theta)[:, None] * perp)
    wa = np.sin((1 - ts) * omega) / so
    wb = np.sin(ts * omega) / so
    return wa[:, None] * a + wb[:, None] * b


def frame_times(n_frames: int) -> np.ndarray:
    """``n_frames`` evenly spaced t in [0, 1] including both ends (exactly 0.0 and 1.0)."""
    if n_frames < 2:
        raise ValueError("an interpolation strip needs at least 2 frames")
    ts = np.linspace(0.0, 1.0, n_frames)
    ts[0], ts[-1] = 0.0, 1.0
    return ts


# ------------------------------------------------------------------ Jacobian
def _batched(snapshot: Any, y: int | None):
    """G on a batch of z with one fixed label (conditional generators)."""
    module = snapshot.module
    if snapshot.n_classes:
        def f(zb: torch.Tensor) -> torch.Tensor:
            labels = torch.full((zb.shape[0],), 0 if y is None else int(y), dtype=torch.long)
            return module(zb, labels).reshape(zb.shape[0], -1)
    else:
        def f(zb: torch.Tensor) -> torch.Tensor:
            return module(zb).reshape(zb.shape[0], -1)
    return f


def jacobian(snapshot: Any, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """dG/dz at ``z``: (out_dim, latent_dim) float64 (out_dim = 2 for points, C*H*W for images).

    One batched pass in eval mode (samples independent): forward mode with the identity as
    tangents when the output is wider than the latent (images), reverse mode with the identity as
    output cotangents otherwise. Plain autograd, no torch.func: its first call costs seconds.
    """
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32).reshape(-1))
    d = z_t.numel()
    if d != snapshot.latent_dim:
        raise ValueError(f"z has {d} values, the generator's latent has {snapshot.latent_dim}")
    f = _batched(snapshot, y)
    was = snapshot.module.training
    snapshot.module.eval()
    try:
        with torch.no_grad():
            out_dim = int(f(z_t[None]).shape[1])
        with torch.enable_grad():
            if out_dim > d:
                with fwAD.dual_level():
                    dual = fwAD.make_dual(z_t[None].repeat(d, 1), torch.eye(d))
                    J = fwAD.unpack_dual(f(dual)).tangent.T          # row k of the tangent is J e_k
            else:
                zb = z_t[None].repeat(out_dim, 1).requires_grad_(True)
                (J,) = torch.autograd.grad(f(zb), zb, torch.eye(out_dim))  # row k is e_k^T J
    finally:
        snapshot.module.train(was)
    return J.detach().double().numpy().reshape(out_dim, d)


def principal_directions(snapshot: Any, z: np.ndarray, y: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Right singular vectors of G's Jacobian at ``z``: the z-directions that move G(z) most.

    Returns (V, s): V is (latent_dim, latent_dim) with orthonormal ROWS sorted by singular value,
    s the (latent_dim,) singular values (0 beyond the Jacobian's rank, whose rows span the
    directions that do not move G(z) at first order). Signs are fixed so each row's largest
    component is positive, so directions do not flip between calls.
    """
    J = jacobian(snapshot, z, y)
    d = J.shape[1]
    # eigen-decomposition of the small d x d matrix J^T J instead of an SVD of J: for images
    # J is 784 x d and its full SVD would build a 784 x 784 U nobody needs
    evals, evecs = np.linalg.eigh(J.T @ J)
    order = np.argsort(evals)[::-1]
    s_full = np.sqrt(np.clip(evals[order], 0.0, None))
    Vh = evecs[:, order].T
    idx = np.argmax(np.abs(Vh), axis=1)
    signs = np.sign(Vh[np.arange(d), idx])
    signs[signs == 0] = 1.0
    return (Vh * signs[:, None]).astype(np.float32), s_full


# ------------------------------------------------------------------ manifold mesh
def mesh_limit(prior: str, span: float = 2.5) -> float:
    """Half-width of the z-grid ``metrics.manifold_mesh`` uses (1 for a uniform prior)."""
    return 1.0 if prior == "uniform" else float(span)


def manifold_cell(z: np.ndarray, prior: str, res: int = 21, span: float = 2.5) -> tuple[int, int] | None:
    """The cell of ``metrics.manifold_mesh`` (same ``res``/``span``) that the 2D latent ``z`` is in.

    Returns (i, j): the quad between mesh[i, j], mesh[i, j+1], mesh[i+1, j+1], mesh[i+1, j], where
    row i follows z[1] and column j follows z[0] (the mesh is built with np.meshgrid(t, t)).
    None when z lies outside the grid or is not 2D.
    """
    zz = np.asarray(z, dtype=np.float64).reshape(-1)
    if zz.size != 2 or res < 2 or not np.all(np.isfinite(zz)):
        return None
    lim = mesh_limit(prior, span)
    if np.any(np.abs(zz) > lim):
        return None
    step = 2 * lim / (res - 1)
    j, i = (np.minimum(((zz + lim) / step).astype(int), res - 2)).tolist()
    return int(i), int(j)


# ------------------------------------------------------------------ evaluation
def generate_one(snapshot: Any, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """G(z) for one z as the snapshot computes a single sample: (out...) without the batch axis.

    CPU matrix products are not batch-invariant (a row of a batch can differ from the same z alone
    in the last bits), so every "this z" value the explorer shows is computed alone, like this.
    """
    labels = None if not snapshot.n_classes else np.array([0 if y is None else int(y)])
    return snapshot(np.asarray(z, dtype=np.float32).reshape(1, -1), labels)[0]


def evaluate_path(snapshot: Any, a: np.ndarray, b: np.ndarray, ts: np.ndarray, method: str = "linear",
                  y: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(z(t), G(z(t))) for the times ``ts``; rows at t == 0 and t == 1 are z = A, B exactly and
    G equal to ``generate_one(A)`` / ``generate_one(B)`` bit for bit (the rest is one batch)."""
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    zs = interpolate(a, b, ts, method)
    labels = None if not snapshot.n_classes else np.full(len(zs), 0 if y is None else int(y))
    out = snapshot(zs, labels)
    for k in np.flatnonzero((ts == 0) | (ts == 1)):
        out[k] = generate_one(snapshot, zs[k], y)
    return zs, out
