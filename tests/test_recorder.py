"""CanvasRecorder: grabs a changing widget on a timer, downsizes, saves a GIF Qt can read back."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter
from PySide6.QtWidgets import QWidget

from ganplay.ui.recorder import CanvasRecorder, RecordingError

PALETTE = [QColor(200, 30, 30), QColor(30, 160, 60), QColor(40, 80, 220), QColor(240, 200, 20)]


class Blinker(QWidget):
    """Fills itself with the next palette colour each time ``advance`` runs, plus a moving bar."""

    def __init__(self, w: int = 120, h: int = 80):
        super().__init__()
        self.resize(w, h)
        self.tick = 0

    def advance(self) -> None:
        self.tick += 1
        self.update()

    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), PALETTE[self.tick % len(PALETTE)])
        p.fillRect((self.tick * 7) % max(1, self.width() - 10), 5, 10, 10, QColor("white"))
        p.end()


def read_gif(path) -> list[np.ndarray]:
    reader = QImageReader(str(path))
    out = []
    while True:
        img = reader.read()
        if img.isNull():
            return out
        img = img.convertToFormat(QImage.Format.Format_RGB888)
        a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        out.append(a[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy())


def test_records_a_changing_widget_on_a_timer(qtbot, tmp_path):
    w = Blinker()
    qtbot.addWidget(w)
    w.show()
    anim = QTimer()
    anim.timeout.connect(w.advance)
    anim.start(15)
    rec = CanvasRecorder()
    counts = []
    rec.frameCaptured.connect(counts.append)
    rec.start(w, fps=25)
    assert rec.is_recording
    qtbot.waitUntil(lambda: rec.frame_count >= 6, timeout=5000)
    with qtbot.waitSignal(rec.stopped):
        frames = rec.stop()
    anim.stop()
    assert not rec.is_recording
    assert len(frames) >= 6 and counts[:3] == [1, 2, 3]
    assert all(f.shape == (80, 120, 3) and f.dtype == np.uint8 for f in frames)
    # the widget changed while recording and the frames show it
    corner = {tuple(f[40, 60]) for f in frames}
    assert len(corner) >= 2
    assert corner <= {(c.red(), c.green(), c.blue()) for c in PALETTE}

    path = rec.save_gif(tmp_path / "blink.gif")
    back = read_gif(path)
    assert len(back) == len(frames)
    for a, b in zip(back, frames):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 2.0


def test_large_widget_is_downscaled_and_png_sequence_written(qtbot, tmp_path):
    w = Blinker(800, 600)
    qtbot.addWidget(w)
    rec = CanvasRecorder()
    rec.start(w, fps=1, max_side=200)  # fps=1: only the immediate grab and the ones we ask for
    for _ in range(3):
        w.advance()
        rec.capture_now()
    rec.stop()
    frames = rec.frames
    assert len(frames) == 4
    assert frames[0].shape == (150, 200, 3)
    # a resize while recording keeps the frame size fixed
    w.resize(300, 500)
    rec.start(w, fps=1, max_side=200)
    w.resize(640, 200)
    rec.capture_now()
    rec.stop()
    assert {f.shape for f in rec.frames} == {(200, 120, 3)}

    files = rec.save_png_sequence(tmp_path / "seq")
    assert [p.name for p in files] == ["frame_0001.png", "frame_0002.png"]
    img = QImage(str(files[1]))
    assert (img.width(), img.height()) == (120, 200)


def test_stops_itself_at_max_frames(qtbot):
    w = Blinker()
    qtbot.addWidget(w)
    rec = CanvasRecorder()
    with qtbot.waitSignal(rec.limitReached, timeout=5000):
        rec.start(w, fps=50, max_frames=3)
    assert not rec.is_recording
    assert rec.frame_count == 3
    assert rec.duration_s == pytest.approx(3 / 50)


def test_errors_are_clear(qtbot, tmp_path):
    w = Blinker()
    qtbot.addWidget(w)
    rec = CanvasRecorder()
    with pytest.raises(RecordingError, match="nothing has been recorded"):
        rec.save_gif(tmp_path / "a.gif")
    with pytest.raises(RecordingError, match="frames per second"):
        rec.start(w, fps=0)
    rec.start(w, fps=5)
    rec.stop()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordingError, match="cannot write") as err:
        rec.save_gif(blocker / "a.gif")  # a folder that is a file
    assert str(blocker) in str(err.value)
    with pytest.raises(RecordingError, match="cannot write PNG"):
        rec.save_png_sequence(blocker / "seq")
    with pytest.raises(RecordingError, match="speed"):
        rec.save_gif(tmp_path / "a.gif", speed=0)
    # a name without .gif gets the extension; speed 2 halves the frame delay (5 fps -> 100 ms)
    path = rec.save_gif(tmp_path / "clip", speed=2)
    assert path.name == "clip.gif"
    reader = QImageReader(str(path))
    reader.read()
    assert reader.nextImageDelay() == 100


def test_deleted_widget_ends_recording_and_keeps_frames(qtbot):
    w = Blinker()
    rec = CanvasRecorder()
    rec.start(w, fps=1)
    w.deleteLater()
    qtbot.waitUntil(lambda: not _alive(w), timeout=2000)
    rec.capture_now()
    assert not rec.is_recording
    assert rec.frame_count == 1


def _alive(w) -> bool:
    import shiboken6

    return shiboken6.isValid(w)


def test_records_a_pyqtgraph_scatter(qtbot):
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    plot.resize(300, 300)
    plot.setBackground("w")
    plot.setXRange(-2, 2, padding=0)
    plot.setYRange(-2, 2, padding=0)
    scatter = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(120, 40, 160), pen=None)
    plot.addItem(scatter)
    qtbot.addWidget(plot)
    plot.show()
    rec = CanvasRecorder()
    rec.start(plot, fps=1)
    for angle in (0.0, 1.5, 3.0):  # one point moving around a circle
        scatter.setData([np.cos(angle)], [np.sin(angle)])
        qtbot.wait(20)
        rec.capture_now()
    frames = rec.stop()[1:]
    purple = [np.argwhere((np.abs(f.astype(int) - (120, 40, 160)).sum(-1) < 40)) for f in frames]
    centres = [p.mean(0) for p in purple]
    assert all(len(p) > 20 for p in purple)
    # the dot moved between frames by roughly the expected distance (about a quarter turn)
    assert np.linalg.norm(centres[0] - centres[1]) > 40
    assert np.linalg.norm(centres[1] - centres[2]) > 40
