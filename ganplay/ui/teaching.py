"""The playground's devices for explaining one iteration (issue "See one iteration"): the model
graph above the canvas, the formulas under it, slow motion, the emphasised layer on a graph
click and the noise-grid → manifold morph on hovering G. ``Teaching.install(window)`` builds them
into a ``MainWindow``; the window hands it each frame it draws and each traced iteration.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut

from ganplay.live import protocol as P
from ganplay.live.layers import MESH_RES, mesh_path

from .formula_panel import FormulaPanel
from .model_graph import ModelGraph
from .slow_motion import CaptionBar, SlowMotion, SlowMotionOverlay

# graph node -> the canvas layers it stands for
NODE_LAYERS = {"z": ("mesh",), "G": ("mesh",), "G(z)": ("fake",), "x": ("real",), "D": ("surface",),
               "D(x)": ("surface", "real", "fake"), "L": ()}
EMPHASIS_S = 1.5
MORPH_S = 2.0
# what slow motion hides of the live canvas while it draws the iteration's own batch
HIDDEN_IN_SLOW_MOTION = ("real", "fake", "arrows")


class Teaching(QObject):
    emphasised = Signal(str)     # a graph node's layers were emphasised on the canvas
    morphFinished = Signal()

    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        canvas = window.canvas
        central = window.centralWidget().layout()
        at = central.indexOf(canvas)
        self.graph = ModelGraph()
        self.graph.set_config(window.config)
        self.caption_bar = CaptionBar()
        central.insertWidget(at, self.graph)
        central.insertWidget(at + 1, self.caption_bar)
        self.formulas = FormulaPanel()
        central.insertWidget(central.indexOf(canvas) + 1, self.formulas)
        self.overlay = SlowMotionOverlay(canvas.plot)
        self.slow = SlowMotion(self.overlay, self.caption_bar, self.graph)
        self.slow.traceRequested.connect(self._request_trace)
        self.slow.stopped.connect(self._slow_motion_ended)
        self.graph.nodeClicked.connect(self.emphasise)
        self.graph.generatorHovered.connect(self.morph)
        self.morph_curve = pg.PlotCurveItem(pen=pg.mkPen("#7570b3", width=1), connect="finite")
        self.morph_curve.setZValue(40)
        self.morph_curve.hide()
        canvas.plot.addItem(self.morph_curve)
        self._morph_timer = QTimer(self)
        self._morph_timer.setInterval(30)
        self._morph_timer.timeout.connect(self._morph_tick)
        self._morph: tuple[np.ndarray, np.ndarray, float] | None = None
        self._emphasis_timer = QTimer(self)
        self._emphasis_timer.setSingleShot(True)
        self._emphasis_timer.timeout.connect(self._end_emphasis)
        self._emphasis: list[tuple[Any, float, float]] = []

        self.act_graph = QAction("Model graph", window, checkable=True, checked=True)
        self.act_graph.setStatusTip("The model overview above the canvas: z → G → samples → D → predictions → losses")
        self.act_graph.toggled.connect(self.graph.setVisible)
        self.act_formulas = QAction("Formulas", window, checkable=True, checked=True)
        self.act_formulas.setStatusTip("L_D and L_G with this batch's numbers, under the canvas")
        self.act_formulas.toggled.connect(self.formulas.setVisible)
        self.act_slow = QAction("Slow motion", window, checkable=True)
        self.act_slow.setShortcut(QKeySequence("M"))
        self.act_slow.setToolTip("Play one iteration as numbered, captioned sub-steps with its real tensors (M); "
                                 "Left / Right step through them")
        self.act_slow.setStatusTip(self.act_slow.toolTip())
        self.act_slow.toggled.connect(self.set_slow_motion)
        window.addAction(self.act_slow)
        self.key_next = QShortcut(QKeySequence(Qt.Key.Key_Right), window, activated=self.slow.next)
        self.key_prev = QShortcut(QKeySequence(Qt.Key.Key_Left), window, activated=self.slow.prev)
        for key in (self.key_next, self.key_prev):
            key.setEnabled(False)

    @classmethod
    def install(cls, window: Any) -> "Teaching":
        t = cls(window)
        view = window.view_menu
        view.addSeparator()
        view.addAction(t.act_graph)
        view.addAction(t.act_formulas)
        for tb in window.findChildren(pg.QtWidgets.QToolBar):
            if tb.objectName() == "training_toolbar":
                tb.addSeparator()
                tb.addAction(t.act_slow)
        for m in window.menuBar().actions():
            if m.text().replace("&", "") == "Train" and m.menu() is not None:
                m.menu().addSeparator()
                m.menu().addAction(t.act_slow)
        return t

    # ---- frames and events
    def show_frame(self, fr: Any) -> None:
        self.graph.set_config(self.w.config)
        if self.graph.isVisible():
            self.graph.show_frame(fr)
        if self.formulas.isVisible():
            self.formulas.show_formulas(getattr(fr, "formulas", None), running=fr.running)
        if self.slow.on:   # the live layers stay hidden under the iteration's own pictures
            for name in HIDDEN_IN_SLOW_MOTION:
                vis = self.w.canvas.visuals.get(name)
                if vis is not None:
                    vis.set_visible(False)

    def on_trace(self, ev: P.IterationTraced) -> None:
        self.slow.on_trace(ev.trace)

    # ---- slow motion
    def set_slow_motion(self, on: bool) -> None:
        if on == self.slow.on:
            return
        if on:
            if self.w.latest_frame is not None and self.w.latest_frame.images is not None:
                self.w.statusBar().showMessage("Slow motion shows 2D data; on images, use Step.", 6000)
                self.act_slow.setChecked(False)
                return
            if self.w.running:
                self.w.pause()
            for key in (self.key_next, self.key_prev):
                key.setEnabled(True)
            self.slow.start()
        else:
            self.slow.stop()

    def _request_trace(self) -> None:
        self.w.model.set_running(False)
        self.w.worker.send(P.TraceStep())

    def _slow_motion_ended(self) -> None:
        for key in (self.key_next, self.key_prev):
            key.setEnabled(False)
        if self.act_slow.isChecked():
            self.act_slow.setChecked(False)
        for name in HIDDEN_IN_SLOW_MOTION:
            vis = self.w.canvas.visuals.get(name)
            if vis is not None:
                vis.set_visible(name in self.w.canvas.visible_layers)

    # ---- a graph node emphasises its canvas layers
    def emphasise(self, node: str) -> None:
        names = NODE_LAYERS.get(node, ())
        if not names:
            self.w.statusBar().showMessage("The losses: their curves are in the Charts, their formulas under "
                                           "the canvas.", 5000)
            return
        self._end_emphasis()
        canvas = self.w.canvas
        hidden = [n for n in names if n not in canvas.visible_layers]
        if hidden:
            self.w.statusBar().showMessage(f"Switch on {', '.join(hidden)} in the View menu to see it.", 5000)
        for name, vis in canvas.visuals.items():
            for it in vis.items:
                self._emphasis.append((it, it.opacity(), it.zValue()))
                if name in names:
                    it.setZValue(it.zValue() + 50)
                else:
                    it.setOpacity(0.15)
        self._emphasis_timer.start(int(EMPHASIS_S * 1000))
        self.emphasised.emit(node)

    def _end_emphasis(self) -> None:
        for it, opacity, z in self._emphasis:
            it.setOpacity(opacity)
            it.setZValue(z)
        self._emphasis.clear()

    # ---- hovering G: the noise grid morphs into the manifold
    def morph(self) -> None:
        fr = self.w.latest_frame
        mesh = None if fr is None else fr.layers.get("mesh")
        zd = self.w.config.model.latent_dim
        if mesh is None or len(mesh) == 0 or zd not in (1, 2) or self._morph is not None:
            return
        lim = 1.0 if self.w.config.model.prior == "uniform" else 2.5   # metrics.manifold_mesh's z-grid
        t = np.linspace(-lim, lim, MESH_RES, dtype=np.float32)
        if zd == 2:
            start = mesh_path(np.stack(np.meshgrid(t, t), -1))
        else:
            start = np.column_stack([t, np.zeros_like(t)])
        if start.shape != mesh.shape:
            return
        self._morph = (start, np.asarray(mesh, np.float32), time.perf_counter())
        self.morph_curve.show()
        self._morph_timer.start()
        self._morph_tick()

    def _morph_tick(self) -> None:
        if self._morph is None:
            return
        start, end, t0 = self._morph
        t = min((time.perf_counter() - t0) / MORPH_S, 1.0)
        e = t * t * (3 - 2 * t)
        now = (1 - e) * start + e * end
        self.morph_curve.setData(now[:, 0], now[:, 1])
        if t >= 1.0:
            self._morph_timer.stop()
            self._morph = None
            QTimer.singleShot(400, self.morph_curve.hide)
            self.morphFinished.emit()
