"""Live charts: losses, D outputs, gradient norms, metrics, and samples per mode.

Histories live in growable numpy buffers; every curve is one persistent PlotDataItem updated
with ``setData`` (peak downsampling and clip-to-view keep long runs fast). Each legend entry shows
its curve's last value (updated when that chart refreshes, nothing more per frame); hovering a
chart shows the step and value of each curve's nearest point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ganplay.engine.history import History, Series  # noqa: F401  (Series: the charts' buffers)


# (plot title, [(series, label, colour)])
LOSS_PLOT = ("Losses", [("loss_d", "D loss", "#d62728"), ("loss_g", "G loss", "#1f77b4")])
GRAD_PLOT = ("Gradient norms", [("grad_d", "|grad D|", "#d62728"), ("grad_g", "|grad G|", "#1f77b4")])
# What D's output means depends on the loss: a probability for the classic GAN losses, a raw score
# for a Wasserstein or hinge critic and for an f-GAN's T(x) (a sigmoid of those means nothing).
D_OUTPUT_PLOTS = {
    "prob": ("Mean D output", [("d_real", "D(x)", "#2ca02c"), ("d_fake", "D(G(z))", "#ff7f0e")]),
    "critic": ("Critic scores (raw, not probabilities)", [("score_real", "D(x)", "#2ca02c"),
                                                          ("score_fake", "D(G(z))", "#ff7f0e")]),
    "fgan": ("Mean T(x) of the f-GAN (raw scores)", [("score_real", "T(x)", "#2ca02c"),
                                                     ("score_fake", "T(G(z))", "#ff7f0e")]),
}
MODES_PLOT = ("Modes covered and high-quality samples (%)", [("modes_pct", "% modes covered", "#2ca02c"),
                                                             ("hq_pct", "% high quality", "#9467bd")])
# The distance each loss estimates, beside W1 measured from samples.
DISTANCE_PLOTS = {
    "prob": ("W1 and JSD (as D sees it)", [("w1", "W1", "#8c564b"), ("jsd", "JSD (batch)", "#e377c2"),
                                           ("jsd_eval", "JSD (2,500 samples)", "#7f7f7f")]),
    "critic": ("W1: from samples, and the critic's estimate", [
        ("w1", "W1 (samples)", "#8c564b"), ("critic_gap", "E[D(x)] - E[D(G(z))]", "#e377c2")]),
    "fgan": ("W1 and the f-divergence estimate", [
        ("w1", "W1 (samples)", "#8c564b"), ("f_estimate", "-L_D (the divergence's lower bound)", "#e377c2")]),
}
STEP_PLOTS = (LOSS_PLOT, D_OUTPUT_PLOTS["prob"], GRAD_PLOT)
METRIC_PLOTS = (MODES_PLOT, DISTANCE_PLOTS["prob"])
# Image data (MNIST, Stacked MNIST): the shipped classifier's figures on 500 samples.
IMAGE_METRIC_PLOTS = (
    ("Classes present, precision, recall (%)", [("modes_pct", "% classes present", "#2ca02c"),
                                                ("precision_pct", "precision %", "#1f77b4"),
                                                ("recall_pct", "recall %", "#ff7f0e")]),
    ("MNIST score (10 = sure and balanced)", [("mnist_score", "MNIST score", "#9467bd")]),
    ("Fréchet distance (classifier features)", [("fid", "Fréchet distance", "#8c564b")]),
)
METRIC_KINDS = {"2d": METRIC_PLOTS, "image": IMAGE_METRIC_PLOTS}


def loss_family(loss: str) -> str:
    """'critic' (WGAN, WGAN-GP, hinge), 'fgan' (f-GAN divergences) or 'prob' (D is a probability)."""
    if loss in ("wgan", "wgan-gp", "hinge"):
        return "critic"
    return "fgan" if loss.startswith("f-") else "prob"


# A 2D training mode's own chart, under the metric charts (engine.metrics.mode_extras).
MODE_PLOTS = {
    "bigan": ("BiGAN: how well E and G invert each other", [("z_recon", "mean |E(G(z)) - z|", "#1f77b4"),
                                                            ("x_recon", "mean |G(E(x)) - x|", "#d62728")]),
    "cgan": ("cGAN: share of samples on their label's mode", [("labels_on_mode", "on own mode", "#2ca02c")]),
}


def chart_kind(data: str, loss: str, mode: str = "") -> str:
    """'2d' or 'image', with '/critic' or '/fgan' for those losses and '+bigan' or '+cgan' for a
    2D training mode with a chart of its own: which charts the window shows."""
    fam = loss_family(loss)
    kind = data if fam == "prob" else f"{data}/{fam}"
    return f"{kind}+{mode}" if mode in MODE_PLOTS and data == "2d" else kind


def kind_plots(kind: str) -> tuple:
    """The (title, series) of every chart of a kind, top to bottom."""
    kind, _, mode = kind.partition("+")
    data, _, fam = kind.partition("/")
    fam = fam or "prob"
    metrics = IMAGE_METRIC_PLOTS if data == "image" else (MODES_PLOT, DISTANCE_PLOTS[fam])
    extra = (MODE_PLOTS[mode],) if mode else ()
    return (LOSS_PLOT, D_OUTPUT_PLOTS[fam], GRAD_PLOT) + tuple(metrics) + extra


KINDS = tuple(chart_kind(d, loss, mode) for d in ("2d", "image") for loss in ("ns", "wgan", "f-kl")
              for mode in ("",) + (tuple(MODE_PLOTS) if d == "2d" else ()))
# plots with a log y axis: the Fréchet distance falls from ~1000 to ~10 and the end matters
LOG_Y_PLOTS = frozenset({"Fréchet distance (classifier features)"})
# series measured every few hundred steps: drawn with dots so single points show
SPARSE_SERIES = frozenset({"modes_pct", "hq_pct", "w1", "jsd_eval", "precision_pct", "recall_pct",
                           "mnist_score", "fid", "z_recon", "x_recon", "labels_on_mode"})
ALL_PLOTS = {title: series for kind in KINDS for title, series in kind_plots(kind)}


def _fmt(v: float) -> str:
    """A chart value in 3 significant digits (0.693, 12.4, 1.2e+03)."""
    return f"{v:.3g}"


class ChartPanel(QWidget):
    """The right-hand charts; ``refresh`` pushes only the series that changed."""

    def __init__(self, history: History, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = history
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("w")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.layout_widget)
        self.plots: dict[str, pg.PlotItem] = {}
        self._names: dict[int, str] = {}   # id(curve) -> its legend name (a key may differ by kind)
        # every chart once; per kind, the curves on show (a key names one curve within a kind)
        self._seen: dict[int, int] = {}
        plot_curves = {title: self._make_plots(((title, series),)) for title, series in ALL_PLOTS.items()}
        self._kind_curves: dict[str, dict[str, pg.PlotDataItem]] = {
            kind: {k: c for title, _ in kind_plots(kind) for k, c in plot_curves[title].items()} for kind in KINDS}
        self.plots["Mean D output"].addLine(y=0.5, pen=pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plots["MNIST score (10 = sure and balanced)"].setLimits(yMin=0, yMax=11)
        first = self.plots[LOSS_PLOT[0]]
        for p in self.plots.values():
            if p is not first:
                p.setXLink(first)
        # Axis painting is the costliest part of a chart redraw, and an auto-ranged axis repaints
        # whenever its range moves: ranges here only move when the data leave them (sticky).
        for p in self.plots.values():
            p.disableAutoRange()
        self._ranges: dict[str, tuple[float, float]] = {}
        self._x_max = 0.0
        self._next_plot = 0
        self.bar_plot = pg.PlotItem(title="Samples per mode")
        self.bar_plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.8, brush="#2ca02c")
        self.bar_plot.addItem(self.bars)
        self._bar_key: tuple = ()
        self.kind = ""
        self._hover: tuple[str, str] | None = None   # (plot title, text) while the mouse is on a chart
        self._hover_items: dict[str, tuple] = {}
        # mouse moves straight from the viewport: the scene's sigMouseMoved drops moves that come
        # quickly after another, so the label could stay behind when the mouse leaves a chart
        self.layout_widget.viewport().installEventFilter(self)
        # rewind and branch: a line at the step shown, and the old branch's curves, dashed
        self._markers: dict[str, pg.InfiniteLine] = {}
        self.marker_step: float | None = None
        self.ghost: History | None = None
        self.ghost_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.set_kind("2d")

    def _make_plots(self, plots: tuple) -> dict[str, pg.PlotDataItem]:
        curves: dict[str, pg.PlotDataItem] = {}
        for title, series in plots:
            p = pg.PlotItem(title=title)
            # a light backing: the legend's last values stay readable over the curves; tight rows,
            # so three entries fit a short chart
            p.addLegend(offset=(-5, 2), labelTextSize="8pt", labelTextColor="#333", verSpacing=-6,
                        brush=pg.mkBrush(255, 255, 255, 150))
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
            if title in LOG_Y_PLOTS:
                p.setLogMode(y=True)
                # fixed 1-3-10 labels: pyqtgraph's own log labels pile up in a short plot
                p.getAxis("left").setTicks([[(float(np.log10(v)), f"{v:g}") for v in
                                             (1, 3, 10, 30, 100, 300, 1000, 3000, 10000)]])
            for key, label, colour in series:
                sym = "o" if key in SPARSE_SERIES else None
                curves[key] = p.plot([], [], pen=pg.mkPen(colour, width=1), name=label,
                                     symbol=sym, symbolSize=4, symbolBrush=colour, symbolPen=None)
                self._names[id(curves[key])] = label
            self.plots[title] = p
        return curves

    @property
    def curves(self) -> dict[str, pg.PlotDataItem]:
        """The curves on show: the step plots' and those of the current kind's metric plots."""
        return self._kind_curves[self.kind]

    def set_kind(self, kind: str) -> None:
        """Show the charts of a kind (``chart_kind``): the metric plots of '2d' (modes, high quality,
        W1, JSD) or 'image' data (classes present, precision/recall, MNIST score, Fréchet
        distance), and for critic and f-GAN losses their raw scores and the distance they estimate
        instead of D's probabilities and the JSD."""
        if kind == self.kind:
            return
        self._hide_hover()
        lw = self.layout_widget
        for item in list(lw.ci.items):
            lw.removeItem(item)
        row = 0
        for title, _ in kind_plots(kind):
            lw.addItem(self.plots[title], row=row, col=0)
            row += 1
        lw.addItem(self.bar_plot, row=row, col=0)
        self.kind = kind
        self._seen.clear()  # the new kind's curves catch up with their series
        self.refresh()

    @property
    def metric_curve_keys(self) -> list[str]:
        return [k for _, s in kind_plots(self.kind)[3:] for k, _, _ in s]

    def refresh(self, max_plots: int = 0) -> int:
        """Push changed series to their curves, plot after plot. With ``max_plots`` > 0 it stops
        after that many plots changed and goes on from the next one on the following call: the
        window spreads the charts over its frames, so no single frame paints them all. Returns how
        many plots changed."""
        plots = kind_plots(self.kind)
        n, done = len(plots), 0
        for i in range(n):
            idx = (self._next_plot + i) % n
            title, series = plots[idx]
            if self._refresh_plot(title, series):
                done += 1
                if max_plots and done >= max_plots:
                    self._next_plot = (idx + 1) % n
                    break
        self._update_x()
        return done

    def _refresh_plot(self, title: str, series: list) -> bool:
        changed = False
        lo, hi = np.inf, -np.inf
        for key, _, _ in series:
            s = self.history.series.get(key)
            if s is None:
                continue
            curve = self.curves[key]
            if self._seen.get(id(curve)) != s.version:
                self._seen[id(curve)] = s.version
                x, y = s.data()
                curve.setData(x, y)
                self._show_last(title, key, y)
                changed = True
            if s.n:
                lo, hi = min(lo, s.lo), max(hi, s.hi)
            g = self.ghost.series.get(key) if self.ghost is not None else None
            if g is not None and g.n:   # the old branch stays in view
                lo, hi = min(lo, g.lo), max(hi, g.hi)
        if changed and np.isfinite(lo) and title in LOG_Y_PLOTS:  # the view works in log10 units
            lo, hi = np.log10(max(lo, 1e-3)), np.log10(max(hi, 1e-3))
        if changed and np.isfinite(lo):
            cur = self._ranges.get(title)
            span = hi - lo if hi - lo > 1e-9 else 0.5 + 0.1 * abs(hi)  # a flat line gets a band
            # grow when the data leave the range; shrink when they fill under a third of it
            if cur is None or lo < cur[0] or hi > cur[1] or (cur[1] - cur[0]) > 3 * span:
                new = (lo - 0.1 * span, hi + 0.1 * span)
                self._ranges[title] = new
                self.plots[title].setYRange(*new, padding=0)
        return changed

    def _show_last(self, title: str, key: str, y: np.ndarray) -> None:
        """The legend names the curve and its last value: "D loss 0.693"."""
        label = self.plots[title].legend.getLabel(self.curves[key])
        if label is not None:
            label.setText(self._names[id(self.curves[key])] + (f" {_fmt(y[-1])}" if len(y) else ""))

    def legend_text(self, key: str) -> str:
        """The legend entry of a curve on show, as text ("D loss 0.693")."""
        for title, series in kind_plots(self.kind):
            if any(k == key for k, _, _ in series):
                return self.plots[title].legend.getLabel(self.curves[key]).text
        raise KeyError(key)

    # ------------------------------------------------------------------ hover values
    def hover_text(self) -> str:
        """What the hover label shows now ("" when the mouse is on no chart)."""
        return "" if self._hover is None else self._hover[1]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            self._on_mouse_moved(self.layout_widget.mapToScene(event.position().toPoint()))
        elif kind == QEvent.Type.Leave:
            self._hide_hover()
        return False

    def _plot_at(self, pos: QPointF) -> str | None:
        for title, _ in kind_plots(self.kind):
            vb = self.plots[title].getViewBox()
            if vb.sceneBoundingRect().contains(pos):
                return title
        return None

    def _on_mouse_moved(self, pos: QPointF) -> None:
        title = self._plot_at(pos)
        if title is None:
            self._hide_hover()
            return
        plot = self.plots[title]
        vb = plot.getViewBox()
        mx = vb.mapSceneToView(pos).x()
        series = dict(kind_plots(self.kind))[title]
        near = []   # (key, step, value) of each curve's point nearest the mouse's step
        for key, _, _ in series:
            x, y = self.curves[key].getOriginalDataset()
            if x is None or not len(x):
                continue
            i = int(np.clip(np.searchsorted(x, mx), 1, len(x) - 1)) if len(x) > 1 else 0
            if len(x) > 1 and abs(x[i - 1] - mx) <= abs(x[i] - mx):
                i -= 1
            near.append((key, float(x[i]), float(y[i])))
        if not near:
            self._hide_hover()
            return
        step = min(near, key=lambda t: abs(t[1] - mx))[1]
        lines = [f"step {step:.0f}"]
        for key, sx, sy in near:
            name = self._names[id(self.curves[key])]
            lines.append(f"{name} {_fmt(sy)}" + (f" (step {sx:.0f})" if sx != step else ""))
        text = "\n".join(lines)
        if self._hover is not None and self._hover[0] != title:
            self._hide_hover()
        vline, dots, label = self._hover_parts(title)
        vline.setPos(step)
        dots.setData([t[1] for t in near], [t[2] for t in near])
        label.setText(text)
        (x0, x1), (_, y1) = vb.viewRange()
        label.setAnchor((0, 0) if mx < (x0 + x1) / 2 else (1, 0))
        label.setPos(mx, y1)
        for it in (vline, dots, label):
            it.show()
        self._hover = (title, text)

    def _hover_parts(self, title: str) -> tuple:
        """The crosshair line, the nearest points' dots and the label of one chart (made once)."""
        parts = self._hover_items.get(title)
        if parts is None:
            plot = self.plots[title]
            vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=pg.QtCore.Qt.PenStyle.DashLine))
            dots = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=7, symbolBrush=None,
                                   symbolPen=pg.mkPen("k", width=1.5))
            label = pg.TextItem(color="#222", fill=pg.mkBrush(255, 255, 255, 220), border=pg.mkPen("#aaa"))
            for it in (vline, dots, label):
                it.setZValue(20)
                plot.addItem(it, ignoreBounds=True)
                it.hide()
            parts = self._hover_items[title] = (vline, dots, label)
        return parts

    def _hide_hover(self) -> None:
        if self._hover is not None:
            for it in self._hover_items[self._hover[0]]:
                it.hide()
            self._hover = None

    def _update_x(self) -> None:
        x_hi = 0.0
        for _, series in kind_plots(self.kind):
            for key, _, _ in series:
                s = self.history.series.get(key)
                if s is not None and s.n:
                    x_hi = max(x_hi, float(s.x[s.n - 1]))
                g = self.ghost.series.get(key) if self.ghost is not None else None
                if g is not None and g.n:
                    x_hi = max(x_hi, float(g.x[g.n - 1]))
        # A new x range repaints every (linked) chart at once: double it, so that happens once
        # per doubling of the step count, not every few seconds.
        if x_hi > self._x_max or x_hi < self._x_max / 4:
            self._x_max = max(10.0, x_hi * 2.0)
            self.plots[LOSS_PLOT[0]].setXRange(0, self._x_max, padding=0)

    def set_bars(self, counts: np.ndarray | None, covered: np.ndarray | None = None,
                 title: str = "Samples per mode") -> None:
        if counts is None:
            return
        counts = np.asarray(counts)
        x = np.arange(len(counts))
        if covered is None:
            brushes = ["#1f77b4"] * len(counts)
        else:
            brushes = ["#2ca02c" if c else "#d62728" for c in covered]
        key = (title, len(counts))
        if key != self._bar_key:
            self._bar_key = key
            self.bar_plot.setTitle(title)
            self.bar_plot.setXRange(-0.6, len(counts) - 0.4, padding=0)
        self.bars.setOpts(x=x, height=counts, width=0.8, brushes=brushes)

    # ------------------------------------------------------------------ rewind and branch
    def set_marker(self, step: float | None) -> None:
        """A vertical line at ``step`` on every chart (the moment the canvas shows after a
        rewind, then the branch point); None hides it."""
        self.marker_step = None if step is None else float(step)
        for title, plot in self.plots.items():
            line = self._markers.get(title)
            if line is None:
                if step is None:
                    continue
                first = title == LOSS_PLOT[0]
                line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#e6550d", width=1.5),
                                       label="step {value:.0f}" if first else None,
                                       labelOpts={"position": 0.92, "color": "#e6550d", "anchors": [(0, 0), (0, 0)]})
                line.setZValue(15)
                plot.addItem(line, ignoreBounds=True)
                self._markers[title] = line
            if step is None:
                line.hide()
            else:
                line.setPos(float(step))
                line.show()

    def set_ghost(self, old: History | None) -> None:
        """The old branch (``History.cut_after``) drawn dashed and faded under the live curves of
        every chart; None removes it. One old branch is kept: a later branch replaces it."""
        self.ghost = old
        for item in self.ghost_curves.values():
            item.setData([], [])
        if old is not None:
            for title, series in ALL_PLOTS.items():
                for key, _, colour in series:
                    g = old.series.get(key)
                    if g is None or not g.n:
                        continue
                    item = self.ghost_curves.get((title, key))
                    if item is None:
                        c = pg.mkColor(colour)
                        c.setAlpha(110)
                        sym = "o" if key in SPARSE_SERIES else None
                        item = pg.PlotDataItem([], [], pen=pg.mkPen(c, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                               symbol=sym, symbolSize=3, symbolBrush=c, symbolPen=None)
                        item.setZValue(-5)
                        self.plots[title].addItem(item)
                        self.ghost_curves[(title, key)] = item
                    x, y = g.data()
                    item.setData(x.copy(), y.copy())
        self._seen.clear()   # the y ranges take the old branch in (or let it go)
        self.refresh()

    def clear(self) -> None:
        self.set_ghost(None)
        self.set_marker(None)
        self.history.clear()
        self._ranges.clear()
        self._x_max = 0.0
        self.refresh()
        self.bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        self._bar_key = ()

    def export_png(self, path: str | Path) -> bool:
        return self.layout_widget.grab().save(str(path))
