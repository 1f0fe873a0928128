"""The window shows the real data before the training process is up."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from ganplay.engine.config import Config  # noqa: E402
from ganplay.live import layers as L  # noqa: E402
from ganplay.live.frames import data_preview  # noqa: E402


def test_the_preview_holds_the_real_points_and_density_and_nothing_for_images():
    fr = data_preview(Config().data)
    assert set(fr.layers) == {"real", "density"} and fr.step == 0 and not fr.running
    assert fr.layers["real"].shape == (L.N_REAL, 2) and len(fr.layers["density"]) > 0
    cfg = Config()
    cfg.data.name = "mnist"
    assert data_preview(cfg.data) is None
    cfg = Config()
    cfg.data.name = "points"          # no points yet: nothing to show, no error
    assert data_preview(cfg.data) is None
    pts = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    assert data_preview(cfg.data, pts).layers["real"].shape[1] == 2


def test_the_window_draws_the_preview_before_the_engine(qtbot, monkeypatch):
    from ganplay.ui.main_window import MainWindow

    start = MainWindow._start_worker
    monkeypatch.setattr(MainWindow, "_start_worker", lambda self: None)  # the engine is "slow"
    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    w = MainWindow(cfg, backend="thread")
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.previewShown, timeout=30_000):
        w.show()
    assert not w.engine_ready
    assert len(w.canvas.visuals["real"].scatter.data) == L.N_REAL
    with qtbot.waitSignal(w.engineReady, timeout=60_000):
        start(w)
    w.close()
