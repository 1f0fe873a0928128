"""Drive the real playground window: train, pause, step, reset, live edits, files, close."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from ganplay.engine import config as C
from ganplay.engine.config import Config
from ganplay.live import frames as F
from ganplay.live import layers as L
from ganplay.live import protocol as P
from ganplay.ui.main_window import MainWindow

ENGINE_START_MS = 60_000   # first torch import + optimiser set-up on a busy 2-core box
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def window_config() -> Config:
    cfg = Config()
    cfg.train.batch_size = 64   # small and quick: the tests check behaviour, not quality
    cfg.model.g_width = cfg.model.d_width = 32
    return cfg


@pytest.fixture(scope="module")
def window(open_window):
    """One window shared by the tests of this module, training in a process of its own as the
    app does."""
    return open_window(window_config(), "process")


@pytest.fixture(scope="module")
def thread_window(open_window):
    """A window whose trainer lives in a thread of this process, for tests that patch the engine."""
    return open_window(window_config(), "thread")


@pytest.fixture
def errors(monkeypatch):
    """Record error dialogs instead of blocking on them."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: calls.append((title, text)))
    return calls


def _npts(curve) -> int:
    x = curve.getData()[0]
    return 0 if x is None else len(x)


def _pause(qtbot, w):
    w.act_pause.trigger()
    qtbot.waitUntil(lambda: w.latest_frame is not None and not w.latest_frame.running, timeout=5000)
    qtbot.wait(100)  # let the last frame be drawn


def _reset(qtbot, w):
    _pause(qtbot, w)
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.act_reset.trigger()
    qtbot.waitUntil(lambda: w.current_step == 0, timeout=5000)


def test_play_updates_counter_and_every_chart(qtbot, window):
    w = window
    _reset(qtbot, w)
    assert w.step_label.text() == "step 0"
    w.act_play.trigger()
    keys = ["loss_d", "loss_g", "d_real", "d_fake", "grad_d", "grad_g", "jsd", "modes_pct",
            "hq_pct", "w1", "jsd_eval"]

    def charts_filled():
        return all(_npts(w.charts.curves[k]) >= 2 for k in keys)

    qtbot.waitUntil(lambda: w.current_step > 30 and charts_filled(), timeout=30_000)
    assert w.step_label.text() == f"step {w.current_step}"
    losses = w.charts.curves["loss_d"].getData()[1]
    assert np.isfinite(losses).all() and len(np.unique(losses)) > 1
    assert w.charts.bars.opts["height"] is not None and len(w.charts.bars.opts["height"]) == 8
    # the canvas layers hold data from the trainer
    vis = w.canvas.visuals
    assert vis["fake"].scatter.data.size > 0 and vis["real"].scatter.data.size > 0
    surface = vis["surface"].image
    assert surface.image is not None and surface.image.shape == (L.SURFACE_RES, L.SURFACE_RES)
    first = surface.image.copy()
    fake_before = np.array(vis["fake"].scatter.getData()[0]).copy()
    qtbot.waitUntil(lambda: not np.array_equal(surface.image, first), timeout=10_000)
    qtbot.waitUntil(lambda: not np.array_equal(np.array(vis["fake"].scatter.getData()[0]), fake_before), timeout=10_000)
    assert len(vis["arrows"].curve.getData()[0]) > 0
    assert len(vis["mesh"].curve.getData()[0]) > 0
    assert len(vis["density"].curve.getData()[0]) > 0  # the real-data density contours


def test_pause_step_and_reset(qtbot, window, describe):
    w = window
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.current_step > 5, timeout=10_000)
    _pause(qtbot, w)
    paused_at = w.current_step
    assert describe(w)["step"] == paused_at
    qtbot.wait(400)
    assert w.current_step == paused_at and describe(w)["step"] == paused_at
    with qtbot.waitSignal(w.frameArrived, timeout=5000):
        w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == paused_at + 1, timeout=5000)
    qtbot.wait(300)
    assert w.current_step == paused_at + 1
    w.act_step_d.trigger()
    qtbot.waitUntil(lambda: w.current_step == paused_at + 2, timeout=5000)
    w.act_step_g.trigger()
    qtbot.waitUntil(lambda: w.current_step == paused_at + 3, timeout=5000)
    w.act_reset.trigger()
    qtbot.waitUntil(lambda: w.current_step == 0, timeout=10_000)
    assert w.step_label.text() == "step 0"
    assert w.history.get("loss_d").n == 0  # a reset starts new charts


