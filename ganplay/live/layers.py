"""Canvas layers as specs: one registry, one entry per layer.

A spec says what the layer is called (label, tooltip for the View menu and the layer bar,
legend for the canvas's legend), how the training process computes its payload, how often (``cadence``), and which of the GUI's
visuals draws it with what style (``visual`` + ``style``; the drawers live in
``ganplay/ui/visuals.py``, one per visual kind). A frame carries its layers by name in
``Frame.layers``. Adding a layer that an existing visual can draw is one ``LayerSpec`` here.

Cadences: "frame" layers are rebuilt for every frame (charged to the frame budget), "slow" ones
(D*, a KDE per grid cell) have their own budget, "once" ones depend only on the data (and the
view) and are sent in the first frame after a reset or a change of view. Grid layers are sampled
on the canvas's visible area (``LayerContext.area``), which the aspect lock and the canvas's
following of stray samples make larger than the data's bounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .contours import iso_segments

SURFACE_RES = 40    # decision-surface grid: D on 1,600 points, the largest part of a frame's cost
OPTIMAL_RES = 40    # D* grid: a KDE of G's samples per cell, so coarser
DENSITY_RES = 120   # real-data density: computed once per reset, so fine enough for thin modes
MESH_RES = 21       # manifold mesh: MESH_RES x MESH_RES z-grid
N_ARROWS = 96       # gradient arrows (on the first N_ARROWS generated points)
N_REAL = 512        # real points drawn on the canvas (fixed per reset: they do not move)
DENSITY_MASS = (0.25, 0.5, 0.75, 0.95)  # the real-density contours enclose these probabilities


@dataclass
class LayerContext:
    """What a layer's ``compute`` may read: the live trainer, the data's bounds, this frame's
    generated points (from the fixed z, so motion on screen is G changing, not z) and the
    canvas's visible area (``view``, from ``protocol.SetView``; None until the window says)."""

    trainer: Any
    bounds: tuple[float, float, float, float]
    fake: np.ndarray
    view: tuple[float, float, float, float] | None = None
    labels: np.ndarray | None = None    # a conditional GAN's label of each generated point

    _modes: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def area(self) -> tuple[float, float, float, float]:
        """Where grid layers are sampled: the visible area, else the data's bounds."""
        return self.view if self.view is not None else self.bounds

    def modes(self) -> dict[str, Any] | None:
        """``metrics.mode_metrics`` of this frame's samples (None without mode centres), computed
        once per frame for the mode-centre layer and the samples-per-mode bars."""
        data = self.trainer.data
        if self._modes is None and getattr(data, "centers", None) is not None:
            from ganplay.engine import metrics as M

            self._modes = M.mode_metrics(self.fake, data.centers, data.std)
        return self._modes


@dataclass(frozen=True)
class LayerSpec:
    name: str
    label: str
    tooltip: str
    visual: str                                     # "heatmap", "points", "segments", "path", "markers"
    compute: Callable[[LayerContext], Any]          # runs in the training process; None = nothing to draw
    style: Mapping[str, Any] = field(default_factory=dict)
    cadence: str = "frame"                          # "frame", "slow" or "once"
    z: float = 0.0                                  # drawing order on the canvas
    legend: str = ""                                # the canvas legend's entry (short); "" = the label
    space: str = "x"                                # "x": the data canvas; "z": the latent-space plot beside it
    mode: str = ""                                  # "" for every run; a training mode's layers ("bigan",
                                                    # "cgan") have payloads only in that mode, and the
                                                    # legend lists them only while they draw something


# ---------------------------------------------------------------------- the payloads
def one_label(ctx: LayerContext) -> int | None:
    """The label a cGAN's canvas shows alone (``protocol.ShowLabel``), None for all in turn: D's
    surface is then D(x, y) for that label, else D(x, nearest mode's label)."""
    lab = ctx.labels
    return int(lab[0]) if lab is not None and len(lab) and (lab == lab[0]).all() and len(lab) > 1 else None


