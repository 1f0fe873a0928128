"""Latency from a slider / z-pad move to the redrawn sample in the latent explorer.

For each generator, the same sequence of moves is timed twice in one process: idle (reference)
and with a Trainer stepping in a background Python thread that hands a fresh GeneratorSnapshot
to the panel every 0.25 s, as the app's worker does. One move = set a slider value (or a synthetic
mouse move on the z-pad, with the button held); it is done when the panel has redrawn G(z) and the
view showing it has painted (the canvas scatter for 2D data, the live image for MNIST).

    QT_QPA_PLATFORM=offscreen python bench/latent_latency.py [--moves 150]

Prints p50 / p95 / max in ms per case and the ratio to the idle reference. Target: p95 < 30 ms.
"""
from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from ganplay.engine.config import Config, set_field
from ganplay.engine.snapshot import snapshot_generator
from ganplay.engine.trainer import Trainer
from ganplay.ui.latent_panel import LatentPanel, default_classifier


class PaintCounter(QObject):
    """Counts paint events of one widget (a view's viewport)."""

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


class BackgroundTraining:
    """Trainer.step() in a Python thread; a snapshot of G every ``every`` seconds into a queue."""

    def __init__(self, trainer: Trainer, every: float = 0.25):
        self.trainer = trainer
        self.every = every
        self.snaps: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.steps = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = 0.0
        while not self.stop.is_set():
            self.trainer.step()
            self.steps += 1
            now = time.perf_counter()
            if now - last > self.every:
                last = now
                try:
                    self.snaps.put_nowait(snapshot_generator(self.trainer))  # copied in the worker
                except queue.Full:
                    pass

    def __enter__(self) -> BackgroundTraining:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def make_trainer(case: str) -> Trainer:
    cfg = Config()
    if case == "mnist":
        from ganplay.engine.image_models import DCGAN_RECIPE

        set_field(cfg, "data.name", "mnist")
        for k, v in DCGAN_RECIPE.items():
            set_field(cfg, k, str(v))
    else:
        set_field(cfg, "model.latent_dim", "2" if case == "ring-2d" else "16")
    return Trainer(cfg, device="cpu")


def on_screen(panel: LatentPanel) -> bool:
    """Whether the redrawn G(z) is inside the view, i.e. whether the move has something to paint
    (a 2D G(z) that training threw off the canvas repaints nothing, and Qt rightly skips it)."""
    out = panel.current_output()
    if out is None or out.ndim != 1:
        return True
    return bool(np.all(np.abs(out[:2]) <= panel.property("bench_view_half")))


def run_moves(app: QApplication, panel: LatentPanel, counter: PaintCounter, case: str, n: int,
              training: BackgroundTraining | None, seed: int) -> tuple[np.ndarray, int]:
    """Time ``n`` moves; returns latencies (s) and the number of snapshots applied meanwhile."""
    rng = np.random.default_rng(seed)
    lat = []
    snaps = 0
    pad = panel.zpad
    if case == "ring-2d":
        w, h = pad.width(), pad.height()
        center = QPointF(w / 2, h / 2)
        app.sendEvent(pad, QMouseEvent(QEvent.Type.MouseButtonPress, center, pad.mapToGlobal(center),
                                       Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                                       Qt.KeyboardModifier.NoModifier))
    for k in range(n):
        # the user's pace: ~15 ms between moves, during which snapshots from training arrive
        t_idle = time.perf_counter() + 0.015
        while time.perf_counter() < t_idle:
            if training is not None:
                try:
                    panel.set_generator(training.snaps.get_nowait())
                    snaps += 1
                except queue.Empty:
                    pass
            app.processEvents()
            time.sleep(0.001)
        app.processEvents()
        draws, paints = panel.draw_count, counter.count
        t0 = time.perf_counter()
        if case == "ring-2d":
            pos = QPointF(rng.uniform(0.1, 0.9) * pad.width(), rng.uniform(0.1, 0.9) * pad.height())
            app.sendEvent(pad, QMouseEvent(QEvent.Type.MouseMove, pos, pad.mapToGlobal(pos),
                                           Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                           Qt.KeyboardModifier.NoModifier))
        else:
            row = panel.axis_rows[k % len(panel.axis_rows)]
            v = row.slider.value()
            row.slider.setValue(v + 37 if v < 900 else v - 400)
        while panel.draw_count == draws or (counter.count == paints and on_screen(panel)):
            app.processEvents()
            if time.perf_counter() - t0 > 5.0:
                raise RuntimeError(f"move {k} of {case} was not drawn within 5 s (draws {panel.draw_count - draws}, "
                                   f"paints {counter.count - paints}, pending {sorted(panel._dirty)})")
        lat.append(time.perf_counter() - t0)
    return np.array(lat), snaps


