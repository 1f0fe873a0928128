"""Scene files and lessons in the window (``engine/lessons.py`` reads and checks the files).

- ``apply_setup(window, setup)``: a scene file's or a lesson page's setup, applied as a user
  would: the config and seed (a reset), the visible layers and panels, the speed, the controls
  teacher mode hides; a lecture scene opens in the Scenes window.
- ``current_setup(window)``: what File → Save scene writes.
- ``LessonPanel``: the pages of a lesson with their narration, the highlighted parts of the
  window, the condition that unlocks Next (with its figures, live) and the progress.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

from ganplay.engine.config import get_field
from ganplay.engine.lesson_run import FieldView, scene_values
from ganplay.engine.lessons import Lesson, Setup
from ganplay.live.layers import LAYER_NAMES
from ganplay.live.loop import SPEEDS

HIGHLIGHT = "#ff7f00"
TICK_MS = 250


# ============================================================================ the window's controls
def controls(window: Any) -> dict[str, Any]:
    """The parts of the window a lesson can highlight and teacher mode can hide, by name."""
    t = window.teaching
    out = {"setup": window.setup_dock, "charts": window.charts_dock, "toolbar": None, "layers": window.layer_bar,
           "graph": t.graph, "formulas": t.formulas, "canvas": window.canvas, "speed": window.speed_slider,
           "timeline": getattr(window, "timeline", None), "stop_at": window.stop_spin}
    if window.latent_dock is not None:
        out["latent"] = window.latent_dock
    for tb in window.findChildren(pg.QtWidgets.QToolBar):
        if tb.objectName() == "training_toolbar":
            out["toolbar"] = tb
    for name, act in (("play", window.act_play), ("pause", window.act_pause), ("step", window.act_step),
                      ("reset", window.act_reset), ("slow_motion", t.act_slow)):
        out[name] = act
    return {k: v for k, v in out.items() if v is not None}


def set_hidden(window: Any, names: list[str]) -> list[str]:
    """Teacher mode: hide the named controls (and show the others again); returns unknown names."""
    known = controls(window)
    hideable = ("setup", "charts", "toolbar", "layers", "latent", "speed", "timeline", "stop_at", "reset", "step",
                "slow_motion")
    for name in hideable:
        c = known.get(name)
        if c is None:
            continue
        bar = c.parentWidget() if isinstance(c, QWidget) else None
        if isinstance(bar, pg.QtWidgets.QToolBar):   # a widget on a toolbar hides through its action
            c = next((a for a in bar.actions() if bar.widgetForAction(a) is c), c)
        c.setVisible(name not in names)
    window.hidden_controls = [n for n in names if n in known]
    return [n for n in names if n not in known]


def apply_setup(window: Any, setup: Setup, on_ready: Callable[[], None] | None = None) -> None:
    """Apply ``setup`` to ``window`` (see the module's docstring). ``on_ready`` runs once the
    trainer is in place (after the reset, for a playground setup)."""
    if not setup.playground:
        view = window.open_scene(setup.scene, seed=setup.seed or 0, **setup.params)
        if setup.play:
            view.set_playing(True)
        if on_ready:
            on_ready()
        return
    if setup.layers is not None:
        for name, act in window.layer_actions.items():
            act.setChecked(name in setup.layers)
    panels = {"graph": window.teaching.act_graph, "formulas": window.teaching.act_formulas}
    if setup.panels is not None:
        for name, act in panels.items():
            act.setChecked(name in setup.panels)
        window.charts_dock.setVisible("charts" in setup.panels)
        window.setup_dock.setVisible("setup" in setup.panels)
        if window.latent_dock is not None:
            window.latent_dock.setVisible("latent" in setup.panels)
    if setup.speed is not None:
        speed = int(setup.speed)
        window.speed_slider.setValue(SPEEDS.index(speed) if speed in SPEEDS else len(SPEEDS) - 1)
    if setup.teacher or setup.hide:
        set_hidden(window, list(setup.hide))

    def ready() -> None:
        if setup.play:
            window.play()
        if on_ready:
            on_ready()

    if setup.reset:
        cfg = setup.build_config()
        window.model.set_draft(cfg)
        window.setup_panel.set_preset_name(setup.preset)
        _once(window.resetDone, ready)
        window.reset()
    else:
        for item in setup.live_overrides():
            path, _, raw = item.partition("=")
            window.model.edit(path.strip(), raw.strip())
        ready()


def _once(signal: Any, fn: Callable[[], None]) -> None:
    def call(*_: Any) -> None:
        signal.disconnect(call)
        fn()

    signal.connect(call)


def current_setup(window: Any) -> Setup:
    """The window's setup now, for File → Save scene: the applied config (in full) and its seed,
    the visible layers and panels, the speed, and the controls hidden in teacher mode."""
    t = window.teaching
    panels = [n for n, on in (("graph", t.act_graph.isChecked()), ("formulas", t.act_formulas.isChecked()),
                              ("charts", window.charts_dock.isVisible()), ("setup", window.setup_dock.isVisible()),
                              ("latent", window.latent_dock is not None and window.latent_dock.isVisible())) if on]
    hidden = list(getattr(window, "hidden_controls", []))
    return Setup(scene="playground", seed=window.config.train.seed, layers=sorted(window._visible_layers()),
                 panels=panels, speed=SPEEDS[window.speed_slider.value()], hide=hidden, teacher=bool(hidden))


# ============================================================================ highlights
class _Frame(QFrame):
    """An orange frame drawn over a widget, following it, letting the mouse through."""

    def __init__(self, target: QWidget):
        super().__init__(target.window())
        self.target = target
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(f"QFrame {{ border: 3px solid {HIGHLIGHT}; border-radius: 4px; background: transparent; }}")
        target.installEventFilter(self)
        self.follow()
        self.show()
        self.raise_()

    def follow(self) -> None:
        t = self.target
        if not t.isVisible():
            self.hide()
            return
        top_left = t.mapTo(self.parentWidget(), t.rect().topLeft())
        self.setGeometry(top_left.x() - 2, top_left.y() - 2, t.width() + 4, t.height() + 4)
        self.show()
        self.raise_()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() in (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.Hide):
            QTimer.singleShot(0, self.follow)
        return False

    def remove(self) -> None:
        self.target.removeEventFilter(self)
        self.deleteLater()


class Highlighter:
    """A page's highlights: ``widget:NAME`` / ``panel:NAME`` (a frame over the control), ``layer:NAME``
    (the layer brought forward, the others faded), ``chart:TITLE`` (the chart's border),
    ``graph:NODE`` (the graph node lit)."""

    def __init__(self, window: Any):
        self.w = window
        self.frames: list[_Frame] = []
        self.faded: list[tuple[Any, float, float]] = []
        self.charts: list[Any] = []
        self.nodes: list[Any] = []
        self.active: list[str] = []

    def show(self, items: list[str]) -> list[str]:
        """Highlight ``items``; returns the ones that name nothing in this window."""
        self.clear()
        missing = []
        known = controls(self.w)
        for item in items:
            kind, _, name = item.partition(":")
            if kind in ("widget", "panel"):
                c = known.get(name)
                if c is None:
                    missing.append(item)
                    continue
                if not isinstance(c, QWidget):   # an action: frame its toolbar button
                    c = next((b for b in self.w.findChildren(QWidget) if getattr(b, "defaultAction", None)
                              and b.defaultAction() is c), None)
                if c is None:
                    missing.append(item)
                    continue
                self.frames.append(_Frame(c))
            elif kind == "layer":
                if name not in LAYER_NAMES:
                    missing.append(item)
                    continue
                for lname, vis in self.w.canvas.visuals.items():
                    for it in vis.items:
                        self.faded.append((it, it.opacity(), it.zValue()))
                        if lname == name:
                            it.setZValue(it.zValue() + 50)
                        else:
                            it.setOpacity(0.35)
            elif kind == "chart":
                plot = next((p for title, p in self.w.charts.plots.items() if name.lower() in title.lower()), None)
                if plot is None:
                    missing.append(item)
                    continue
                plot.getViewBox().setBorder(pg.mkPen(HIGHLIGHT, width=3))
                self.charts.append(plot)
            elif kind == "graph":
                g = self.w.teaching.graph
                if name not in g.boxes:
                    missing.append(item)
                    continue
                g.boxes[name].setBorder(pg.mkPen(HIGHLIGHT, width=3))
                self.nodes.append(g.boxes[name])
        self.active = [i for i in items if i not in missing]
        return missing

    def clear(self) -> None:
        for f in self.frames:
            f.remove()
        self.frames.clear()
        for it, opacity, z in self.faded:
            it.setOpacity(opacity)
            it.setZValue(z)
        self.faded.clear()
        for p in self.charts:
            p.getViewBox().setBorder(None)           # a chart has no border
        for box in self.nodes:
            box.setBorder(pg.mkPen("#cccccc"))       # a graph node's usual frame
        self.charts.clear()
        self.nodes.clear()
        self.active = []


# ============================================================================ the panel
def window_values(window: Any) -> dict[str, float]:
    """The figures a page's condition reads, from what the window shows: the last step's
    statistics and the latest metrics (the charts' figures); or the lecture scene's numbers."""
    view = getattr(window, "scene_window", None)
    if view is not None and view.isVisible() and view.scene is not None and window.lesson_panel.on_scene:
        return scene_values(view.scene)
    out: dict[str, float] = {"step": float(window.current_step)}
    h = window.history
    for name in ("loss_d", "loss_g", "d_real", "d_fake", "score_real", "score_fake", "grad_d", "grad_g", "jsd",
                 "modes_covered", "modes_total", "hq_fraction", "reverse_kl", "w1", "jsd_eval", "mnist_score", "fid",
                 "precision", "recall"):
        try:
            s = h.get(name)
        except KeyError:
            continue
        if s.n:
            out[name] = float(np.asarray(s.data()[1])[-1])
    return out


class LessonPanel(QWidget):
    """A lesson's pages, one at a time: narration, highlights, the condition that unlocks Next."""

    pageShown = Signal(int)
    pageUnlocked = Signal(int)

    def __init__(self, window: Any):
        super().__init__()
        self.w = window
        self.lesson: Lesson | None = None
        self.index = 0
        self.done: set[int] = set()
        self.on_scene = False
        self.highlighter = Highlighter(window)
        lay = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.title.setWordWrap(True)
        self.pages = QListWidget()
        self.pages.setMaximumHeight(130)
        self.pages.currentRowChanged.connect(self._picked)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.back_button = QPushButton("◀ Back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("Next ▶")
        self.next_button.clicked.connect(self.next)
        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.next_button)
        for wdg in (self.title, self.pages, self.text, self.status):
            lay.addWidget(wdg)
        lay.setStretchFactor(self.text, 1)
        lay.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.check)

    def open_lesson(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.done.clear()
        self.title.setText(lesson.title)
        self.pages.blockSignals(True)
        self.pages.clear()
        for i, p in enumerate(lesson.pages):
            self.pages.addItem(QListWidgetItem(f"{i + 1}. {p.title}"))
        self.pages.blockSignals(False)
        self.show_page(0)
        self.timer.start()

    def close_lesson(self) -> None:
        self.timer.stop()
        self.highlighter.clear()
        self.lesson = None

    def show_page(self, i: int) -> None:
        assert self.lesson is not None
        self.index = i
        page = self.lesson.pages[i]
        self.pages.blockSignals(True)
        self.pages.setCurrentRow(i)
        self.pages.blockSignals(False)
        self.text.setHtml(f"<h3>{page.title}</h3>{page.text}")
        self.on_scene = not page.setup.playground
        self.highlighter.clear()
        self.status.setText("<i>Setting up…</i>")

        def ready() -> None:
            missing = self.highlighter.show(page.highlight)
            if missing:
                self.w.statusBar().showMessage(f"This page highlights {', '.join(missing)}, which this window "
                                               "does not have.", 6000)
            self.check()

        apply_setup(self.w, page.setup, ready)
        self._buttons()
        self.pageShown.emit(i)

    def _picked(self, row: int) -> None:
        if self.lesson is not None and 0 <= row < len(self.lesson.pages) and row != self.index:
            if row <= max(self.done, default=-1) + 1:
                self.show_page(row)
            else:
                self.pages.blockSignals(True)
                self.pages.setCurrentRow(self.index)
                self.pages.blockSignals(False)

    def _buttons(self) -> None:
        n = len(self.lesson.pages) if self.lesson else 0
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index in self.done and self.index < n - 1)
        self.next_button.setText("Next ▶" if self.index < n - 1 else "Done")

    def check(self) -> None:
        """Is the page's condition met? (every 250 ms)"""
        if self.lesson is None:
            return
        page = self.lesson.pages[self.index]
        if page.until is None:
            ok, text = True, "Read, then Next."
        else:
            vals = window_values(self.w)
            fields = FieldView(lambda p: get_field(self.w.config, p))
            ok = page.until.holds(vals, self.w._visible_layers(), fields)
            text = ("✓ " if ok else "Waiting for: ") + page.until.status(vals)
        self.status.setText(f"<span style='color:{'#1a7f37' if ok else '#555'}'>{text}</span>")
        if ok and self.index not in self.done:
            self.done.add(self.index)
            item = self.pages.item(self.index)
            if item is not None:
                item.setText("✓ " + item.text())
            self.pageUnlocked.emit(self.index)
        self._buttons()

    def next(self) -> None:
        if self.lesson is not None and self.index in self.done and self.index + 1 < len(self.lesson.pages):
            self.show_page(self.index + 1)

    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.show_page(self.index - 1)


def open_path(window: Any, path: str | Path) -> Any:
    """Open a scene file or a lesson in ``window``; a bad file raises ``LessonError`` and nothing
    is touched."""
    from ganplay.engine.lessons import Lesson as L_, read_file

    doc = read_file(path, LAYER_NAMES)
    if isinstance(doc, L_):
        window.show_lesson(doc)
    else:
        apply_setup(window, doc.setup)
        window.statusBar().showMessage(f"Opened the scene {doc.title} ({Path(path).name})", 6000)
    return doc


def install(window: Any) -> LessonPanel:
    """The lesson dock, File → Open scene or lesson / Save scene, Help → Lessons."""
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QDockWidget, QFileDialog

    from ganplay.engine.lessons import LessonError, lesson_title, save_scene_file, shipped_lessons

    panel = LessonPanel(window)
    dock = QDockWidget("Lesson", window)
    dock.setObjectName("lesson_dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.tabifyDockWidget(window.setup_dock, dock)
    dock.hide()
    panel.dock = dock  # type: ignore[attr-defined]
    window.hidden_controls = []

    def show_lesson(lesson: Lesson) -> None:
        dock.show()
        dock.raise_()
        panel.open_lesson(lesson)

    def open_any(path: str) -> None:
        try:
            open_path(window, path)
        except LessonError as exc:   # nothing was applied: the session goes on as it was
            window._error("Cannot open the file", f"{exc}\n\nThe current session is unchanged.")
            window.last_file_error = str(exc)

    def open_dialog() -> None:
        path, _ = QFileDialog.getOpenFileName(window, "Open a scene or a lesson", "", "ganplay scenes and lessons (*.toml)")
        if path:
            open_any(path)

    def save_dialog() -> None:
        path, _ = QFileDialog.getSaveFileName(window, "Save the scene", "scene.toml", "ganplay scene (*.toml)")
        if path:
            try:
                save_scene_file(path, Path(path).stem, current_setup(window), window.config)
            except OSError as exc:
                window._error("Could not save the scene", f"{path}: {exc.strerror or exc}")
                return
            window.statusBar().showMessage(f"Saved the scene to {path}", 6000)

    window.show_lesson = show_lesson
    window.open_file = open_any
    act_open = QAction("Open scene or lesson...", window)
    act_open.setShortcut(QKeySequence("Ctrl+Shift+O"))
    act_open.setStatusTip("Open a scene file or a lesson (TOML): a whole setup of the window, or guided pages")
    act_open.triggered.connect(open_dialog)
    act_save = QAction("Save scene...", window)
    act_save.setStatusTip("Save the setup of the window (config and seed, layers, panels, speed, hidden controls)")
    act_save.triggered.connect(save_dialog)
    window.addAction(act_open)
    menus = {m.text().replace("&", ""): m.menu() for m in window.menuBar().actions() if m.menu() is not None}
    if "File" in menus:
        first = menus["File"].actions()[0] if menus["File"].actions() else None
        menus["File"].insertAction(first, act_open)
        menus["File"].insertAction(first, act_save)
        menus["File"].insertSeparator(first)
    if "Help" in menus:
        sub = menus["Help"].addMenu("Lessons")
        for path in shipped_lessons():   # read whole (and checked) when chosen
            a = QAction(lesson_title(path), window)
            a.triggered.connect(lambda _=False, p=str(path): open_any(p))
            sub.addAction(a)
        window.lessons_menu = sub
    window.act_open_scene_file, window.act_save_scene_file = act_open, act_save
    return panel
