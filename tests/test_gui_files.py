"""File menu paths driven through the window: export / open generator, save / open session."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ganplay.engine.config import Config
from ganplay.ui.main_window import MainWindow

pytestmark = [
    pytest.mark.qt_log_ignore("propagateSizeHints"),
    pytest.mark.skipif(importlib.util.find_spec("ganplay.engine.export") is None
                       or importlib.util.find_spec("ganplay.engine.session") is None,
                       reason="needs ganplay.engine.export and ganplay.engine.session"),
]


@pytest.fixture
def window(qtbot):
    cfg = Config()
    cfg.train.batch_size = 64
    cfg.model.g_width = cfg.model.d_width = 32
    w = MainWindow(cfg)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.engineReady, timeout=60_000):
        w.show()
    return w


@pytest.fixture
def errors(monkeypatch):
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: calls.append((title, text)))
    return calls


def _file_event(qtbot, w, kind, trigger):
    """Run ``trigger`` and wait until the window has handled the outcome of file operation
    ``kind``: ("file_done", event) or ("file_failed", event)."""
    from ganplay.live import protocol as P

    done = {"export": P.GeneratorExported, "save_session": P.SessionSaved, "load_session": P.SessionLoaded}[kind]

    def outcome(ev):
        return isinstance(ev, done) or (isinstance(ev, P.FileFailed) and ev.what == kind)

    with qtbot.waitSignal(w.eventHandled, timeout=60_000, check_params_cb=outcome) as blocker:
        trigger()
    ev = blocker.args[0]
    return ("file_failed" if isinstance(ev, P.FileFailed) else "file_done"), ev


def test_export_then_open_generator_keeps_the_session(qtbot, window, errors, tmp_path, monkeypatch, describe):
    w = window
    for _ in range(3):
        w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 3, timeout=10_000)
    path = tmp_path / "gen.ganplay"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    kind, payload = _file_event(qtbot, w, "export", w.act_export.trigger)  # Ctrl+E's action
    assert kind == "file_done" and path.exists(), payload
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(w.generatorOpened, timeout=30_000):   # read and checked off the GUI thread
        w.act_open_gen.trigger()
    assert not errors
    pts = w.canvas.bundle.data
    assert len(pts) == 512  # the bundle's samples are drawn on the canvas
    assert describe(w)["step"] == 3  # the live session is untouched
    # a failing export names the file and loses nothing
    bad = tmp_path / "missing-dir" / "sub" / "gen.ganplay"
    os.chmod(tmp_path, 0o500)
    try:
        kind, payload = _file_event(qtbot, w, "export", lambda: w.export_generator(str(bad)))
    finally:
        os.chmod(tmp_path, 0o700)
    if kind == "file_failed":  # root may write anywhere; then there is nothing to check
        assert errors and "gen.ganplay" in errors[-1][1] and "unchanged" in errors[-1][1]
    assert describe(w)["step"] == 3


def test_save_and_open_session_restores_steps_and_charts(qtbot, window, errors, tmp_path, monkeypatch, describe):
    w = window
    for _ in range(4):
        w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 4 and w.history.get("loss_d").n == 4, timeout=10_000)
    losses = w.history.get("loss_d").data()[1].copy()
    path = tmp_path / "s.gpsession"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    kind, payload = _file_event(qtbot, w, "save_session", w.act_save_session.trigger)  # Ctrl+S's action
    assert kind == "file_done" and path.exists(), payload
    w.act_step.trigger()
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 6, timeout=10_000)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    kind, payload = _file_event(qtbot, w, "load_session", w.act_open_session.trigger)
    assert kind == "file_done", payload
    assert describe(w)["step"] == 4
    np.testing.assert_allclose(w.history.get("loss_d").data()[1], losses)
    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.current_step == 5, timeout=10_000)
    # a broken session file gets a dialog and the session goes on
    junk = tmp_path / "junk.gpsession"
    junk.write_bytes(b"not a zip")
    kind, _ = _file_event(qtbot, w, "load_session", lambda: w.open_session(str(junk)))
    assert kind == "file_failed" and errors and "junk.gpsession" in errors[-1][1]
    assert describe(w)["step"] == 5


def test_point_files_are_read_off_the_gui_thread(qtbot, window, errors, tmp_path, monkeypatch):
    """A 200 MB CSV froze the window for 4 s: files are read in a thread now, and a bad one
    still gets a dialog that names it."""
    import threading

    import numpy as np

    from ganplay.engine import data2d

    w = window
    readers: list[str] = []
    real = data2d.load_points

    def spy(path):
        readers.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(data2d, "load_points", spy)
    good = tmp_path / "pts.csv"
    np.savetxt(good, np.random.default_rng(0).normal(size=(300, 2)), delimiter=",")
    with qtbot.waitSignal(w.pointsLoaded, timeout=30_000):
        w.load_points_file(str(good))
    assert readers and readers[0] != threading.main_thread().name
    qtbot.waitUntil(lambda: w.config.data.name == "points", timeout=30_000)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2,3\nnot,numbers\n")
    w.load_points_file(str(bad))
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "bad.csv" in errors[-1][1]
    assert w.config.data.name == "points"          # the live session is untouched