def build(case: str, trainer: Trainer) -> tuple[QWidget, LatentPanel, PaintCounter]:
    host = QWidget()
    lay = QHBoxLayout(host)
    panel = LatentPanel()
    if case == "mnist":
        panel.set_classifier(default_classifier())
        target = panel.image_view.viewport()
    else:
        # a stand-in for the main window's canvas: real data + G(z) and its trail
        canvas = pg.PlotWidget()
        half = float(np.max(np.abs(trainer.data.bounds)))
        canvas.setRange(xRange=(-half, half), yRange=(-half, half), padding=0.0)   # fixed, as the app's
        canvas.disableAutoRange()
        panel.setProperty("bench_view_half", half * 0.98)
        canvas.addItem(pg.ScatterPlotItem(pos=trainer.data.sample(500, torch.Generator().manual_seed(0)).numpy(),
                                          size=3, pen=None, brush=pg.mkBrush(80, 80, 80, 120)))
        pts = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(214, 39, 40))
        path = pg.PlotCurveItem(pen=pg.mkPen(100, 100, 100))
        canvas.addItem(pts)
        canvas.addItem(path)
        panel.pointsChanged.connect(lambda p: pts.setData(pos=p))
        panel.pathChanged.connect(lambda p: path.setData([], []) if p is None else path.setData(p[:, 0], p[:, 1]))
        lay.addWidget(canvas, 1)
        target = canvas.viewport()
    lay.addWidget(panel)
    host.resize(900, 820)
    panel.set_generator(snapshot_generator(trainer))
    host.show()
    return host, panel, PaintCounter(target)


def pct(a: np.ndarray) -> str:
    ms = a * 1e3
    return f"{np.percentile(ms, 50):7.2f} {np.percentile(ms, 95):7.2f} {ms.max():7.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=150)
    ap.add_argument("--cases", default="ring-2d,ring-16d,mnist")
    ap.add_argument("--switch-interval", type=float, default=0.0,
                    help="sys.setswitchinterval in ms (0: leave Python's default of 5 ms); how long the GUI "
                         "thread may wait for the GIL the training thread holds")
    args = ap.parse_args(argv)
    if args.switch_interval > 0:
        sys.setswitchinterval(args.switch_interval / 1000)
    torch.set_num_threads(1)
    import PySide6

    if PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12):
        # measured: every call of a void Qt method drops one reference to None, and CPython < 3.12
        # aborts ("none_dealloc") once None's count reaches 0 -- after a few hundred moves here
        print("warning: PySide6 6.12.0 on Python < 3.12 leaks references to None and aborts long runs; "
              "use PySide6 6.11 or Python >= 3.12")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"PySide6 {PySide6.__version__}, Python {sys.version.split()[0]}")
    print(f"latent explorer latency, {args.moves} moves per run, torch threads 1, "
          f"GIL switch interval {sys.getswitchinterval() * 1e3:g} ms, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':<10} {'input':<16} {'training':<9} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'p95/idle':>8} {'snaps':>5} {'steps/s':>7}")
    worst = 0.0
    for case in args.cases.split(","):
        trainer = make_trainer(case)
        host, panel, counter = build(case, trainer)
        for _ in range(20):
            app.processEvents()
        run_moves(app, panel, counter, case, 10, None, 99)          # warm-up (first-call costs)
        idle, _ = run_moves(app, panel, counter, case, args.moves, None, 1)
        with BackgroundTraining(trainer) as bg:
            t0 = time.perf_counter()
            busy, snaps = run_moves(app, panel, counter, case, args.moves, bg, 1)
            rate = bg.steps / (time.perf_counter() - t0)
        what = "z-pad mouse" if case == "ring-2d" else "slider setValue"
        ratio = np.percentile(busy, 95) / np.percentile(idle, 95)
        print(f"{case:<10} {what:<16} {'no':<9} {pct(idle)} {1.0:8.2f} {0:5d} {0:7.0f}")
        print(f"{case:<10} {what:<16} {'yes':<9} {pct(busy)} {ratio:8.2f} {snaps:5d} {rate:7.0f}")
        worst = max(worst, float(np.percentile(busy, 95)))
        host.close()
        host.deleteLater()
        app.processEvents()
    print(f"worst p95 with training: {worst * 1e3:.1f} ms (target < 30 ms): {'OK' if worst < 0.030 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
