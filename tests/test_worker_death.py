"""A training process that cannot even build its loop: the window says why and stops retrying
(it used to start a new one forever)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from ganplay.engine.config import Config  # noqa: E402
from ganplay.live.loop import TrainLoop  # noqa: E402


class BrokenLoop(TrainLoop):
    """Fails in the training process, before any trainer exists (imported there by spawn)."""

    def __init__(self, *args, **kwargs):
        raise TypeError("BrokenLoop has no handler for SomeCommand (test)")


def test_a_process_that_dies_twice_before_a_trainer_is_not_restarted_again(qtbot, monkeypatch):
    from ganplay.ui import main_window
    from ganplay.ui.worker import ProcessWorker

    errors: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: errors.append((title, text)))
    started: list = []

    def make(backend, first, *a, **k):
        started.append(first)
        return ProcessWorker(BrokenLoop, first)

    monkeypatch.setattr(main_window, "make_worker", make)
    cfg = Config()
    cfg.train.batch_size = 32
    w = main_window.MainWindow(cfg, backend="process")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: any(t == "The training process cannot start" for t, _ in errors), timeout=60_000)
    assert "SomeCommand" in errors[-1][1]            # the child's traceback reaches the dialog
    n = len(started)
    qtbot.wait(1500)
    assert len(started) == n == 2 and not w.engine_ready   # no third process
    w.close()
