"""The data-space canvas: one visual per layer of ``ganplay.live.layers.LAYERS`` (the decision
surface, the real density, real and generated points, G's gradient arrows, the manifold mesh, the
D* contour, the mode centres), each toggled by the user, plus the overlays that do not come from
the training process (drawn points, an opened generator, the latent explorer's path). For image
data the canvas shows a grid of samples instead.

A legend under the plot names what is shown: each visible layer's ``LayerSpec.legend`` beside its
visual's swatch, then the overlays that show something. The view starts on the data's bounds
(after every reset); when more than ``FOLLOW_FRACTION`` of the generated samples leave it, it
widens to take them in, up to ``FOLLOW_LIMIT`` times the data's span around its centre; samples
still outside sit on the border as triangles with a count. Once the samples are back inside the
data's bounds for ``RETURN_FRAMES`` frames, the view goes home again. ``viewChanged`` (debounced)
tells the window the visible area, which the window sends to the loop (``protocol.SetView``) so
the grid layers cover all of it.

A training mode with a latent picture (BiGAN: E(x) over the prior, z joined to E(G(z))) draws
its ``space="z"`` layers in a second plot beside the data, shown while such layers arrive; its
title carries the mode's numbers. A mode's layers (``LayerSpec.mode``) enter the legend once they
have drawn something.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QStackedLayout, QWidget

from ganplay.engine.png import tile
from ganplay.live.layers import LAYERS, layer

from .visuals import D_CMAP, Swatch, make_visual  # noqa: F401  (D_CMAP re-exported for the compare view)

REAL = layer("real").style["color"]
FAKE = layer("fake").style["color"]
BUNDLE = "#e66101"
FOLLOW_FRACTION = 0.02   # more than this share of the generated samples outside: the view widens
FOLLOW_LIMIT = 4.0       # ... up to this many times the data's span, around the data's centre
FOLLOW_MARGIN = 0.05     # room left beyond the farthest sample followed (of the new span)
RETURN_FRAMES = 30       # a widened view goes home after this many frames with the samples back
VIEW_DEBOUNCE_MS = 150   # viewChanged waits this long for the range to settle
LEGEND_COLUMNS = 4       # at most; fewer when the canvas is narrow
# the overlays the window draws itself, in the legend while they show something
OVERLAY_LEGEND = {
    "bundle": "opened generator's samples",
    "latent": "latent explorer's G(z)",
    "path": "latent path A to B",
    "drawn": "your drawn points",
}


def _inside(view: tuple[float, float, float, float], pts: np.ndarray) -> np.ndarray:
    x0, x1, y0, y1 = view
    return (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)


class CanvasLegend(pg.LegendItem):
    """pyqtgraph's legend as a row of the plot's layout (under the axes), so it never covers
    the data: its size comes from its own grid layout instead of a fixed geometry."""

    def updateSize(self) -> None:
        self.layout.invalidate()
        self.updateGeometry()


def tile_images(images: np.ndarray, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one (rows*H, cols*W[, 3]) float image for pyqtgraph, one pixel
    gap, row-major, array row 0 at the bottom (pyqtgraph draws it there)."""
    n = len(images)
    if cols is None:
        cols = int(np.ceil(np.sqrt(n))) if rows is None else int(np.ceil(n / rows))
    grid = tile(images, nrow=cols, pad=1, border=False)[:, ::-1]
    return np.ascontiguousarray(grid[0] if grid.shape[0] == 1 else grid[:3].transpose(1, 2, 0))


