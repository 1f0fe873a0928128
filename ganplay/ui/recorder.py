"""Record a widget (the training canvas) over a stretch of training as an animated GIF or PNGs.

Frames are grabbed on the GUI thread with ``QWidget.grab()`` from a ``QTimer``, so they show
exactly what the user sees, and are kept as small uint8 RGB arrays (downscaled so the longest side
is at most ``max_side``). Encoding is Qt-free (``ganplay.engine.gif``) and can run in a worker.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from ..engine.gif import GifError, save_gif
from ..engine.png import encode_png


class RecordingError(RuntimeError):
    """A recording could not be started or saved; the message is meant for the user."""


def image_to_rgb(img: QImage) -> np.ndarray:
    """A copy of a QImage as a (H, W, 3) uint8 array."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h)
    return rows.reshape(h, img.bytesPerLine())[:, :w * 3].reshape(h, w, 3).copy()


class CanvasRecorder(QObject):
    """Grab a widget ``fps`` times a second until ``stop()`` or ``max_frames``.

    Signals: ``frameCaptured(n)`` after each frame (n frames so far), ``limitReached()`` when the
    recorder stopped itself at ``max_frames``, ``stopped(n)`` whenever recording ends.
    """

    frameCaptured = Signal(int)
    limitReached = Signal()
    stopped = Signal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.capture_now)
        self._widget: QWidget | None = None
        self._frames: list[np.ndarray] = []
        self._size: tuple[int, int] | None = None  # (w, h) of every frame, fixed by the first
        self.fps = 10.0
        self.max_frames = 300
        self.max_side = 480

    # ------------------------------------------------------------------ recording
    def start(self, widget: QWidget, fps: float = 10.0, max_frames: int = 300, max_side: int = 480) -> None:
        """Start a new recording of ``widget`` (previous frames are dropped); grabs one frame now."""
        if not 0 < fps <= 50:
            raise RecordingError(f"frames per second must be between 1 and 50, got {fps}")
        if max_frames < 1 or max_side < 16:
            raise RecordingError("max_frames must be at least 1 and max_side at least 16 pixels")
        self._timer.stop()
        self._widget = widget
        self._frames = []
        self._size = None
        self.fps, self.max_frames, self.max_side = float(fps), int(max_frames), int(max_side)
        self._timer.setInterval(max(1, round(1000 / self.fps)))
        self._timer.start()
        self.capture_now()

    def stop(self) -> list[np.ndarray]:
        """Stop grabbing; returns the frames (kept for ``save_gif``/``save_png_sequence``)."""
        was = self._timer.isActive()
        self._timer.stop()
        self._widget = None
        if was:
            self.stopped.emit(len(self._frames))
        return list(self._frames)

    @property
    def is_recording(self) -> bool:
        return self._timer.isActive()

    @property
    def frames(self) -> list[np.ndarray]:
        return list(self._frames)

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    @property
    def duration_s(self) -> float:
        """Playback length of what was recorded."""
        return len(self._frames) / self.fps

    def capture_now(self) -> None:
        """Grab one frame of the widget being recorded (the timer calls this)."""
        w = self._widget
        if w is None:
            return
        try:
            img = w.grab().toImage()
        except RuntimeError:  # the widget was deleted under us: end the recording, keep the frames
            self.stop()
            return
        if img.isNull() or img.width() == 0 or img.height() == 0:
            return  # hidden or zero-sized for a moment: skip rather than record garbage
        if self._size is None:
            scale = min(1.0, self.max_side / max(img.width(), img.height()))
            self._size = (max(1, round(img.width() * scale)), max(1, round(img.height() * scale)))
        tw, th = self._size
        if (img.width(), img.height()) != (tw, th):
            # same size for every frame; a resized window is stretched to the first frame's size
            img = img.scaled(tw, th, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        self._frames.append(image_to_rgb(img))
        self.frameCaptured.emit(len(self._frames))
        if len(self._frames) >= self.max_frames:
            self.stop()
            self.limitReached.emit()

    # ------------------------------------------------------------------ saving
    def _need_frames(self) -> list[np.ndarray]:
        if not self._frames:
            raise RecordingError("nothing has been recorded yet")
        return list(self._frames)

    def save_gif(self, path: str | Path, palette: str = "global", speed: float = 1.0,
                 n_colors: int = 255, progress: Callable[[int, int], None] | None = None) -> Path:
        """Write the recording as a looping GIF; RecordingError on failure.

        ``speed`` 1 plays at the recorded pace, 2 twice as fast (a time-lapse of a slow run).
        Fewer ``n_colors`` make smaller files (the heatmap gets visible bands below about 64).
        """
        frames = self._need_frames()
        if not speed > 0:
            raise RecordingError(f"playback speed must be positive, got {speed}")
        p = Path(path)
        if p.suffix.lower() != ".gif":
            p = p.with_name(p.name + ".gif")
        try:
            return save_gif(p, frames, delay_ms=1000 / (self.fps * speed), palette=palette,
                            n_colors=n_colors, progress=progress)
        except OSError as exc:
            raise RecordingError(f"cannot write {p}: {exc.strerror or exc}") from exc
        except GifError as exc:
            raise RecordingError(f"cannot make a GIF: {exc}") from exc

    def save_png_sequence(self, folder: str | Path, prefix: str = "frame") -> list[Path]:
        """Write frame_0001.png, frame_0002.png, ... into ``folder`` (created if needed)."""
        frames = self._need_frames()
        d = Path(folder)
        written = []
        try:
            d.mkdir(parents=True, exist_ok=True)
            digits = max(4, len(str(len(frames))))
            for i, f in enumerate(frames, 1):
                p = d / f"{prefix}_{i:0{digits}d}.png"
                p.write_bytes(encode_png(f))
                written.append(p)
        except OSError as exc:
            raise RecordingError(f"cannot write PNG frames to {d}: {exc.strerror or exc}") from exc
        return written
