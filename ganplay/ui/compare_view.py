"""Compare view: 2-8 GANs trained side by side on the same data, seed and budget.

Top: small multiples, one canvas per configuration (decision surface at fixed levels, real and
generated points). Middle: one chart per ranking metric with a line per configuration. Right: a
live ranking table. Play / Pause / Step / Reset act on all. Clicking a multiple emits
``openInPlayground((config, trainer_state_dict))``.

Training runs in the training process (``ganplay.live.compare_loop.CompareLoop`` behind the
same process transport as the playground; a thread when no process can start, or when a test
hands in a ready ``Population``). The loop sends numpy-only ``CompareFrame``s at a bounded rate;
the GUI keeps the newest and redraws from a QTimer.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QApplication, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
    QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)
from PySide6.QtCore import Qt

from ganplay.live import protocol as P
from ganplay.live.compare_loop import CompareFrame, CompareLoop, MemberFrame

from .canvas import D_CMAP, FAKE, REAL
from .worker import default_backend, make_worker

# One colour per configuration (Okabe-Ito, readable by colour-blind users), for lines and titles.
# Okabe-Ito's yellow is replaced by a dark olive: on a white background it could not be read.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#8C7A00")
METRIC_CHARTS = (
    ("modes_covered", "Modes covered"),
    ("hq_pct", "High-quality samples %"),
    ("reverse_kl", "Reverse KL (mode histogram)"),
    ("w1", "W1 to the data"),
)
TABLE_COLUMNS = ("#", "config", "modes", "HQ %", "rev KL", "W1", "step", "state")
# What the "Compare" picker offers: (text, variation kind for population.variations).
CHOICES = (
    ("Recipes (presets listed on the right)", "chosen"),
    ("Loss: non-saturating vs hinge", "loss"),
    ("Spectral norm: off vs on", "spectral_norm"),
    ("D steps k = 1 vs 5", "k"),
    ("Unrolled steps 0 vs 5", "unrolled"),
)

MULTIPLES_PER_TICK = 2   # small multiples redrawn per 33 ms tick (the rest on the next ticks)
DEFAULT_PRESETS = "vanilla,stable,wgan-gp,lsgan,hinge-sn,pacgan,unrolled,ganlab"


# Workers that were still busy when their view closed; kept referenced until they finish.
_RUNNING_ORPHANS: set = set()


class _Multiple:
    """One small canvas: surface heatmap, real and generated points, a title."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, colour: str):
        self.plot: pg.PlotItem = layout.addPlot(row=row, col=col)
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.surface = pg.ImageItem(axisOrder="row-major")
        self.surface.setLookupTable(D_CMAP.getLookupTable(0.0, 1.0, 256))
        self.surface.setLevels((0.0, 1.0))
        self.surface.setZValue(-10)
        self.real = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(REAL), pxMode=True)
        self.fake = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(FAKE), pxMode=True)
        for it in (self.surface, self.real, self.fake):
            self.plot.addItem(it)
        self.colour = colour
        self._bounds: tuple | None = None

    def set_bounds(self, bounds: tuple[float, float, float, float]) -> None:
        if bounds == self._bounds:
            return
        self._bounds = bounds
        x0, x1, y0, y1 = bounds
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def show(self, m: MemberFrame, bounds: tuple[float, float, float, float]) -> None:
        self.set_bounds(bounds)
        if m.surface is not None:
            x0, x1, y0, y1 = bounds
            self.surface.setImage(m.surface, levels=(0.0, 1.0), autoLevels=False)
            self.surface.setRect(x0, y0, x1 - x0, y1 - y0)
        self.fake.setData(pos=m.fake)
        state = "  (diverged)" if m.stopped else ""
        self.plot.setTitle(f"<span style='color:{self.colour}'>{m.label}</span>{state}", size="9pt")


