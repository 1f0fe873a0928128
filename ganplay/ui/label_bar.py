"""The label selector of a conditional GAN on 2D data: a row above the canvas that asks the
training loop to draw the fixed z's samples with one label (``protocol.ShowLabel``), or with
every label in turn. Each label has its canvas colour (``visuals.LABEL_COLORS``), so the choice
reads as "show me mode k's samples"."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from .visuals import LABEL_COLORS

ALL = -1


def training_mode(cfg: Any) -> str:
    """'bigan', 'cgan' (a conditional GAN whose label is a 2D mixture's mode) or ''."""
    from ganplay.engine.config import LABELED_2D

    if cfg.model.bigan:
        return "bigan"
    return "cgan" if cfg.model.conditional and cfg.data.name in LABELED_2D else ""


def _swatch(color: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(QColor(color))
    return QIcon(pm)


class LabelBar(QWidget):
    """'Samples of label: [all, in turn | 0 | 1 | ...]'; hidden unless the run is a 2D cGAN."""

    labelChosen = Signal(int)   # a label, or ALL (-1)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Conditional GAN: samples of label"))
        self.combo = QComboBox()
        self.combo.setToolTip("Draw the canvas's generated samples G(z, y) all with this label y (the mode "
                              "index), or with every label in turn. Each label should land on its own mode.")
        self.combo.currentIndexChanged.connect(self._chosen)
        row.addWidget(self.combo)
        row.addStretch(1)
        self._n = 0
        self.hide()

    def set_config(self, cfg: Any) -> None:
        """Show the bar for a 2D cGAN, its labels the mixture's modes (back to 'all'); hide it
        otherwise."""
        on = training_mode(cfg) == "cgan"
        n_labels = 0
        if on:
            from ganplay.engine.data2d import make_dataset   # a mixture: built from the config alone

            n_labels = make_dataset(cfg.data).n_classes
            on = n_labels > 0
        if on and n_labels != self._n:
            self._n = n_labels
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItem("all, in turn")
            for k in range(n_labels):
                self.combo.addItem(_swatch(LABEL_COLORS[k % len(LABEL_COLORS)]), str(k))
            self.combo.blockSignals(False)
        if self.label != ALL:
            self.combo.setCurrentIndex(0)   # emits ALL: the new trainer starts with every label
        self.setVisible(on)

    @property
    def label(self) -> int:
        return max(self.combo.currentIndex(), 0) - 1

    def choose(self, label: int) -> None:
        self.combo.setCurrentIndex(label + 1)

    def _chosen(self, index: int) -> None:
        self.labelChosen.emit(max(index, 0) - 1)
