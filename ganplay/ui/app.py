"""``ganplay`` with no arguments: the playground window on the ring of Gaussians."""
from __future__ import annotations

import os
import sys
import time


def pyside_problem() -> str | None:
    """PySide6 6.12.0's Signal.emit drops a reference to True/None on each call; before Python
    3.12 (no immortal objects) that aborts the process after a few thousand signals."""
    import PySide6

    if PySide6.__version__.startswith("6.12.0") and sys.version_info < (3, 12):
        return (f"PySide6 {PySide6.__version__} has a reference-count bug in Signal.emit that crashes "
                "Python 3.11 after a while; install PySide6-Essentials 6.11 (pip install "
                "'PySide6-Essentials<6.12') or use Python 3.12+")
    return None


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # the trainer runs in a spawned process; a frozen (PyInstaller) build must dispatch it here
    multiprocessing.freeze_support()
    from .platform_check import platform_problem

    # Qt aborts the process when its platform plugin cannot load, naming a library that may not
    # be the missing one: ask ldd first and say which packages to install (Linux with xcb only)
    blocked = platform_problem()
    if blocked:
        print(blocked, file=sys.stderr)
        return 1
    problem = pyside_problem()
    if problem:
        print(f"ganplay: warning: {problem}", file=sys.stderr)
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANISATION

    app = QApplication.instance() or QApplication(list(sys.argv[:1]) + list(argv or []))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("io.github.ganplay.Ganplay")  # matches packaging/*.desktop
    try:
        from PySide6.QtGui import QIcon

        from ..assets import asset_path

        app.setWindowIcon(QIcon(str(asset_path("ganplay.svg"))))
    except FileNotFoundError:  # an install without assets still runs, just without its icon
        pass
    window = MainWindow()
    app.aboutToQuit.connect(window.shutdown)
    if os.environ.get("GANPLAY_REPORT_SHOWN"):
        # for bench/gui_overhead.py: print when the window first paints, then quit
        class _FirstPaint(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
                if ev.type() == QEvent.Type.Paint and not getattr(self, "done", False):
                    self.done = True
                    print(f"GANPLAY_SHOWN {time.time():.4f}", flush=True)
                    if os.environ["GANPLAY_REPORT_SHOWN"] != "frames":
                        QTimer.singleShot(0, window.close)
                return False

        spy = _FirstPaint(window)
        window.installEventFilter(spy)
        if os.environ["GANPLAY_REPORT_SHOWN"] == "frames":
            # also: the real data shown, the engine's first frame, the first trained frame
            def stamp(name: str) -> None:
                print(f"GANPLAY_{name} {time.time():.4f}", flush=True)

            def on_frame(fr: object) -> None:
                if window.frames_received == 1:
                    stamp("ENGINE_FRAME")
                    window.play()
                elif getattr(fr, "step", 0) >= 1:
                    stamp("TRAINED_FRAME")
                    window.frameArrived.disconnect(on_frame)
                    QTimer.singleShot(0, window.close)

            window.previewShown.connect(lambda: stamp("PREVIEW"))
            window.frameArrived.connect(on_frame)
    window.show()
    return int(app.exec())
