"""Screenshots of the latent explorer for the README: docs/latent_ring.png and docs/latent_mnist.png.

Trains the generators with the engine first so the pictures mean something: the ring with the
default 2-D latent (a few thousand steps), a conditional DCGAN on the bundled MNIST digits for a
time budget (or from a checkpoint written by an earlier run). The ring shot puts the panel beside
a stand-in canvas (real data, the manifold mesh with the cell z is in, G(z) with its trail and
the A -> B path), wired exactly as the main window wires its canvas.

    QT_QPA_PLATFORM=offscreen python bench/latent_screenshots.py [--mnist-seconds 900]
        [--mnist-checkpoint /tmp/latent_mnist.pt] [--only ring|mnist]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from ganplay.engine import latent as L
from ganplay.engine.config import Config, from_dict, set_field
from ganplay.engine.metrics import evaluate_2d, manifold_mesh
from ganplay.engine.presets import apply_preset
from ganplay.engine.snapshot import snapshot_generator
from ganplay.engine.trainer import Trainer
from ganplay.ui.latent_panel import LatentPanel, default_classifier

DOCS = Path(__file__).resolve().parents[1] / "docs"


def settle(app: QApplication, panel: LatentPanel | None = None) -> None:
    for _ in range(30):
        app.processEvents()
    while panel is not None and panel._dirty:
        app.processEvents()


def ring_shot(app: QApplication, steps: int) -> Path:
    # the ring of 8 Gaussians with the "stable" recipe, but a 2-D latent so the z-pad shows
    cfg = apply_preset("stable", Config())
    set_field(cfg, "model.latent_dim", "2")
    tr = Trainer(cfg, device="cpu")
    for _ in range(steps):
        tr.step()
    m = evaluate_2d(tr)
    print(f"ring: step {tr.step_count}, modes covered {m['modes_covered']}/{m['modes_total']}, "
          f"high-quality fraction {m['hq_fraction']:.2f}")
    snap = snapshot_generator(tr)
    res = 21
    mesh = manifold_mesh(tr, res=res)

    host = QWidget()
    lay = QHBoxLayout(host)
    canvas = pg.PlotWidget(background="w")
    canvas.setAspectLocked(True)
    x0, x1, y0, y1 = tr.data.bounds
    canvas.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
    canvas.setTitle(f"ring, step {tr.step_count}: data (grey), manifold mesh G(z-grid), G(z) and its trail (red)",
                    color="k", size="9pt")
    real = tr.data.sample(1500, torch.Generator().manual_seed(0)).numpy()
    canvas.addItem(pg.ScatterPlotItem(pos=real, size=3, pen=None, brush=pg.mkBrush(120, 120, 120, 90)))
    mesh_pen = pg.mkPen(70, 130, 200, 90)
    for i in range(res):
        canvas.addItem(pg.PlotCurveItem(mesh[i, :, 0], mesh[i, :, 1], pen=mesh_pen))
        canvas.addItem(pg.PlotCurveItem(mesh[:, i, 0], mesh[:, i, 1], pen=mesh_pen))
    cell_item = pg.PlotCurveItem(pen=pg.mkPen(255, 140, 0), fillLevel=None, brush=pg.mkBrush(255, 160, 40, 120))
    path_item = pg.PlotCurveItem(pen=pg.mkPen(90, 90, 90))
    frames_item = pg.ScatterPlotItem(size=8, pen=pg.mkPen("k"), brush=pg.mkBrush(255, 255, 255))
    trail_item = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(214, 39, 40, 110))
    point_item = pg.ScatterPlotItem(size=13, pen=pg.mkPen("w"), brush=pg.mkBrush(214, 39, 40))
    for it in (cell_item, path_item, frames_item, trail_item, point_item):
        canvas.addItem(it)

    panel = LatentPanel()

    def on_points(p: np.ndarray) -> None:
        point_item.setData(pos=p[:1])
        trail_item.setData(pos=p[1:])

    def on_path(p: np.ndarray | None) -> None:
        if p is None:
            path_item.setData([], [])
            frames_item.setData([])
            return
        path_item.setData(p[:, 0], p[:, 1])
        frames_item.setData(pos=p[:: panel.frame_stride])

    def on_cell(c: tuple[int, int] | None) -> None:
        if c is None:
            cell_item.setData([], [])
            return
        i, j = c
        quad = np.array([mesh[i, j], mesh[i, j + 1], mesh[i + 1, j + 1], mesh[i + 1, j], mesh[i, j]])
        cell_item.setData(quad[:, 0], quad[:, 1], fillLevel=None)
        cell_item.setFillLevel(None)
        cell_item.setBrush(pg.mkBrush(255, 160, 40, 120))

    panel.pointsChanged.connect(on_points)
    panel.pathChanged.connect(on_path)
    panel.cellChanged.connect(on_cell)
    panel.set_mesh_grid(res)
    lay.addWidget(canvas, 1)
    lay.addWidget(panel)
    host.resize(1100, 800)
    panel.setFixedWidth(380)
    host.show()
    panel.set_generator(snap)
    settle(app, panel)
    # A and B on two sides of the prior, then a drag along an arc (the trail)
    panel.set_endpoint("A", np.array([-1.6, -0.4], np.float32))
    panel.set_endpoint("B", np.array([1.2, 1.3], np.float32))
    for a in np.linspace(0.2, 1.9, 20):
        panel._pad_picked(np.array([1.1 * np.cos(a), 1.1 * np.sin(a)], np.float32))
        settle(app, panel)
    settle(app, panel)
    out = DOCS / "latent_ring.png"
    host.grab().save(str(out))
    host.close()
    return out


def train_mnist(seconds: float, checkpoint: Path | None) -> Trainer:
    from ganplay.engine.image_models import DCGAN_RECIPE

    if checkpoint is not None and checkpoint.exists():
        # the checkpoint's own config, so a recipe changed since cannot mismatch (e.g. EMA on/off)
        sd = torch.load(checkpoint, weights_only=False)
        tr = Trainer(from_dict(sd["config"]), device="cpu")
        tr.load_state_dict(sd)
        print(f"mnist: resumed at step {tr.step_count} from {checkpoint}")
    else:
        cfg = Config()
        set_field(cfg, "data.name", "mnist")
        for k, v in DCGAN_RECIPE.items():
            set_field(cfg, k, str(v))
        set_field(cfg, "model.conditional", "true")
        tr = Trainer(cfg, device="cpu")
    t0 = last = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        st = tr.step()
        if checkpoint is not None and time.perf_counter() - last > 60:
            torch.save(tr.state_dict(), checkpoint)
            last = time.perf_counter()
            print(f"mnist: step {st.step}, loss_d {st.loss_d:.3f}, loss_g {st.loss_g:.3f}", flush=True)
    if checkpoint is not None:
        torch.save(tr.state_dict(), checkpoint)
    return tr


def mnist_shot(app: QApplication, tr: Trainer) -> Path:
    snap = snapshot_generator(tr)
    panel = LatentPanel()
    panel.set_classifier(default_classifier())
    panel.resize(420, 900)
    panel.show()
    panel.set_generator(snap)
    settle(app, panel)
    panel.set_class(7)
    z = np.random.default_rng(3).standard_normal(snap.latent_dim).astype(np.float32)
    panel.set_z(z)
    panel.set_endpoint("A", z, y=7)
    panel.set_endpoint("B", np.random.default_rng(11).standard_normal(snap.latent_dim).astype(np.float32))
    panel.method_combo.setCurrentText("spherical")
    panel.t_slider.setValue(750)
    settle(app, panel)
    assert np.array_equal(panel.last_frames[0], L.generate_one(snap, z, 7))
    out = DOCS / "latent_mnist.png"
    panel.grab().save(str(out))
    panel.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ring-steps", type=int, default=3000)
    ap.add_argument("--mnist-seconds", type=float, default=900)
    ap.add_argument("--mnist-checkpoint", type=Path, default=None)
    ap.add_argument("--only", choices=("ring", "mnist"), default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    DOCS.mkdir(exist_ok=True)
    if args.only in (None, "ring"):
        print("wrote", ring_shot(app, args.ring_steps))
    if args.only in (None, "mnist"):
        tr = train_mnist(args.mnist_seconds, args.mnist_checkpoint)
        print(f"mnist: step {tr.step_count}")
        print("wrote", mnist_shot(app, tr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
