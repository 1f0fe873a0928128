"""The canvas's view through the real window: a legend built from the layer registry, the grid
layers drawn over the whole visible area (the window tells the loop its view with SetView), and
generated samples that leave the view followed up to a limit, then counted at the border."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ganplay.engine.config import Config  # noqa: E402
from ganplay.live import frames as F  # noqa: E402
from ganplay.live import layers as L  # noqa: E402
from ganplay.ui import canvas as CV  # noqa: E402
from ganplay.ui.main_window import MainWindow  # noqa: E402

ENGINE_START_MS = 60_000
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def window_config() -> Config:
    cfg = Config()
    cfg.train.batch_size = 64
    cfg.model.g_width = cfg.model.d_width = 32
    return cfg


@pytest.fixture(scope="module")
def window(open_window):
    return open_window(window_config())


def _pause(qtbot, w):
    w.act_pause.trigger()
    qtbot.waitUntil(lambda: w.latest_frame is not None and not w.latest_frame.running, timeout=5000)
    qtbot.wait(100)


def _reset(qtbot, w):
    """Reset, then draw the new trainer's first frame."""
    _pause(qtbot, w)
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.act_reset.trigger()
    with qtbot.waitSignal(w.frameArrived, timeout=10_000):
        pass
    w.redraw()


def _close(a, b, tol=1e-3) -> bool:
    return a is not None and b is not None and np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol)


# ---------------------------------------------------------------------- 6: the legend
def test_every_layer_has_a_legend_entry_in_its_spec():
    for spec in L.LAYERS:
        assert spec.legend.strip(), spec.name
    assert len({s.legend for s in L.LAYERS}) == len(L.LAYERS)


