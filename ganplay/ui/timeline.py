"""The rewind timeline under the charts: a slider over the kept snapshots' steps, the step shown,
and "Branch from here". Moving the slider asks for a rewind (``scrubbed``), at most one request
per ``SCRUB_MS`` while it is dragged (the last position wins); the window answers with the
rewound frame. While training the slider follows the newest snapshot without asking anything.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

SCRUB_MS = 60


class RewindTimeline(QWidget):
    scrubbed = Signal(int)          # the user moved to this snapshot step: rewind there
    branchRequested = Signal()      # "Branch from here"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.steps: tuple[int, ...] = ()
        self.rewound_at: int | None = None     # the step shown after a rewind (None: live)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 2)
        self.title = QLabel("Rewind")
        self.title.setToolTip("Training states are kept every train.rewind_every steps within "
                              "train.rewind_mb of memory (oldest dropped first)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)   # Tab, then arrows / PgUp / Home / End
        self.slider.setPageStep(10)
        self.slider.setToolTip("Drag (or use the arrow keys) to go back to a kept training state: training "
                               "pauses and the canvas and charts show that moment")
        self.slider.setAccessibleName("Rewind timeline")
        self.label = QLabel("no snapshots yet")
        self.label.setMinimumWidth(150)
        self.branch_button = QPushButton("&Branch from here")
        self.branch_button.setToolTip("Train on from the step shown with the current settings; the old "
                                      "branch stays on the charts, dashed (Ctrl+B)")
        self.branch_button.setEnabled(False)
        lay.addWidget(self.title)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.branch_button)
        self._pending: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SCRUB_MS)
        self._timer.timeout.connect(self._send)
        self.slider.valueChanged.connect(self._moved)
        self.branch_button.clicked.connect(self.branchRequested)
        self.slider.setEnabled(False)

    # ------------------------------------------------------------------ from the window
    def set_steps(self, steps: Sequence[int]) -> None:
        """The kept snapshots' steps (from each frame); live, the slider sits on the newest."""
        steps = tuple(int(s) for s in steps)
        if steps == self.steps:
            return
        self.steps = steps
        self.slider.setEnabled(len(steps) > 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(steps) - 1))
        at = self.rewound_at
        self.slider.setValue(self._index(at) if at is not None and steps else len(steps) - 1)
        self.slider.blockSignals(False)
        self._show_label()

    def show_rewound(self, step: int, steps: Sequence[int], note: str = "") -> None:
        """The trainer is back at ``step`` (a ``Rewound`` event)."""
        self.rewound_at = int(step)
        self.steps = ()
        self.set_steps(steps)
        self.branch_button.setEnabled(True)
        self._show_label(note)

    def show_live(self) -> None:
        """Training went on (a branch, a reset, a new trainer): follow the newest snapshot."""
        self.rewound_at = None
        self.branch_button.setEnabled(False)
        self.steps = ()
        self.set_steps(())
        self._show_label()

    # ------------------------------------------------------------------ the user
    def _moved(self, index: int) -> None:
        if 0 <= index < len(self.steps):
            self._pending = self.steps[index]
            self.label.setText(f"step {self._pending}")
            if not self._timer.isActive():
                self._timer.start()

    def _send(self) -> None:
        if self._pending is not None:
            step, self._pending = self._pending, None
            self.scrubbed.emit(step)

    # ------------------------------------------------------------------ helpers
    def _index(self, step: int) -> int:
        """The index of the latest snapshot at or before ``step``."""
        i = 0
        for k, s in enumerate(self.steps):
            if s <= step:
                i = k
        return i

    def _show_label(self, note: str = "") -> None:
        if not self.steps:
            self.label.setText("no snapshots yet (train.rewind_every 0: off)")
            self.label.setToolTip("")
            return
        span = f"{self.steps[0]}-{self.steps[-1]}"
        if self.rewound_at is None:
            self.label.setText(f"live · kept {span}")
        else:
            self.label.setText(f"step {self.rewound_at} of {span}")
        self.label.setToolTip(note)
