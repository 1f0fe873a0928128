"""Small custom widgets of the latent explorer: the z-pad, one slider row, the frame strip.

They only display and report; the panel (latent_panel.py) owns the state and calls G.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

SLIDER_STEPS = 1000          # integer slider positions across [-lim, lim]
COLOR_A = QColor(31, 119, 180)
COLOR_B = QColor(255, 127, 14)
COLOR_Z = QColor(214, 39, 40)


def frame_color(k: int, n: int) -> QColor:
    """A -> B colour ramp shared by the pad's path dots and the strip's frames."""
    u = k / max(1, n - 1)
    return QColor(int(COLOR_A.red() * (1 - u) + COLOR_B.red() * u),
                  int(COLOR_A.green() * (1 - u) + COLOR_B.green() * u),
                  int(COLOR_A.blue() * (1 - u) + COLOR_B.blue() * u))


class ZPad(QWidget):
    """A square view of a 2D latent plane; press or drag with the left button to pick z.

    Shows the prior (1- and 2-sigma circles, or the uniform square), the cells of the manifold
    mesh with the current one highlighted, the recent z trail, the A -> B path and z itself.
    """

    zPicked = Signal(object)     # np.ndarray (2,) float32

    MARGIN = 6

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.limit = 3.0                      # half-width of the shown z range
        self.prior = "gaussian"
        self.z = np.zeros(2, np.float32)
        self.trail = np.zeros((0, 2), np.float32)
        self.path: np.ndarray | None = None   # (M, 2) z-path A -> B
        self.frame_stride = 1
        self.mesh_res = 21
        self.mesh_lim = 2.5
        self.cell: tuple[int, int] | None = None
        self._dragging = False
        self._bg: QPixmap | None = None
        self._bg_key: tuple | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag to move z in the 2D latent plane; G(z) moves on the canvas")

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        return w

    # -------------------------------------------------------------- geometry
    def _square(self) -> QRectF:
        side = max(10.0, min(self.width(), self.height()) - 2.0 * self.MARGIN)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def z_to_pos(self, z: np.ndarray) -> QPointF:
        r = self._square()
        s = r.width() / (2 * self.limit)
        return QPointF(r.center().x() + float(z[0]) * s, r.center().y() - float(z[1]) * s)

    def pos_to_z(self, pos: QPointF) -> np.ndarray:
        """The z under widget position ``pos`` (y up), clamped to the shown range."""
        r = self._square()
        s = r.width() / (2 * self.limit)
        z = np.array([(pos.x() - r.center().x()) / s, (r.center().y() - pos.y()) / s], np.float32)
        return np.clip(z, -self.limit, self.limit).astype(np.float32)

    # -------------------------------------------------------------- state from the panel
    def set_state(self, z: np.ndarray, trail: np.ndarray, cell: tuple[int, int] | None) -> None:
        self.z = np.asarray(z, np.float32).reshape(2)
        self.trail = np.asarray(trail, np.float32).reshape(-1, 2)
        self.cell = cell
        self.update()

    def set_path(self, path: np.ndarray | None, frame_stride: int = 1) -> None:
        self.path = None if path is None else np.asarray(path, np.float32).reshape(-1, 2)
        self.frame_stride = max(1, frame_stride)
        self.update()

    # -------------------------------------------------------------- mouse
    def _pick(self, event: QMouseEvent) -> None:
        self.zPicked.emit(self.pos_to_z(event.position()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled():
            self._dragging = True
            self._pick(event)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self._pick(event)
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    # -------------------------------------------------------------- painting
    def _background(self) -> QPixmap:
        """Grid, prior and axes depend only on size and settings: drawn once into a pixmap,
        since redrawing dashed antialiased circles and 42 lines on every drag move cost ~8 ms."""
        key = (self.width(), self.height(), self.devicePixelRatioF(), self.limit, self.prior,
               self.mesh_res, self.mesh_lim, self.isEnabled())
        if self._bg is not None and self._bg_key == key:
            return self._bg
        dpr = self.devicePixelRatioF()
        pm = QPixmap(int(self.width() * dpr), int(self.height() * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(self.palette().window().color())   # opaque: Qt need not paint the parents first
        p = QPainter(pm)
        r = self._square()
        p.fillRect(r, QColor(250, 250, 250) if self.isEnabled() else QColor(230, 230, 230))
        s = r.width() / (2 * self.limit)
        c = r.center()
        # manifold-mesh cells (the grid metrics.manifold_mesh evaluates G on)
        if self.mesh_res >= 2:
            step = 2 * self.mesh_lim / (self.mesh_res - 1)
            p.setPen(QPen(QColor(225, 225, 225), 0))
            for k in range(self.mesh_res):
                v = (-self.mesh_lim + k * step) * s
                p.drawLine(QPointF(c.x() + v, c.y() - self.mesh_lim * s), QPointF(c.x() + v, c.y() + self.mesh_lim * s))
                p.drawLine(QPointF(c.x() - self.mesh_lim * s, c.y() + v), QPointF(c.x() + self.mesh_lim * s, c.y() + v))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(150, 150, 150), 1, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        if self.prior == "uniform":
            p.drawRect(QRectF(c.x() - s, c.y() - s, 2 * s, 2 * s))
        else:
            for k in (1, 2):
                p.drawEllipse(c, k * s, k * s)
        p.setPen(QPen(QColor(190, 190, 190), 1))
        p.drawLine(QPointF(r.left(), c.y()), QPointF(r.right(), c.y()))
        p.drawLine(QPointF(c.x(), r.top()), QPointF(c.x(), r.bottom()))
        p.setPen(QColor(120, 120, 120))
        p.drawText(r.adjusted(3, 1, -3, -1), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, "z1")
        p.drawText(r.adjusted(3, 1, -3, -1), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "z2")
        p.end()
        self._bg, self._bg_key = pm, key
        return pm

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._background())
        r = self._square()
        s = r.width() / (2 * self.limit)
        c = r.center()
        if self.cell is not None and self.mesh_res >= 2:
            step = 2 * self.mesh_lim / (self.mesh_res - 1)
            i, j = self.cell
            x0 = c.x() + (-self.mesh_lim + j * step) * s
            y0 = c.y() - (-self.mesh_lim + (i + 1) * step) * s
            col = QColor(255, 170, 60)
            col.setAlpha(110)
            p.fillRect(QRectF(x0, y0, step * s, step * s), col)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        # interpolation path with its frames
        if self.path is not None and len(self.path) >= 2:
            qp = QPainterPath(self.z_to_pos(self.path[0]))
            for zz in self.path[1:]:
                qp.lineTo(self.z_to_pos(zz))
            p.setPen(QPen(QColor(120, 120, 120), 1))
            p.drawPath(qp)
            frames = self.path[:: self.frame_stride]
            for k, zz in enumerate(frames):
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(frame_color(k, len(frames)))
                rad = 5.0 if k in (0, len(frames) - 1) else 3.0
                p.drawEllipse(self.z_to_pos(zz), rad, rad)
            p.setPen(QColor(40, 40, 40))
            for name, zz in (("A", self.path[0]), ("B", self.path[-1])):
                q = self.z_to_pos(zz)
                p.drawText(QPointF(q.x() + 6, q.y() - 6), name)
        # trail of recent z, then z
        p.setPen(Qt.PenStyle.NoPen)
        n = len(self.trail)
        for k, zz in enumerate(self.trail):
            col = QColor(COLOR_Z)
            col.setAlpha(int(200 * (1 - k / max(1, n))))
            p.setBrush(col)
            p.drawEllipse(self.z_to_pos(zz), 2.5, 2.5)
        p.setBrush(COLOR_Z)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawEllipse(self.z_to_pos(self.z), 6, 6)
        p.end()


class AxisRow(QWidget):
    """One latent axis: name, slider over [-lim, lim] and a numeric entry (which may go beyond)."""

    valueEdited = Signal(int, float)   # (row index, new coordinate)

    def __init__(self, index: int, limit: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.index = index
        self.limit = limit
        self.label = QLabel(f"z{index + 1}")
        self.label.setMinimumWidth(46)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(100)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-10.0, 10.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.1)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(74)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self._shown: float | None = None
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def slider_to_value(self, pos: int) -> float:
        return -self.limit + 2.0 * self.limit * pos / SLIDER_STEPS

    def value_to_slider(self, v: float) -> int:
        v = min(max(float(v), -self.limit), self.limit)
        return round((v + self.limit) / (2 * self.limit) * SLIDER_STEPS)

    def _from_slider(self, pos: int) -> None:
        v = self.slider_to_value(pos)
        self._shown = v
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.valueEdited.emit(self.index, v)

    def _from_spin(self, v: float) -> None:
        self._shown = float(v)
        self.slider.blockSignals(True)
        self.slider.setValue(self.value_to_slider(v))
        self.slider.blockSignals(False)
        self.valueEdited.emit(self.index, float(v))

    def show_value(self, v: float) -> None:
        """Display ``v`` without emitting (the panel already knows it)."""
        if v == self._shown and not self.slider.isSliderDown():
            return      # called for every row on every redraw; most rows did not change
        self._shown = v
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        # don't snap the slider under the user's mouse: it already sits where they dragged it
        if not self.slider.isSliderDown():
            self.slider.setValue(self.value_to_slider(v))
        self.spin.setValue(float(v))
        for w in (self.slider, self.spin):
            w.blockSignals(False)


def to_qimage(img: np.ndarray) -> QImage:
    """(C, H, W) in [-1, 1] -> an 8-bit QImage (grey for 1 channel, RGB for 3); owns its data."""
    a = np.clip((np.asarray(img, np.float32) + 1.0) * 127.5, 0, 255).astype(np.uint8)
    if a.shape[0] == 1:
        a = np.ascontiguousarray(a[0])
        return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
    a = np.ascontiguousarray(np.moveaxis(a[:3], 0, -1))
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888).copy()


class FrameStrip(QWidget):
    """Evenly spaced interpolation frames A -> B; click one to jump there.

    Images are drawn as thumbnails; 2D points as their coordinates on a tile in the path colour.
    """

    frameClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images: list[QImage] = []
        self.points: np.ndarray | None = None
        self.times: np.ndarray = np.zeros(0)
        self.current: int | None = None
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Interpolation frames from A (left) to B (right); click one to go there")

    def sizeHint(self) -> QSize:
        return QSize(320, 64 if self.images else 44)

    def n_frames(self) -> int:
        return len(self.images) if self.images else (0 if self.points is None else len(self.points))

    def set_frames(self, times: np.ndarray, images: np.ndarray | None = None,
                   points: np.ndarray | None = None) -> None:
        self.times = np.asarray(times)
        self.images = [to_qimage(im) for im in images] if images is not None else []
        self.points = None if points is None else np.asarray(points, np.float32)
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def clear(self) -> None:
        self.set_frames(np.zeros(0))

    def set_current(self, k: int | None) -> None:
        if k != self.current:
            self.current = k
            self.update()

    def _tile(self, k: int) -> QRectF:
        n = max(1, self.n_frames())
        w = self.width() / n
        return QRectF(k * w + 1, 1, w - 2, self.height() - 2)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        n = self.n_frames()
        if n and event.button() == Qt.MouseButton.LeftButton:
            k = int(np.clip(event.position().x() // (self.width() / n), 0, n - 1))
            self.frameClicked.emit(k)
            event.accept()
        else:
            super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        n = self.n_frames()
        if not n:
            p.setPen(QColor(130, 130, 130))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "set A and B to see the frames")
            p.end()
            return
        font = p.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() - 2))
        p.setFont(font)
        for k in range(n):
            r = self._tile(k)
            col = frame_color(k, n)
            if self.images:
                side = min(r.width(), r.height())
                sq = QRectF(r.center().x() - side / 2, r.center().y() - side / 2, side, side)
                p.drawImage(sq, self.images[k])
                p.setPen(QPen(col, 2 if k == self.current else 1))
                p.drawRect(sq)
            else:
                fill = QColor(col)
                fill.setAlpha(70 if k != self.current else 160)
                p.fillRect(r, fill)
                p.setPen(QColor(30, 30, 30))
                x, y = self.points[k][:2]
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, f"t={self.times[k]:.2f}\n{x:.2f}\n{y:.2f}")
        p.end()