class DataCanvas(QWidget):
    """Centre of the window. ``pointsDrawn`` carries new (N, 2) points in draw mode."""

    pointsDrawn = Signal(object)
    viewChanged = Signal(object)   # (x0, x1, y0, y1): the visible area, once it has settled
    sampleClicked = Signal(int)    # image data: the index of the grid sample clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._stack = QStackedLayout(self)
        # clicking the canvas takes the focus from a text field, so Space / S / R act again
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=False, y=False)
        self.plot.setMenuEnabled(False)
        vb = self.plot.getViewBox()
        vb.setMouseEnabled(False, False)  # the mouse paints data in draw mode; no accidental panning
        self.visuals = {spec.name: make_visual(spec) for spec in LAYERS}
        # the latent plot of a training mode (BiGAN), beside the data plot while it has something
        self.zplot_widget = pg.PlotWidget(background="w")
        self.zplot: pg.PlotItem = self.zplot_widget.getPlotItem()
        self.zplot.setAspectLocked(True)
        self.zplot.setMenuEnabled(False)
        self.zplot.getViewBox().setMouseEnabled(False, False)
        self.zplot.setLabel("bottom", "z<sub>1</sub>")
        self.zplot.setLabel("left", "z<sub>2</sub>")
        # small minimum widths: the pair shares whatever the centre of the window has (without
        # them, the legend's and axes' size hints push the latent plot past the canvas's edge)
        self.zplot_widget.setMinimumWidth(120)
        self.plot_widget.setMinimumWidth(200)
        self.zplot_widget.hide()
        self._z_range: float | None = None
        self._mode_drawn: set[str] = set()   # a mode's layers that drew since the last clear
        self.drawn = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush("#1b9e77"), pxMode=True)
        self.bundle = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(BUNDLE), pxMode=True)
        self.latent = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k"), brush=pg.mkBrush("#fdb863"), pxMode=True)
        self.latent_trail = pg.PlotCurveItem(pen=pg.mkPen("#e66101", width=1))
        self.path = pg.PlotCurveItem(pen=pg.mkPen("#b35806", width=1))
        for name, vis in self.visuals.items():
            target = self.zplot if layer(name).space == "z" else self.plot
            for it in vis.items:
                target.addItem(it)
        for it in (self.drawn, self.bundle, self.latent_trail, self.latent, self.path):
            it.setZValue(10)
            self.plot.addItem(it)
        # generated samples beyond the followed view: triangles on its border and a count
        self.offcanvas = pg.ScatterPlotItem(size=12, pen=pg.mkPen("#40004b", width=1), brush=pg.mkBrush(FAKE),
                                            pxMode=True)
        self.offcanvas_label = pg.TextItem("", color=FAKE, anchor=(0.5, 0.0), fill=pg.mkBrush(255, 255, 255, 220),
                                           border=pg.mkPen(FAKE))
        for it in (self.offcanvas, self.offcanvas_label):
            it.setZValue(20)
            self.plot.addItem(it)
        self.offcanvas_label.hide()
        self._offcanvas_n = 0
        self.legend = CanvasLegend(colCount=LEGEND_COLUMNS, sampleType=Swatch, labelTextSize="8pt",
                                   labelTextColor=(40, 40, 40), horSpacing=4, verSpacing=-6, frame=False)
        # never wider than the canvas: a legend's minimum width would push the plot past the
        # widget's edge (its columns follow the width instead, _fit_legend)
        self.legend.setMinimumWidth(0)
        self.plot.layout.addItem(self.legend, 4, 0, 1, 3)   # under the axes, the plot's whole width
        self._legend_keys: tuple[str, ...] | None = None
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(VIEW_DEBOUNCE_MS)
        self._view_timer.timeout.connect(self._emit_view)
        self._sent_view: tuple[float, float, float, float] | None = None
        self._widened = False    # the view follows samples beyond the data's bounds
        self._asked: tuple[float, float, float, float] | None = None   # the last widened range asked for
        self._calm = 0           # frames since then with (nearly) every sample back home
        self.image_widget = pg.GraphicsLayoutWidget()
        self.image_widget.setBackground("w")
        self.image_view = self.image_widget.addViewBox(lockAspect=True, invertY=False)
        self.image_view.setMouseEnabled(False, False)
        self.grid_image = pg.ImageItem(axisOrder="row-major")
        self.grid_image.setLevels((-1.0, 1.0))
        self.image_view.addItem(self.grid_image)
        self._grid_layout: tuple[int, int, int, int] | None = None   # (n, cols, H, W) of the grid shown
        self.image_widget.scene().sigMouseClicked.connect(self._on_grid_click)
        self.image_widget.setToolTip("Samples from a fixed z. Click a digit to make it A or B of the "
                                     "latent explorer's interpolation.")
        plots = QWidget()
        row = QHBoxLayout(plots)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.plot_widget, 3)
        row.addWidget(self.zplot_widget, 2)
        self._stack.addWidget(plots)
        self._stack.addWidget(self.image_widget)
        self.visible_layers: set[str] = set(self.visuals)
        self.draw_mode = False
        self._bounds: tuple[float, float, float, float] | None = None
        self._image_mode = False
        self._grid_shape: tuple[int, ...] | None = None
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_move)
        vb.sigRangeChanged.connect(self._on_range_changed)
        self._last_paint = None
        self.update_legend()

    # ------------------------------------------------------------------ layers
    def set_layer_visible(self, name: str, on: bool) -> None:
        if on:
            self.visible_layers.add(name)
        else:
            self.visible_layers.discard(name)
        if name in self.visuals:
            self.visuals[name].set_visible(on)
        self.update_legend()

    # ------------------------------------------------------------------ legend
    def set_legend_visible(self, on: bool) -> None:
        """The legend takes its row under the plot only while shown."""
        if on == self.legend_shown:
            return
        if on:
            self.plot.layout.addItem(self.legend, 4, 0, 1, 3)
            self.legend.show()
        else:
            self.plot.layout.removeItem(self.legend)
            self.legend.hide()
        self.plot.layout.invalidate()

    @property
    def legend_shown(self) -> bool:
        return self.legend.isVisible()

    def legend_texts(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def _legend_entries(self) -> list[tuple[str, str, Any]]:
        """(key, text, swatch factory) of what the canvas shows now, layers first."""
        out: list[tuple[str, str, Any]] = []
        for spec in LAYERS:
            if spec.name in self.visible_layers and (not spec.mode or spec.name in self._mode_drawn):
                out.append((spec.name, spec.legend or spec.label, self.visuals[spec.name].swatch))
        overlays = {
            "bundle": (self.bundle, lambda: Swatch("dots", dots=[(BUNDLE, None, 6)])),
            "latent": (self.latent, lambda: Swatch("dots", dots=[("#fdb863", "k", 9)])),
            "path": (self.path, lambda: Swatch("line", pen=self.path.opts["pen"])),
            "drawn": (self.drawn, lambda: Swatch("dots", dots=[("#1b9e77", None, 6)])),
        }
        for key, (item, make) in overlays.items():
            data = item.getData()
            if data is not None and data[0] is not None and len(data[0]) > 0:
                out.append((key, OVERLAY_LEGEND[key], make))
        return out

    def update_legend(self) -> None:
        entries = self._legend_entries()
        keys = tuple(k for k, _, _ in entries)
        if keys == self._legend_keys:
            return
        self._legend_keys = keys
        self.legend.clear()
        for _, text, make in entries:
            self.legend.addItem(make(), text)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """As many columns as the canvas's width holds (the widest entry sets the column width)."""
        if not self.legend.items:
            return
        widest = max(label.item.boundingRect().width() for _, label in self.legend.items) + Swatch.W + 8
        cols = int((self.plot_widget.width() - 16) // widest)
        self.legend.setColumnCount(max(1, min(LEGEND_COLUMNS, len(self.legend.items), cols)))

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        self._fit_legend()

    @property
    def image_mode(self) -> bool:
        return self._image_mode

    def set_image_mode(self, on: bool) -> None:
        if on != self._image_mode:
            self._image_mode = on
            self._stack.setCurrentIndex(1 if on else 0)

    def set_bounds(self, bounds: tuple[float, float, float, float]) -> None:
        """The data's bounds: the view goes to them when they change (and after ``clear_layers``)."""
        if bounds != self._bounds:
            self._bounds = bounds
            self._go_home()
            self._view_timer.start()  # tell the window even when the range did not move

    def _go_home(self) -> None:
        x0, x1, y0, y1 = self._bounds
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self._widened, self._calm, self._asked = False, 0, None

    # ------------------------------------------------------------------ the view
    def view_rect(self) -> tuple[float, float, float, float]:
        """The visible area (x0, x1, y0, y1), wider or taller than asked by the aspect lock."""
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        return float(x0), float(x1), float(y0), float(y1)

    def follow_limit(self) -> tuple[float, float, float, float] | None:
        """The largest area the view widens to: FOLLOW_LIMIT spans of the data around its centre."""
        if self._bounds is None:
            return None
        x0, x1, y0, y1 = self._bounds
        cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, FOLLOW_LIMIT / 2 * (x1 - x0), FOLLOW_LIMIT / 2 * (y1 - y0)
        return cx - hx, cx + hx, cy - hy, cy + hy

    def _on_range_changed(self, *args: Any) -> None:
        self._place_offcanvas_label()
        self._view_timer.start()

    def _emit_view(self) -> None:
        if self._bounds is None or self._image_mode:
            return
        view = self.view_rect()
        if view != self._sent_view and view[1] > view[0] and view[3] > view[2]:
            self._sent_view = view
            self.viewChanged.emit(view)

    def _follow(self, fake: np.ndarray) -> None:
        """Widen the view to the generated samples that left it (more than FOLLOW_FRACTION of
        them), up to the limit; mark the ones still outside on the border."""
        pts = np.asarray(fake, np.float64).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) == 0 or self._bounds is None:
            self._show_offcanvas(pts[:0])
            return
        if self._widened:
            # back home once the samples have stayed in the data's bounds a while: all but half
            # the widening share, so a swarm on the edge does not swing the view to and fro
            calm = (~_inside(self._bounds, pts)).mean() <= FOLLOW_FRACTION / 2
            self._calm = self._calm + 1 if calm else 0
            if self._calm >= RETURN_FRAMES:
                self._go_home()
        view = self.view_rect()
        out = ~_inside(view, pts)
        if out.mean() > FOLLOW_FRACTION:
            # a box centred on the data that holds the strays (plus a margin), never past the
            # limit: centred, so the aspect lock (which pads the shorter side) pads both ends
            lim = self.follow_limit()
            bx0, bx1, by0, by1 = self._bounds
            cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
            q = np.clip(pts[out], (lim[0], lim[2]), (lim[1], lim[3]))
            hx = max(float(np.abs(q[:, 0] - cx).max()), (view[1] - view[0]) / 2, (bx1 - bx0) / 2)
            hy = max(float(np.abs(q[:, 1] - cy).max()), (view[3] - view[2]) / 2, (by1 - by0) / 2)
            hx = min((lim[1] - lim[0]) / 2, hx * (1 + FOLLOW_MARGIN))
            hy = min((lim[3] - lim[2]) / 2, hy * (1 + FOLLOW_MARGIN))
            want = (cx - hx, cx + hx, cy - hy, cy + hy)
            if want != self._asked:
                self._asked = want
                self.plot.setRange(xRange=want[:2], yRange=want[2:], padding=0.0)
                self._widened, self._calm = True, 0
                view = self.view_rect()
                out = ~_inside(view, pts)
        self._show_offcanvas(pts[out])

    def _show_offcanvas(self, pts: np.ndarray) -> None:
        """Samples outside the view as triangles on its border, pointing their way, and a count."""
        n = len(pts)
        self._offcanvas_n = n
        if n == 0:
            self.offcanvas.setData(pos=np.zeros((0, 2)))
            self.offcanvas_label.hide()
            return
        x0, x1, y0, y1 = self.view_rect()
        ix, iy = 0.015 * (x1 - x0), 0.015 * (y1 - y0)
        pos = np.clip(pts, (x0 + ix, y0 + iy), (x1 - ix, y1 - iy))
        # which border: the one the sample is farthest beyond, in units of the view's span
        over = np.stack([(x0 - pts[:, 0]) / (x1 - x0), (pts[:, 0] - x1) / (x1 - x0),
                         (y0 - pts[:, 1]) / (y1 - y0), (pts[:, 1] - y1) / (y1 - y0)], 1)
        names = np.array(["t3", "t2", "t", "t1"])   # pyqtgraph's triangles: left, right, down, up
        self.offcanvas.setData(pos=pos, symbol=list(names[over.argmax(1)]))
        self.offcanvas_label.setText(f"{n} sample{'s' if n != 1 else ''} off the canvas")
        self._place_offcanvas_label()
        self.offcanvas_label.show()

    def _place_offcanvas_label(self) -> None:
        if self._offcanvas_n:
            x0, x1, y0, y1 = self.view_rect()
            self.offcanvas_label.setPos((x0 + x1) / 2, y1 - 0.04 * (y1 - y0))

    # ------------------------------------------------------------------ drawing a frame
    def show_frame(self, fr) -> None:  # fr: ganplay.live.frames.Frame
        if fr.images is not None:
            self.set_image_mode(True)
            n, cols = len(fr.images), getattr(fr, "image_cols", None) or int(np.ceil(np.sqrt(len(fr.images))))
            img = tile_images(fr.images, cols=cols)
            self._grid_layout = (n, cols) + tuple(fr.images.shape[-2:])
            self.grid_image.setImage(img, levels=(-1.0, 1.0), autoLevels=False)
            if img.shape != self._grid_shape:
                self._grid_shape = img.shape
                self.image_view.autoRange(padding=0.01)
            return
        self.set_image_mode(False)
        self.set_bounds(fr.bounds)
        z_side = False
        for name, payload in fr.layers.items():
            vis = self.visuals.get(name)
            if vis is not None:
                vis.draw(payload, fr.bounds)
                z_side = z_side or vis.spec.space == "z"
                if vis.spec.mode and name not in self._mode_drawn:
                    self._mode_drawn.add(name)
                    self.update_legend()
        if z_side:
            self._show_latent(fr)
        fake = fr.layers.get("fake")
        if fake is not None and "fake" in self.visible_layers:
            self._follow(fake)
        elif self._offcanvas_n:
            self._show_offcanvas(np.zeros((0, 2)))

    def _show_latent(self, fr: Any) -> None:
        """The latent plot: shown, framed on the prior's draws once, titled with the mode's
        numbers when the frame carries them."""
        if not self.zplot_widget.isVisible():
            self.zplot_widget.show()
        prior = fr.layers.get("prior")
        if prior is not None and len(prior):
            lim = float(np.percentile(np.abs(prior), 99.5)) * 1.2 or 1.0
            if lim != self._z_range:
                self._z_range = lim
                self.zplot.setRange(xRange=(-lim, lim), yRange=(-lim, lim), padding=0.0)
        m = fr.metrics or {}
        if "z_recon" in m:
            # two short lines: a long title would hold the plot wider than the window gives it
            self.zplot.setTitle(f"z-space, step {fr.metrics_step}<br>mean |E(G(z)) - z| = {m['z_recon']:.2f}, "
                                f"|G(E(x)) - x| = {m.get('x_recon', float('nan')):.2f}", size="9pt")
        elif self.zplot.titleLabel.text == "":
            self.zplot.setTitle("z-space: E(x) over the prior", size="9pt")

    def clear_layers(self) -> None:
        """A new trainer: empty layers, and the view goes back to the data's bounds with the
        next frame."""
        for vis in self.visuals.values():
            vis.clear()
        self._mode_drawn.clear()
        self.zplot_widget.hide()
        self.zplot.setTitle(None)
        self._z_range = None
        self.drawn.setData(pos=np.zeros((0, 2)))
        self._show_offcanvas(np.zeros((0, 2)))
        self._bounds = None
        self._sent_view = None
        self.update_legend()

    # ------------------------------------------------------------------ extra overlays
    def set_latent_points(self, pts: np.ndarray | None) -> None:
        if pts is None or len(pts) == 0:
            self.latent.setData(pos=np.zeros((0, 2)))
            self.latent_trail.setData([], [])
        else:
            pts = np.asarray(pts, np.float64).reshape(-1, 2)
            self.latent.setData(pos=pts[-1:])
            self.latent_trail.setData(pts[:, 0], pts[:, 1])
        self.update_legend()

    def set_path(self, pts: np.ndarray | None) -> None:
        if pts is None or len(pts) == 0:
            self.path.setData([], [])
        else:
            pts = np.asarray(pts, np.float64).reshape(-1, 2)
            self.path.setData(pts[:, 0], pts[:, 1])
        self.update_legend()

    def set_bundle_points(self, pts: np.ndarray | None) -> None:
        self.bundle.setData(pos=np.zeros((0, 2)) if pts is None else np.asarray(pts).reshape(-1, 2))
        self.update_legend()

    def set_drawn_points(self, pts: np.ndarray | None) -> None:
        self.drawn.setData(pos=np.zeros((0, 2)) if pts is None else np.asarray(pts).reshape(-1, 2))
        self.update_legend()

    # ------------------------------------------------------------------ draw your own data
    def _paint_at(self, scene_pos: QPointF) -> None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        rng = vb.viewRange()
        span = max(rng[0][1] - rng[0][0], rng[1][1] - rng[1][0])
        # a small spray of points, so a stroke becomes a distribution and not a line of dots
        rs = np.random.default_rng()
        pts = np.array([p.x(), p.y()]) + rs.normal(0, 0.012 * span, (6, 2))
        self.pointsDrawn.emit(pts.astype(np.float32))

    def _on_click(self, ev) -> None:
        if self.draw_mode and ev.button() == Qt.MouseButton.LeftButton:
            self._paint_at(ev.scenePos())

    def _on_move(self, pos: QPointF) -> None:
        from PySide6.QtWidgets import QApplication

        if self.draw_mode and QApplication.mouseButtons() & Qt.MouseButton.LeftButton:
            self._paint_at(pos)

    # ------------------------------------------------------------------ image data: a clicked sample
    def sample_at(self, x: float, y: float) -> int | None:
        """The index of the grid sample at view point (x, y), or None (a gap, outside). The grid is
        ``tile_images``': row-major, 1-pixel gaps, the first row at the top (array row 0 is drawn
        at the bottom)."""
        if self._grid_layout is None:
            return None
        n, cols, h, w = self._grid_layout
        rows = -(-n // cols)
        down = rows * (h + 1) - 1 - y          # distance from the grid's top edge
        c, dx = divmod(x, w + 1)
        r, dy = divmod(down, h + 1)
        if x < 0 or down < 0 or dx >= w or dy >= h or c >= cols or r >= rows:
            return None
        k = int(r) * cols + int(c)
        return k if k < n else None

    def _on_grid_click(self, ev) -> None:
        if not self._image_mode or ev.button() != Qt.MouseButton.LeftButton:
            return
        p = self.image_view.mapSceneToView(ev.scenePos())
        k = self.sample_at(p.x(), p.y())
        if k is not None:
            ev.accept()
            self.sampleClicked.emit(k)
