"""The shape every training thread of the GUI shares: commands in through one queue, a polite stop."""
from __future__ import annotations

import queue
from typing import Any

from PySide6.QtCore import QThread


class CommandThread(QThread):
    """A QThread whose loop reads ``(command, payload)`` pairs from ``self._queue``.

    The GUI never touches the engine the thread owns: it only calls ``send``. ``stop`` asks the
    loop to end and waits; never ``terminate()``, which can leave torch mid-call.
    """

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()

    def send(self, command: str, payload: Any = None) -> None:
        """Queue a command; the thread handles it between two training steps."""
        self._queue.put((command, payload))

    def stop(self, timeout_ms: int = 2000) -> bool:
        if not self.isRunning():
            return True
        self.requestInterruption()
        self.send("stop")
        return self.wait(timeout_ms)
