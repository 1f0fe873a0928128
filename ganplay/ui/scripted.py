"""The window driven by a script (docs pictures, recordings, benches): an application whose
settings live in a temporary folder, a wait that keeps the event loop turning, and a playground
that is up (its engine ready) before the script goes on."""
from __future__ import annotations

import sys
import tempfile
import time
from typing import Any, Callable


def scripted_app() -> Any:
    """The QApplication, with the window's settings in a fresh temporary folder (a script never
    reads or writes the user's own)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    return QApplication.instance() or QApplication(sys.argv[:1])


def wait_until(app: Any, cond: Callable[[], bool], timeout: float) -> bool:
    """Turn the event loop until ``cond()`` or ``timeout`` seconds; returns ``cond()``."""
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    return cond()


def open_playground(app: Any, config: Any = None, size: tuple[int, int] = (1600, 1000),
                    timeout: float = 120.0) -> Any:
    """The playground window shown at ``size`` without its first-run hint, once its training
    engine is up; None (and a message on stderr) if the engine did not start."""
    from .main_window import MainWindow

    w = MainWindow(config)
    w.settings.setValue("hint_seen", True)
    w.hint_label.hide()
    w.resize(*size)
    w.show()
    if not wait_until(app, lambda: w.engine_ready, timeout):
        print("the engine did not start", file=sys.stderr)
        return None
    return w
