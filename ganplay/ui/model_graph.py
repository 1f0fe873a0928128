"""The model overview graph above the canvas, after GAN Lab's: noise z → G → G(z) and real x → D
→ D's predictions → the two losses, each node with a live thumbnail drawn from the frames the
window already receives (no extra work in the training process).

Slow motion lights the nodes and edges of the current sub-step (``set_active``) and dims the
rest; hovering a node says what it is, its shape and its formula; clicking one emits
``nodeClicked`` (the window emphasises the matching canvas layer); hovering G emits
``generatorHovered`` (the canvas plays the noise-grid → manifold morph).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QToolTip

from .visuals import D_CMAP

REAL = "#1b9e77"
FAKE = "#7570b3"
TRACK_COLOURS = {"D": "#d62728", "G": "#1f77b4", None: "#9a9a9a"}
# (node, title, row, column, rows spanned); arrows sit in the columns between. The real batch x
# sits under the fakes, both feeding D.
NODES = (("z", "noise z", 0, 0, 1), ("G", "G", 0, 2, 1), ("G(z)", "fake G(z)", 0, 4, 1),
         ("x", "real x", 2, 4, 1), ("D", "D", 0, 6, 3), ("D(x)", "D(x), D(G(z))", 0, 8, 3),
         ("L", "L_D, L_G", 0, 10, 3))
EDGES = (("z", "G", 1, 1), ("G", "G(z)", 1, 3), ("G(z)", "D", 1, 5), ("x", "D", 3, 5), ("D", "D(x)", 2, 7),
         ("D(x)", "L", 2, 9))
THUMB = 58   # px: the small thumbnails; D, predictions and losses span two of them


def node_info(node: str, cfg: Any) -> str:
    """The tooltip of a node: what it is, its shape, its formula (HTML)."""
    B = cfg.train.batch_size
    zd = cfg.model.latent_dim
    info = {
        "z": f"<b>Noise z</b>: a batch of {B} draws from the prior ({cfg.model.prior}), shape ({B}, {zd}).<br>"
             "The thumbnail shows its first two coordinates.",
        "G": f"<b>Generator G</b>: an MLP, {cfg.model.g_depth} hidden layers of {cfg.model.g_width} units "
             f"({cfg.model.activation}), mapping z ∈ ℝ<sup>{zd}</sup> to x̃ ∈ ℝ². The thumbnail is the manifold: a "
             "regular z-grid mapped through G (for 1D and 2D latents). Hover to watch the grid morph into it.",
        "G(z)": f"<b>Fake samples</b> x̃ = G(z), shape ({B}, 2) per batch; purple on the canvas.",
        "x": f"<b>Real samples</b> x ~ p<sub>data</sub> ({cfg.data.name}), shape ({B}, 2) per batch; green.",
        "D": f"<b>Discriminator D</b>: an MLP, {cfg.model.d_depth} hidden layers of {cfg.model.d_width} units, "
             "ℝ² → ℝ (a raw score v; D(x) = σ(v) for the probability losses). The thumbnail is D over the plane.",
        "D(x)": "<b>Predictions</b>: D's output on the real and fake points, coloured by D (green: says real, "
                "purple: says fake). Shape (B,) per batch.",
        "L": "<b>Losses</b>: L<sub>D</sub> (red) and L<sub>G</sub> (blue) of the last step, as bars; their "
             "formulas with this batch's numbers are in the Formulas panel.",
    }
    return info[node]


class ModelGraph(pg.GraphicsLayoutWidget):
    nodeClicked = Signal(str)
    generatorHovered = Signal()

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setBackground("w")
        self.setFixedHeight(2 * THUMB + 84)
        self.cfg: Any = None
        self.boxes: dict[str, pg.ViewBox] = {}
        self.titles: dict[str, pg.LabelItem] = {}
        self.edges: dict[tuple[str, str], pg.LabelItem] = {}
        for node, title, row, col, span in NODES:
            lab = self.addLabel(title, row=row, col=col, size="8pt")
            vb = self.addViewBox(row=row + 1, col=col, rowspan=span, lockAspect=node not in ("L",), enableMouse=False)
            big = span > 1
            # at most this size; narrower when the centre of the window is narrow
            vb.setMaximumWidth(THUMB * 2 if big else THUMB)
            vb.setMinimumWidth(24)
            vb.setFixedHeight(THUMB * 2 + 20 if big else THUMB)
            vb.setBorder(pg.mkPen("#cccccc"))
            vb.setMenuEnabled(False)
            self.boxes[node], self.titles[node] = vb, lab
        for a, b, row, col in EDGES:
            self.edges[(a, b)] = self.addLabel("↗" if (a, b) == ("x", "D") else "↘" if (a, b) == ("G(z)", "D")
                                               else "→", row=row, col=col, size="13pt", color=TRACK_COLOURS[None])
        # thumbnails
        self.z_pts = pg.ScatterPlotItem(size=2, pen=None, brush=pg.mkBrush("#555555"))
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen("#7570b3", width=1))
        self.fake = pg.ScatterPlotItem(size=2, pen=None, brush=pg.mkBrush(FAKE))
        self.real = pg.ScatterPlotItem(size=2, pen=None, brush=pg.mkBrush(REAL))
        self.surface = pg.ImageItem(axisOrder="row-major")
        self.surface.setLookupTable(D_CMAP.getLookupTable(0.0, 1.0, 256))
        self.pred = pg.ScatterPlotItem(size=3, pen=None)
        self.bars = pg.BarGraphItem(x=[0, 1], height=[0, 0], width=0.6, brushes=["#d62728", "#1f77b4"])
        self.bar_text = pg.TextItem("", color="k", anchor=(0.5, 0))
        self.no_mesh = pg.TextItem("z has > 2\ndimensions:\nno grid", color="#777777", anchor=(0, 0))
        self.no_mesh.setVisible(False)
        for node, items in (("z", [self.z_pts]), ("G", [self.mesh, self.no_mesh]), ("G(z)", [self.fake]), ("x", [self.real]),
                            ("D", [self.surface]), ("D(x)", [self.pred]), ("L", [self.bars, self.bar_text])):
            for it in items:
                self.boxes[node].addItem(it)
        rng = np.random.default_rng(0)
        self._prior = rng.standard_normal((256, 2)).astype(np.float32)
        self.z_pts.setData(pos=self._prior)
        self.boxes["z"].setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
        self._surface_payload: Any = None
        # made once: a brush per colour level and a pen per class (thousands of mkBrush a second
        # would cost the GUI thread milliseconds a frame)
        self._brushes = [pg.mkBrush(D_CMAP.mapToQColor(i / 63)) for i in range(64)]
        self._pens: dict[str, Any] = {}
        self._shown_at = 0.0
        self.active: set[str] | None = None
        self.track: str | None = None
        self.scene().sigMouseMoved.connect(self._hover)
        self.scene().sigMouseClicked.connect(self._click)
        self._hovering: str | None = None

    # ---- data
    def set_config(self, cfg: Any) -> None:
        self.cfg = cfg

    def set_prior(self, z: np.ndarray | None) -> None:
        """Show these z (slow motion: the batch of the sub-step) or, with None, prior draws."""
        pts = self._prior if z is None or len(z) == 0 else np.asarray(z, np.float32)
        if pts.ndim == 2 and pts.shape[1] == 1:
            pts = np.column_stack([pts[:, 0], np.zeros(len(pts))])
        self.z_pts.setData(pos=pts[:, :2])

    def show_frame(self, fr: Any, min_interval_s: float = 0.3) -> None:
        """Thumbnails from a frame, at most every ``min_interval_s`` while training (they are small:
        a few updates a second read as live and leave the GUI thread to the canvas)."""
        now = time.perf_counter()
        if fr.images is not None or (fr.running and now - self._shown_at < min_interval_s):
            return
        self._shown_at = now
        bounds = fr.bounds
        for node in ("G", "G(z)", "x", "D(x)"):
            self.boxes[node].setRange(xRange=bounds[:2], yRange=bounds[2:], padding=0.05)
        mesh = fr.layers.get("mesh")
        if mesh is not None:
            self.mesh.setData(mesh[:, 0], mesh[:, 1], connect="finite")
            # a latent of more than two dimensions has no grid to draw: say so in the thumbnail
            self.no_mesh.setVisible(len(mesh) == 0)
            self.no_mesh.setPos(bounds[0], bounds[3])
        fake = fr.layers.get("fake")
        if fake is not None:
            self.fake.setData(pos=fake)
        real = fr.layers.get("real")
        if real is not None:
            self.real.setData(pos=real)
            self._real = real
        surf = fr.layers.get("surface")
        if surf is not None:
            self._surface_payload = surf
            x0, x1, y0, y1 = surf.get("bounds", bounds)
            self.surface.setImage(surf["grid"], levels=(0.0, 1.0), autoLevels=False)
            self.surface.setRect(x0, y0, x1 - x0, y1 - y0)
            self.boxes["D"].setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
            real = getattr(self, "_real", None)
            # a thumbnail: 96 points of each kind read as well as 512 and cost a fifth to paint
            parts = [(p[:96], c) for p, c in ((real, REAL), (fake, FAKE)) if p is not None]
            if parts:
                allp = np.concatenate([p for p, _ in parts])
                outline = [c for p, c in parts for _ in range(len(p))]
                self.show_predictions(allp, self.lookup(allp), outline)
        loss_d, loss_g = fr.stats.get("loss_d"), fr.stats.get("loss_g")
        if loss_d is not None and len(loss_d):
            self.show_losses(float(loss_d[-1]), float(loss_g[-1]) if loss_g is not None and len(loss_g) else float("nan"))

    def _pen(self, colour: str) -> Any:
        pen = self._pens.get(colour)
        if pen is None:
            pen = self._pens[colour] = pg.mkPen(colour, width=0.8)
        return pen

    def lookup(self, pts: np.ndarray) -> np.ndarray:
        """D's value at these points, read off the last surface (nearest cell)."""
        surf = self._surface_payload
        if surf is None:
            return np.full(len(pts), 0.5)
        grid = surf["grid"]
        x0, x1, y0, y1 = surf["bounds"]
        ny, nx = grid.shape
        ix = np.clip(np.round((pts[:, 0] - x0) / (x1 - x0) * (nx - 1)), 0, nx - 1).astype(int)
        iy = np.clip(np.round((pts[:, 1] - y0) / (y1 - y0) * (ny - 1)), 0, ny - 1).astype(int)
        return grid[iy, ix]

    def show_predictions(self, pts: np.ndarray, values: np.ndarray, outline: list[str] | None = None) -> None:
        """Points filled with D's colour at them, outlined in their class colour (real / fake)."""
        idx = np.round(np.clip(np.nan_to_num(values, nan=0.5), 0, 1) * (len(self._brushes) - 1)).astype(int)
        brushes = [self._brushes[i] for i in idx]
        pens = [self._pen(c) for c in outline] if outline else None
        self.pred.setData(pos=pts, brush=brushes, pen=pens, size=4)

    def show_losses(self, loss_d: float, loss_g: float) -> None:
        h = [loss_d if np.isfinite(loss_d) else 0.0, loss_g if np.isfinite(loss_g) else 0.0]
        self.bars.setOpts(height=h)
        lo, hi = min(0.0, *h), max(0.0, *h)
        span = (hi - lo) or 1.0
        self.boxes["L"].setRange(xRange=(-0.6, 1.6), yRange=(lo - 0.1 * span, hi + 0.35 * span), padding=0)
        self.bar_text.setText(f"{loss_d:.2f} | {loss_g:.2f}")
        self.bar_text.setPos(0.5, hi + 0.3 * span)

    # ---- slow motion
    def set_active(self, nodes: set[str] | None, track: str | None = None) -> None:
        """Light ``nodes`` (None: all, normal play) and the edges between them in the track's colour."""
        self.active, self.track = nodes, track
        for node, vb in self.boxes.items():
            on = nodes is None or node in nodes or (node == "L" and bool(nodes & {"L_D", "L_G"}))
            vb.setOpacity(1.0 if on else 0.25)
            self.titles[node].setOpacity(1.0 if on else 0.35)
            vb.setBorder(pg.mkPen(TRACK_COLOURS[track] if (on and nodes is not None) else "#cccccc",
                                  width=2 if on and nodes is not None else 1))
        for (a, b), lab in self.edges.items():
            lit = nodes is not None and a in self._expand(nodes) and b in self._expand(nodes)
            lab.setText(lab.text, color=TRACK_COLOURS[track] if lit else TRACK_COLOURS[None])
            lab.setOpacity(1.0 if lit or nodes is None else 0.35)

    @staticmethod
    def _expand(nodes: set[str]) -> set[str]:
        return set(nodes) | ({"L"} if nodes & {"L_D", "L_G"} else set())

    # ---- mouse
    def node_at(self, pos: QPointF) -> str | None:
        for node, vb in self.boxes.items():
            if vb.sceneBoundingRect().contains(pos) or self.titles[node].sceneBoundingRect().contains(pos):
                return node
        return None

    def _hover(self, pos: QPointF) -> None:
        node = self.node_at(pos)
        if node != self._hovering:
            self._hovering = node
            if node == "G":
                self.generatorHovered.emit()
        if node is not None and self.cfg is not None:
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(pos)), node_info(node, self.cfg), self)

    def _click(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            node = self.node_at(ev.scenePos())
            if node is not None:
                self.nodeClicked.emit(node)