def test_the_legend_shows_what_is_visible_and_is_remembered(qtbot, window):
    w = window
    act = w.act_legend
    assert act.text() == "Legend" and act.isCheckable() and act.isChecked()
    assert act in w.view_menu.actions()
    legend = w.canvas.legend
    assert legend.isVisible()
    texts = w.canvas.legend_texts()
    for spec in L.LAYERS:   # a training mode's layers (BiGAN, cGAN) only once they draw something
        assert (spec.legend in texts) != bool(spec.mode), spec.name
    # under the plot, never wider than the canvas (a wide legend once pushed the plot past its edge)
    qtbot.wait(50)
    assert w.canvas.plot.geometry().width() <= w.canvas.plot_widget.viewport().width() + 1
    assert w.canvas.legend.geometry().top() >= w.canvas.plot.getViewBox().geometry().bottom()
    # a hidden layer leaves the legend, and comes back with its layer
    w.layer_actions["arrows"].setChecked(False)
    assert L.layer("arrows").legend not in w.canvas.legend_texts()
    w.layer_actions["arrows"].setChecked(True)
    assert L.layer("arrows").legend in w.canvas.legend_texts()
    # the window's own overlays appear while they show something
    assert CV.OVERLAY_LEGEND["bundle"] not in w.canvas.legend_texts()
    w.canvas.set_bundle_points(np.zeros((5, 2), np.float32))
    assert CV.OVERLAY_LEGEND["bundle"] in w.canvas.legend_texts()
    w.canvas.set_bundle_points(None)
    assert CV.OVERLAY_LEGEND["bundle"] not in w.canvas.legend_texts()
    w.canvas.set_path(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert CV.OVERLAY_LEGEND["path"] in w.canvas.legend_texts()
    w.canvas.set_path(None)
    assert CV.OVERLAY_LEGEND["path"] not in w.canvas.legend_texts()
    # off, and remembered in the window's settings
    act.setChecked(False)
    assert not legend.isVisible()
    w.save_settings()
    assert w.settings.value("show_legend", True, bool) is False
    w2 = MainWindow(window_config(), settings=w.settings, backend="thread")
    try:
        assert not w2.act_legend.isChecked() and not w2.canvas.legend.isVisible()
    finally:
        w2.shutdown()
        w2.deleteLater()
    act.setChecked(True)
    assert legend.isVisible()
    w.save_settings()


# ---------------------------------------------------------------------- 6: the surface fills the view
def test_the_loop_samples_grid_layers_on_the_view_it_is_sent():
    """Headless: after SetView the grid payloads carry the view's bounds (the data's bounds
    stay in Frame.bounds); a degenerate view is ignored."""
    import queue

    from ganplay.live import protocol as P
    from ganplay.live.loop import TrainLoop

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    view = (-4.0, 3.0, -2.5, 2.5)
    inbox: queue.Queue = queue.Queue()
    frames: list = []
    loop = TrainLoop(inbox, frames.append, lambda e: None, stopped=lambda: bool(frames), torch_threads=1)
    for cmd in (P.SetView(view), P.SetView((1.0, 1.0, 0.0, 2.0)), P.SetView((0.0, float("nan"), 0.0, 1.0))):
        inbox.put(cmd)
    loop.run(P.Reset(cfg))
    assert loop.view == view
    fr = frames[-1]
    assert fr.bounds == tuple(float(b) for b in loop.trainer.data.bounds) != view
    surface = fr.layers["surface"]
    assert surface["bounds"] == view and surface["grid"].shape == (L.SURFACE_RES, L.SURFACE_RES)
    density = fr.layers["density"]   # a "once" layer, sampled on the view too (near the data)
    assert density[:, 0].min() >= view[0] and density[:, 0].max() <= view[1]
    ctx = L.LayerContext(loop.trainer, fr.bounds, np.zeros((0, 2), np.float32), (-40.0, 40.0, -30.0, 30.0))
    x0, x1, y0, y1 = fr.bounds
    assert L.density_area(ctx) == (x0 - (x1 - x0) / 4, x1 + (x1 - x0) / 4, y0 - (y1 - y0) / 4, y1 + (y1 - y0) / 4)


def test_grid_layers_cover_the_whole_visible_area(qtbot, window, describe):
    w = window
    _reset(qtbot, w)
    fr = w.latest_frame
    x0, x1, y0, y1 = fr.bounds
    view = w.canvas.view_rect()
    # the aspect lock makes the visible area wider or taller than the data's bounds
    assert (view[1] - view[0]) > 1.05 * (x1 - x0) or (view[3] - view[2]) > 1.05 * (y1 - y0)
    # the window told the loop (SetView), and the surface then comes on the visible area
    qtbot.waitUntil(lambda: _close(describe(w).get("view"), w.canvas.view_rect()), timeout=10_000)
    qtbot.waitUntil(lambda: "surface" in w.latest_frame.layers
                    and _close(w.latest_frame.layers["surface"].get("bounds"), w.canvas.view_rect()),
                    timeout=10_000)
    assert w.latest_frame.bounds == fr.bounds  # the data bounds stay the data bounds
    w.redraw()
    img = w.canvas.visuals["surface"].image
    rect = img.mapRectToParent(img.boundingRect())
    vx0, vx1, vy0, vy1 = w.canvas.view_rect()
    tol = 1e-6
    assert rect.left() <= vx0 + tol and rect.right() >= vx1 - tol
    assert rect.top() <= vy0 + tol and rect.bottom() >= vy1 - tol


# ---------------------------------------------------------------------- 7: samples that leave the view
def _frame_with_fake(w, fake: np.ndarray) -> F.Frame:
    last = w.latest_frame
    return F.Frame(step=last.step, running=False, steps_per_sec=0.0, stats={}, bounds=last.bounds,
                   layers={"fake": fake.astype(np.float32)})


def _inside(view, pts) -> np.ndarray:
    x0, x1, y0, y1 = view
    return (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)


def _at_home(view, bounds) -> bool:
    """The view shows the data's bounds, with only the aspect lock's and the padding's room."""
    x0, x1, y0, y1 = bounds
    inside = view[0] <= x0 and view[1] >= x1 and view[2] <= y0 and view[3] >= y1
    return inside and min((view[1] - view[0]) / (x1 - x0), (view[3] - view[2]) / (y1 - y0)) < 1.1


def test_samples_off_the_view_widen_it_up_to_a_limit_then_are_counted_at_the_border(qtbot, window, describe):
    w = window
    _reset(qtbot, w)
    bounds = w.latest_frame.bounds
    assert _at_home(w.canvas.view_rect(), bounds)
    x0, x1, y0, y1 = bounds
    cx, cy, sx, sy = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    rng = np.random.default_rng(0)
    ring = rng.normal(0, 0.1, (512, 2)) + (cx, cy)
    # a few stray points: fewer than 2 % do not move the view
    few = ring.copy()
    few[:5] = (cx - 1.5 * sx, cy + 1.5 * sy)
    home = w.canvas.view_rect()
    w.worker.frameReady.emit(_frame_with_fake(w, few))
    w.redraw()
    assert w.canvas.view_rect() == home
    assert "5 samples off the canvas" in w.canvas.offcanvas_label.toPlainText()  # but they are shown
    # 10 % of the samples run off to (-1.5, +1.5) spans from the centre: the view follows them
    far = ring.copy()
    far[:51] = (cx - 1.5 * sx, cy + 1.5 * sy)
    assert not _inside(home, far[:51]).any()
    w.worker.frameReady.emit(_frame_with_fake(w, far))
    w.redraw()
    view = w.canvas.view_rect()
    assert _inside(view, far).all()
    assert not w.canvas.offcanvas_label.isVisible()
    # the loop hears of the wider view
    qtbot.waitUntil(lambda: _close(describe(w).get("view"), w.canvas.view_rect()), timeout=10_000)
    # farther than the limit (4x the data's span around its centre): the view stops at the
    # limit, and the samples still outside sit on the border with a count
    farther = ring.copy()
    farther[:40] = (cx + 30 * sx, cy + 30 * sy)
    w.worker.frameReady.emit(_frame_with_fake(w, farther))
    w.redraw()
    view = w.canvas.view_rect()
    lim = (cx - CV.FOLLOW_LIMIT / 2 * sx, cx + CV.FOLLOW_LIMIT / 2 * sx,
           cy - CV.FOLLOW_LIMIT / 2 * sy, cy + CV.FOLLOW_LIMIT / 2 * sy)
    tol = 1e-3 * sx
    assert view[1] >= lim[1] - tol and view[3] >= lim[3] - tol         # widened up to the limit ...
    assert abs(view[1] - lim[1]) < tol or abs(view[3] - lim[3]) < tol  # ... and no farther
    assert not _inside(view, farther[:40]).any()
    label = w.canvas.offcanvas_label
    assert label.isVisible() and "40 samples off the canvas" in label.toPlainText()
    marks = np.asarray(w.canvas.offcanvas.getData()).T
    assert len(marks) == 40 and _inside(view, marks).all()
    # the samples come back: after a while the view goes home again
    for _ in range(CV.RETURN_FRAMES - 1):
        w.worker.frameReady.emit(_frame_with_fake(w, ring))
        w.redraw()
    assert not _at_home(w.canvas.view_rect(), bounds)        # not at the first calm frame
    w.worker.frameReady.emit(_frame_with_fake(w, ring))
    w.redraw()
    assert _at_home(w.canvas.view_rect(), bounds)
    assert not w.canvas.offcanvas_label.isVisible()
    # Reset: back to the data's bounds, nothing off the canvas
    w.worker.frameReady.emit(_frame_with_fake(w, farther))
    w.redraw()
    assert not _at_home(w.canvas.view_rect(), bounds) and w.canvas.offcanvas_label.isVisible()
    _reset(qtbot, w)
    assert _at_home(w.canvas.view_rect(), bounds)
    assert not w.canvas.offcanvas_label.isVisible()