def _surface(ctx: LayerContext) -> dict[str, np.ndarray]:
    from ganplay.engine import metrics as M

    area = ctx.area
    grid = M.decision_surface(ctx.trainer, area, SURFACE_RES, y=one_label(ctx))
    return {"grid": grid, "contour": iso_segments(grid, area), "bounds": tuple(float(b) for b in area)}


def _optimal(ctx: LayerContext) -> np.ndarray | None:
    from ganplay.engine import metrics as M

    grid = M.optimal_surface(ctx.trainer, ctx.area, OPTIMAL_RES, n_fake=400)
    return None if grid is None else iso_segments(grid, ctx.area)


def _real(ctx: LayerContext) -> np.ndarray | None:
    data = ctx.trainer.data
    if not hasattr(data, "sample_numpy"):
        return None
    return data.sample_numpy(N_REAL, seed=777).astype(np.float32)


def _fake(ctx: LayerContext) -> np.ndarray:
    return np.nan_to_num(ctx.fake, nan=0.0, posinf=1e6, neginf=-1e6)


def arrow_segments(starts: np.ndarray, push: np.ndarray, bounds: tuple[float, float, float, float],
                   length: float = 0.08, head: float = 0.3) -> np.ndarray:
    """Arrows as (2N, 2) segment end points for connect="pairs": the shaft and two head strokes
    per arrow. The longest arrow is ``length`` of the canvas span; the rest scale with it."""
    g = np.asarray(push, np.float64)
    n = len(g)
    if n == 0:
        return np.zeros((0, 2), np.float32)
    norm = np.linalg.norm(g, axis=1)
    top = float(norm.max())
    span = max(bounds[1] - bounds[0], bounds[3] - bounds[2])
    scale = length * span / top if top > 0 and np.isfinite(top) else 0.0
    return arrow_pairs(np.asarray(starts, np.float64)[:n], g * scale, head)


def arrow_pairs(p0: np.ndarray, vec: np.ndarray, head: float = 0.3) -> np.ndarray:
    """Arrows from ``p0`` along ``vec`` (data units) as (6N, 2) float32 end points for
    connect="pairs": the shaft and two head strokes, each the shaft turned back by +-150 degrees,
    ``head`` of its length."""
    p0 = np.asarray(p0, np.float64).reshape(-1, 2)
    vec = np.asarray(vec, np.float64).reshape(-1, 2)
    n = len(p0)
    p1 = p0 + vec
    c, s = np.cos(np.radians(150)), np.sin(np.radians(150))
    left = np.stack([c * vec[:, 0] - s * vec[:, 1], s * vec[:, 0] + c * vec[:, 1]], 1) * head
    right = np.stack([c * vec[:, 0] + s * vec[:, 1], -s * vec[:, 0] + c * vec[:, 1]], 1) * head
    seg = np.empty((6 * n, 2))
    seg[0::6], seg[1::6] = p0, p1
    seg[2::6], seg[3::6] = p1, p1 + left
    seg[4::6], seg[5::6] = p1, p1 + right
    return seg.astype(np.float32)


def _arrows(ctx: LayerContext) -> np.ndarray | None:
    from ganplay.engine import metrics as M

    fake = ctx.fake[:N_ARROWS]
    if not np.isfinite(fake).all():
        return None
    y = None if ctx.labels is None else ctx.labels[:N_ARROWS]
    return arrow_segments(fake, M.gradient_field(ctx.trainer, fake, y), ctx.area)


def _mesh(ctx: LayerContext) -> np.ndarray:
    """The manifold as one polyline with NaN breaks; empty (not None) when the latent is not
    1D or 2D, so a mesh left from an earlier run is cleared."""
    from ganplay.engine import metrics as M

    mesh = M.manifold_mesh(ctx.trainer, MESH_RES)
    return np.zeros((0, 2), np.float32) if mesh is None else mesh_path(mesh)


