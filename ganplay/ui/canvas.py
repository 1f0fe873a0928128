"""The data-space canvas: D's decision surface, real and generated points, G's gradient arrows,
the generator's manifold mesh, the D* contour and the mode centres, each a persistent
pyqtgraph item toggled by the user. For image data the canvas shows a grid of samples instead.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QStackedLayout, QWidget

REAL = "#1b7837"
FAKE = "#762a83"
# Diverging map for D(x): light purple where D says fake, white at 1/2, light green where it says real.
D_CMAP = pg.ColorMap([0.0, 0.5, 1.0], [(175, 141, 195), (247, 247, 247), (127, 191, 123)])
LAYERS = (
    ("surface", "Decision surface D(x)", "D's probability that a point is real, as a heatmap; the black line is D = 1/2."),
    ("real", "Real samples", "Points drawn from the data distribution (green)."),
    ("fake", "Generated samples", "G(z) for a fixed set of z, so motion is G learning (purple)."),
    ("arrows", "Gradient arrows", "The direction G's loss pushes each generated sample (minus its gradient in data space)."),
    ("mesh", "Generator manifold", "A regular grid in z-space mapped through G (1D and 2D latents)."),
    ("optimal", "Optimal D* contour", "D* = p_data / (p_data + p_g) = 1/2 (dashed), where the data density is known; p_g by a KDE of G's samples."),
    ("centers", "Mode centres", "Centres of the mixture's modes: filled green when covered now, red when missed."),
)


def contour_path(grid: np.ndarray, bounds: tuple[float, float, float, float],
                 level: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Iso-line of a (rows = y) grid sampled on ``bounds`` as x, y arrays of segment pairs."""
    from .frames import iso_segments

    seg = iso_segments(grid, bounds, level)
    return seg[:, 0].astype(np.float64), seg[:, 1].astype(np.float64)


def mesh_path(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid lines of a (r, r, 2) mesh (or the polyline of an (r, 2) one) with NaN breaks."""
    if mesh.ndim == 2:
        return mesh[:, 0].astype(np.float64), mesh[:, 1].astype(np.float64)
    r = mesh.shape[0]
    gap = np.full((r, 1, 2), np.nan)
    rows = np.concatenate([mesh, gap], 1).reshape(-1, 2)
    cols = np.concatenate([mesh.transpose(1, 0, 2), gap], 1).reshape(-1, 2)
    pts = np.concatenate([rows, cols]).astype(np.float64)
    return pts[:, 0], pts[:, 1]


def tile_images(images: np.ndarray, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one (rows*H, cols*W[, 3]) image, one pixel gap, row-major."""
    n, c, h, w = images.shape
    if cols is None:
        cols = int(np.ceil(np.sqrt(n))) if rows is None else int(np.ceil(n / rows))
    rows = int(np.ceil(n / cols))
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, c), -1.0, np.float32)
    for i in range(n):
        r, q = divmod(i, cols)
        # image row 0 is the top; pyqtgraph draws array row 0 at the bottom, so flip rows
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = images[i].transpose(1, 2, 0)
    out = out[::-1]
    return np.ascontiguousarray(out[..., 0] if c == 1 else out[..., :3])


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
        self.items: dict[str, list[pg.GraphicsObject]] = {}
        self.surface = pg.ImageItem(axisOrder="row-major")
        self.surface.setLookupTable(D_CMAP.getLookupTable(0.0, 1.0, 256))
        self.surface.setLevels((0.0, 1.0))
        self.surface.setZValue(-10)
        self.contour = pg.PlotCurveItem(pen=pg.mkPen("k", width=1), connect="pairs")
        self.optimal = pg.PlotCurveItem(pen=pg.mkPen("#555", width=1, style=Qt.PenStyle.DashLine), connect="pairs")
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen((90, 90, 90, 70), width=1), connect="finite")
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(REAL), pxMode=True)
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(FAKE), pxMode=True)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen((60, 60, 60, 200), width=1), connect="pairs")
        self.centers = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=1), pxMode=True, symbol="o")
        self.drawn = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush("#1b9e77"), pxMode=True)
        self.bundle = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush("#e66101"), pxMode=True)
        self.latent = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k"), brush=pg.mkBrush("#fdb863"), pxMode=True)
        self.latent_trail = pg.PlotCurveItem(pen=pg.mkPen("#e66101", width=1))
        self.path = pg.PlotCurveItem(pen=pg.mkPen("#b35806", width=1))
        self.items = {
            "surface": [self.surface, self.contour], "optimal": [self.optimal], "mesh": [self.mesh],
            "real": [self.real], "fake": [self.fake], "arrows": [self.arrows], "centers": [self.centers],
        }
        for it in (self.surface, self.contour, self.optimal, self.mesh, self.real, self.fake,
                   self.arrows, self.centers, self.drawn, self.bundle, self.latent_trail,
                   self.latent, self.path):
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
        self.visible_layers: set[str] = {k for k, _, _ in LAYERS}
        self.draw_mode = False
        self._bounds: tuple[float, float, float, float] | None = None
        self._real_version = -1
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
        for it in self.items.get(name, []):
            it.setVisible(on)

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
    def show_frame(self, fr) -> None:  # fr: frames.Frame
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
        x0, x1, y0, y1 = fr.bounds
        if fr.real is not None and fr.real_version != self._real_version:
            self._real_version = fr.real_version
            self.real.setData(pos=fr.real)
        if fr.fake is not None:
            fake = np.nan_to_num(fr.fake, nan=0.0, posinf=1e6, neginf=-1e6)
            self.fake.setData(pos=fake)
        if fr.surface is not None:
            res_y, res_x = fr.surface.shape
            dx, dy = (x1 - x0) / (res_x - 1), (y1 - y0) / (res_y - 1)
            self.surface.setImage(fr.surface, levels=(0.0, 1.0), autoLevels=False)
            self.surface.setRect(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
            seg = fr.surface_contour
            if seg is None:
                self.contour.setData(*contour_path(fr.surface, fr.bounds))
            else:
                self.contour.setData(seg[:, 0], seg[:, 1])
        if fr.optimal is not None:
            seg = fr.optimal_contour
            if seg is None:
                self.optimal.setData(*contour_path(fr.optimal, fr.bounds))
            else:
                self.optimal.setData(seg[:, 0], seg[:, 1])
        if fr.arrows is not None and fr.fake is not None:
            n = len(fr.arrows)
            g = fr.arrows.astype(np.float64)
            norm = np.linalg.norm(g, axis=1)
            top = float(norm.max()) if n else 0.0
            span = max(x1 - x0, y1 - y0)
            scale = 0.08 * span / top if top > 0 and np.isfinite(top) else 0.0
            start = fr.fake[:n].astype(np.float64)
            seg = np.empty((2 * n, 2))
            seg[0::2] = start
            seg[1::2] = start + g * scale
            self.arrows.setData(seg[:, 0], seg[:, 1])
        if fr.mesh is not None:
            self.mesh.setData(*mesh_path(fr.mesh))
        elif "mesh" in self.visible_layers:
            self.mesh.setData([], [])
        if fr.centers is not None and fr.covered is not None:
            brushes = [pg.mkBrush("#1a9850") if c else pg.mkBrush("#d73027") for c in fr.covered]
            self.centers.setData(pos=fr.centers, brush=brushes)

    def clear_layers(self) -> None:
        for it in (self.real, self.fake, self.centers, self.drawn):
            it.setData(pos=np.zeros((0, 2)))
        for it in (self.contour, self.optimal, self.mesh, self.arrows):
            it.setData([], [])
        self._real_version = -1

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
