"""The GUI benches' one measure of responsiveness: how late each tick of a 10 ms precise QTimer
fires while the event loop runs."""
from __future__ import annotations

import time
from typing import Any


def timer_lateness(seconds: float, out: list[float] | None = None, app: Any = None) -> list[float]:
    """Lateness (ms) of each tick during ``seconds``, appended to ``out``. With ``app`` the GUI
    thread polls ``app.processEvents()`` with 1 ms sleeps; without, it sits in a real
    ``QEventLoop`` (as in the app's ``exec()``), woken only by timers and posted events."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    out = [] if out is None else out
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        out.append(max(0.0, (now - last[0]) / 1e6 - 10.0))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    if app is not None:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            app.processEvents()
            time.sleep(0.001)
    else:
        loop = QEventLoop()
        end = QTimer()
        end.setSingleShot(True)
        end.setTimerType(Qt.TimerType.PreciseTimer)
        end.timeout.connect(loop.quit)
        end.start(int(seconds * 1000))
        loop.exec()
    timer.stop()
    return out