def test_change_loss_and_learning_rate_while_running(qtbot, window, describe):
    w = window
    _reset(qtbot, w)
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.current_step > 5, timeout=10_000)
    panel = w.setup_panel
    panel.widgets["loss.name"].setCurrentText("hinge")
    lr = panel.widgets["train.lr_d"]
    lr.setText("0.0005")
    lr.editingFinished.emit()
    qtbot.waitUntil(lambda: w.config.loss.name == "hinge" and w.config.train.lr_d == 5e-4, timeout=10_000)
    live = describe(w)
    assert live["config"].loss.name == "hinge"
    assert live["lr_d"] and all(lr == 5e-4 for lr in live["lr_d"])
    assert not w.pending  # live fields need no reset
    step = w.current_step
    qtbot.waitUntil(lambda: w.current_step > step + 5, timeout=10_000)  # still training
    # a structural field asks for a reset instead
    panel.widgets["model.g_width"].setValue(48)
    assert "model.g_width" in w.pending and "Reset" in panel.pending_label.text()
    _reset(qtbot, w)
    live = describe(w)
    assert live["config"].model.g_width == 48 and not w.pending
    assert live["config"].loss.name == "hinge"  # reset keeps the user's edits


def test_bad_value_gets_a_dialog(qtbot, window, errors):
    w = window
    lr = w.setup_panel.widgets["train.lr_g"]
    before = w.setup_panel.config.train.lr_g
    lr.setText("fast")
    lr.editingFinished.emit()
    assert errors and "train.lr_g" in errors[-1][1]
    assert w.setup_panel.config.train.lr_g == before and lr.text() == f"{before:g}"


def test_bad_csv_shows_a_dialog_naming_the_file(qtbot, window, errors, tmp_path, monkeypatch):
    w = window
    bad = tmp_path / "not_points.csv"
    bad.write_text("x,y,z\n1,2,3\n4,5,6\n")
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    w.act_load_data.trigger()   # the file is read in a thread: the dialog follows
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    title, text = errors[-1]
    assert "not_points.csv" in text
    assert w.setup_panel.config.data.name == "ring"  # nothing changed


def test_drawn_points_survive_reset(qtbot, window, errors, describe):
    w = window
    _reset(qtbot, w)
    w.act_draw.trigger()  # checkable: on
    assert w.canvas.draw_mode
    vp = w.canvas.plot_widget.viewport()
    centre = vp.rect().center()
    for dx, dy in [(-60, 0), (-30, 20), (0, 0), (30, -20), (60, 0), (0, 40), (0, -40)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=centre + QPoint(dx, dy))
    n_drawn = len(w._drawn_array())
    assert n_drawn >= 10  # each click sprays a few points
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.act_draw.trigger()  # off: train on the drawing
    assert describe(w)["data"] == "points"
    assert w.config.data.name == "points" and len(w.points) == n_drawn
    assert np.load(w.config.data.path).shape == (n_drawn, 2)  # the drawing is kept as a file
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        w.act_reset.trigger()
    assert describe(w)["data"] == "points"
    assert w.setup_panel.config.data.name == "points"
    assert not errors
    # back to the ring for the other tests
    w.setup_panel.widgets["data.name"].setCurrentText("ring")
    _reset(qtbot, w)
    assert describe(w)["data"] == "ring"


def test_divergence_pauses_and_offers_the_last_good_state(qtbot, thread_window, monkeypatch):
    from ganplay.engine.trainer import TrainingDiverged

    w = thread_window
    _reset(qtbot, w)
    tr = w.worker.trainer
    good_lr = w.config.train.lr_d
    # a live edit after the last good state: going back must bring the panel, the window's
    # config and the optimiser back to the good state's rate together (issue 16 item 5)
    lr_edit = w.setup_panel.widgets["train.lr_d"]
    lr_edit.setText("5")
    with qtbot.waitSignal(w.eventHandled, timeout=5000, check_params_cb=lambda ev: isinstance(ev, P.FieldSet)):
        lr_edit.editingFinished.emit()
    assert w.config.train.lr_d == 5.0

    def diverge(mode="both", target=None):
        raise TrainingDiverged("discriminator loss became nan at step 1 (test)")

    monkeypatch.setattr(tr, "step", diverge)
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=5000)
    assert "diverged" in w.banner_label.text() and "nan" in w.banner_label.text()
    assert w.banner_kind == "error"
    assert w.banner_restore.isVisible() and not w.worker.loop.running and not w.running
    monkeypatch.undo()
    with qtbot.waitSignal(w.worker.event, timeout=5000, check_params_cb=lambda ev: isinstance(ev, P.Restored)):
        w.banner_restore.click()
    assert not w.banner.isVisible()
    qtbot.waitUntil(lambda: w.config.train.lr_d == good_lr, timeout=5000)
    assert w.setup_panel.widgets["train.lr_d"].text() == f"{good_lr:g}"
    assert [g["lr"] for g in tr.opt_d.param_groups] == [good_lr] and not w.pending


