"""The Scenes window: one generic view for every teaching scene (``ganplay.engine.scenes``).

It builds the scene's controls from its ``Param`` specs, draws any ``SceneFrame`` (one pyqtgraph
plot per ``Plot``, one item per named drawable, created once and updated with ``setData``), shows
the caption and the numbers, and steps live scenes on a timer. A scene's step is tiny, so it runs
on the GUI thread: each tick runs as many steps as fit in ``TICK_BUDGET_S`` (sized from the
measured cost of a step), which keeps the window responsive whatever the scene.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QMainWindow, QPushButton, QScrollArea, QSlider,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from ganplay.engine.scenes import SCENES, make_scene
from ganplay.engine.scenes.base import Arrows, Curve, Heatmap, Param, Plot, Points, Scene, SceneFrame, Segments, VLine

from ganplay.live.layers import arrow_pairs

from .visuals import D_CMAP

TICK_MS = 33
TICK_BUDGET_S = 0.012
ROLES = {"real": "#1b9e77", "fake": "#7570b3", "d": "#d62728", "dstar": "#e66101", "g": "#1f77b4",
         "grey": "#9a9a9a", "black": "#000000",
         # Okabe-Ito: distinguishable with the common colour-vision deficiencies
         "c0": "#0072B2", "c1": "#E69F00", "c2": "#009E73", "c3": "#CC79A7", "c4": "#D55E00",
         "c5": "#56B4E9", "c6": "#000000", "c7": "#8C7A00"}
_STYLE = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine}
# pyqtgraph anchors a legend by the signs of its offset: negative x from the right, negative y from the bottom
_LEGEND_OFFSETS = {"top-left": (5, 5), "top-right": (-5, 5), "bottom-left": (5, -5), "bottom-right": (-5, -5)}
_CMAPS = {"d": D_CMAP, "viridis": pg.colormap.get("viridis"),
          "grey": pg.ColorMap([0.0, 1.0], [(255, 255, 255), (60, 60, 60)])}


def colour(c: str) -> str:
    return ROLES.get(c, c)


def _pen(c: str, style: str = "solid", width: float = 1.5) -> Any:
    return pg.mkPen(colour(c), width=width, style=_STYLE.get(style, Qt.PenStyle.SolidLine))


def _same(a: Any, b: Any) -> bool:
    """Whether two drawables show the same thing (the same type, fields and array contents)."""
    if a is None or type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                    and np.array_equal(x, y)):
                return False
        elif x != y:
            return False
    return True


def _snapshot(it: Any) -> Any:
    """A copy of a drawable that keeps its arrays' contents (a scene may refill them in place)."""
    arrays = {f.name: np.array(v) for f in dataclasses.fields(it)
              if isinstance(v := getattr(it, f.name), np.ndarray)}
    return dataclasses.replace(it, **arrays)


