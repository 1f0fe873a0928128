"""The playground window's state, Qt-free, with change notifications: the config the trainer
applies, the edits waiting for a Reset, whether training runs, the step, the device, the chart
history. The setup panel, the status bar and the charts are views of it (napari's evented
models, in small): they subscribe to its events instead of holding copies of their own.

There is one config on the GUI side: ``applied`` (what the trainer runs, confirmed by the
training loop) plus ``edits`` (path -> value); ``draft`` is the two together, what a Reset builds
and what the setup panel shows.
"""
from __future__ import annotations

from typing import Any, Callable

from ganplay.engine import config as C
from ganplay.engine.history import History


class Emitter:
    """A minimal Qt-free signal: ``connect(callback)``, ``emit(*args)`` calls each in order."""

    def __init__(self) -> None:
        self._slots: list[Callable[..., None]] = []

    def connect(self, slot: Callable[..., None]) -> None:
        self._slots.append(slot)

    def disconnect(self, slot: Callable[..., None]) -> None:
        self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)


class ModelEvents:
    def __init__(self) -> None:
        self.config = Emitter()     # applied config replaced or a live field confirmed: (config)
        self.edits = Emitter()      # the draft changed: (draft)
        self.live_edit = Emitter()  # a live field was edited and should reach the trainer: (path, value)
        self.running = Emitter()    # (bool)
        self.step = Emitter()       # (int)
        self.device = Emitter()     # (str)


class WindowModel:
    def __init__(self, config: C.Config):
        self._applied = config.copy()
        self._edits: dict[str, Any] = {}
        self._draft: C.Config | None = None
        self.running = False
        self.step = 0
        self.device = "starting..."
        self.history = History()
        self.events = ModelEvents()

    # ------------------------------------------------------------------ the config
    @property
    def applied(self) -> C.Config:
        """What the trainer runs. Treat as read-only: change it through the methods below."""
        return self._applied

    @property
    def draft(self) -> C.Config:
        """The applied config with the edits on top (a copy: edit through ``edit``)."""
        if self._draft is None:
            d = self._applied.copy()
            for path, value in self._edits.items():
                C.set_field(d, path, value)
            self._draft = d
        return self._draft.copy()

    @property
    def edits(self) -> dict[str, Any]:
        return dict(self._edits)

    def pending(self) -> list[str]:
        """Edited fields that need a Reset (live edits reach the trainer at once)."""
        return sorted(p for p in self._edits if p not in C.LIVE_FIELDS)

    def edit(self, path: str, value: Any) -> None:
        """The user changed a field. A live one is also announced on ``events.live_edit``."""
        C.check_value(path, value)
        if value == C.get_field(self._applied, path):
            self._edits.pop(path, None)
        else:
            self._edits[path] = value
        self._changed()
        if path in C.LIVE_FIELDS:
            self.events.live_edit.emit(path, value)

    def set_draft(self, cfg: C.Config) -> None:
        """Show ``cfg`` as the draft (a preset, a test): the edits become its difference from
        the applied config."""
        new, old = C.to_dict(cfg), C.to_dict(self._applied)
        self._edits = {f"{sec}.{k}": v for sec, fields in new.items() for k, v in fields.items()
                       if old.get(sec, {}).get(k) != v}
        self._changed()

    def confirm(self, path: str, value: Any) -> None:
        """The trainer took a live field: it is applied now."""
        C.set_field(self._applied, path, value)
        if self._edits.get(path) == value:
            self._edits.pop(path)
        self._draft = None
        self.events.config.emit(self._applied)
        self._changed()

    def reject(self, path: str) -> None:
        """The trainer refused a live field: the draft goes back to the applied value."""
        self._edits.pop(path, None)
        self._changed()

    def apply(self, cfg: C.Config) -> None:
        """A new trainer runs ``cfg`` (after a Reset, a session, a compared recipe)."""
        self._applied = cfg.copy()
        self._edits.clear()
        self._draft = None
        self.events.config.emit(self._applied)
        self._changed()

    def _changed(self) -> None:
        self._draft = None
        self.events.edits.emit(self.draft)

    # ------------------------------------------------------------------ training state
    def set_running(self, on: bool) -> None:
        if on != self.running:
            self.running = on
            self.events.running.emit(on)

    def set_step(self, step: int) -> None:
        if step != self.step:
            self.step = step
            self.events.step.emit(step)

    def set_device(self, device: str) -> None:
        self.device = device
        self.events.device.emit(device)
