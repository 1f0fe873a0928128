"""The canvas's drawers, one per visual kind a ``LayerSpec`` can name (napari's layer -> visual
table, in small): each owns its pyqtgraph items, draws a payload, clears, and shows or hides.
A new layer that fits one of these kinds needs no code here.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ganplay.live.layers import LayerSpec

# Diverging map for D(x): light purple where D says fake, white at 1/2, light green where it says real.
D_CMAP = pg.ColorMap([0.0, 0.5, 1.0], [(175, 141, 195), (247, 247, 247), (127, 191, 123)])
_DASH = {"dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine, None: Qt.PenStyle.SolidLine}


def _pen(style: Mapping[str, Any]) -> Any:
    # width 1 only: wider pens drop pyqtgraph's frame rate from hundreds to single digits
    return pg.mkPen(style.get("color", "k"), width=1, style=_DASH[style.get("dash")])


class Visual:
    def __init__(self, spec: LayerSpec):
        self.spec = spec
        self.items: list[Any] = []

    def draw(self, payload: Any, bounds: tuple[float, float, float, float]) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def set_visible(self, on: bool) -> None:
        for it in self.items:
            it.setVisible(on)


class HeatmapVisual(Visual):
    """A grid in [0, 1] (rows = y) at fixed levels, with its 1/2 contour as segments."""

    def __init__(self, spec: LayerSpec):
        super().__init__(spec)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(D_CMAP.getLookupTable(0.0, 1.0, 256))
        self.image.setLevels((0.0, 1.0))
        self.contour = pg.PlotCurveItem(pen=pg.mkPen("k", width=1), connect="pairs")
        self.items = [self.image, self.contour]

    def draw(self, payload: dict[str, np.ndarray], bounds: tuple[float, float, float, float]) -> None:
        grid = payload["grid"]
        x0, x1, y0, y1 = bounds
        res_y, res_x = grid.shape
        dx, dy = (x1 - x0) / (res_x - 1), (y1 - y0) / (res_y - 1)
        self.image.setImage(grid, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
        seg = payload["contour"]
        self.contour.setData(seg[:, 0], seg[:, 1])

    def clear(self) -> None:
        self.image.clear()
        self.contour.setData([], [])


class PointsVisual(Visual):
    def __init__(self, spec: LayerSpec):
        super().__init__(spec)
        st = spec.style
        self.scatter = pg.ScatterPlotItem(size=st.get("size", 4), pen=None, brush=pg.mkBrush(st.get("color", "k")),
                                          pxMode=True)
        self.items = [self.scatter]

    def draw(self, payload: np.ndarray, bounds: tuple[float, float, float, float]) -> None:
        self.scatter.setData(pos=payload)

    def clear(self) -> None:
        self.scatter.setData(pos=np.zeros((0, 2)))


class SegmentsVisual(Visual):
    """(2N, 2) end points drawn as N separate segments."""

    connect = "pairs"

    def __init__(self, spec: LayerSpec):
        super().__init__(spec)
        self.curve = pg.PlotCurveItem(pen=_pen(spec.style), connect=self.connect)
        self.items = [self.curve]

    def draw(self, payload: np.ndarray, bounds: tuple[float, float, float, float]) -> None:
        pts = np.asarray(payload, np.float64).reshape(-1, 2)
        self.curve.setData(pts[:, 0], pts[:, 1])

    def clear(self) -> None:
        self.curve.setData([], [])


class PathVisual(SegmentsVisual):
    """A polyline, broken where a point is NaN."""

    connect = "finite"


class MarkersVisual(Visual):
    """Outlined markers filled by a per-point flag: ``{"pos": (K, 2), "ok": (K,) bool}``."""

    def __init__(self, spec: LayerSpec):
        super().__init__(spec)
        st = spec.style
        self.scatter = pg.ScatterPlotItem(size=st.get("size", 11), pen=pg.mkPen("k", width=1), pxMode=True, symbol="o")
        self._brushes = (pg.mkBrush(st.get("bad", "#d73027")), pg.mkBrush(st.get("ok", "#1a9850")))
        self.items = [self.scatter]

    def draw(self, payload: dict[str, np.ndarray], bounds: tuple[float, float, float, float]) -> None:
        self.scatter.setData(pos=payload["pos"], brush=[self._brushes[bool(c)] for c in payload["ok"]])

    def clear(self) -> None:
        self.scatter.setData(pos=np.zeros((0, 2)))


VISUALS: dict[str, type[Visual]] = {
    "heatmap": HeatmapVisual, "points": PointsVisual, "segments": SegmentsVisual, "path": PathVisual,
    "markers": MarkersVisual,
}


def make_visual(spec: LayerSpec) -> Visual:
    vis = VISUALS[spec.visual](spec)
    for it in vis.items:
        it.setZValue(spec.z)
    return vis