class _PlotView:
    """One ``Plot`` of the frame: its pyqtgraph PlotItem and its items by name."""

    def __init__(self, plot_item: pg.PlotItem, spec: Plot):
        self.pi = plot_item
        for side in ("left", "bottom"):   # a density of 0.4 reads "400 (x0.001)" with SI prefixes
            plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.items: dict[str, Any] = {}
        self.drawn: dict[str, Any] = {}   # name -> the drawable its item shows now
        # A grid item in the view, not the axes' grid (showGrid): that one repaints the whole plot
        # area with each axis, 12-14 ms of CPU a frame for two plots at 1500x900, this one 1 ms.
        # Above heat maps (z -10), under everything else.
        grid = pg.GridItem(pen=pg.mkPen("#dddddd"), textPen=None)
        grid.setZValue(-5)
        plot_item.addItem(grid, ignoreBounds=True)
        # dark text on a light box: pyqtgraph's default grey text without a box was hard to read
        # over the curves and arrows it covers
        self.legend = plot_item.addLegend(offset=_LEGEND_OFFSETS.get(spec.legend_corner, (5, 5)),
                                          labelTextSize="8pt", labelTextColor="#222222",
                                          brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen("#cccccc"),
                                          ) if spec.legend else None
        self.configured: tuple | None = None

    def configure(self, spec: Plot) -> None:
        key = (spec.title, spec.xlabel, spec.ylabel, spec.xrange, spec.yrange, spec.log_y, spec.square)
        if key == self.configured:
            return
        self.configured = key
        self.pi.setTitle(spec.title, size="10pt")
        self.pi.setLabel("bottom", spec.xlabel)
        self.pi.setLabel("left", spec.ylabel)
        self.pi.setLogMode(y=spec.log_y)
        self.pi.setAspectLocked(spec.square)
        if spec.xrange:
            self.pi.setXRange(*spec.xrange, padding=0.02)
        if spec.yrange:
            lo, hi = spec.yrange
            if spec.log_y:
                lo, hi = math.log10(max(lo, 1e-300)), math.log10(max(hi, 1e-300))
            self.pi.setYRange(lo, hi, padding=0.02)
        self.pi.enableAutoRange(x=spec.xrange is None, y=spec.yrange is None)

    def _make(self, it: Any) -> Any:
        name = None if it.name.startswith("_") else it.name
        if isinstance(it, Heatmap):
            item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(-10)
            self.pi.addItem(item)
        elif isinstance(it, Points):
            item = pg.ScatterPlotItem(pxMode=True, name=name)
            self.pi.addItem(item)
        elif isinstance(it, Curve):
            item = pg.PlotDataItem(name=name)
            self.pi.addItem(item)
        elif isinstance(it, (Arrows, Segments)):
            item = pg.PlotCurveItem(connect="pairs", name=name)
            self.pi.addItem(item)
        elif isinstance(it, VLine):
            item = pg.InfiniteLine(angle=90, movable=False, label=name,
                                   labelOpts={"position": 0.92, "color": colour(it.color)})
            self.pi.addItem(item)
        else:
            raise TypeError(f"a scene frame cannot draw {type(it).__name__}")
        self.items[it.name] = item
        return item

    def draw(self, spec: Plot) -> None:
        self.configure(spec)
        seen = set()
        for it in spec.items:
            item = self.items.get(it.name) or self._make(it)
            seen.add(it.name)
            item.setVisible(True)
            if _same(self.drawn.get(it.name), it):
                continue   # setData costs about a millisecond an item: static markers and fields skip it
            self.drawn[it.name] = _snapshot(it)
            if isinstance(it, Heatmap):
                x0, x1, y0, y1 = it.extent
                item.setImage(np.ascontiguousarray(it.values, dtype=np.float32), levels=it.levels,
                              lut=_CMAPS.get(it.cmap, D_CMAP).getLookupTable(nPts=256))
                item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            elif isinstance(it, Points):
                xy = np.asarray(it.xy, float).reshape(-1, 2)
                if it.values is not None:
                    brushes = [pg.mkBrush(D_CMAP.mapToQColor(float(np.clip(v, 0, 1)))) for v in it.values]
                    item.setData(x=xy[:, 0], y=xy[:, 1], brush=brushes, pen=pg.mkPen("#555555", width=0.5),
                                 size=it.size, symbol=it.symbol)
                else:
                    item.setData(x=xy[:, 0], y=xy[:, 1], brush=pg.mkBrush(colour(it.color)), pen=None,
                                 size=it.size, symbol=it.symbol)
            elif isinstance(it, Curve):
                pen = _pen(it.color, it.style)
                if it.fill is not None:
                    c = pg.mkColor(colour(it.color))
                    c.setAlpha(50)
                    item.setData(it.x, it.y, pen=pen, fillLevel=it.fill, brush=pg.mkBrush(c))
                else:
                    item.setData(it.x, it.y, pen=pen, fillLevel=None)
            elif isinstance(it, Arrows):
                seg = arrow_pairs(it.start, it.delta)
                x, y = seg[:, 0], seg[:, 1]
                item.setData(x, y, pen=_pen(it.color, width=1))
            elif isinstance(it, Segments):
                seg = np.asarray(it.xy, float).reshape(-1, 2)
                item.setData(seg[:, 0], seg[:, 1], pen=_pen(it.color, it.style, width=1))
            elif isinstance(it, VLine):
                item.setPen(_pen(it.color, it.style))
                item.setValue(it.x)
        for name, item in self.items.items():
            if name not in seen:
                item.setVisible(False)


