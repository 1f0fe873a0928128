"""The latent explorer: move z by hand and interpolate between two codes, on a generator snapshot.

The panel only ever sees a ``GeneratorSnapshot`` (a frozen CPU copy of G), so it works the same
while training runs, while paused and on a bundle loaded from disk. It evaluates G itself on the
GUI thread (one z costs well under a millisecond for the MLPs, a few ms for the DCGAN) and
coalesces requests: however many slider moves or snapshots arrive before the event loop turns,
only the latest state is drawn once.

What the main window draws on its canvas comes out as signals:
- ``pointsChanged(np.ndarray (N, 2))``: G(z) first, then G of the last ~20 z (most recent first),
  all under the current G; empty (0, 2) when cleared. 2D data only.
- ``pathChanged(np.ndarray (M, 2) | None)``: G(z(t)) along the A -> B path, 2D data only;
  ``M = (n_frames - 1) * frame_stride + 1`` and the strip's frames are ``path[::frame_stride]``.
- ``cellChanged((i, j) | None)``: the cell of ``metrics.manifold_mesh(res=mesh_res, span=mesh_span)``
  that z is in (2D latents): the quad mesh[i, j], mesh[i, j+1], mesh[i+1, j+1], mesh[i+1, j].
- ``zChanged(np.ndarray (latent_dim,))``: the current z, when it changes.

For image data the main window hands over a digit clicked on its sample grid
(``take_grid_sample``): it becomes A or B, as the "clicked digit sets" buttons say, and the
explorer moves to it. MNIST images get the shipped classifier's label and confidence.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine import latent as L
from ..live.frames import FAKE_SEED
from .latent_widgets import SLIDER_STEPS, AxisRow, FrameStrip, ZPad

Classifier = Callable[[np.ndarray], np.ndarray]

MAX_AXES = 16          # sliders shown for a wide latent
TRAIL = 20             # recent z kept for the G(z) trail
N_FRAMES = 9           # interpolation strip
FRAME_STRIDE = 8       # path points per frame gap sent to the canvas
AXES_DIMS = "latent dims"
AXES_JACOBIAN = "Jacobian principal directions"


def default_classifier() -> Classifier | None:
    """The MNIST classifier when the image-metrics module is installed, else None."""
    try:
        from ..engine.image_metrics import classify  # written separately; optional here
    except Exception:   # missing module or weights: the panel simply shows no label
        return None
    return classify


def grid_inputs(snapshot: Any, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The (z, y) of the training loop's fixed sample grid of ``n`` images
    (``live.frames.image_grid_inputs``), recomputed from the snapshot's latent size and prior."""
    from ..engine.image_models import fixed_grid_inputs

    z, y, _ = fixed_grid_inputs(int(snapshot.latent_dim), snapshot.prior, int(snapshot.n_classes), n, FAKE_SEED)
    return np.asarray(z, np.float32), y