def mesh_path(mesh: np.ndarray) -> np.ndarray:
    """Grid lines of a (r, r, 2) mesh (or the polyline of an (r, 2) one) with NaN breaks."""
    if mesh.ndim == 2:
        return mesh.astype(np.float32)
    r = mesh.shape[0]
    gap = np.full((r, 1, 2), np.nan)
    rows = np.concatenate([mesh, gap], 1).reshape(-1, 2)
    cols = np.concatenate([mesh.transpose(1, 0, 2), gap], 1).reshape(-1, 2)
    return np.concatenate([rows, cols]).astype(np.float32)


def _centers(ctx: LayerContext) -> dict[str, np.ndarray] | None:
    mm = ctx.modes()
    if mm is None:
        return None
    return {"pos": np.asarray(ctx.trainer.data.centers, np.float32), "ok": np.asarray(mm["covered"], bool)}


def real_density(data: Any, bounds: tuple[float, float, float, float], res: int = DENSITY_RES,
                 n_kde: int = 2000) -> tuple[np.ndarray, bool]:
    """The data's density on a res x res grid (rows = y): exact where the data set knows it,
    else a Gaussian KDE of ``n_kde`` real samples. Returns (grid, exact)."""
    from ganplay.engine import metrics as M

    _, _, pts = M.grid_points(bounds, res)
    density = getattr(data, "density", None)
    if density is not None:
        return np.asarray(density(pts.astype(np.float64)), np.float64).reshape(res, res), True
    real = data.sample_numpy(n_kde, seed=31).astype(np.float64)
    return M.kde_density(real, pts.astype(np.float64)).reshape(res, res), False


def mass_levels(grid: np.ndarray, masses: tuple[float, ...] = DENSITY_MASS) -> list[float]:
    """Density levels whose super-level sets hold ``masses`` of the probability on the grid
    (highest-density regions): the 50 % contour encloses the densest half of the data."""
    p = np.sort(np.asarray(grid, np.float64).ravel())[::-1]
    total = p.sum()
    if not np.isfinite(total) or total <= 0:
        return []
    cum = np.cumsum(p) / total
    return [float(p[min(int(np.searchsorted(cum, m)), len(p) - 1)]) for m in masses]


def density_area(ctx: LayerContext) -> tuple[float, float, float, float]:
    """Where the real density is sampled: the visible area, but no farther than a quarter of the
    data's span beyond its bounds. The data's mass lies inside its bounds, and a grid over a view
    widened four times would be too coarse to draw thin modes."""
    x0, x1, y0, y1 = ctx.bounds
    mx, my = 0.25 * (x1 - x0), 0.25 * (y1 - y0)
    v = ctx.area
    area = (max(v[0], x0 - mx), min(v[1], x1 + mx), max(v[2], y0 - my), min(v[3], y1 + my))
    return area if area[1] > area[0] and area[3] > area[2] else ctx.bounds


def _density(ctx: LayerContext) -> np.ndarray | None:
    data = ctx.trainer.data
    if not hasattr(data, "sample_numpy"):
        return None
    area = density_area(ctx)
    grid, _ = real_density(data, area)
    parts = [iso_segments(grid, area, level) for level in mass_levels(grid)]
    return np.concatenate(parts) if parts else None


# ---------------------------------------------------------------------- training modes' layers
N_LINKS = 128       # BiGAN: real points linked to G(E(x)), and prior draws linked to E(G(z))
PRIOR_SEED = 4343   # BiGAN: the prior's draws shown in z-space