def test_image_data_shows_a_sample_grid(qtbot, thread_window):
    import torch

    class TinyImages:
        """8x8 'images' in [-1, 1]: enough to exercise the image path without MNIST."""
        name = "tiny"
        image_shape = (1, 8, 8)
        dim = 64

        def sample(self, n, generator, device="cpu"):
            return torch.rand(n, 64, generator=generator, device=device) * 2 - 1

    w = thread_window  # TinyImages is local to this test: it cannot travel to another process
    _pause(qtbot, w)
    cfg = w.setup_panel.config.copy()
    cfg.data.name = "mnist"
    w.worker.send(P.Reset(cfg, data=TinyImages()))
    qtbot.waitUntil(lambda: w.canvas.image_mode and w.canvas.grid_image.image is not None, timeout=10_000)
    img = w.canvas.grid_image.image
    assert img.shape == (8 * 9 - 1, 8 * 9 - 1)  # 64 samples in an 8 x 8 grid, 1-pixel gaps
    assert img.min() >= -1 and img.max() <= 1
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 1, timeout=5000)
    w.setup_panel.set_config(Config())
    _reset(qtbot, w)
    qtbot.waitUntil(lambda: not w.canvas.image_mode, timeout=5000)


def test_switch_to_mnist_shows_digits_and_image_metrics(qtbot, window, describe):
    """In the app's own (process) worker: MNIST from the shipped files, a small DCGAN, the fixed-z
    grid with fixed levels, the digit histogram and the classifier's figures on the charts."""
    w = window
    _pause(qtbot, w)
    cfg = Config()
    for path, value in (("data.name", "mnist"), ("data.limit", 300), ("model.arch", "dcgan"),
                        ("model.g_width", 16), ("model.d_width", 8), ("model.latent_dim", 8),
                        ("train.batch_size", 16)):
        C.set_field(cfg, path, value)
    w.setup_panel.set_config(cfg)
    _reset(qtbot, w)
    assert describe(w)["data"] == "mnist"
    qtbot.waitUntil(lambda: w.canvas.image_mode and w.canvas.grid_image.image is not None, timeout=20_000)
    assert w.canvas.grid_image.image.shape == (8 * 29 - 1, 8 * 29 - 1)  # 64 digits, 1-pixel gaps
    assert w.canvas.grid_image.levels is not None and list(w.canvas.grid_image.levels) == [-1, 1]
    for _ in range(3):
        w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 3, timeout=10_000)
    # paused: the worker measures at once; the charts switch to the image figures
    qtbot.waitUntil(lambda: w.history.get("mnist_score").n > 0 and w.charts.kind == "image", timeout=20_000)
    qtbot.wait(300)
    score = w.history.get("mnist_score").data()[1][-1]
    assert 1.0 <= score <= 10.0
    assert w.history.get("fid").data()[1][-1] > 0
    assert 0 <= w.history.get("modes_pct").data()[1][-1] <= 100
    assert _npts(w.charts.curves["mnist_score"]) >= 1 and _npts(w.charts.curves["fid"]) >= 1
    assert "MNIST score" in " ".join(w.charts.plots) and len(w.charts.bars.opts["height"]) == 10
    w.setup_panel.set_config(Config())
    _reset(qtbot, w)
    qtbot.waitUntil(lambda: not w.canvas.image_mode and w.charts.kind == "2d", timeout=10_000)
    w.setup_panel.set_config(window_config())
    _reset(qtbot, w)