class CompareView(QWidget):
    """The compare panel. Usable alone (``show_compare``) or as a tab/window of the main app."""

    openInPlayground = Signal(object)   # (Config, Trainer.state_dict()) of the clicked multiple
    comparisonReady = Signal()          # the population is built and its multiples are laid out
    frameShown = Signal(int)            # a frame arrived (its step)
    exported = Signal(str)              # a comparison file was written

    def __init__(self, configs: Sequence[Any] = (), labels: Sequence[str] | None = None,
                 points: np.ndarray | None = None, population: Any = None,
                 base_config: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.base_config = base_config      # what "variations of the current one" vary
        self.points = points
        self.setWindowTitle("ganplay: compare")
        self.worker: Any = None
        self.labels: list[str] = []
        self.configs: list[Any] = []
        self.last_metrics: list[dict[str, Any]] | None = None
        self.last_exported: str | None = None
        self._frame: CompareFrame | None = None
        self._history: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._frame_real: np.ndarray | None = None
        self._metrics_dirty = False
        self._todo_multiples: list[int] = []    # what the redraw timer has still to draw
        self._todo_charts: list[str] = []
        self._shown: CompareFrame | None = None
        self.step_count = -1                # the newest frame's step (-1: nothing trained yet)
        self.running = False                # as the newest frame says
        self.plan: list[str] = []           # how the members are batched (from the loop)
        self.backend = default_backend()
        self._event_handlers: dict[type, Any] = {
            P.ComparisonReady: self._on_ready,
            P.MemberState: lambda ev: self.openInPlayground.emit((ev.config, ev.state)),
            P.ComparisonExported: self._on_exported,
            P.Failed: lambda ev: self._show_error(ev.message),
            P.FileFailed: lambda ev: self._show_error(ev.message),
            P.WorkerFailed: self._on_worker_lost,
            P.WorkerDied: self._on_worker_lost,
            P.Pong: lambda ev: None,
            P.Described: lambda ev: None,
        }
        self._build_ui()
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()
        app = QApplication.instance()
        if app is not None:   # quitting with the view still open must not destroy a running thread
            app.aboutToQuit.connect(self.stop_worker)
        if configs or population is not None:
            self.start(configs, labels, points, population)

    # ---------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        pick = QHBoxLayout()
        self.choice = QComboBox()
        for text, kind in CHOICES:
            self.choice.addItem(text, kind)
        self.choice.setToolTip("Which configurations to train side by side: named recipes, or the "
                               "current configuration with one thing changed")
        self.presets_edit = QLineEdit(DEFAULT_PRESETS)
        self.presets_edit.setToolTip("Comma-separated recipes (2 to 8), each applied to the current "
                                     "data; see the preset menu for what each one does")
        self.compare_btn = QPushButton("Compare")
        self.compare_btn.setToolTip("Build the chosen comparison (same data, same seed) and show it paused")
        self.compare_btn.clicked.connect(self.compare_chosen)
        pick.addWidget(QLabel("Compare:"))
        pick.addWidget(self.choice)
        pick.addWidget(self.presets_edit, 1)
        pick.addWidget(self.compare_btn)
        bar = QHBoxLayout()
        self.play_btn = QPushButton("Play")
        self.play_btn.setCheckable(True)
        self.play_btn.setToolTip("Train every configuration (Space)")
        self.play_btn.toggled.connect(self._play_toggled)
        self.step_btn = QPushButton("Step")
        self.step_btn.setToolTip("One training step for every configuration")
        self.step_btn.clicked.connect(self.step)
        self.reset_btn = QPushButton("Reset")
        self.reset_btn.setToolTip("Start every configuration again from its initial weights (same seed)")
        self.reset_btn.clicked.connect(self.reset)
        self.csv_btn = QPushButton("Export CSV...")
        self.csv_btn.clicked.connect(lambda: self._export_dialog("csv"))
        self.json_btn = QPushButton("Export JSON...")
        self.json_btn.clicked.connect(lambda: self._export_dialog("json"))
        self.status = QLabel("")
        for w in (self.play_btn, self.step_btn, self.reset_btn, self.csv_btn, self.json_btn):
            bar.addWidget(w)
        bar.addWidget(self.status, 1)
        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setBackground("w")
        self.grid.setToolTip("Click a configuration to open it in the playground with its current state")
        self.grid.scene().sigMouseClicked.connect(self._grid_clicked)
        self.multiples: list[_Multiple] = []
        self.charts = pg.GraphicsLayoutWidget()
        self.charts.setBackground("w")
        self.chart_plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        for col, (key, title) in enumerate(METRIC_CHARTS):
            p = self.charts.addPlot(row=0, col=col, title=title)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMenuEnabled(False)
            p.setLabel("bottom", "step")
            self.chart_plots[key] = p
            self.curves[key] = []
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumWidth(440)   # every column visible next to the multiples
        self.table.setToolTip("Live ranking: most modes covered, then most high-quality samples, "
                              "then lowest reverse KL and W1 (from 400 samples; Export measures 2,500)")
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.grid)
        top.addWidget(self.table)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.charts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(pick)
        lay.addLayout(bar)
        lay.addWidget(split, 1)

    def _make_multiples(self, labels: list[str]) -> None:
        self.grid.clear()
        self.multiples = []
        cols = 4 if len(labels) > 4 else max(1, len(labels))
        for i in range(len(labels)):
            m = _Multiple(self.grid.ci, i // cols, i % cols, PALETTE[i % len(PALETTE)])
            if self._frame_real is not None:
                m.real.setData(pos=self._frame_real)
            self.multiples.append(m)
        # No legend on the charts: each line has its configuration's colour, the same colour as
        # the title of its canvas and its name in the ranking table.
        for key, plot in self.chart_plots.items():
            plot.clear()
            self.curves[key] = [plot.plot([], [], pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=1),
                                          symbol="o", symbolSize=3,
                                          symbolBrush=PALETTE[i % len(PALETTE)], symbolPen=None)
                                for i in range(len(labels))]

    # ---------------------------------------------------------------- control
    def start(self, configs: Sequence[Any], labels: Sequence[str] | None = None,
              points: np.ndarray | None = None, population: Any = None) -> None:
        """Build the comparison (in the training process) and show it paused. A ready
        ``population`` (tests) trains in a thread of this process instead."""
        self.stop_worker()
        self._frame_real = None
        self._history = {}
        self.last_metrics = None
        first = P.BuildComparison(tuple(configs), tuple(labels) if labels else None, points)
        if population is not None:
            self.worker = make_worker("thread", None, CompareLoop, population=population)
        else:
            self.worker = make_worker(self.backend, first, CompareLoop)
        self.worker.frameReady.connect(self._on_frame)
        self.worker.event.connect(self._on_event)
        self.worker.start()

    def set_base_config(self, cfg: Any, points: np.ndarray | None = None) -> None:
        """The configuration (and drawn points) the picker's variations start from."""
        self.base_config = cfg.copy()
        self.points = points

    def compare_chosen(self) -> None:
        """Build the comparison selected in the picker."""
        from ganplay.engine.config import Config, ConfigError
        from ganplay.engine.population import preset_configs, variations

        base = self.base_config.copy() if self.base_config is not None else Config()
        kind = self.choice.currentData()
        try:
            if kind == "chosen":
                names = [n.strip() for n in self.presets_edit.text().split(",") if n.strip()]
                if not 2 <= len(names) <= 8:
                    raise ConfigError("list 2 to 8 recipes, separated by commas")
                cfgs, labels = preset_configs(names, base)
            else:
                cfgs, labels = variations(base, kind)
        except ConfigError as exc:
            self._on_event(P.Failed("Compare", str(exc)))
            return
        self.pause()
        self.start(cfgs, labels, self.points)

    def play(self) -> None:
        self.play_btn.setChecked(True)

    def pause(self) -> None:
        self.play_btn.setChecked(False)

    def _play_toggled(self, on: bool) -> None:
        self.play_btn.setText("Pause" if on else "Play")
        if self.worker is not None:
            self.worker.send(P.Play() if on else P.Pause())

    def step(self) -> None:
        self.pause()
        if self.worker is not None:
            self.worker.send(P.Step(n=1))

    def reset(self) -> None:
        self.pause()
        self._history = {}
        if self.worker is not None:
            self.worker.send(P.BuildComparison())

    def open_member(self, i: int) -> None:
        """Ask for member i's state; ``openInPlayground`` fires when the worker answers."""
        if self.worker is not None and 0 <= i < len(self.labels):
            self.worker.send(P.RequestMemberState(i))

    def export(self, path: str | Path, fmt: str | None = None, n: int = 2500) -> None:
        """Write configs + final metrics (measured on ``n`` samples) as CSV or JSON."""
        fmt = fmt or ("json" if str(path).lower().endswith(".json") else "csv")
        if self.worker is not None:
            self.worker.send(P.ExportComparison(str(path), fmt, n))

    def _export_dialog(self, fmt: str) -> None:
        filt = "JSON (*.json)" if fmt == "json" else "CSV (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Export comparison", f"comparison.{fmt}", filt)
        if path:
            self.export(path, fmt)

    def stop_worker(self) -> None:
        """Stop the training loop (normally well within a second: it checks between steps)."""
        w, self.worker = self.worker, None
        if w is None:
            return
        w.frameReady.disconnect(self._on_frame)
        w.event.disconnect(self._on_event)
        if w.stop(1000):
            w.deleteLater()
            return
        # Still inside a long call (e.g. measuring 2,500 samples per member for an export):
        # never destroy a running QThread. Detach it and let it delete itself when it ends.
        w.setParent(None)
        _RUNNING_ORPHANS.add(w)
        w.finished.connect(lambda w=w: (_RUNNING_ORPHANS.discard(w), w.deleteLater()))

    def closeEvent(self, event: Any) -> None:
        self.timer.stop()
        self.stop_worker()
        super().closeEvent(event)

    # ---------------------------------------------------------------- worker -> GUI
    def _on_event(self, ev: P.Event) -> None:
        handler = self._event_handlers.get(type(ev))
        if handler is not None:
            handler(ev)

    def _on_ready(self, ev: P.ComparisonReady) -> None:
        self.labels = list(ev.labels)
        self.configs = list(ev.configs)
        self._history = {}
        self.plan = list(ev.plan)
        self.step_count = -1
        self._shown, self._todo_multiples, self._todo_charts = None, [], []
        self._make_multiples(self.labels)
        self.status.setText("; ".join(ev.plan))
        self.comparisonReady.emit()

    def _on_exported(self, ev: P.ComparisonExported) -> None:
        self.last_exported = ev.path
        self.status.setText(f"comparison written to {ev.path}")
        self.exported.emit(ev.path)

    def _show_error(self, text: str) -> None:
        self.status.setText(text)
        if self.isVisible() and QApplication.platformName() != "offscreen":
            QMessageBox.warning(self, "Compare", text)

    def _on_worker_lost(self, ev: P.Event) -> None:
        """No training process (or it died): train here in a thread, from the same recipes."""
        self.backend = "thread"
        self._show_error(f"The compare training process stopped ({ev.message}); training again in this window's process.")
        if self.configs:
            self.start(self.configs, self.labels, self.points)

    def _on_frame(self, frame: CompareFrame) -> None:
        if frame.real is not None:
            self._frame_real = frame.real
            for m in self.multiples:
                m.real.setData(pos=frame.real)
        if frame.metrics is not None:
            self.last_metrics = frame.metrics
            for row in frame.metrics:
                self._history.setdefault(row["label"], []).append((frame.step, row))
            self._metrics_dirty = True
        self._frame = frame
        self.step_count, self.running = frame.step, frame.running
        self.frameShown.emit(frame.step)

    def _redraw(self) -> None:
        """Draw a little of the newest frame per tick: a whole frame of 8 multiples, 4 charts and
        the table took 20-50 ms of painting, enough to make the window stutter (bench/compare_window.py);
        spread over ticks, no tick costs more than a couple of multiples or one chart."""
        frame, self._frame = self._frame, None
        if frame is not None:
            self._shown = frame
            self._todo_multiples = list(range(min(len(self.multiples), len(frame.members))))
            rate = f"  {frame.steps_per_s:.0f} GAN steps/s" if frame.running else ""
            self.status.setText(f"step {frame.step}{rate}")
        if self._metrics_dirty:
            self._metrics_dirty = False
            self._todo_charts = [key for key, _ in METRIC_CHARTS] + ["table"]
        shown = self._shown
        if shown is not None and self._todo_multiples:
            for i in self._todo_multiples[:MULTIPLES_PER_TICK]:
                self.multiples[i].show(shown.members[i], shown.bounds)
            del self._todo_multiples[:MULTIPLES_PER_TICK]
        elif self._todo_charts:
            key = self._todo_charts.pop(0)
            self._draw_table() if key == "table" else self._draw_chart(key)

    def _draw_chart(self, key: str) -> None:
        for i, lab in enumerate(self.labels):
            if i >= len(self.curves[key]):
                break
            pts = self._history.get(lab, [])
            xs = np.array([s for s, _ in pts], dtype=np.float64)
            ys = np.array([_metric(r, key) for _, r in pts], dtype=np.float64)
            ok = np.isfinite(ys)
            self.curves[key][i].setData(xs[ok], ys[ok])

    def _draw_table(self) -> None:
        from ganplay.engine.population import ranking

        if not self.last_metrics:
            return
        rows = ranking(self.last_metrics)
        self.table.setRowCount(len(rows))
        colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(self.labels)}
        for r, row in enumerate(rows):
            modes = "-" if row.get("modes_covered") is None else f"{row['modes_covered']}/{row['modes_total']}"
            cells = (str(row["rank"]), row["label"], modes, _num(_metric(row, "hq_pct"), ".1f"),
                     _num(row.get("reverse_kl"), ".3f"), _num(row.get("w1"), ".3f"), str(row.get("steps", "")),
                     "diverged" if row.get("stopped") else ("batched" if row.get("batched") else "alone"))
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                item.setText(text)
                if c == 1:
                    item.setForeground(QColor(colour.get(row["label"], "#000")))
                    item.setToolTip(row.get("stopped") or "")

    def _grid_clicked(self, ev: Any) -> None:
        pos = ev.scenePos()
        for i, m in enumerate(self.multiples):
            if m.plot.sceneBoundingRect().contains(pos):
                self.open_member(i)
                return


def _metric(row: dict[str, Any], key: str) -> float:
    if key == "hq_pct":
        v = row.get("hq_fraction")
        return float("nan") if v is None else 100.0 * v
    v = row.get(key)
    return float("nan") if v is None else float(v)


def _num(v: Any, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def show_compare(configs: Sequence[Any], labels: Sequence[str] | None = None, play: bool = True) -> int:
    """Open the compare view alone in its own window (creates the QApplication if needed)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = CompareView(configs, labels)
    view.resize(1400, 900)
    view.show()
    if play:
        view.play()
    return int(app.exec())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ganplay.ui.compare_view [--presets a,b] [--vary f=a,b] [--set ...]``:
    the same options as ``ganplay compare``, shown live instead of printed."""
    import argparse

    from ganplay.cli_compare import build_configs, register

    parser = argparse.ArgumentParser(prog="python -m ganplay.ui.compare_view")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["compare"] + list(sys.argv[1:] if argv is None else argv))
    if not args.presets and not args.vary:
        args.presets = "vanilla,stable,wgan-gp,lsgan,hinge-sn,pacgan,unrolled,ganlab"
    cfgs, labels = build_configs(args)
    return show_compare(cfgs, labels)


if __name__ == "__main__":
    sys.exit(main())
