"""Figures as PNG bytes, drawn with matplotlib (``ganplay sample -o x.png``, TensorBoard images).

matplotlib is imported inside the functions, and through its object API with the Agg canvas
(no pyplot, no global backend): the window never imports it, so its start does not slow down,
and a process that has picked another backend keeps it.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

# the canvas's colours (live/layers.py and ui/visuals.py), so a figure reads like the window
REAL_COLOR = "#1b7837"
FAKE_COLOR = "#762a83"
D_COLORS = ((175, 141, 195), (247, 247, 247), (127, 191, 123))   # D = 0, 1/2, 1


def auto_bounds(points: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    """Square bounds around the bulk of the points (0.5-99.5 percentiles, plus a margin)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    if len(p) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = np.percentile(p, 0.5, axis=0), np.percentile(p, 99.5, axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _figure(size_in: float, dpi: int) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size_in, size_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _finite(points: np.ndarray | None) -> np.ndarray:
    if points is None:
        return np.zeros((0, 2))
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return p[np.isfinite(p).all(1)]


def d_colormap() -> Any:
    """The canvas's D(x) colours (purple = fake, white = 1/2, green = real) as a matplotlib map."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("ganplay_d", [tuple(c / 255 for c in rgb) for rgb in D_COLORS])


def scatter_png(fake: np.ndarray, real: np.ndarray | None = None,
                bounds: tuple[float, float, float, float] | None = None, title: str = "",
                surface: np.ndarray | None = None, size_px: int = 640) -> bytes:
    """A scatter figure of 2D samples: generated (purple) over real (green), axes with the data's
    ``bounds`` (default: around the samples), a legend with the counts and ``title``.
    ``surface``: D(x) sampled on ``bounds`` (rows = y), drawn under the points with its D = 1/2 line."""
    fake, real = _finite(fake), _finite(real)
    x0, x1, y0, y1 = bounds if bounds is not None else auto_bounds(np.concatenate([fake, real]))
    dpi = 100
    fig, ax = _figure(size_px / dpi, dpi)
    if surface is not None:
        ax.imshow(surface, origin="lower", extent=(x0, x1, y0, y1), cmap=d_colormap(), vmin=0.0, vmax=1.0,
                  interpolation="nearest", aspect="auto", zorder=0)
        gy, gx = np.linspace(y0, y1, surface.shape[0]), np.linspace(x0, x1, surface.shape[1])
        if float(surface.min()) < 0.5 < float(surface.max()):
            ax.contour(gx, gy, surface, levels=[0.5], colors="k", linewidths=1, zorder=1)
    # a few thousand points: small markers with some transparency, so dense modes read darker
    alpha = float(np.clip(600 / max(len(fake), 1), 0.25, 0.8))
    if len(real):
        ax.scatter(real[:, 0], real[:, 1], s=5, c=REAL_COLOR, alpha=alpha, linewidths=0,
                   label=f"real ({len(real):,})", zorder=2)
    ax.scatter(fake[:, 0], fake[:, 1], s=5, c=FAKE_COLOR, alpha=alpha, linewidths=0,
               label=f"generated ({len(fake):,})", zorder=3)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, color="0.85", linewidth=0.6, zorder=-1)
    ax.set_axisbelow(True)
    leg = ax.legend(loc="upper right", markerscale=3, framealpha=0.85)
    for h in leg.legend_handles:
        h.set_alpha(1.0)
    if title:
        ax.set_title(title)
    return _png(fig)