def _labeled_real(data: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The real layer's points (same seed, same draws) with the index of the mode each came from."""
    if not getattr(data, "n_classes", 0) or not hasattr(data, "sample_labeled"):
        return None
    import torch

    x, y = data.sample_labeled(N_REAL, torch.Generator().manual_seed(777), "cpu")
    return x.numpy().astype(np.float32), y.numpy().astype(np.int64)


def _is_bigan(trainer: Any) -> bool:
    return hasattr(trainer, "encode")


def _real_by_mode(ctx: LayerContext) -> dict[str, np.ndarray] | None:
    tr = ctx.trainer
    if not (getattr(tr, "n_classes", 0) or _is_bigan(tr)):
        return None
    got = _labeled_real(tr.data)
    return None if got is None else {"pos": got[0], "label": got[1]}


def _fake_by_label(ctx: LayerContext) -> dict[str, np.ndarray] | None:
    if ctx.labels is None:
        return None
    return {"pos": _fake(ctx), "label": np.asarray(ctx.labels, np.int64)}


def _pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(2N, 2) end points of the N segments a[i] -> b[i] (first two coordinates), for connect="pairs"."""
    seg = np.empty((2 * len(a), 2), np.float32)
    seg[0::2], seg[1::2] = a[:, :2], b[:, :2]
    return np.nan_to_num(seg, nan=0.0, posinf=1e6, neginf=-1e6)


def _real_points(tr: Any) -> np.ndarray:
    return tr.data.sample_numpy(N_REAL, seed=777).astype(np.float32)


def _recon_links(ctx: LayerContext) -> np.ndarray | None:
    """BiGAN: each real x joined to G(E(x)), its reconstruction (short lines: G inverts E)."""
    tr = ctx.trainer
    if not _is_bigan(tr) or getattr(tr.data, "image_shape", None) is not None:
        return None
    x = _real_points(tr)[:N_LINKS]
    return _pairs(x, tr.generate(tr.encode(x), ema=False))


def _prior_z(tr: Any) -> np.ndarray:
    import torch

    return tr.sample_z(N_REAL, torch.Generator(tr.device).manual_seed(PRIOR_SEED)).cpu().numpy()


def _prior(ctx: LayerContext) -> np.ndarray | None:
    return _prior_z(ctx.trainer)[:, :2].astype(np.float32) if _is_bigan(ctx.trainer) else None


def _codes(ctx: LayerContext) -> dict[str, Any] | None:
    """BiGAN: E(x) of the real points in z-space, coloured by the mode x came from (if any)."""
    tr = ctx.trainer
    if not _is_bigan(tr) or getattr(tr.data, "image_shape", None) is not None:
        return None
    got = _labeled_real(tr.data)
    x, label = got if got is not None else (_real_points(tr), None)
    codes = np.nan_to_num(tr.encode(x)[:, :2], nan=0.0, posinf=1e6, neginf=-1e6)
    return {"pos": codes.astype(np.float32), "label": label}


def _z_links(ctx: LayerContext) -> np.ndarray | None:
    """BiGAN: each prior draw z joined to E(G(z)) (short lines: E inverts G)."""
    tr = ctx.trainer
    if not _is_bigan(tr):
        return None
    z = _prior_z(tr)[:N_LINKS]
    return _pairs(z, tr.encode(tr.generate(z, ema=False)))


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("surface", "Decision surface D(x)",
              "D's probability that a point is real, as a heatmap; the black line is D = 1/2.",
              "heatmap", _surface, z=-10, legend="D(x), solid line D = 1/2"),
    LayerSpec("density", "Real data density",
              "Contours of the real data's density enclosing 25, 50, 75 and 95 % of its probability "
              "(exact where the data set knows its density, else a KDE of 2,000 real samples).",
              "segments", _density, {"color": (27, 120, 55, 170), "dash": "dot"}, cadence="once", z=-5,
              legend="real density (dotted)"),
    LayerSpec("real", "Real samples", "Points drawn from the data distribution (green).",
              "points", _real, {"color": "#1b7837", "size": 4}, cadence="once", legend="real samples"),
    LayerSpec("fake", "Generated samples", "G(z) for a fixed set of z, so motion is G learning (purple).",
              "points", _fake, {"color": "#762a83", "size": 4}, z=1, legend="generated samples"),
    LayerSpec("arrows", "Gradient arrows",
              "The direction G's loss pushes each generated sample (minus its gradient in data space).",
              "segments", _arrows, {"color": (60, 60, 60, 200), "arrow": True}, z=2,
              legend="gradient arrows on G(z)"),
    LayerSpec("mesh", "Generator manifold", "A regular grid in z-space mapped through G (1D and 2D latents).",
              "path", _mesh, {"color": (90, 90, 90, 70)}, legend="generator manifold"),
    LayerSpec("optimal", "Optimal D* contour",
              "D* = p_data / (p_data + p_g) = 1/2 (dashed), where the data density is known; p_g by a "
              "KDE of G's samples.", "segments", _optimal, {"color": "#555555", "dash": "dash"},
              cadence="slow", legend="D* = 1/2 (dashed)"),
    LayerSpec("centers", "Mode centres",
              "Centres of the mixture's modes: filled green when covered now, red when missed.",
              "markers", _centers, {"size": 11, "ok": "#1a9850", "bad": "#d73027"}, z=3,
              legend="mode centre covered / missed"),
    LayerSpec("real_modes", "Real samples by mode",
              "Conditional GAN and BiGAN on a mixture: the real points coloured by the mode each was drawn "
              "from (a cGAN's label is that mode's index).", "labeled", _real_by_mode, {"size": 4},
              cadence="once", z=0.5, legend="real x, by mode", mode="labels"),
    LayerSpec("fake_labels", "Generated samples by label",
              "Conditional GAN: G(z, y) coloured by the label y it was asked for (the label selector above the "
              "canvas shows one label at a time). Each label should land on its own mode.",
              "labeled", _fake_by_label, {"size": 5, "outline": "#40004b"}, z=1.5, legend="G(z, y), by label y",
              mode="cgan"),
    LayerSpec("recon", "x to G(E(x))",
              "BiGAN: a line from each of 128 real points x to G(E(x)): short lines mean G inverts the encoder.",
              "segments", _recon_links, {"color": (40, 40, 40, 150)}, z=2.5, legend="x to G(E(x))", mode="bigan"),
    LayerSpec("prior", "Prior p(z)", "BiGAN: draws from the prior p(z) in the latent plot (first two coordinates).",
              "points", _prior, {"color": (150, 150, 150, 140), "size": 4}, cadence="once", space="z",
              legend="z ~ p(z)", mode="bigan"),
    LayerSpec("codes", "E(x) of real points",
              "BiGAN: the encoder's codes E(x) of the real points in the latent plot, coloured by the mode x came "
              "from: at the optimum they are distributed as the prior.", "labeled", _codes,
              {"size": 4, "color": "#1b7837"}, z=1, space="z", legend="E(x), by mode of x", mode="bigan"),
    LayerSpec("zlinks", "z to E(G(z))",
              "BiGAN: a line from each of 128 prior draws z to E(G(z)) in the latent plot: short lines mean "
              "the encoder inverts G.", "segments", _z_links, {"color": (40, 40, 40, 150)}, z=2, space="z",
              legend="z to E(G(z))", mode="bigan"),
)
LAYER_NAMES: tuple[str, ...] = tuple(s.name for s in LAYERS)
_BY_NAME = {s.name: s for s in LAYERS}


def layer(name: str) -> LayerSpec:
    return _BY_NAME[name]


def compute_layers(ctx: LayerContext, names: set[str] | frozenset[str], cadences: set[str]) -> dict[str, Any]:
    """Payloads of the named layers whose cadence is in ``cadences`` (None payloads left out)."""
    out: dict[str, Any] = {}
    for spec in LAYERS:
        if spec.name in names and spec.cadence in cadences:
            payload = spec.compute(ctx)
            if payload is not None:
                out[spec.name] = payload
    return out
