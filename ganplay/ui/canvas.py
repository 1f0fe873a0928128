"""The data-space canvas: one visual per layer of ``ganplay.live.layers.LAYERS`` (the decision
surface, the real density, real and generated points, G's gradient arrows, the manifold mesh, the
D* contour, the mode centres), each toggled by the user, plus the overlays that do not come from
the training process (drawn points, an opened generator, the latent explorer's path). For image
data the canvas shows a grid of samples instead.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QStackedLayout, QWidget

from ganplay.engine.png import tile
from ganplay.live.layers import LAYERS, layer

from .visuals import D_CMAP, make_visual  # noqa: F401  (D_CMAP re-exported for the compare view)

REAL = layer("real").style["color"]
FAKE = layer("fake").style["color"]


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
        self.drawn = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush("#1b9e77"), pxMode=True)
        self.bundle = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush("#e66101"), pxMode=True)
        self.latent = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k"), brush=pg.mkBrush("#fdb863"), pxMode=True)
        self.latent_trail = pg.PlotCurveItem(pen=pg.mkPen("#e66101", width=1))
        self.path = pg.PlotCurveItem(pen=pg.mkPen("#b35806", width=1))
        for vis in self.visuals.values():
            for it in vis.items:
                self.plot.addItem(it)
        for it in (self.drawn, self.bundle, self.latent_trail, self.latent, self.path):
            it.setZValue(10)
            self.plot.addItem(it)
        self.image_widget = pg.GraphicsLayoutWidget()
        self.image_widget.setBackground("w")
        self.image_view = self.image_widget.addViewBox(lockAspect=True, invertY=False)
        self.image_view.setMouseEnabled(False, False)
        self.grid_image = pg.ImageItem(axisOrder="row-major")
        self.grid_image.setLevels((-1.0, 1.0))
        self.image_view.addItem(self.grid_image)
        self._stack.addWidget(self.plot_widget)
        self._stack.addWidget(self.image_widget)
        self.visible_layers: set[str] = set(self.visuals)
        self.draw_mode = False
        self._bounds: tuple[float, float, float, float] | None = None
        self._image_mode = False
        self._grid_shape: tuple[int, ...] | None = None
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_move)
        self._last_paint = None

    # ------------------------------------------------------------------ layers
    def set_layer_visible(self, name: str, on: bool) -> None:
        if on:
            self.visible_layers.add(name)
        else:
            self.visible_layers.discard(name)
        if name in self.visuals:
            self.visuals[name].set_visible(on)

    @property
    def image_mode(self) -> bool:
        return self._image_mode

    def set_image_mode(self, on: bool) -> None:
        if on != self._image_mode:
            self._image_mode = on
            self._stack.setCurrentIndex(1 if on else 0)

    def set_bounds(self, bounds: tuple[float, float, float, float]) -> None:
        if bounds != self._bounds:
            self._bounds = bounds
            x0, x1, y0, y1 = bounds
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    # ------------------------------------------------------------------ drawing a frame
    def show_frame(self, fr) -> None:  # fr: ganplay.live.frames.Frame
        if fr.images is not None:
            self.set_image_mode(True)
            img = tile_images(fr.images, cols=getattr(fr, "image_cols", None))
            self.grid_image.setImage(img, levels=(-1.0, 1.0), autoLevels=False)
            if img.shape != self._grid_shape:
                self._grid_shape = img.shape
                self.image_view.autoRange(padding=0.01)
            return
        self.set_image_mode(False)
        self.set_bounds(fr.bounds)
        for name, payload in fr.layers.items():
            vis = self.visuals.get(name)
            if vis is not None:
                vis.draw(payload, fr.bounds)

    def clear_layers(self) -> None:
        for vis in self.visuals.values():
            vis.clear()
        self.drawn.setData(pos=np.zeros((0, 2)))

    # ------------------------------------------------------------------ extra overlays
    def set_latent_points(self, pts: np.ndarray | None) -> None:
        if pts is None or len(pts) == 0:
            self.latent.setData(pos=np.zeros((0, 2)))
            self.latent_trail.setData([], [])
            return
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        self.latent.setData(pos=pts[-1:])
        self.latent_trail.setData(pts[:, 0], pts[:, 1])

    def set_path(self, pts: np.ndarray | None) -> None:
        if pts is None or len(pts) == 0:
            self.path.setData([], [])
            return
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        self.path.setData(pts[:, 0], pts[:, 1])

    def set_bundle_points(self, pts: np.ndarray | None) -> None:
        self.bundle.setData(pos=np.zeros((0, 2)) if pts is None else np.asarray(pts).reshape(-1, 2))

    def set_drawn_points(self, pts: np.ndarray | None) -> None:
        self.drawn.setData(pos=np.zeros((0, 2)) if pts is None else np.asarray(pts).reshape(-1, 2))

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
