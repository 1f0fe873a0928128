"""The losses as formulas with live numbers (``engine/formulas.py``), under the canvas.

The training loop keeps the formulas of the step a frame shows (``Frame.formulas``), computed
from the tensors of that very update, so the numbers are the trainer's own losses.
"""
from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ganplay.engine.formulas import Formula, loss_title, score_note

D_COLOUR = "#d62728"   # the charts' D loss colour
G_COLOUR = "#1f77b4"


def formula_html(f: Formula | None, colour: str, digits: int = 3) -> str:
    if f is None:
        return f"<span style='color:{colour}'>—</span>"
    lhs, _, rhs = f.symbolic().partition(" = ")
    sym = html.escape(rhs)
    num = html.escape(f.numeric(digits) if len(f.terms) > 1 else f"{f.total:.{digits}f}")
    return (f"<b style='color:{colour}'>{html.escape(lhs).replace('_', '<sub>', 1)}</sub></b> = {sym}"
            f" = <b>{num}</b>")


class FormulaPanel(QWidget):
    """L_D and L_G of the active loss and regularisers, with a recent step's batch means plugged in."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(1)
        self.title = QLabel()
        self.d_label = QLabel()
        self.g_label = QLabel()
        self.note = QLabel()
        self.note.setStyleSheet("color: #555; font-size: 8pt;")
        for lab in (self.title, self.d_label, self.g_label, self.note):
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lay.addWidget(lab)
        self.d_label.setStyleSheet("font-size: 11pt;")
        self.g_label.setStyleSheet("font-size: 11pt;")
        self.shown: tuple | None = None
        self._shown_at = 0.0
        self.show_formulas(None)

    def show_formulas(self, formulas: Any, running: bool = False, min_interval_s: float = 0.25) -> None:
        """``formulas``: (step, loss, L_D, L_G) from a frame, or None. While training, at most every
        ``min_interval_s``: rich-text layout costs the GUI thread, and numbers that change 30 times
        a second cannot be read anyway."""
        now = time.perf_counter()
        if formulas == self.shown and formulas is not None:
            return
        if running and formulas is not None and now - self._shown_at < min_interval_s:
            return
        self._shown_at = now
        self.shown = formulas
        if formulas is None:
            self.title.setText("<i>The loss formulas appear with the first trained step.</i>")
            for lab in (self.d_label, self.g_label, self.note):
                lab.setText("")
            return
        step, loss, fd, fg = formulas
        self.title.setText(f"Losses of step {step}, {html.escape(loss_title(loss))} (batch means):")
        self.d_label.setText(formula_html(fd, D_COLOUR))
        self.g_label.setText(formula_html(fg, G_COLOUR) if fg is not None else
                             f"<span style='color:{G_COLOUR}'>L<sub>G</sub>: not computed (a D-only step)</span>")
        self.note.setText(html.escape(score_note(loss)))