def test_mnist_from_a_folder_shows_loading_progress_and_a_bad_folder_a_dialog(qtbot, window, errors,
                                                                              describe, tmp_path):
    from ganplay.assets import asset_path

    w = window
    _pause(qtbot, w)
    events: list[tuple] = []
    w.worker.event.connect(lambda ev: events.append((ev.fraction, ev.text)) if isinstance(ev, P.Loading) else None)
    cfg = Config()
    for path, value in (("data.name", "mnist"), ("data.path", str(asset_path("mnist"))),
                        ("data.limit", 200), ("model.arch", "dcgan"), ("model.g_width", 16),
                        ("model.d_width", 8), ("model.latent_dim", 8), ("train.batch_size", 16)):
        C.set_field(cfg, path, value)
    w.setup_panel.set_config(cfg)
    _reset(qtbot, w)
    assert describe(w)["data"] == "mnist"
    assert events and events[0][0] < 1.0 and "images" in events[0][1] and events[-1][0] == 1.0
    assert not w.load_bar.isVisible()
    # a folder without MNIST files: a dialog that names what is missing; the session stays
    cfg.data.path = str(tmp_path)
    w.setup_panel.set_config(cfg)
    w.act_reset.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert str(tmp_path) in errors[-1][1] or "MNIST" in errors[-1][1]
    assert describe(w)["data"] == "mnist"
    w.setup_panel.set_config(window_config())
    _reset(qtbot, w)


def test_a_lost_training_process_is_replaced_with_a_message(qtbot, window, errors, describe):
    import os
    import signal

    w = window
    assert w.worker.backend == "process" and w.worker.pid and w.worker.pid != os.getpid()
    _pause(qtbot, w)
    old = w.worker
    with qtbot.waitSignal(w.resetDone, timeout=ENGINE_START_MS):
        os.kill(old.pid, signal.SIGKILL)
    assert w.worker is not old and not old.isRunning()
    assert errors and "stopped unexpectedly" in errors[-1][0] and "new one" in errors[-1][1]
    assert describe(w)["step"] == 0 and w.current_step == 0
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 1, timeout=10_000)


def test_no_training_process_falls_back_to_a_thread(qtbot, monkeypatch):
    import multiprocessing.context

    def refuse(self):
        raise OSError("process creation refused (test)")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    w = MainWindow(window_config(), backend="process")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.engine_ready, timeout=ENGINE_START_MS)
    assert w.worker.backend == "thread" and w.backend == "thread"
    assert "process creation refused" in w.statusBar().currentMessage()
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 1, timeout=10_000)
    w.close()
    assert not w.worker.isRunning()


def test_worker_backend_follows_the_environment(monkeypatch):
    from ganplay.ui.worker import default_backend, make_worker

    monkeypatch.delenv("GANPLAY_WORKER", raising=False)
    assert default_backend() == "process"
    monkeypatch.setenv("GANPLAY_WORKER", "thread")
    assert default_backend() == "thread"
    with pytest.raises(ValueError, match="unknown worker backend"):
        make_worker("fork", P.Reset(Config()))


def test_chart_export_and_clear(qtbot, window, tmp_path):
    w = window
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.history.get("loss_d").n > 10, timeout=10_000)
    _pause(qtbot, w)
    csv_path = tmp_path / "charts.csv"
    png_path = tmp_path / "charts.png"
    assert w.export_charts_csv(str(csv_path)) and w.export_charts_png(str(png_path))
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("step,") and "loss_d" in rows[0]
    header = rows[0].split(",")
    steps = [int(r.split(",")[0]) for r in rows[1:]]
    loss_col = header.index("loss_d")
    with_loss = [float(r.split(",")[loss_col]) for r in rows[1:] if r.split(",")[loss_col]]
    assert np.allclose(with_loss, w.history.get("loss_d").data()[1])
    assert steps == sorted(steps)
    assert png_path.stat().st_size > 1000
    w.act_clear_charts.trigger()
    assert w.history.get("loss_d").n == 0 and _npts(w.charts.curves["loss_d"]) == 0


def test_file_actions_follow_the_engine_modules(window):
    import importlib.util

    for act, module in ((window.act_export, "ganplay.engine.export"),
                        (window.act_save_session, "ganplay.engine.session")):
        present = importlib.util.find_spec(module) is not None
        assert act.isEnabled() == present
        if not present:
            assert module in act.toolTip()
    assert window.act_export.shortcut().toString() == "Ctrl+E"
    assert window.act_save_session.shortcut().toString() == "Ctrl+S"
    assert window.act_toggle.shortcut().toString() == "Space"
    assert window.act_step.shortcut().toString() == "S"
    assert window.act_reset.shortcut().toString() == "R"
    assert "MNIST" in window.about_text() and "LeCun" in window.about_text()