class LatentPanel(QWidget):
    """Sliders / z-pad, interpolation A -> B and a live G(z) view for one generator snapshot."""

    pointsChanged = Signal(object)
    pathChanged = Signal(object)
    cellChanged = Signal(object)
    zChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._snap: Any = None
        self._key: tuple | None = None          # (latent_dim, n_classes, image_shape, prior)
        self._rng = np.random.default_rng(0)    # the panel's own draws; never the global RNG
        self._z = np.zeros(0, np.float32)
        self._hist: deque[np.ndarray] = deque(maxlen=TRAIL)
        self._y = 0
        self._A: np.ndarray | None = None
        self._B: np.ndarray | None = None
        self._follow_path = False               # z was last set by the t slider
        self._axes_mode = AXES_DIMS
        self._anchor = np.zeros(0, np.float32)  # Jacobian mode: z = anchor + coef @ dirs
        self._coef = np.zeros(0, np.float32)
        self._dirs: np.ndarray | None = None
        self._sv: np.ndarray | None = None
        self._dirs_step = 0
        self._dirs_stale = False
        self._classifier: Classifier | None = None
        self._classifier_auto = True            # MNIST snapshots load the shipped classifier once
        self._last_cell: Any = "unset"
        self.mesh_res = 21
        self.mesh_span = 2.5
        self.n_frames = N_FRAMES
        self.frame_stride = FRAME_STRIDE
        self.draw_count = 0                     # completed redraws of G(z) (tests, bench)
        self._last_out: np.ndarray | None = None
        self._image_hw: tuple[int, int] | None = None
        self._z_emitted: np.ndarray | None = None
        self.last_path: np.ndarray | None = None     # G(z(t)) sent to the canvas (2D data)
        self.last_frames: np.ndarray | None = None   # the strip's frames (points or images)
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._flush)
        self.axis_rows: list[AxisRow] = []
        self.zpad: ZPad | None = None
        self.class_group: QButtonGroup | None = None
        self.class_spin: QSpinBox | None = None
        self._build()
        self._apply_enabled()

    # ================================================================== construction
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        self.header = QLabel("no generator yet")
        self.header.setWordWrap(True)
        root.addWidget(self.header)

        # live image (image snapshots only)
        self.image_box = QWidget()
        ib = QVBoxLayout(self.image_box)
        ib.setContentsMargins(0, 0, 0, 0)
        self.image_view = pg.GraphicsView()
        self.image_view.setMinimumSize(200, 200)
        self.image_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image_vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image_vb.setMenuEnabled(False)
        self.image_view.setCentralItem(self.image_vb)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_vb.addItem(self.image_item)
        self.class_label = QLabel("")
        self.class_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ib.addWidget(self.image_view, 1)
        ib.addWidget(self.class_label)
        root.addWidget(self.image_box, 3)

        # explore: z-pad / sliders, axes choice, class selector, randomise / reset
        self.explore_box = QGroupBox("Explore z")
        eb = QVBoxLayout(self.explore_box)
        eb.setContentsMargins(4, 4, 4, 4)
        self.axes_combo = QComboBox()
        self.axes_combo.addItems([AXES_DIMS, AXES_JACOBIAN])
        self.axes_combo.setToolTip("Sliders along the first latent dimensions, or along the directions "
                                   "in which G(z) changes most at the current z (right singular vectors "
                                   "of G's Jacobian, largest first)")
        self.axes_combo.currentTextChanged.connect(self._set_axes_mode)
        self.recentre_btn = QPushButton("directions at z")
        self.recentre_btn.setToolTip("Recompute the principal directions at the current z")
        self.recentre_btn.clicked.connect(self._recentre)
        axes_row = QHBoxLayout()
        axes_row.addWidget(QLabel("axes:"))
        axes_row.addWidget(self.axes_combo, 1)
        axes_row.addWidget(self.recentre_btn)
        self.axes_line = QWidget()
        self.axes_line.setLayout(axes_row)
        axes_row.setContentsMargins(0, 0, 0, 0)
        eb.addWidget(self.axes_line)
        self.pad_holder = QVBoxLayout()
        eb.addLayout(self.pad_holder, 1)
        self.class_holder = QHBoxLayout()
        eb.addLayout(self.class_holder)
        self.rows_widget = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_widget)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(1)
        self.rows_scroll = QScrollArea()
        self.rows_scroll.setWidgetResizable(True)
        self.rows_scroll.setWidget(self.rows_widget)
        self.rows_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        eb.addWidget(self.rows_scroll)
        btns = QHBoxLayout()
        self.btn_random = QPushButton("randomise")
        self.btn_random.setToolTip("Draw z from the prior")
        self.btn_random.clicked.connect(self.randomise)
        self.btn_zero = QPushButton("reset to 0")
        self.btn_zero.clicked.connect(self.reset_zero)
        btns.addWidget(self.btn_random)
        btns.addWidget(self.btn_zero)
        eb.addLayout(btns)
        root.addWidget(self.explore_box, 3)

        # interpolation
        self.interp_box = QGroupBox("Interpolate A \u2192 B")
        self.interp_box.setCheckable(True)
        self.interp_box.setChecked(True)
        self.interp_box.toggled.connect(lambda _on: self._request("path"))
        grid = QGridLayout(self.interp_box)
        grid.setContentsMargins(4, 4, 4, 4)
        self.btn_a_random = QPushButton("A = random")
        self.btn_b_random = QPushButton("B = random")
        self.btn_a_current = QPushButton("A = current z")
        self.btn_b_current = QPushButton("B = current z")
        self.btn_a_random.clicked.connect(lambda: self.set_endpoint("A", self._draw_prior()))
        self.btn_b_random.clicked.connect(lambda: self.set_endpoint("B", self._draw_prior()))
        self.btn_a_current.clicked.connect(lambda: self.set_endpoint("A", self._z))
        self.btn_b_current.clicked.connect(lambda: self.set_endpoint("B", self._z))
        grid.addWidget(self.btn_a_random, 0, 0)
        grid.addWidget(self.btn_b_random, 0, 1)
        grid.addWidget(self.btn_a_current, 1, 0)
        grid.addWidget(self.btn_b_current, 1, 1)
        # image data: a digit clicked on the canvas's grid sets A, then B, then A again ...
        self.pick_row = QWidget()
        pick = QHBoxLayout(self.pick_row)
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(QLabel("clicked digit sets:"))
        self.pick_group = QButtonGroup(self)
        self.pick_group.setExclusive(True)
        for i, name in enumerate("AB"):
            b = QToolButton()
            b.setText(name)
            b.setCheckable(True)
            b.setChecked(i == 0)
            b.setToolTip(f"Click a digit of the sample grid on the canvas to make it {name}; "
                         "the next click sets the other end")
            self.pick_group.addButton(b, i)
            pick.addWidget(b)
        pick.addStretch(1)
        self.pick_row.hide()
        grid.addWidget(self.pick_row, 2, 0, 1, 2)
        self.method_combo = QComboBox()
        self.method_combo.addItems(list(L.INTERPOLATIONS))
        self.method_combo.setToolTip("linear: straight line; spherical: along the great circle, which keeps "
                                     "|z| typical of a Gaussian prior (the middle of a line is too short)")
        self.method_combo.currentTextChanged.connect(self._method_changed)
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, SLIDER_STEPS)
        self.t_slider.setToolTip("t = 0 is exactly A, t = 1 exactly B")
        self.t_slider.valueChanged.connect(self._t_moved)
        self.t_label = QLabel("t = 0.000")
        self.t_label.setMinimumWidth(64)
        trow = QHBoxLayout()
        trow.addWidget(self.method_combo)
        trow.addWidget(self.t_slider, 1)
        trow.addWidget(self.t_label)
        grid.addLayout(trow, 3, 0, 1, 2)
        self.strip = FrameStrip()
        self.strip.frameClicked.connect(self._frame_clicked)
        grid.addWidget(self.strip, 4, 0, 1, 2)
        root.addWidget(self.interp_box)
        root.addStretch(0)
        self._root = root

    def _rebuild_axes(self) -> None:
        """(Re)create pad, slider rows and class selector for the current snapshot's shape."""
        snap = self._snap
        for row in self.axis_rows:
            row.setParent(None)
            row.deleteLater()
        self.axis_rows = []
        if self.zpad is not None:
            self.zpad.setParent(None)
            self.zpad.deleteLater()
            self.zpad = None
        while self.class_holder.count():
            item = self.class_holder.takeAt(0)
            if item.widget() is not None:
                item.widget().setParent(None)
                item.widget().deleteLater()
        if self.class_group is not None:
            self.class_group.deleteLater()
        self.class_group = None
        self.class_spin = None
        d = snap.latent_dim
        lim = self._slider_limit()
        if d == 2:
            self.zpad = ZPad()
            self.zpad.limit = lim
            self.zpad.prior = snap.prior
            self.zpad.mesh_res = self.mesh_res
            self.zpad.mesh_lim = L.mesh_limit(snap.prior, self.mesh_span)
            self.zpad.zPicked.connect(self._pad_picked)
            self.pad_holder.addWidget(self.zpad)
        for k in range(min(d, MAX_AXES)):
            row = AxisRow(k, lim)
            row.valueEdited.connect(self._row_edited)
            self.rows_layout.addWidget(row)
            self.axis_rows.append(row)
        self.axes_line.setVisible(d >= 3)
        if snap.n_classes:
            name = "digit" if snap.image_shape is not None else "class"
            self.class_holder.addWidget(QLabel(f"{name}:"))
            if snap.n_classes <= 10:
                self.class_group = QButtonGroup(self)
                self.class_group.setExclusive(True)
                for c in range(snap.n_classes):
                    b = QToolButton()
                    b.setText(str(c))
                    b.setCheckable(True)
                    b.setChecked(c == self._y)
                    self.class_group.addButton(b, c)
                    self.class_holder.addWidget(b)
                self.class_group.idClicked.connect(self.set_class)
            else:
                self.class_spin = QSpinBox()
                self.class_spin.setRange(0, snap.n_classes - 1)
                self.class_spin.setValue(self._y)
                self.class_spin.valueChanged.connect(self.set_class)
                self.class_holder.addWidget(self.class_spin)
            self.class_holder.addStretch(1)
        self.image_box.setVisible(snap.image_shape is not None)
        self.pick_row.setVisible(snap.image_shape is not None)
        # spare height goes to the image, else the pad, else below everything
        self._root.setStretchFactor(self.explore_box, 3 if d == 2 else 0)
        self._root.setStretch(self._root.count() - 1, 0 if d == 2 or snap.image_shape is not None else 1)
        # rows keep their natural height (the pad takes the spare room); past 8 rows they scroll
        row_h = self.axis_rows[0].sizeHint().height() + self.rows_layout.spacing() if self.axis_rows else 0
        self.rows_scroll.setFixedHeight(min(len(self.axis_rows), 8) * row_h + 2)

    # ================================================================== public API
    def set_generator(self, snapshot: Any | None) -> None:
        """Show ``snapshot`` (a GeneratorSnapshot); None clears the panel.

        A snapshot with the same latent size keeps z, the sliders, A and B and only recomputes.
        """
        self._snap = snapshot
        if snapshot is None:
            self._timer.stop()
            self._dirty.clear()
            self.header.setText("no generator yet")
            self.image_item.clear()
            self.class_label.setText("")
            self.strip.clear()
            self._last_cell = None
            self._z_emitted = None
            self.pointsChanged.emit(np.zeros((0, 2), np.float32))
            self.pathChanged.emit(None)
            self.cellChanged.emit(None)
            self._apply_enabled()
            return
        shape = None if snapshot.image_shape is None else tuple(snapshot.image_shape)
        key = (int(snapshot.latent_dim), int(snapshot.n_classes), shape, snapshot.prior)
        if self._key is None or key[0] != self._key[0]:
            d = key[0]
            self._z = self._draw_prior()
            self._hist.clear()
            self._A, self._B = self._draw_prior(), self._draw_prior()
            self._anchor, self._coef, self._dirs, self._sv = self._z.copy(), np.zeros(d, np.float32), None, None
            self._follow_path = False
            self._last_cell = "unset"
            if self._axes_mode == AXES_JACOBIAN:
                self._dirty.add("dirs")
        if key != self._key:
            self._y = min(self._y, max(0, key[1] - 1))
            if shape is not None and shape[-2:] == (28, 28) and self._classifier_auto:
                self._classifier_auto = False
                self._classifier = default_classifier()
            if shape is not None and (self._key is None or self._key[2] is None):
                # images draw in the panel: clear whatever points / path the canvas still shows
                self.pointsChanged.emit(np.zeros((0, 2), np.float32))
                self.pathChanged.emit(None)
            self._key = key
            self._rebuild_axes()
            if key[0] < 3 and self._axes_mode == AXES_JACOBIAN:
                self.axes_combo.setCurrentText(AXES_DIMS)   # the pad / one slider has no such choice
        kind = "image" if shape else "2D points"
        cond = f", {snapshot.n_classes} classes" if snapshot.n_classes else ""
        modes = int(((snapshot.config or {}).get("model") or {}).get("latent_modes", 0))
        # the mode switch makes G jump where the largest of z's first K coordinates changes
        mode_note = f", mode = largest of z1..z{modes}" if modes else ""
        self.header.setText(f"{snapshot.latent_dim}-D {snapshot.prior} latent{mode_note} \u2192 {kind}{cond} "
                            f"\u00b7 step {snapshot.step}")
        self._apply_enabled()
        self._request("z", "path")

    def set_classifier(self, fn: Classifier | None) -> None:
        """fn(images (N, 1, 28, 28) in [-1, 1]) -> class probabilities (N, 10); None hides the label."""
        self._classifier = fn
        self._classifier_auto = False
        self._request("z")

    def set_endpoint(self, which: str, z: np.ndarray, y: int | None = None) -> None:
        """Set interpolation endpoint 'A' or 'B' (e.g. a sample clicked on the canvas / MNIST grid).

        ``y`` (conditional generators) also selects that class.
        """
        if which not in ("A", "B"):
            raise ValueError("endpoint must be 'A' or 'B'")
        zz = self._check_z(z)
        if which == "A":
            self._A = zz
        else:
            self._B = zz
        if y is not None:
            self.set_class(int(y))
        if self._follow_path:
            self._apply_t()
        self._request("path")

    def take_sample(self, z: np.ndarray, y: int | None = None) -> str:
        """A sample picked elsewhere (a digit of the canvas grid) becomes the endpoint the "clicked
        digit sets" buttons name, the next one the other; the explorer moves to it (t = 0 or 1), so
        its image and label are the sample's. Returns "A" or "B"."""
        k = max(0, self.pick_group.checkedId())
        which = "AB"[k]
        self.set_endpoint(which, z, y)
        self.pick_group.button(1 - k).setChecked(True)
        end = 0 if which == "A" else SLIDER_STEPS
        if self.t_slider.value() != end:
            self.t_slider.setValue(end)     # moves z there (``_t_moved``)
        else:
            self._apply_t()
        return which

    def take_grid_sample(self, index: int, n: int) -> str:
        """Sample ``index`` of the training loop's fixed grid of ``n`` images as A or B
        (``take_sample``); for a conditional GAN its row's digit is selected too."""
        if self._snap is None or self._snap.image_shape is None:
            raise RuntimeError("no image generator loaded")
        z, y = grid_inputs(self._snap, n)
        return self.take_sample(z[index], None if y is None else int(y[index]))

    def set_z(self, z: np.ndarray) -> None:
        """Move the explorer to ``z`` (e.g. a sample clicked on the canvas)."""
        self._set_z(self._check_z(z), source="external")

    def z(self) -> np.ndarray:
        return self._z.copy()

    def endpoints(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        return (None if self._A is None else self._A.copy(), None if self._B is None else self._B.copy())

    def set_class(self, y: int) -> None:
        if self._snap is None or not self._snap.n_classes:
            return
        self._y = int(np.clip(y, 0, self._snap.n_classes - 1))
        if self.class_group is not None:
            b = self.class_group.button(self._y)
            if b is not None and not b.isChecked():
                b.setChecked(True)
        if self.class_spin is not None and self.class_spin.value() != self._y:
            self.class_spin.blockSignals(True)
            self.class_spin.setValue(self._y)
            self.class_spin.blockSignals(False)
        if self._axes_mode == AXES_JACOBIAN:
            # G(., y) changed, so did its Jacobian: restart the offsets from here
            self._anchor, self._coef, self._dirs_stale = self._z.copy(), np.zeros_like(self._z), True
        self._request("z", "path")

    def set_mesh_grid(self, res: int, span: float = 2.5) -> None:
        """Match the manifold mesh the canvas draws (``metrics.manifold_mesh(trainer, res, span)``)."""
        self.mesh_res, self.mesh_span = int(res), float(span)
        if self.zpad is not None and self._snap is not None:
            self.zpad.mesh_res = self.mesh_res
            self.zpad.mesh_lim = L.mesh_limit(self._snap.prior, self.mesh_span)
        self._last_cell = "unset"
        self._request("z")

    def randomise(self) -> None:
        if self._snap is not None:
            self._set_z(self._draw_prior(), source="external")

    def reset_zero(self) -> None:
        if self._snap is not None:
            self._set_z(np.zeros(self._snap.latent_dim, np.float32), source="external")

    def current_output(self) -> np.ndarray | None:
        """G(z) as last drawn: (2,) point or (C, H, W) image."""
        return None if self._last_out is None else self._last_out.copy()

    # ================================================================== state changes
    def _slider_limit(self) -> float:
        return 1.0 if self._snap is not None and self._snap.prior == "uniform" else 3.0

    def _draw_prior(self) -> np.ndarray:
        d = self._snap.latent_dim
        if self._snap.prior == "uniform":
            return self._rng.uniform(-1, 1, d).astype(np.float32)
        return self._rng.standard_normal(d).astype(np.float32)

    def _check_z(self, z: np.ndarray) -> np.ndarray:
        if self._snap is None:
            raise RuntimeError("no generator loaded")
        zz = np.asarray(z, dtype=np.float32).reshape(-1).copy()
        if zz.size != self._snap.latent_dim:
            raise ValueError(f"z has {zz.size} values, the generator's latent has {self._snap.latent_dim}")
        return zz

    def _set_z(self, z: np.ndarray, source: str) -> None:
        if self._z.size == z.size and np.array_equal(self._z, z):
            return
        if self._z.size == z.size:
            self._hist.appendleft(self._z.copy())
        self._z = z
        if source != "t":
            self._follow_path = False
        if source != "row" and self._axes_mode == AXES_JACOBIAN:
            # a jump elsewhere: the principal directions are those at the new z, computed when a
            # slider is next moved (not now: a t-slider drag would pay a Jacobian per move)
            self._anchor = z.copy()
            self._coef = np.zeros_like(z)
            self._dirs_stale = True
        self._request("z")

    def _request(self, *what: str) -> None:
        """Coalesce: mark what is stale; one zero-timer redraws the latest state."""
        if self._snap is None:
            return
        self._dirty.update(what)
        if not self._timer.isActive():
            self._timer.start()

    def _row_edited(self, k: int, v: float) -> None:
        if self._snap is None:
            return
        z = self._z.copy()
        if self._axes_mode == AXES_JACOBIAN:
            if self._dirs is None or self._dirs_stale:
                self._compute_dirs()
            self._coef[k] = v
            n = len(self.axis_rows)
            z = (self._anchor.astype(np.float64) + self._coef[:n].astype(np.float64) @ self._dirs[:n]).astype(np.float32)
        else:
            z[k] = v
        self._set_z(z, source="row")

    def _pad_picked(self, z: np.ndarray) -> None:
        if self._snap is not None:
            self._set_z(np.asarray(z, np.float32), source="pad")

    def _set_axes_mode(self, mode: str) -> None:
        self._axes_mode = mode
        self.recentre_btn.setVisible(mode == AXES_JACOBIAN)
        if mode == AXES_JACOBIAN and self._snap is not None:
            self._recentre()
        else:
            for k, row in enumerate(self.axis_rows):
                row.label.setText(f"z{k + 1}")
                row.label.setToolTip("")
            self._request("z")

    def _recentre(self) -> None:
        if self._snap is None:
            return
        self._anchor = self._z.copy()
        self._coef = np.zeros_like(self._z)
        self._dirty.add("dirs")
        self._request("z")

    def _method_changed(self, _m: str) -> None:
        if self._follow_path:
            self._apply_t()
        self._request("path")

    def _t(self) -> float:
        # integer positions make t = 0 and t = 1 exact, so z(0) == A and z(1) == B bit for bit
        return self.t_slider.value() / SLIDER_STEPS

    def _t_moved(self, _v: int) -> None:
        self.t_label.setText(f"t = {self._t():.3f}")
        self._apply_t()

    def _apply_t(self) -> None:
        if self._snap is None or self._A is None or self._B is None:
            return
        z = L.interpolate(self._A, self._B, self._t(), self.method_combo.currentText())
        self._follow_path = True
        self._set_z(z, source="t")
        self._follow_path = True

    def _frame_clicked(self, k: int) -> None:
        times = L.frame_times(self.n_frames)
        self.t_slider.setValue(round(times[k] * SLIDER_STEPS))
        self._apply_t()

    def _apply_enabled(self) -> None:
        on = self._snap is not None
        for w in (self.explore_box, self.interp_box, self.image_box):
            w.setEnabled(on)
        self.recentre_btn.setVisible(self._axes_mode == AXES_JACOBIAN)

    # ================================================================== drawing
    def _flush(self) -> None:
        snap = self._snap
        dirty, self._dirty = self._dirty, set()
        if snap is None:
            return
        if "dirs" in dirty:
            self._compute_dirs()
        if "z" in dirty or "dirs" in dirty:
            self._draw_z()
        if "path" in dirty:
            self._draw_path()

    def _compute_dirs(self) -> None:
        V, s = L.principal_directions(self._snap, self._anchor, self._y if self._snap.n_classes else None)
        self._dirs, self._sv, self._dirs_step = V, s, self._snap.step
        self._dirs_stale = False
        top = max(float(s[0]), 1e-12)
        for k, row in enumerate(self.axis_rows):
            row.label.setText(f"d{k + 1}")
            row.label.setToolTip(f"direction {k + 1}: singular value {s[k]:.3g} "
                                 f"({s[k] / top:.0%} of the largest), computed at step {self._dirs_step}")

    def _draw_z(self) -> None:
        snap = self._snap
        y = self._y if snap.n_classes else None
        out = L.generate_one(snap, self._z, y)
        self._last_out = out
        if snap.image_shape is not None:
            self._show_image(out)
        else:
            pts = out.reshape(1, -1)[:, :2]
            if self._hist:
                hist = np.stack(list(self._hist))
                labels = None if not snap.n_classes else np.full(len(hist), y)
                trail = snap(hist, labels).reshape(len(hist), -1)[:, :2]
                pts = np.concatenate([pts, trail], 0)
            self.pointsChanged.emit(np.ascontiguousarray(pts, dtype=np.float32))
        # the displayed coordinates follow z, whoever moved it
        if self._axes_mode == AXES_JACOBIAN:
            vals = self._coef
        else:
            vals = self._z
        for k, row in enumerate(self.axis_rows):
            row.show_value(float(vals[k]))
        cell = None
        if snap.latent_dim == 2:
            cell = L.manifold_cell(self._z, snap.prior, self.mesh_res, self.mesh_span)
            if self.zpad is not None:
                trail_z = np.stack(list(self._hist)) if self._hist else np.zeros((0, 2), np.float32)
                self.zpad.set_state(self._z, trail_z, cell)
        if cell != self._last_cell:
            self._last_cell = cell
            self.cellChanged.emit(cell)
        self._mark_strip_frame()
        if self._z_emitted is None or not np.array_equal(self._z_emitted, self._z):
            self._z_emitted = self._z.copy()
            self.zChanged.emit(self._z.copy())
        self.draw_count += 1

    def _show_image(self, img: np.ndarray) -> None:
        img = np.asarray(img, np.float32)
        if img.shape[0] == 1:
            # no LUT: pyqtgraph then maps straight to an 8-bit grey image (black -1 .. white 1);
            # an explicit grey LUT would rebuild a 256-entry colour table on every frame
            self.image_item.setImage(np.ascontiguousarray(img[0]), levels=(-1.0, 1.0), lut=None,
                                     autoLevels=False)
        else:
            self.image_item.setImage(np.ascontiguousarray(np.moveaxis(img[:3], 0, -1)), levels=(-1.0, 1.0),
                                     lut=None, autoLevels=False)
        h, w = img.shape[-2:]
        if self._image_hw != (h, w):
            # fixed range: auto-ranging on every frame re-lays out the scene for nothing
            self._image_hw = (h, w)
            self.image_vb.disableAutoRange()
            self.image_vb.setRange(xRange=(0, w), yRange=(0, h), padding=0.0)
        self.class_label.setText(self._classify(img))

    def _classify(self, img: np.ndarray) -> str:
        if self._classifier is None:
            return ""
        try:
            # one grey digit per channel (Stacked MNIST has three)
            probs = np.asarray(self._classifier(img[:, None].astype(np.float32)), np.float64)
        except Exception as exc:   # a broken classifier must not break exploring
            return f"classifier failed: {exc}"
        labels = probs.argmax(1)
        conf = probs[np.arange(len(labels)), labels]
        if len(labels) == 1:
            return f"classifier: {labels[0]} ({conf[0]:.0%})"
        return "classifier: " + " ".join(f"{a} ({c:.0%})" for a, c in zip(labels, conf))

    def _draw_path(self) -> None:
        snap = self._snap
        if not self.interp_box.isChecked() or self._A is None or self._B is None:
            self.last_path = self.last_frames = None
            self.strip.clear()
            if self.zpad is not None:
                self.zpad.set_path(None)
            self.pathChanged.emit(None)
            return
        method = self.method_combo.currentText()
        y = self._y if snap.n_classes else None
        times = L.frame_times(self.n_frames)
        if snap.image_shape is not None:
            zs, frames = L.evaluate_path(snap, self._A, self._B, times, method, y)
            self.last_path, self.last_frames = None, frames
            self.strip.set_frames(times, images=frames)
            dense_z = zs
        else:
            dense = np.linspace(0.0, 1.0, (self.n_frames - 1) * self.frame_stride + 1)
            dense[-1] = 1.0
            dense_z, path = L.evaluate_path(snap, self._A, self._B, dense, method, y)
            path = np.ascontiguousarray(path.reshape(len(dense), -1)[:, :2], dtype=np.float32)
            self.last_path, self.last_frames = path, path[:: self.frame_stride]
            self.strip.set_frames(times, points=self.last_frames)
            self.pathChanged.emit(path)
        if self.zpad is not None:
            if snap.image_shape is not None:
                dense = np.linspace(0.0, 1.0, (self.n_frames - 1) * self.frame_stride + 1)
                dense_z = L.interpolate(self._A, self._B, dense, method)
            self.zpad.set_path(dense_z, self.frame_stride)
        self._mark_strip_frame()

    def _mark_strip_frame(self) -> None:
        """Highlight the strip frame z is on, if it is on one."""
        if not self._follow_path or self._A is None:
            self.strip.set_current(None)
            return
        times = L.frame_times(self.n_frames)
        k = int(np.argmin(np.abs(times - self._t())))
        self.strip.set_current(k if abs(times[k] - self._t()) < 1e-9 else None)
