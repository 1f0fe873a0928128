"""The left panel: every engine option, generated from the config's field descriptions
(``config.all_fields()``: type, choices, range, live-ness and help, all from the dataclass
metadata). The panel is a view of the window's ``WindowModel``: it shows the model's draft
(applied config + edits), hands each edit to the model, and redraws when the model changes. A
live edit reaches the trainer at once (the window listens to the model); any other lists the
field under 'Reset to apply'.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from ganplay.engine import config as C
from ganplay.engine.presets import PRESETS, USER_FIELDS
from ganplay.live.window_model import WindowModel

from .help_text import DATA_FIELDS

SECTION_TITLES = {"data": "Data", "model": "Generator and discriminator",
                  "loss": "Loss and stabilisers", "train": "Training"}
CUSTOM = "(custom)"


def field_tooltip(info: C.FieldInfo) -> str:
    """A field's tooltip: its help on the first line, then what it accepts and when it applies."""
    when = "Applies on the next step." if info.live else "Changing it asks for a reset."
    values = f"Values {info.allowed()}. " if info.range is not None else ""  # a combo lists its choices
    return f"{info.help}\n{values}{when}"


def preset_tooltip() -> str:
    """What choosing a preset does, and the fields it leaves to the user (from the engine)."""
    data = [p for p in USER_FIELDS if p.startswith("data.")]
    others = [p for p in USER_FIELDS if not p.startswith("data.")]
    return ("A named recipe: it sets every model, loss and training field (those it does not name go "
            "back to their defaults), then resets training with it.\n"
            f"Left as you set them: the data ({len(data)} fields, data.*) and {', '.join(others)}.")


class FloatEdit(QLineEdit):
    """A float entry that shows values as %g (learning rates span decades, spin boxes do not)."""

    def set_value(self, v: float) -> None:
        self.setText(f"{v:g}")