@pytest.mark.qt_log_level_fail("WARNING")
def test_close_while_running_stops_the_worker_quickly(qtbot, qapp, window):
    cfg = Config()
    cfg.train.batch_size = 64
    w = MainWindow(cfg)
    w.show()
    qtbot.waitUntil(lambda: w.engine_ready, timeout=ENGINE_START_MS)
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.current_step > 5, timeout=10_000)
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    assert not w.worker.isRunning()
    assert elapsed < 1.0, f"closing took {elapsed:.2f} s"
    w.deleteLater()
    qapp.processEvents()


def test_keyboard_shortcuts(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = window
    _reset(qtbot, w)
    from PySide6.QtWidgets import QApplication

    w.raise_()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.current_step > 3, timeout=10_000)
    assert w.running
    qtbot.keyClick(w.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.latest_frame is not None and not w.latest_frame.running, timeout=5000)
    qtbot.wait(150)
    s = w.current_step
    qtbot.keyClick(w.canvas, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: w.current_step == s + 1, timeout=5000)
    with qtbot.waitSignal(w.resetDone, timeout=10_000):
        qtbot.keyClick(w.canvas, Qt.Key.Key_R)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (asked.append(a[1]), ("", ""))[1])
    for key in (Qt.Key.Key_E, Qt.Key.Key_S):
        if key == Qt.Key.Key_E and not w.act_export.isEnabled():
            continue
        qtbot.keyClick(w.canvas, key, Qt.KeyboardModifier.ControlModifier)
    expected = [t for t, a in (("Export generator", w.act_export), ("Save session", w.act_save_session)) if a.isEnabled()]
    assert asked == expected


def test_record_the_canvas_to_a_gif(qtbot, window, tmp_path, monkeypatch):
    import importlib.util

    from PySide6.QtWidgets import QFileDialog

    if importlib.util.find_spec("ganplay.ui.recorder") is None:
        assert not window.act_record.isEnabled()
        return
    w = window
    out = tmp_path / "run.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    w.act_record.trigger()
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.recorder.frame_count >= 3, timeout=10_000)
    w.act_record.trigger()  # stop: asks where to save
    _pause(qtbot, w)
    assert out.exists() and out.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_cuda_out_of_memory_mid_training_falls_back_to_the_cpu(qtbot, thread_window):
    """An injected CUDA OOM in a step: the window says so, shows the CPU, and keeps the run."""
    import torch

    w = thread_window
    _pause(qtbot, w)
    tr = w.worker.trainer
    step_before = tr.step_count

    def oom(mode="both", target=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    tr.device = torch.device("cuda")  # pretend the run lives on a GPU that just filled up
    tr.step = oom
    w.act_step.trigger()
    qtbot.waitUntil(lambda: "CPU" in w.banner_label.text(), timeout=10_000)
    assert "out of memory" in w.banner_label.text().lower()
    assert w.banner_kind == "warning"
    assert w.device_label.text() == "device: cpu"
    qtbot.waitUntil(lambda: w.worker.trainer is not tr and w.worker.trainer.step_count == step_before + 1,
                    timeout=10_000)
    assert w.worker.trainer.device.type == "cpu"


def test_compare_window_opens_and_a_multiple_continues_here(qtbot, window, describe):
    from ganplay.engine.trainer import Trainer

    w = window
    _pause(qtbot, w)
    view = w.open_compare()
    assert view.isVisible() and view.base_config.loss.name == w.config.loss.name
    cfg = w.config.copy()
    cfg.loss.name = "hinge"
    tr = Trainer(cfg)
    for _ in range(3):
        tr.step()
    view.openInPlayground.emit((cfg, tr.state_dict()))  # what clicking a multiple sends
    qtbot.waitUntil(lambda: w.config.loss.name == "hinge" and w.current_step == 3, timeout=10_000)
    live = describe(w)
    assert live["step"] == 3 and live["config"].loss.name == "hinge"
    # the weights crossed into the training process intact: its frame shows G(fixed z) exactly
    qtbot.waitUntil(lambda: w.latest_frame is not None and w.latest_frame.step == 3
                    and "fake" in w.latest_frame.layers, timeout=10_000)
    np.testing.assert_allclose(w.latest_frame.layers["fake"], tr.generate(F.fixed_z(tr, F.N_FAKE)), atol=1e-6)
    view.close()
