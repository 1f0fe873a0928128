"""The canvas's drawers, one per visual kind a ``LayerSpec`` can name (napari's layer -> visual
table, in small): each owns its pyqtgraph items, draws a payload, clears, shows or hides, and
draws its own sample for the canvas legend (``Swatch``). A new layer that fits one of these kinds
needs no code here: its legend entry is its spec's ``legend`` beside its visual's swatch.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QLinearGradient

from ganplay.live.layers import LayerSpec

# Diverging map for D(x): light purple where D says fake, white at 1/2, light green where it says real.
D_CMAP = pg.ColorMap([0.0, 0.5, 1.0], [(175, 141, 195), (247, 247, 247), (127, 191, 123)])
_DASH = {"dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine, None: Qt.PenStyle.SolidLine}


def _pen(style: Mapping[str, Any]) -> Any:
    # width 1 only: wider pens drop pyqtgraph's frame rate from hundreds to single digits
    return pg.mkPen(style.get("color", "k"), width=1, style=_DASH[style.get("dash")])


class Swatch(pg.GraphicsWidget):
    """A legend sample painted from a description, not from a plot item (so clicking it hides
    nothing): ``kind`` "dots" (``dots``: [(brush, pen, size), ...] side by side), "line" (``pen``,
    with an arrowhead when ``arrow``) or "heat" (D's colour map with its solid 1/2 line)."""

    sigClicked = Signal(object)   # LegendItem connects it
    W, H = 26, 14

    def __init__(self, kind: str, **opts: Any):
        super().__init__()
        self.kind, self.opts = kind, opts
        self.setFixedWidth(self.W)
        self.setFixedHeight(self.H)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.W, self.H)

    def paint(self, p: Any, *args: Any) -> None:
        p.setRenderHint(p.RenderHint.Antialiasing)
        w, h = self.W, self.H
        if self.kind == "heat":
            grad = QLinearGradient(1, 0, w - 1, 0)
            for t in (0.0, 0.5, 1.0):
                grad.setColorAt(t, D_CMAP.mapToQColor(t))
            p.setPen(pg.mkPen((150, 150, 150)))
            p.setBrush(grad)
            p.drawRect(QRectF(1, 1, w - 2, h - 2))
            p.setPen(pg.mkPen("k", width=1))
            p.drawLine(QPointF(w / 2, 1), QPointF(w / 2, h - 1))
        elif self.kind == "line":
            pen = pg.mkPen(self.opts.get("pen", "k"))
            p.setPen(pen)
            y = h / 2
            p.drawLine(QPointF(2, y), QPointF(w - 2, y))
            if self.opts.get("arrow"):
                p.drawLine(QPointF(w - 2, y), QPointF(w - 7, y - 4))
                p.drawLine(QPointF(w - 2, y), QPointF(w - 7, y + 4))
        else:  # dots
            dots = self.opts.get("dots", ())
            step = w / (len(dots) + 1) if dots else 0
            for i, (brush, pen, size) in enumerate(dots):
                p.setPen(pg.mkPen(pen) if pen is not None else pg.mkPen(None))
                p.setBrush(pg.mkBrush(brush))
                r = size / 2
                p.drawEllipse(QPointF(step * (i + 1), h / 2), r, r)

    def mouseClickEvent(self, ev: Any) -> None:
        ev.ignore()


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

    def swatch(self) -> Swatch:
        """This layer's sample in the canvas legend."""
        return Swatch("line", pen=_pen(self.spec.style))


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
        x0, x1, y0, y1 = payload.get("bounds", bounds)   # sampled on the canvas's visible area
        res_y, res_x = grid.shape
        dx, dy = (x1 - x0) / (res_x - 1), (y1 - y0) / (res_y - 1)
        self.image.setImage(grid, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
        seg = payload["contour"]
        self.contour.setData(seg[:, 0], seg[:, 1])

    def clear(self) -> None:
        self.image.clear()
        self.contour.setData([], [])

    def swatch(self) -> Swatch:
        return Swatch("heat")


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

    def swatch(self) -> Swatch:
        st = self.spec.style
        return Swatch("dots", dots=[(st.get("color", "k"), None, st.get("size", 4) + 2)])


# One colour per label or mode (Tableau 10), in turn for more than ten.
LABEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")


class LabeledVisual(Visual):
    """Points coloured by an integer label: ``{"pos": (N, 2), "label": (N,) int or None}`` (None:
    the style's one colour). ``outline`` in the style rings each point (generated, not real)."""

    def __init__(self, spec: LayerSpec):
        super().__init__(spec)
        st = spec.style
        pen = pg.mkPen(st["outline"], width=1) if st.get("outline") else None
        self.scatter = pg.ScatterPlotItem(size=st.get("size", 4), pen=pen, pxMode=True)
        self._brushes = [pg.mkBrush(c) for c in LABEL_COLORS]
        self._plain = pg.mkBrush(st.get("color", "k"))
        self.items = [self.scatter]

    def draw(self, payload: dict[str, Any], bounds: tuple[float, float, float, float]) -> None:
        label = payload.get("label")
        if label is None:
            self.scatter.setData(pos=payload["pos"], brush=self._plain)
        else:
            n = len(self._brushes)
            self.scatter.setData(pos=payload["pos"], brush=[self._brushes[int(k) % n] for k in label])

    def clear(self) -> None:
        self.scatter.setData(pos=np.zeros((0, 2)))

    def swatch(self) -> Swatch:
        st = self.spec.style
        return Swatch("dots", dots=[(c, st.get("outline"), st.get("size", 4) + 2) for c in LABEL_COLORS[:3]])


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

    def swatch(self) -> Swatch:
        return Swatch("line", pen=_pen(self.spec.style), arrow=bool(self.spec.style.get("arrow")))


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

    def swatch(self) -> Swatch:
        st = self.spec.style
        size = min(int(st.get("size", 11)), Swatch.H - 4)
        return Swatch("dots", dots=[(st.get("ok", "#1a9850"), "k", size), (st.get("bad", "#d73027"), "k", size)])


VISUALS: dict[str, type[Visual]] = {
    "heatmap": HeatmapVisual, "points": PointsVisual, "segments": SegmentsVisual, "path": PathVisual,
    "markers": MarkersVisual, "labeled": LabeledVisual,
}


def make_visual(spec: LayerSpec) -> Visual:
    vis = VISUALS[spec.visual](spec)
    for it in vis.items:
        it.setZValue(spec.z)
    return vis