class SetupPanel(QWidget):
    fieldChanged = Signal(str, object)    # (path, parsed value), after the model took it
    fieldRejected = Signal(str, str)      # (path, message)
    presetChosen = Signal(str)
    resetRequested = Signal()

    def __init__(self, model: WindowModel | C.Config, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model if isinstance(model, WindowModel) else WindowModel(model)
        self.widgets: dict[str, QWidget] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._updating = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        top = QFormLayout()
        self.preset_combo = QComboBox()
        self.preset_combo.addItem(CUSTOM)
        for name, p in PRESETS.items():
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, p.summary, 3)  # ToolTipRole
        self.preset_combo.setToolTip(preset_tooltip())
        self.preset_combo.activated.connect(self._on_preset)
        top.addRow("Preset", self.preset_combo)
        outer.addLayout(top)
        self.reset_button = QPushButton("Reset with these settings")
        self.reset_button.setToolTip("Rebuild the networks with the settings above and start again from step 0.")
        self.reset_button.clicked.connect(self.resetRequested)
        self.pending_label = QLabel("")
        self.pending_label.setWordWrap(True)
        self.pending_label.setStyleSheet("color: #b35806;")
        outer.addWidget(self.reset_button)
        outer.addWidget(self.pending_label)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.body_layout = QVBoxLayout(body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.data_buttons = QHBoxLayout()
        for sec in C.SECTIONS:
            box = QGroupBox(SECTION_TITLES[sec])
            form = QFormLayout(box)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            for info in [i for i in C.all_fields() if i.section == sec]:
                path = info.path
                w = self._make_widget(info)
                label = QLabel(info.name)
                tip = field_tooltip(info)
                if info.live:
                    f = QFont(label.font())
                    f.setBold(True)
                    label.setFont(f)
                label.setToolTip(tip)
                w.setToolTip(tip)
                form.addRow(label, w)
                self.widgets[path] = w
                self.rows[path] = (label, w)
            if sec == "data":
                form.addRow(self.data_buttons)
            self.body_layout.addWidget(box)
        note = QLabel("Bold options change live, while training runs; the others need a reset.")
        note.setWordWrap(True)
        self.body_layout.addWidget(note)
        self.body_layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.model.events.edits.connect(self._show_draft)
        self._show_draft(self.model.draft)

    # ------------------------------------------------------------------ widgets
    def _make_widget(self, info: C.FieldInfo) -> QWidget:
        path, typ = info.path, info.type
        if info.choices is not None:
            w: QWidget = QComboBox()
            w.addItems(list(info.choices))
            w.currentTextChanged.connect(lambda text, p=path: self._edited(p, text))
        elif typ is bool:
            w = QCheckBox()
            w.toggled.connect(lambda on, p=path: self._edited(p, on))
        elif typ is int:
            w = QSpinBox()
            lo, hi = info.range or (None, None)
            top = 2 ** 31 - 1  # QSpinBox holds a C int
            w.setRange(max(int(lo), -top) if lo is not None else -top, min(int(hi), top) if hi is not None else top)
            w.setKeyboardTracking(False)  # one change per finished edit, not per digit
            w.valueChanged.connect(lambda v, p=path: self._edited(p, v))
        elif typ is float:
            w = FloatEdit()
            w.editingFinished.connect(lambda p=path: self._edited(p, self.widgets[p].text()))
        else:
            w = QLineEdit()
            w.editingFinished.connect(lambda p=path: self._edited(p, self.widgets[p].text()))
        return w

    def add_data_button(self, button: QWidget) -> None:
        self.data_buttons.addWidget(button)

    def set_loss_tooltips(self, descriptions: dict[str, str]) -> None:
        """Loss formulas come from the engine (it imports torch, so they arrive after start-up)."""
        combo = self.widgets["loss.name"]
        for i in range(combo.count()):
            combo.setItemData(i, descriptions.get(combo.itemText(i), ""), 3)  # ToolTipRole
        self._descriptions = descriptions
        self._update_loss_tip()

    def _update_loss_tip(self) -> None:
        d = getattr(self, "_descriptions", None)
        if d:
            combo = self.widgets["loss.name"]
            combo.setToolTip(f"{combo.currentText()}: {d.get(combo.currentText(), '')}")

    def set_value(self, path: str, value: Any) -> None:
        w = self.widgets[path]
        self._updating = True
        try:
            if isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QSpinBox):
                w.setValue(int(value))
            elif isinstance(w, FloatEdit):
                w.set_value(float(value))
            else:
                w.setText(str(value))
        finally:
            self._updating = False

    @property
    def config(self) -> C.Config:
        """What the panel shows: the model's draft (a copy)."""
        return self.model.draft

    def set_config(self, cfg: C.Config) -> None:
        """Show ``cfg`` as the draft: the model keeps its difference from the applied config."""
        self.model.set_draft(cfg)

    def _show_draft(self, draft: C.Config) -> None:
        for path in self.widgets:
            self.set_value(path, C.get_field(draft, path))
        self._show_data_fields(draft)
        self._update_loss_tip()
        self.set_pending(self.model.pending())

    def set_preset_name(self, name: str | None) -> None:
        self.preset_combo.setCurrentText(name if name in PRESETS else CUSTOM)

    def set_pending(self, paths: list[str]) -> None:
        if paths:
            self.pending_label.setText("Reset to apply: " + ", ".join(paths))
            self.reset_button.setStyleSheet("font-weight: bold; color: #b35806;")
        else:
            self.pending_label.setText("")
            self.reset_button.setStyleSheet("")

    def _show_data_fields(self, draft: C.Config | None = None) -> None:
        wanted = DATA_FIELDS.get((draft or self.config).data.name, ())
        for path, (label, w) in self.rows.items():
            if path.startswith("data.") and path != "data.name":
                on = path.split(".", 1)[1] in wanted
                label.setVisible(on)
                w.setVisible(on)

    # ------------------------------------------------------------------ edits
    def _edited(self, path: str, raw: Any) -> None:
        if self._updating:
            return
        draft = self.model.draft
        try:
            value = C.parse_value(path, raw)
            if value == C.get_field(draft, path):
                if isinstance(self.widgets[path], FloatEdit):
                    self.set_value(path, value)  # normalise the text
                return
            self.preset_combo.setCurrentText(CUSTOM)
            self.model.edit(path, value)
        except C.ConfigError as exc:
            self.set_value(path, C.get_field(draft, path))  # revert the widget
            self.fieldRejected.emit(path, str(exc))
            return
        self.fieldChanged.emit(path, value)

    def _on_preset(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name != CUSTOM:
            self.presetChosen.emit(name)
