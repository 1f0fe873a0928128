"""Slow motion: one iteration played as numbered, captioned sub-steps (GAN Lab's device), with
the real tensors of that iteration (``engine/iteration.py``: the training process takes the step
apart with the same arithmetic as a normal step and sends it whole).

k D tracks then one G track, five sub-steps each: the batch (fakes linked to their z in the
graph), D's scores (points take D's colour), the loss with its numbers, the gradient (rings on
the points: how hard the loss pulls each score; for G, arrows −∂L_G/∂G(z)), the update (D's
surface after, with the D = ½ line of before as a ghost; G's samples gliding to where they are
now). The pause between sub-steps is adjustable (0.3–3 s); Right / Left step through them.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ganplay.live.contours import iso_segments
from ganplay.live.layers import N_ARROWS, arrow_segments

from .visuals import D_CMAP

REAL = "#1b9e77"
FAKE = "#7570b3"
TRACK_COLOURS = {"D": "#d62728", "G": "#1f77b4"}
PAUSE_RANGE = (0.3, 3.0)
PAUSE_DEFAULT = 1.25   # GAN Lab's pause between sub-steps
GLIDE_S = 0.8          # G's update: the samples glide from before to after


def shown_value(scores: np.ndarray, prob: bool) -> np.ndarray:
    """D's output on a point as the canvas colours it: σ(score), or a critic's score squashed as
    the decision surface squashes it (``metrics.decision_surface``)."""
    s = np.asarray(scores, np.float64)
    if prob:
        return 1 / (1 + np.exp(-np.clip(s, -60, 60)))
    scale = float(np.std(s)) or 1.0
    return 0.5 + 0.5 * np.tanh((s - np.median(s)) / (2 * scale))


class SlowMotionOverlay:
    """The canvas items slow motion draws over (and instead of) the live layers."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.surface = pg.ImageItem(axisOrder="row-major")
        self.surface.setLookupTable(D_CMAP.getLookupTable(0.0, 1.0, 256))
        # above the live surface (z -10), which stays visible where the canvas shows more than the
        # iteration's grid covers, and under the density contours and the points
        self.surface.setZValue(-9)
        self.contour = pg.PlotCurveItem(pen=pg.mkPen("k", width=1), connect="pairs")
        self.ghost = pg.PlotCurveItem(pen=pg.mkPen("#444444", width=1, style=Qt.PenStyle.DashLine), connect="pairs")
        self.real = pg.ScatterPlotItem(size=7, pxMode=True)
        self.fake = pg.ScatterPlotItem(size=7, pxMode=True)
        self.before = pg.ScatterPlotItem(size=7, pxMode=True, brush=None, pen=pg.mkPen(FAKE, width=1))
        self.rings = pg.ScatterPlotItem(pxMode=True, brush=None, pen=pg.mkPen("#333333", width=1))
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen((40, 40, 40, 200), width=1), connect="pairs")
        self.items = [self.surface, self.contour, self.ghost, self.real, self.fake, self.before, self.rings, self.arrows]
        self.contour.setZValue(-8.5)
        self.ghost.setZValue(-8)
        for z, it in enumerate(self.items[3:]):
            it.setZValue(30 + z)
            plot.addItem(it)
        self.clear()

    def clear(self) -> None:
        for it in self.items:
            it.setVisible(False)

    def _surface(self, grid: np.ndarray | None, area: tuple[float, float, float, float], ghost: np.ndarray | None) -> None:
        if grid is None:
            return
        x0, x1, y0, y1 = area
        ny, nx = grid.shape
        dx, dy = (x1 - x0) / (nx - 1), (y1 - y0) / (ny - 1)
        self.surface.setImage(np.ascontiguousarray(grid, np.float32), levels=(0.0, 1.0), autoLevels=False)
        self.surface.setRect(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
        self.surface.setVisible(True)
        seg = iso_segments(grid, area)
        self.contour.setData(seg[:, 0], seg[:, 1])
        self.contour.setVisible(True)
        if ghost is not None:
            g = iso_segments(ghost, area)
            self.ghost.setData(g[:, 0], g[:, 1])
            self.ghost.setVisible(True)

    def _points(self, item: pg.ScatterPlotItem, xy: np.ndarray, colour: str, values: np.ndarray | None) -> None:
        if values is None:
            item.setData(pos=xy, brush=pg.mkBrush(colour), pen=pg.mkPen("w", width=0.5), size=7)
        else:   # D's colour inside, the class colour as the outline
            brushes = [pg.mkBrush(D_CMAP.mapToQColor(float(v))) for v in values]
            item.setData(pos=xy, brush=brushes, pen=pg.mkPen(colour, width=1.5), size=8)
        item.setVisible(True)

    def show(self, trace: Any, sub: Any, glide: float = 1.0) -> None:
        """Draw sub-step ``sub`` of ``trace`` (``glide`` in [0, 1]: G's update animation)."""
        self.clear()
        area = trace.bounds
        if sub.track == "D":
            d = trace.d_tracks[sub.d_index]
            scored = sub.number >= 2
            vr = shown_value(d.score_real, trace.prob) if scored else None
            vf = shown_value(d.score_fake, trace.prob) if scored else None
            if sub.number == 5:
                self._surface(d.surface_after, area, d.surface_before)
            else:
                self._surface(d.surface_before, area, None)
            self._points(self.real, d.real, REAL, vr)
            self._points(self.fake, d.fake, FAKE, vf)
            if sub.number == 4 and d.dl_dscore_real is not None:
                g = np.abs(np.concatenate([d.dl_dscore_real, d.dl_dscore_fake]))
                top = float(g.max()) or 1.0
                self.rings.setData(pos=np.concatenate([d.real, d.fake]), size=8 + 12 * g / top)
                self.rings.setVisible(True)
            return
        g = trace.g_track
        last = trace.d_tracks[-1].surface_after if trace.d_tracks else None
        self._surface(last, area, None)
        vf = shown_value(g.score_fake, trace.prob) if sub.number >= 2 else None
        if sub.number == 5 and g.fake_after is not None:
            t = min(max(glide, 0.0), 1.0)
            t = t * t * (3 - 2 * t)   # ease in and out
            now = (1 - t) * g.fake_before + t * g.fake_after
            self.before.setData(pos=g.fake_before)
            self.before.setVisible(True)
            self._points(self.fake, now, FAKE, None)
            return
        self._points(self.fake, g.fake_before, FAKE, vf)
        if sub.number == 4 and g.push is not None:
            n = min(len(g.push), N_ARROWS)   # as the live arrows layer: more would hide the points
            seg = arrow_segments(g.fake_before[:n], g.push[:n], area)
            self.arrows.setData(seg[:, 0], seg[:, 1])
            self.arrows.setVisible(True)


class CaptionBar(QFrame):
    """The numbered caption of the sub-step shown (the whole width), with the slow-motion
    controls under it."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setStyleSheet("CaptionBar { background: #f4f6fb; border: 1px solid #c9d1e6; }")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 3, 6, 3)
        outer.setSpacing(2)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setStyleSheet("font-size: 11pt;")
        self.caption.setMinimumHeight(44)
        outer.addWidget(self.caption)
        lay = QHBoxLayout()
        lay.setContentsMargins(0, 0, 0, 0)
        self.track_label = QLabel()
        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip("The previous sub-step (Left)")
        self.play_button = QPushButton("Pause")
        self.play_button.setCheckable(True)
        self.play_button.setChecked(True)
        self.play_button.setToolTip("Play the sub-steps one after another, and iteration after iteration")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("The next sub-step (Right); after the last one, the next iteration")
        self.pause_spin = QDoubleSpinBox()
        self.pause_spin.setRange(*PAUSE_RANGE)
        self.pause_spin.setSingleStep(0.25)
        self.pause_spin.setValue(PAUSE_DEFAULT)
        self.pause_spin.setSuffix(" s")
        self.pause_spin.setToolTip("The pause between sub-steps")
        self.exit_button = QPushButton("Exit slow motion")
        lay.addWidget(self.track_label, 1)
        for w in (self.prev_button, self.play_button, self.next_button, QLabel("pause"), self.pause_spin,
                  self.exit_button):
            lay.addWidget(w)
        outer.addLayout(lay)


class SlowMotion(QObject):
    """Plays traced iterations on the canvas, the graph and the caption bar."""

    substepShown = Signal(int)      # the index of the sub-step now shown
    traceRequested = Signal()       # the window sends ``protocol.TraceStep``
    stopped = Signal()

    def __init__(self, overlay: SlowMotionOverlay, bar: CaptionBar, graph: Any = None):
        super().__init__()
        self.overlay, self.bar, self.graph = overlay, bar, graph
        self.on = False
        self.playing = True
        self.trace: Any = None
        self.subs: list[Any] = []
        self.index = 0
        self.waiting = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._auto_next)
        self.glide = QTimer(self)
        self.glide.setInterval(30)
        self.glide.timeout.connect(self._glide_tick)
        self._glide_t0 = 0.0
        bar.prev_button.clicked.connect(self.prev)
        bar.next_button.clicked.connect(self.next)
        bar.play_button.toggled.connect(self.set_playing)
        bar.exit_button.clicked.connect(self.stop)
        bar.hide()

    @property
    def pause_s(self) -> float:
        return float(self.bar.pause_spin.value())

    def start(self) -> None:
        if self.on:
            return
        self.on = True
        self.trace, self.subs, self.index = None, [], 0
        self.set_playing(True)
        self.bar.show()
        self.bar.caption.setText("<i>Taking one training step apart…</i>")
        # after the caption bar has taken its room: the canvas's new visible area reaches the
        # loop first (SetView, debounced), so D's surfaces are sampled where the canvas shows them
        self.waiting = True
        QTimer.singleShot(350, self._request)

    def stop(self) -> None:
        if not self.on:
            return
        self.on = False
        self.timer.stop()
        self.glide.stop()
        self.overlay.clear()
        self.bar.hide()
        if self.graph is not None:
            self.graph.set_active(None)
            self.graph.set_prior(None)
        self.stopped.emit()

    def set_playing(self, on: bool) -> None:
        self.playing = bool(on)
        self.bar.play_button.setText("Pause" if on else "Play")
        if self.bar.play_button.isChecked() != on:
            self.bar.play_button.setChecked(on)
        if not on:
            self.timer.stop()
        elif self.on and self.trace is not None and not self.waiting:
            self.timer.start(int(self.pause_s * 1000))

    def _request(self) -> None:
        self.waiting = True
        self.traceRequested.emit()

    def on_trace(self, trace: Any) -> None:
        """A traced iteration arrived: play it from its first sub-step."""
        self.waiting = False
        if not self.on:
            return
        self.trace, self.subs = trace, trace.substeps()
        self.show(0)

    def show(self, i: int) -> None:
        self.index = i
        sub = self.subs[i]
        self.timer.stop()
        self.glide.stop()
        self.overlay.show(self.trace, sub, glide=0.0 if sub.kind == "update" and sub.track == "G" else 1.0)
        colour = TRACK_COLOURS[sub.track]
        k = len(self.trace.d_tracks)
        which = f" {sub.d_index + 1}/{k}" if sub.track == "D" and k > 1 else ""
        self.bar.track_label.setText(f"<b style='color:{colour}'>Step {self.trace.step}: "
                                     f"{'discriminator' if sub.track == 'D' else 'generator'} track{which}, "
                                     f"sub-step {sub.number} of 5</b>")
        self.bar.caption.setText(sub.caption)
        if self.graph is not None:
            self.graph.set_active(set(sub.active), sub.track)
            z = self.trace.d_tracks[sub.d_index].z if sub.track == "D" else self.trace.g_track.z
            self.graph.set_prior(z)
        if sub.kind == "update" and sub.track == "G":
            self._glide_t0 = time.perf_counter()
            self.glide.start()
        if self.playing:
            self.timer.start(int(self.pause_s * 1000))
        self.substepShown.emit(i)

    def _glide_tick(self) -> None:
        t = (time.perf_counter() - self._glide_t0) / GLIDE_S
        sub = self.subs[self.index]
        self.overlay.show(self.trace, sub, glide=t)
        if t >= 1.0:
            self.glide.stop()

    def _auto_next(self) -> None:
        if self.on and self.playing:
            self.next(auto=True)

    def next(self, auto: bool = False) -> None:
        if not self.on or self.waiting:
            return
        if not auto:
            self.set_playing(False)
        if self.trace is None or self.index >= len(self.subs) - 1:
            self._request()     # the next iteration
        else:
            self.show(self.index + 1)

    def prev(self) -> None:
        if not self.on or self.trace is None:
            return
        self.set_playing(False)
        if self.index > 0:
            self.show(self.index - 1)