class SceneWindow(QMainWindow):
    """The scenes of the lecture, one at a time: list (left), plots and caption (centre), controls
    (right). ``open_scene(name)`` switches; tests wait on ``framePainted``."""

    sceneOpened = Signal(str)
    framePainted = Signal(int)   # the scene's step of the frame just drawn

    def __init__(self, name: str | None = None, parent: QWidget | None = None, **values: Any):
        super().__init__(parent)
        self.setWindowTitle("ganplay — scenes")
        self.resize(1500, 900)
        self.scene: Scene | None = None
        self.frame: SceneFrame | None = None
        self.views: dict[str, _PlotView] = {}
        self.controls: dict[str, QWidget] = {}
        self.playing = False
        self.step_cost = 1e-3           # seconds per scene step, measured
        self.opened_at = 0.0
        self.first_paint_s: float | None = None
        self.tick_times: list[float] = []
        self._dirty = False
        self._syncing = False

        self.listing = QListWidget()
        self.listing.setMaximumWidth(260)
        group = None
        for key, entry in SCENES.items():
            if entry.group != group:
                group = entry.group
                head = QListWidgetItem(group)
                head.setFlags(Qt.ItemFlag.NoItemFlags)
                f = head.font()
                f.setBold(True)
                head.setFont(f)
                self.listing.addItem(head)
            item = QListWidgetItem("   " + entry.title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.listing.addItem(item)
        self.listing.currentItemChanged.connect(self._picked)

        self.title_label = QLabel()
        self.title_label.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.caption_label = QLabel()
        self.caption_label.setWordWrap(True)
        self.caption_label.setTextFormat(Qt.TextFormat.RichText)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.scene().sigMouseMoved.connect(self._moved)
        self.status_label = QLabel()
        self.numbers_label = QLabel()
        self.numbers_label.setTextFormat(Qt.TextFormat.RichText)
        self.numbers_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.addWidget(self.title_label)
        cl.addWidget(self.caption_label)
        cl.addWidget(self.graphics, 1)
        cl.addWidget(self.status_label)
        cl.addWidget(self.numbers_label)

        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.step_button = QPushButton("Step")
        self.step_button.clicked.connect(lambda: self.advance(1))
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        buttons = QHBoxLayout()
        for b in (self.play_button, self.step_button, self.reset_button):
            buttons.addWidget(b)
        self.form = QFormLayout()
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.addLayout(buttons)
        sl.addLayout(self.form)
        sl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)

        split = QSplitter()
        split.addWidget(self.listing)
        split.addWidget(centre)
        split.addWidget(scroll)
        split.setStretchFactor(1, 1)
        self.setCentralWidget(split)
        QShortcut(QKeySequence("Space"), self, activated=self.play_button.toggle)
        QShortcut(QKeySequence("S"), self, activated=lambda: self.advance(1))
        QShortcut(QKeySequence("R"), self, activated=self.reset)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.open_scene(name or next(iter(SCENES)), **values)

    # ---- scene lifecycle --------------------------------------------------------------------
    def open_scene(self, name: str, seed: int = 0, **values: Any) -> None:
        """Show scene ``name`` from its start (``values`` override its parameters' defaults)."""
        self.opened_at = time.perf_counter()
        self.first_paint_s = None
        self.step_cost = 1e-3   # the last scene's cost would size this one's first tick (0.05 ms -> 240 steps of 40 ms)
        self.scene = make_scene(name, seed=seed, **values)
        self.graphics.clear()
        self.views.clear()
        self.title_label.setText(self.scene.title)
        self.caption_label.setText(self.scene.caption)
        self._build_controls()
        self.play_button.setEnabled(self.scene.live)
        self.step_button.setEnabled(self.scene.live)
        self.set_playing(self.scene.live)
        for i in range(self.listing.count()):
            if self.listing.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.listing.blockSignals(True)
                self.listing.setCurrentRow(i)
                self.listing.blockSignals(False)
        self.sceneOpened.emit(name)
        self.redraw()

    def _picked(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if key and (self.scene is None or key != self.scene.name):
            self.open_scene(key)

    def set_param(self, name: str, value: Any) -> None:
        """Change one of the scene's parameters, as its control would (lessons and tests use it)."""
        assert self.scene is not None
        self.scene.set(name, value)
        self._sync_control(name)
        self.redraw()

    def set_playing(self, on: bool) -> None:
        on = bool(on) and self.scene is not None and self.scene.live
        self.playing = on
        if self.play_button.isChecked() != on:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(on)
            self.play_button.blockSignals(False)
        self.play_button.setText("Pause" if on else "Play")

    def reset(self) -> None:
        if self.scene is not None:
            self.scene.reset()
            self.redraw()

    def advance(self, n: int) -> None:
        if self.scene is None or n <= 0:
            return
        t0 = time.perf_counter()
        self.scene.advance(n)
        per = (time.perf_counter() - t0) / n
        self.step_cost = 0.7 * self.step_cost + 0.3 * per
        self.redraw()

    def _tick(self) -> None:
        if self.playing:
            t0 = time.perf_counter()
            n = max(1, int(TICK_BUDGET_S / max(self.step_cost, 1e-6)))
            cap = self.scene.steps_per_tick if self.scene is not None else None
            self.advance(min(n, cap) if cap else n)
            self.tick_times.append(time.perf_counter() - t0)
            del self.tick_times[:-500]

    # ---- controls ---------------------------------------------------------------------------
    def _build_controls(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.controls.clear()
        assert self.scene is not None
        for p in self.scene.params:
            w = self._control(p)
            w.setToolTip(p.help)
            label = QLabel(p.label)
            label.setToolTip(p.help)
            self.form.addRow(label, w)
            self.controls[p.name] = w

    def _control(self, p: Param) -> QWidget:
        v = self.scene.values[p.name] if self.scene else p.default
        if isinstance(p.default, bool):
            w = QCheckBox()
            w.setChecked(bool(v))
            w.toggled.connect(lambda on, n=p.name: self._edited(n, on))
            return w
        if p.choices is not None:
            w = QComboBox()
            w.addItems(list(p.choices))
            w.setCurrentText(str(v))
            w.currentTextChanged.connect(lambda t, n=p.name: self._edited(n, t))
            return w
        if isinstance(p.default, int):
            w = QSpinBox()
            lo, hi = p.range or (-10 ** 9, 10 ** 9)
            w.setRange(int(lo), int(hi))
            w.setValue(int(v))
            w.valueChanged.connect(lambda x, n=p.name: self._edited(n, x))
            return w
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        spin = QDoubleSpinBox()
        lo, hi = p.range or (-1e9, 1e9)
        spin.setRange(lo, hi)
        spin.setDecimals(4)
        spin.setSingleStep((hi - lo) / 100 if p.range else 0.1)
        spin.setValue(float(v))
        row.addWidget(spin)
        if p.range:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 1000)
            slider.setValue(self._to_slider(p, float(v)))
            slider.valueChanged.connect(lambda i, n=p.name, s=spin, pp=p: s.setValue(self._from_slider(pp, i)))
            row.addWidget(slider, 1)
            box.slider = slider  # type: ignore[attr-defined]
        spin.valueChanged.connect(lambda x, n=p.name: self._edited(n, x))
        box.spin = spin  # type: ignore[attr-defined]
        return box

    @staticmethod
    def _to_slider(p: Param, v: float) -> int:
        lo, hi = p.range  # type: ignore[misc]
        if p.log and lo > 0:
            t = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            t = (v - lo) / (hi - lo)
        return int(round(1000 * min(max(t, 0.0), 1.0)))

    @staticmethod
    def _from_slider(p: Param, i: int) -> float:
        lo, hi = p.range  # type: ignore[misc]
        t = i / 1000
        if p.log and lo > 0:
            return float(math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo))))
        return lo + t * (hi - lo)

    def _edited(self, name: str, value: Any) -> None:
        if self._syncing or self.scene is None:
            return
        try:
            self.scene.set(name, value)
        except ValueError as e:
            self.status_label.setText(f"<span style='color:#b00'>{e}</span>")
            return
        self._sync_control(name)
        self.redraw()

    def _sync_control(self, name: str) -> None:
        """Show the parameter's value in its control without echoing the change back."""
        w = self.controls.get(name)
        if w is None or self.scene is None:
            return
        v = self.scene.values[name]
        self._syncing = True
        try:
            if isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QComboBox):
                w.setCurrentText(str(v))
            elif isinstance(w, QSpinBox):
                w.setValue(int(v))
            else:
                w.spin.setValue(float(v))
                if hasattr(w, "slider"):   # quietly: its echo would round the value to a slider tick
                    w.slider.blockSignals(True)
                    w.slider.setValue(self._to_slider(self.scene.param(name), float(v)))
                    w.slider.blockSignals(False)
        finally:
            self._syncing = False

    # ---- dragging the start point -------------------------------------------------------------
    def _drag_to(self, pos: QPointF) -> bool:
        if self.scene is None:
            return False
        for key, (px, py) in self.scene.drag.items():
            view = self.views.get(key)
            if view is None or not view.pi.sceneBoundingRect().contains(pos):
                continue
            p = view.pi.vb.mapSceneToView(pos)
            moved = [n for n in (px, py) if n is not None]
            for pname, v in ((px, p.x()), (py, p.y())):
                if pname is None:
                    continue
                lo, hi = self.scene.param(pname).range or (-math.inf, math.inf)
                self.scene.values[pname] = self.scene.param(pname).check(min(max(v, lo), hi))
                self._sync_control(pname)
            # a live parameter (resets=False) is dragged while the scene trains on, like its slider
            if any(self.scene.param(n).resets for n in moved):
                self.scene.reset()
            else:
                for n in moved:
                    self.scene.changed(n)
            self.redraw()
            return True
        return False

    def _clicked(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self._drag_to(ev.scenePos())

    def _moved(self, pos: QPointF) -> None:
        from PySide6.QtWidgets import QApplication
        if QApplication.mouseButtons() & Qt.MouseButton.LeftButton:
            self._drag_to(pos)

    # ---- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        if self.scene is None:
            return
        self.frame = self.scene.frame()
        self._draw(self.frame)

    def _draw(self, frame: SceneFrame) -> None:
        cols = 2 if len(frame.plots) in (2, 4) else min(3, len(frame.plots))
        for i, spec in enumerate(frame.plots):
            view = self.views.get(spec.key)
            if view is None:
                pi = self.graphics.addPlot(row=i // cols, col=i % cols)
                view = self.views[spec.key] = _PlotView(pi, spec)
            view.draw(spec)
        self.status_label.setText(frame.status)
        rows = "".join(f"<tr><td>{k}</td><td style='padding-left:12px'><b>{v}</b></td></tr>"
                       for k, v in frame.numbers)
        self.numbers_label.setText(f"<table>{rows}</table>")
        if self.first_paint_s is None:
            self.first_paint_s = time.perf_counter() - self.opened_at
        self.framePainted.emit(frame.step)

    def closeEvent(self, ev: Any) -> None:
        self.timer.stop()
        super().closeEvent(ev)
