"""The playground's main window: setup on the left, the data canvas in the centre, live charts on
the right, transport controls on the toolbar. All training happens in the live loop (by default in
a process of its own, see ``worker.py``); this class only sends typed commands
(``ganplay.live.protocol``), handles typed events through one table, and draws the latest frame
from a timer.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QSlider, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from ganplay.engine import config as C
from ganplay.engine.presets import PRESETS, apply_preset

from ganplay.live import protocol as P
from ganplay.live.layers import LAYERS
from ganplay.live.loop import SPEEDS
from ganplay.live.window_model import WindowModel

from .canvas import DataCanvas
from .charts import ChartPanel, chart_kind
from .label_bar import LabelBar, training_mode
from .help_text import FIRST_RUN_HINT, MNIST_CREDIT
from .settings import make_settings
from .lessons_panel import install as install_lessons
from .teaching import Teaching
from .setup_panel import SetupPanel
from .timeline import RewindTimeline
from .worker import FileTask, PreviewWorker, default_backend, make_worker

# the banner's (background, text) colours: ColorBrewer blues, oranges and reds
BANNER_COLOURS = {"info": ("#deebf7", "#08306b"), "warning": ("#fee6ce", "#7f2704"),
                  "error": ("#fde0dd", "#67000d")}
REDRAW_MS = 33  # ~30 frames per second; training speed does not depend on it
# The worker holds the GIL between torch calls; a short switch interval (CPython's default is
# 5 ms) lets the GUI thread in sooner, which keeps the event loop responsive.
SWITCH_INTERVAL_S = 0.001


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _speed_text(speed: int) -> str:
    return "full speed" if speed == 0 else f"{speed} step{'s' if speed > 1 else ''}/s"


class MainWindow(QMainWindow):
    frameArrived = Signal(object)     # every Frame the worker publishes
    stepChanged = Signal(int)         # the step shown in the status bar
    engineReady = Signal()            # the first trainer is built
    resetDone = Signal()              # a new trainer is in place (after Reset, a preset, new data)
    eventHandled = Signal(object)     # every protocol.Event, after the window has handled it
    previewShown = Signal()           # the real data are on the canvas before the engine is up
    generatorOpened = Signal(str)     # an exported generator is shown (File -> Open generator)
    pointsLoaded = Signal(str)        # points from a CSV/NPY file are the data now

    def __init__(self, config: C.Config | None = None, settings: Any = None,
                 data: Any = None, points: np.ndarray | None = None, backend: str | None = None):
        super().__init__()
        self.backend = backend or default_backend()
        self.setWindowTitle("ganplay")
        self.settings = settings if settings is not None else make_settings()
        if config is None:
            config = C.Config()
            last = self.settings.value("preset", "", str)
            if last in PRESETS:
                config = apply_preset(last, config, adapt_data=True)
        self.model = WindowModel(config)  # the window's state; panels and status bar are views of it
        self.points = points          # drawn or loaded points; kept across resets
        self._data = data             # an injected data set (tests, or loaders with progress)
        self.frames_received = 0
        self.frames_drawn = 0
        self._latest: Any = None
        self._undrawn = False
        self._drawing: list[np.ndarray] = []
        self._bundle: Any = None
        self.engine_ready = False
        self._deaths = 0   # training processes lost since a trainer was last built
        self._file_tasks: set[Any] = set()   # files being read off the GUI thread
        self._events = self._event_table()
        self.redraw_ms: deque[float] = deque(maxlen=2000)  # GUI cost per frame, for the bench
        sys.setswitchinterval(SWITCH_INTERVAL_S)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_status()
        self.teaching = Teaching.install(self)   # model graph, formulas, slow motion
        self.lesson_panel = install_lessons(self)   # scene files and lessons
        self._restore_settings()

        self.model.events.step.connect(self._show_step)
        self.model.events.device.connect(lambda d: self.device_label.setText(f"device: {d}"))
        self.model.events.live_edit.connect(lambda path, value: self.worker.send(P.SetField(path, value)))
        # grid layers (D(x), D*, the real density) are sampled on the canvas's visible area
        self.canvas.viewChanged.connect(lambda view: self.worker.send(P.SetView(tuple(view))))
        self.worker = self._new_worker(self.config)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        # the worker imports torch (seconds): start it once the window can paint
        QTimer.singleShot(0, self._start_worker)
        # meanwhile the real data, built in a thread of this process, fill the empty canvas
        self._preview = PreviewWorker(self.config.data, self._points_for(self.config), self)
        self._preview.ready.connect(self._show_preview)
        QTimer.singleShot(0, self._preview.start)

    def _show_preview(self, fr: Any) -> None:
        if fr is not None and self._latest is None and not self.engine_ready:
            self.canvas.show_frame(fr)
            if not self.statusBar().currentMessage():  # never hide news about the training process
                self.statusBar().showMessage("The real data; the networks are being built in the training process...", 5000)
            self.previewShown.emit()

    # ================================================================== the model's views
    @property
    def config(self) -> C.Config:
        """The config the trainer runs (the model's applied config)."""
        return self.model.applied

    @property
    def history(self) -> Any:
        return self.model.history

    @property
    def pending(self) -> list[str]:
        """Edited fields waiting for a Reset."""
        return self.model.pending()

    @property
    def running(self) -> bool:
        return self.model.running

    @property
    def current_step(self) -> int:
        return self.model.step

    @property
    def device_text(self) -> str:
        return self.model.device

    def _show_step(self, step: int) -> None:
        self.step_label.setText(f"step {step}")
        self.stepChanged.emit(step)

    # ================================================================== layout
    def _build_central(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        self.hint_label = QLabel(FIRST_RUN_HINT)
        self.hint_label.setStyleSheet("background: #fff7bc; padding: 4px;")
        self.hint_label.setWordWrap(True)
        lay.addWidget(self.hint_label)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QHBoxLayout(self.banner)
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        bl.addWidget(self.banner_label, 1)
        self.banner_restore = QPushButton("Go back to the last good state")
        self.banner_restore.setToolTip("Restore G, D and their optimisers from the last state kept before the failure.")
        self.banner_restore.clicked.connect(self.restore_last_good)
        self.banner_reset = QPushButton("Reset")
        self.banner_reset.setToolTip("Start again from step 0 with the current settings.")
        self.banner_reset.clicked.connect(self.reset)
        self.banner_close = QToolButton()
        self.banner_close.setText("x")
        self.banner_close.setToolTip("Hide this message.")
        self.banner_close.clicked.connect(self.banner.hide)
        for w in (self.banner_restore, self.banner_reset, self.banner_close):
            bl.addWidget(w)
        self.banner_kind = ""
        self.banner.hide()
        lay.addWidget(self.banner)
        self.label_bar = LabelBar()   # a 2D cGAN's one-label-at-a-time selector
        self.label_bar.labelChosen.connect(lambda k: self.worker.send(P.ShowLabel(k)))
        lay.addWidget(self.label_bar)
        self.canvas = DataCanvas()
        self.canvas.setMinimumSize(420, 380)
        self.canvas.pointsDrawn.connect(self._on_points_drawn)
        lay.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.setup_panel = SetupPanel(self.model)
        self.setup_panel.fieldChanged.connect(self._on_field_changed)
        self.setup_panel.fieldRejected.connect(lambda p, m: self._error("Bad value", m))
        self.setup_panel.presetChosen.connect(self.apply_preset)
        self.setup_panel.resetRequested.connect(self.reset)
        self.setup_dock = QDockWidget("Setup", self)
        self.setup_dock.setObjectName("setup_dock")
        self.setup_dock.setWidget(self.setup_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)

        self.charts = ChartPanel(self.history)
        self.charts_dock = QDockWidget("Charts", self)
        self.charts_dock.setObjectName("charts_dock")
        self.charts_dock.setWidget(self.charts)
        # rewind and branch: the timeline sits under the charts
        self.timeline = RewindTimeline()
        self.timeline.scrubbed.connect(self.rewind)
        self.timeline.branchRequested.connect(self.branch)
        self.charts.layout().addWidget(self.timeline)
        self.resetDone.connect(self.timeline.show_live)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.charts_dock)

        self.latent_panel: Any = None
        self.latent_dock: QDockWidget | None = None

    def _install_latent_panel(self) -> None:
        """The latent explorer (its own module) needs torch, so it joins once the engine is up."""
        if self.latent_dock is not None or not _module_available("ganplay.ui.latent_panel"):
            return
        try:
            from .latent_panel import LatentPanel

            panel = LatentPanel(self)
        except Exception as exc:  # a broken optional panel must not stop the playground
            self.statusBar().showMessage(f"Latent explorer unavailable: {exc}", 8000)
            return
        self.latent_panel = panel
        panel.pointsChanged.connect(self.canvas.set_latent_points)
        panel.pathChanged.connect(self.canvas.set_path)
        self.canvas.sampleClicked.connect(self._on_sample_clicked)
        dock = QDockWidget("Latent explorer", self)
        dock.setObjectName("latent_dock")
        dock.setWidget(panel)
        self.latent_dock = dock
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.splitDockWidget(dock, self.charts_dock, Qt.Orientation.Horizontal)
        self.view_menu.addAction(dock.toggleViewAction())
        state = self.settings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:  # first run: give the charts room (after the new dock is laid out)
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [self.setup_dock, dock, self.charts_dock], [250, 280, 440], Qt.Orientation.Horizontal))
        if self._bundle is not None:
            panel.set_generator(self._bundle)
        elif self._latest is not None and self._latest.generator is not None:
            panel.set_generator(self._latest.generator)

    def _on_sample_clicked(self, index: int) -> None:
        """A digit clicked on the canvas's grid becomes A or B of the latent explorer."""
        fr, panel = self._latest, self.latent_panel
        if panel is None or fr is None or fr.images is None:
            return
        if self._bundle is not None:
            self.statusBar().showMessage("The latent explorer shows an opened generator: hide it "
                                         "(File menu) to pick samples of the training one", 6000)
            return
        try:
            which = panel.take_grid_sample(index, len(fr.images))
        except Exception as exc:  # no image snapshot yet: say so, never fail
            self.statusBar().showMessage(f"Latent explorer: {exc}", 5000)
            return
        if self.latent_dock is not None:
            self.latent_dock.show()
        self.statusBar().showMessage(f"Sample {index + 1} of the grid is now {which} of the latent "
                                     "explorer's interpolation", 6000)

    def _action(self, text: str, slot: Any, shortcut: str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip + (f" ({shortcut})" if shortcut else ""))
        a.setStatusTip(tip)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work even when the action is only in a menu
        return a

    def _build_actions(self) -> None:
        self.act_play = self._action("Play", self.play, tip="Train continuously")
        self.act_pause = self._action("Pause", self.pause, tip="Stop training; the state is kept")
        self.act_toggle = self._action("Play/Pause", self.toggle_play, "Space", "Play or pause training")
        self.act_step = self._action("Step", lambda: self.step("both"), "S",
                                     "One training step: k D updates then one G update")
        self.act_step_d = self._action("D step", lambda: self.step("d"), tip="Update only the discriminator (as GAN Lab)")
        self.act_step_g = self._action("G step", lambda: self.step("g"), tip="Update only the generator (as GAN Lab)")
        self.act_reset = self._action("Reset", self.reset, "R",
                                      "Rebuild the networks with the current settings and start from step 0")
        self.act_draw = self._action("Draw data", self._toggle_draw, tip="Paint your own data set on the canvas with the mouse; "
                                     "leave draw mode to train on it", checkable=True)
        self.act_clear_drawing = self._action("Clear drawing", self.clear_drawing, tip="Remove the points painted so far")
        self.act_load_data = self._action("Load points (CSV/NPY)...", self._load_data_dialog, "Ctrl+L",
                                          "Train on (x, y) points from a .csv or .npy file")
        self.act_export = self._action("Export generator...", self._export_dialog, "Ctrl+E",
                                       "Write the generator as a bundle (safetensors + config + torch.export program)")
        self.act_open_gen = self._action("Open generator...", self._open_generator_dialog,
                                         tip="Explore an exported generator; the training session is kept")
        self.act_close_gen = self._action("Hide opened generator", self.close_generator,
                                          tip="Stop showing the opened generator's samples")
        self.act_save_session = self._action("Save session...", self._save_session_dialog, "Ctrl+S",
                                             "Save G, D, optimisers, RNG, settings and charts to continue later")
        self.act_open_session = self._action("Open session...", self._open_session_dialog, "Ctrl+O",
                                             "Continue a saved session (replaces the current one)")
        self.act_open_sweep = self._action("Open sweep...", self._open_sweep_dialog,
                                           tip="The results table of a 'ganplay sweep' folder: a row opens its "
                                               "generator in the latent explorer or continues it here")
        self.act_export_csv = self._action("Export charts as CSV...", self._export_csv_dialog,
                                           tip="All chart series, one row per step")
        self.act_export_png = self._action("Export charts as PNG...", self._export_png_dialog,
                                           tip="A picture of the charts panel")
        self.act_clear_charts = self._action("Clear charts", self.clear_charts, tip="Forget the chart history (training goes on)")
        self.act_compare = self._action(
            "Compare recipes...", self.open_compare,
            tip="Train 2-8 recipes side by side on the same data and seed, and open any of them here")
        self.act_record = self._action("Record canvas", self._toggle_record, "Ctrl+Shift+R",
                                       "Record the canvas while it trains; stop to save an animated GIF "
                                       "(or PNG frames)", checkable=True)
        self.recorder: Any = None
        if not _module_available("ganplay.ui.recorder"):
            self.act_record.setEnabled(False)
            self.act_record.setToolTip("Not available in this build: ganplay.ui.recorder is missing.")
        self.act_quit = self._action("Quit", self.close, "Ctrl+Q", "Close ganplay")
        self.act_about = self._action("About ganplay", self.show_about, tip="Versions, device and credits")
        self.act_guide = self._action("Guide", self.show_guide, "F1", "What each view shows: canvas layers, "
                                      "charts, setup, toolbar, compare, latent explorer")
        self.guide: Any = None
        self.act_close_gen.setEnabled(False)
        for act, module in ((self.act_export, "ganplay.engine.export"),
                            (self.act_open_gen, "ganplay.engine.export"),
                            (self.act_save_session, "ganplay.engine.session"),
                            (self.act_open_session, "ganplay.engine.session")):
            if not _module_available(module):
                act.setEnabled(False)
                act.setToolTip(f"Not available in this build: {module} is missing.")

        mb = self.menuBar()
        m_file = mb.addMenu("&File")
        for a in (self.act_load_data, None, self.act_open_gen, self.act_export, self.act_close_gen, None,
                  self.act_open_session, self.act_save_session, self.act_open_sweep, None, self.act_export_csv,
                  self.act_export_png, self.act_record, None, self.act_quit):
            m_file.addSeparator() if a is None else m_file.addAction(a)
        m_train = mb.addMenu("&Train")
        for a in (self.act_toggle, self.act_play, self.act_pause, self.act_step, self.act_step_d,
                  self.act_step_g, self.act_reset):
            m_train.addAction(a)
        m_train.addSeparator()
        self.act_branch = self._action("Branch from here", self.branch, "Ctrl+B",
                                       "After a rewind: train on from the step shown with the current settings")
        self.act_rewind_back = self._action("Rewind one snapshot", lambda: self.scrub_by(-1), "Ctrl+Left",
                                            "Go back to the previous kept training state (the timeline under the charts)")
        self.act_rewind_fwd = self._action("Forward one snapshot", lambda: self.scrub_by(1), "Ctrl+Right",
                                           "Go to the next kept training state")
        for a in (self.act_rewind_back, self.act_rewind_fwd, self.act_branch):
            m_train.addAction(a)
        m_view = mb.addMenu("&View")
        self.layer_actions: dict[str, QAction] = {}
        for spec in LAYERS:
            a = QAction(spec.label, self, checkable=True, checked=True)
            a.setToolTip(spec.tooltip)
            a.setStatusTip(spec.tooltip)
            a.toggled.connect(lambda on, k=spec.name: self.set_layer(k, on))
            self.layer_actions[spec.name] = a
            m_view.addAction(a)
        self.act_legend = QAction("Legend", self, checkable=True, checked=True)
        self.act_legend.setStatusTip("Show what the canvas draws, under the plot")
        self.act_legend.toggled.connect(self.canvas.set_legend_visible)
        m_view.addAction(self.act_legend)
        m_view.addSeparator()
        m_view.addAction(self.act_compare)
        m_view.addAction(self.act_clear_charts)
        for dock in (self.setup_dock, self.charts_dock):
            m_view.addAction(dock.toggleViewAction())
        self.view_menu = m_view
        self.scenes_menu = self._scenes_menu(mb)
        m_help = mb.addMenu("&Help")
        m_help.addAction(self.act_guide)
        m_help.addAction(self.act_about)

        tb = self.addToolBar("Training")
        tb.setObjectName("training_toolbar")
        for a in (self.act_play, self.act_pause, self.act_step, self.act_step_d, self.act_step_g, self.act_reset):
            tb.addAction(a)
        tb.addSeparator()
        tb.addWidget(QLabel(" Speed "))
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(len(SPEEDS) - 1)
        self.speed_slider.setFixedWidth(120)
        self.speed_slider.setToolTip("Steps per second, from slow motion (1/s) to full speed; "
                                     "the drawing rate never limits training")
        self.speed_slider.valueChanged.connect(self._on_speed)
        tb.addWidget(self.speed_slider)
        self.speed_label = QLabel(_speed_text(0))
        self.speed_label.setMinimumWidth(80)
        tb.addWidget(self.speed_label)
        tb.addSeparator()
        tb.addWidget(QLabel(" Stop at step "))
        self.stop_spin = QSpinBox()
        self.stop_spin.setRange(0, 10_000_000)
        self.stop_spin.setSingleStep(500)
        self.stop_spin.setSpecialValueText("off")
        self.stop_spin.setKeyboardTracking(False)
        self.stop_spin.setToolTip("Pause automatically when training reaches this step (off = never)")
        self.stop_spin.valueChanged.connect(lambda v: self.worker.send(P.StopAt(int(v))))
        tb.addWidget(self.stop_spin)
        tb.addSeparator()
        tb.addAction(self.act_record)
        tb.addAction(self.act_draw)
        tb.addAction(self.act_clear_drawing)
        self.layer_bar = self.addToolBar("Layers")
        self.layer_bar.setObjectName("layers_toolbar")
        for a in self.layer_actions.values():
            self.layer_bar.addAction(a)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.insertToolBarBreak(self.layer_bar)

        for a in (self.act_load_data, self.act_draw, self.act_clear_drawing):
            b = QToolButton()
            b.setDefaultAction(a)
            self.setup_panel.add_data_button(b)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.step_label = QLabel("step 0")
        self.step_label.setMinimumWidth(90)
        self.step_label.setToolTip("Training steps done (one step = k D updates + one G update)")
        self.sps_label = QLabel("0 steps/s")
        self.sps_label.setMinimumWidth(90)
        self.sps_label.setToolTip("Training speed, measured where the training runs")
        self.device_label = QLabel("device: starting...")
        self.device_label.setToolTip("Where the networks train")
        self.load_bar = QProgressBar()
        self.load_bar.setRange(0, 100)
        self.load_bar.setMaximumWidth(220)
        self.load_bar.setFormat("loading data %p%")
        self.load_bar.hide()
        # Step clicks sent but not yet seen in a frame: counts down as the loop works through them
        self.queue_label = QLabel()
        self.queue_label.setToolTip("Steps clicked that the training process has not done yet")
        self.queue_label.hide()
        self._step_goal: int | None = None
        for w in (self.load_bar, self.queue_label, self.step_label, self.sps_label, self.device_label):
            sb.addPermanentWidget(w)

    def _queue_steps(self, n: int) -> None:
        """n more steps queued (0: none any more); ``_on_frame`` counts them down."""
        if n <= 0:
            self._show_queue(0)
            return
        known = self._latest.step if self._latest is not None else self.model.step
        self._step_goal = (known if self._step_goal is None else self._step_goal) + n
        self._show_queue(self._step_goal - known)

    def _show_queue(self, left: int) -> None:
        if left <= 0:
            self._step_goal = None
            self.queue_label.hide()
            return
        self.queue_label.setText(f"{left} step{'s' if left != 1 else ''} queued")
        self.queue_label.show()

    # ================================================================== settings
    def _restore_settings(self) -> None:
        s = self.settings
        geo = s.value("geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1500, 900)
            self.resizeDocks([self.setup_dock, self.charts_dock], [260, 420], Qt.Orientation.Horizontal)
        state = s.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        hidden = s.value("hidden_layers", [], list) or []
        for key in hidden:
            if key in self.layer_actions:
                self.layer_actions[key].setChecked(False)
        self.act_legend.setChecked(s.value("show_legend", True, bool))
        speed = s.value("speed_index", len(SPEEDS) - 1, int)
        if 0 <= speed < len(SPEEDS):
            self.speed_slider.setValue(speed)
        if s.value("hint_seen", False, bool):
            self.hint_label.hide()
        last = s.value("preset", "", str)
        self.setup_panel.set_preset_name(last if last in PRESETS and self._matches_preset(last) else None)

    def _matches_preset(self, name: str) -> bool:
        return C.to_dict(apply_preset(name, self.config)) == C.to_dict(self.config)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        s.setValue("hidden_layers", [k for k, a in self.layer_actions.items() if not a.isChecked()])
        s.setValue("show_legend", self.act_legend.isChecked())
        s.setValue("speed_index", self.speed_slider.value())
        s.sync()

    # ================================================================== worker lifecycle
    def _new_worker(self, cfg: C.Config) -> Any:
        worker = make_worker(self.backend, P.Reset(cfg, self._points_for(cfg), self._data))
        worker.frameReady.connect(self._on_frame)
        worker.event.connect(self._on_event)
        return worker

    def _replace_worker(self, backend: str) -> None:
        """A fresh worker on the current settings: after a failed or lost training process."""
        old = self.worker
        old.stop(500)
        old.frameReady.disconnect(self._on_frame)
        old.event.disconnect(self._on_event)
        self.backend = backend
        self.worker = self._new_worker(self.model.draft)
        self.model.set_running(False)
        self._start_worker()

    def _start_worker(self) -> None:
        if not self.worker.isRunning() and not getattr(self, "_closed", False):
            self.worker.send(P.ShowLayers(tuple(sorted(self._visible_layers()))))
            self.worker.send(P.SetSpeed(SPEEDS[self.speed_slider.value()]))
            self.worker.start()

    def shutdown(self) -> None:
        """Stop the worker (within about a second) before Qt destroys the thread object."""
        self._closed = True
        self.redraw_timer.stop()
        self._preview.wait(10_000)  # a few seconds at most: it only samples the data
        for task in list(self._file_tasks):  # a file being read: bounded, so seconds at most
            task.wait(30_000)
        if self.worker.isRunning():
            if not self.worker.stop(1500):
                self.worker.wait(10_000)  # a very long step: still never terminate()

    def _scenes_menu(self, mb: Any) -> Any:
        """Scenes: the lecture's pictures (engine/scenes), grouped by lecture part."""
        from ganplay.engine.scenes import SCENES

        menu = mb.addMenu("&Scenes")
        group = None
        for key, entry in SCENES.items():
            if entry.group != group:
                group = entry.group
                menu.addSection(group)
            a = QAction(entry.title, self)
            a.triggered.connect(lambda _=False, k=key: self.open_scene(k))
            menu.addAction(a)
        return menu

    def open_scene(self, name: str, **values: Any) -> Any:
        """The Scenes window on scene ``name`` (one window, reused)."""
        from .scene_window import SceneWindow

        view = getattr(self, "scene_window", None)
        if view is None:
            view = self.scene_window = SceneWindow(name, **values)
        else:
            view.open_scene(name, **values)
        view.show()
        view.raise_()
        return view

    def open_compare(self) -> Any:
        """The compare window, seeded with the current settings (one window, reused)."""
        from .compare_view import CompareView

        view = getattr(self, "compare_view", None)
        if view is None:
            view = CompareView(base_config=self.config.copy(), points=self.points)
            view.openInPlayground.connect(self._open_compared)
            self.compare_view = view
        else:
            view.set_base_config(self.config.copy(), self.points)
        view.show()
        view.raise_()
        return view

    def _open_compared(self, payload: Any) -> None:
        """A multiple clicked in the compare window continues here with its weights."""
        cfg, state = payload
        self.model.set_running(False)
        self.worker.send(P.InstallState(cfg, state, self.points))

    def closeEvent(self, event: Any) -> None:
        view = getattr(self, "compare_view", None)
        if view is not None:
            view.close()
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)

    # ================================================================== transport
    def play(self) -> None:
        self.banner.hide()
        if not self.hint_label.isHidden():
            self.hint_label.hide()
            self.settings.setValue("hint_seen", True)
        if self.act_draw.isChecked():
            self.act_draw.setChecked(False)
            self._toggle_draw()
        self.model.set_running(True)
        self._queue_steps(0)
        self.worker.send(P.Play())

    def pause(self) -> None:
        self.model.set_running(False)
        self.worker.send(P.Pause())

    def toggle_play(self) -> None:
        self.pause() if self.running else self.play()

    def step(self, mode: str = "both") -> None:
        self.model.set_running(False)
        self._queue_steps(1)
        self.worker.send(P.Step(mode))

    def reset(self) -> None:
        cfg = self.model.draft
        try:
            cfg.validate()
        except C.ConfigError as exc:
            self._error("Cannot reset with these settings", str(exc))
            return
        if cfg.data.name == "points" and self.points is None and not cfg.data.path:
            self._error("No points to train on",
                        "Draw points on the canvas (Draw data) or load a CSV/NPY file first.")
            return
        self.banner.hide()
        if not self.worker.isRunning() and self._deaths >= 2:
            self._deaths = 0
            self._replace_worker(self.backend)  # it builds its trainer from the draft
            return
        self.worker.send(P.Reset(cfg, self._points_for(cfg), self._data if self._data_matches(cfg) else None))

    def _points_for(self, cfg: C.Config) -> np.ndarray | None:
        return self.points if cfg.data.name == "points" else None

    def _data_matches(self, cfg: C.Config) -> bool:
        """An injected data set is reused while the data section is unchanged."""
        return self._data is not None and C.to_dict(cfg)["data"] == C.to_dict(self.config)["data"]

    # ------------------------------------------------------------------ rewind and branch
    def rewind(self, step: int) -> None:
        """Pause and show the kept training state at (or just before) ``step``."""
        self.model.set_running(False)
        self._queue_steps(0)
        self.worker.send(P.Rewind(int(step)))

    def scrub_by(self, n: int) -> None:
        """Move the timeline ``n`` snapshots (keyboard)."""
        sl = self.timeline.slider
        if sl.isEnabled():
            sl.setValue(max(sl.minimum(), min(sl.maximum(), sl.value() + n)))

    def branch(self) -> None:
        """Branch from here: train on from the rewound state with the current settings (Play does
        the same; the training loop says where the branch began with ``Branched``)."""
        self.banner.hide()
        self.model.set_running(True)
        self._queue_steps(0)
        self.worker.send(P.Branch())

    def _on_rewound(self, ev: P.Rewound) -> None:
        self.model.set_running(False)
        pairs = [(p, C.get_field(ev.config, p), C.get_field(self.config, p)) for p in sorted(C.LIVE_FIELDS)]
        diff = [f"{p}: {then} then, {now} now" for p, then, now in pairs if then != now]
        note = ("Settings at that step differ from the current ones (a branch uses the current ones):\n"
                + "\n".join(diff)) if diff else "Trained with the current settings"
        self.timeline.show_rewound(ev.step, ev.snapshot_steps, note)
        self.charts.set_marker(ev.step)
        # the rewound frame brings no statistics: the graph's loss bars take that step's from the charts
        self.teaching.graph.show_losses(*(self._history_at(k, ev.step) for k in ("loss_d", "loss_g")))
        self.statusBar().showMessage(f"Back at step {ev.step}: Play or Branch from here trains on from it "
                                     "with the current settings", 8000)

    def _on_branched(self, ev: P.Branched) -> None:
        self.charts.set_ghost(self.history.cut_after(ev.step))
        self.charts.set_marker(ev.step)
        self.timeline.show_live()
        self.timeline.set_steps(ev.snapshot_steps)
        self.statusBar().showMessage(f"Branched at step {ev.step}: the old branch is dashed on the charts", 6000)

    def _history_at(self, name: str, step: int) -> float:
        """A chart series' value at ``step`` (its last point at or before it; NaN if none)."""
        s = self.history.series.get(name)
        if s is None or not s.n:
            return float("nan")
        x, y = s.data()
        i = int(np.searchsorted(x, step, side="right")) - 1
        return float(y[i]) if i >= 0 else float("nan")

    def _forget_branches(self) -> None:
        """A new trainer (reset, session, compared recipe): no old branch, no rewound step."""
        self.charts.set_ghost(None)
        self.charts.set_marker(None)
        self.timeline.show_live()

    def restore_last_good(self) -> None:
        self.banner.hide()
        self.worker.send(P.RestoreGood())

    def apply_preset(self, name: str) -> None:
        try:
            cfg = apply_preset(name, self.model.draft, adapt_data=True)
        except C.ConfigError as exc:
            self._error("Unknown preset", str(exc))
            return
        self.model.set_draft(cfg)
        self.setup_panel.set_preset_name(name)
        self.settings.setValue("preset", name)
        self.reset()

    def _on_speed(self, index: int) -> None:
        speed = SPEEDS[index]
        self.speed_label.setText(_speed_text(speed))
        self.worker.send(P.SetSpeed(speed))

    def set_layer(self, key: str, on: bool) -> None:
        self.canvas.set_layer_visible(key, on)
        if hasattr(self, "worker"):
            self.worker.send(P.ShowLayers(tuple(sorted(self._visible_layers()))))

    def _visible_layers(self) -> set[str]:
        return {k for k, a in self.layer_actions.items() if a.isChecked()}

    def clear_charts(self) -> None:
        self.charts.clear()

    # ================================================================== setup edits
    def _on_field_changed(self, path: str, value: Any) -> None:
        # a live field already went to the trainer through the model's live_edit event
        if path not in C.LIVE_FIELDS:
            self.statusBar().showMessage(f"'{path}' changes the networks or the data: press Reset to apply it", 5000)

    # ================================================================== data: drawing and files
    def _toggle_draw(self) -> None:
        on = self.act_draw.isChecked()
        self.canvas.draw_mode = on
        if on:
            self.pause()
            self._drawing = [self.points] if self.points is not None and self.config.data.name == "points" else []
            self.canvas.set_drawn_points(self._drawn_array())
            self.statusBar().showMessage("Draw mode: click or drag on the canvas to add points; "
                                         "click 'Draw data' again to train on them")
            return
        pts = self._drawn_array()
        self.canvas.set_drawn_points(None)
        self.statusBar().clearMessage()
        if pts is None or len(pts) < 10:
            if pts is not None:
                self._error("Too few points", f"Only {len(pts)} points were drawn; draw at least 10.")
            return
        self.use_points(pts)

    def _drawn_array(self) -> np.ndarray | None:
        return np.concatenate(self._drawing).astype(np.float32) if self._drawing else None

    def _on_points_drawn(self, pts: np.ndarray) -> None:
        self._drawing.append(np.asarray(pts, np.float32))
        self.canvas.set_drawn_points(self._drawn_array())

    def clear_drawing(self) -> None:
        self._drawing = []
        self.canvas.set_drawn_points(None)

    def use_points(self, pts: np.ndarray, path: str = "") -> None:
        """Train on these points from now on (they survive later resets)."""
        self.points = np.asarray(pts, np.float32)
        if not path:
            path = self._save_drawing(self.points)
        self.model.edit("data.name", "points")
        self.model.edit("data.path", path)
        self.reset()

    def _save_drawing(self, pts: np.ndarray) -> str:
        """Drawn points go to a file beside the settings, so the config names real data that the
        CLI (and a saved session) can train on again."""
        folder = Path(self.settings.fileName()).parent / "drawn"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / time.strftime("drawn-%Y%m%d-%H%M%S.npy")
            np.save(path, pts)
            return str(path)
        except OSError:
            return "drawn points (not saved)"

    def load_points_file(self, path: str) -> None:
        """Load a CSV/NPY of (x, y) rows in a thread, then train on them; a bad file gets a dialog
        naming it. ``pointsLoaded`` or the dialog follow."""
        from ganplay.engine.data2d import load_points

        def loaded(pts: Any) -> None:
            self.use_points(pts, str(path))
            self.pointsLoaded.emit(str(path))

        self._run_file_task(lambda: load_points(path), loaded, "Cannot load data", f"Reading {Path(path).name}...")

    def _run_file_task(self, work: Any, on_done: Any, error_title: str, status: str) -> None:
        task = FileTask(work, self)
        task.done.connect(on_done)
        task.failed.connect(lambda msg: self._error(error_title, msg))
        task.finished.connect(lambda: self._file_tasks.discard(task))
        task.finished.connect(task.deleteLater)
        self._file_tasks.add(task)   # referenced until it ends
        self.statusBar().showMessage(status, 3000)
        task.start()

    def _load_data_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load points", "", "Points (*.csv *.npy *.txt);;All files (*)")
        if path:
            self.load_points_file(path)

    # ================================================================== files through the worker
    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export generator", "generator.ganplay",
                                              "ganplay bundle (*.ganplay);;All files (*)")
        if path:
            self.export_generator(path)

    def export_generator(self, path: str, formats: tuple[str, ...] = ("pt2",)) -> None:
        self.worker.send(P.ExportGenerator(path, tuple(formats)))

    def _save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.gpsession",
                                              "ganplay session (*.gpsession);;All files (*)")
        if path:
            self.save_session(path)

    def save_session(self, path: str) -> None:
        self.worker.send(P.SaveSession(path, self.history.as_dict()))

    def _open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "ganplay session (*.gpsession);;All files (*)")
        if path:
            self.open_session(path)

    def open_session(self, path: str) -> None:
        self.worker.send(P.LoadSession(path))

    def _open_sweep_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open sweep folder", "")
        if path:
            self.open_sweep(path)

    def open_sweep(self, path: str) -> Any:
        """A sweep folder's results (ui/sweep_view.py); its rows open a run's generator in the latent
        explorer or continue the run here, read off the GUI thread as bundles and sessions are."""
        from ganplay.engine.sweep import SweepError, run_snapshot, run_state

        from .sweep_view import SweepView

        try:
            view = SweepView(path, self)
        except SweepError as exc:
            self._error("Cannot open sweep", str(exc))
            return None
        view.exploreRun.connect(lambda d: self._run_file_task(
            lambda: run_snapshot(d), lambda snap: self._show_bundle(snap, d), "Cannot open run", f"Opening {d}..."))
        view.continueRun.connect(lambda d: self._run_file_task(
            lambda: run_state(d), self._open_compared, "Cannot open run", f"Opening {d}..."))
        self.sweep_view = view
        view.show()
        return view

    def _open_generator_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open generator", "", "ganplay bundle (*.ganplay);;All files (*)")
        if path:
            self.open_generator(path)

    def open_generator(self, path: str) -> None:
        """Show an exported generator in the latent panel and its samples on the canvas; the
        training session is untouched. The bundle is read and checked in a thread;
        ``generatorOpened`` or a dialog naming the file follow."""
        from ganplay.engine.export import load_bundle

        def read() -> Any:
            try:
                return load_bundle(path)
            except Exception as exc:
                raise RuntimeError(f"{Path(path).name}: {exc}") from None

        self._run_file_task(read, lambda snap: self._show_bundle(snap, path), "Cannot open generator",
                            f"Opening {Path(path).name}...")

    def _show_bundle(self, snap: Any, path: str) -> None:
        self._bundle = snap
        if self.latent_panel is not None:
            self.latent_panel.set_generator(snap)
        if snap.image_shape is None and snap.latent_dim > 0:
            rng = np.random.default_rng(0)
            z = (rng.uniform(-1, 1, (512, snap.latent_dim)) if snap.prior == "uniform"
                 else rng.standard_normal((512, snap.latent_dim))).astype(np.float32)
            out = snap(z)
            if out.ndim == 2 and out.shape[1] == 2:
                self.canvas.set_bundle_points(out)
        self.act_close_gen.setEnabled(True)
        self.statusBar().showMessage(f"Showing the generator from {Path(path).name} (orange); training is unchanged", 8000)
        self.generatorOpened.emit(str(path))

    def close_generator(self) -> None:
        self._bundle = None
        self.canvas.set_bundle_points(None)
        self.act_close_gen.setEnabled(False)

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts", "charts.csv", "CSV (*.csv)")
        if path:
            self.export_charts_csv(path)

    def export_charts_csv(self, path: str) -> bool:
        try:
            self.history.write_csv(path)
        except OSError as exc:
            self._error("Cannot write CSV", f"{path}: {exc.strerror or exc}")
            return False
        return True

    def _export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts", "charts.png", "PNG (*.png)")
        if path:
            self.export_charts_png(path)

    def export_charts_png(self, path: str) -> bool:
        if not self.charts.export_png(path):
            self._error("Cannot write PNG", f"{path}: the image could not be saved")
            return False
        return True

    # ================================================================== recording
    def _toggle_record(self) -> None:
        from .recorder import CanvasRecorder, RecordingError

        if self.act_record.isChecked():
            if self.recorder is None:
                self.recorder = CanvasRecorder(self)
                self.recorder.limitReached.connect(lambda: self.act_record.isChecked() and self.act_record.trigger())
            try:
                self.recorder.start(self.canvas, fps=10.0)
            except RecordingError as exc:
                self.act_record.setChecked(False)
                self._error("Cannot record", str(exc))
            return
        if self.recorder is None:
            return
        frames = self.recorder.stop()
        if not frames:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save recording", "training.gif",
                                              "Animated GIF (*.gif);;PNG frames in a folder (*)")
        if path:
            self.save_recording(path)

    def save_recording(self, path: str) -> bool:
        """A .gif path gets an animated GIF; any other path a folder of numbered PNGs."""
        from .recorder import RecordingError

        try:
            if path.lower().endswith(".gif"):
                self.recorder.save_gif(path)
            else:
                self.recorder.save_png_sequence(path)
        except RecordingError as exc:
            self._error("Cannot save the recording", str(exc))
            return False
        self.statusBar().showMessage(f"Saved the recording to {path}", 8000)
        return True

    # ================================================================== worker output
    @property
    def latest_frame(self) -> Any:
        """The newest frame from the training loop (drawn or about to be)."""
        return self._latest

    def _on_frame(self, fr: Any) -> None:
        self.frames_received += 1
        self.history.add_stats(fr.stats)
        if fr.metrics:
            self.history.add_metrics(fr.metrics_step, fr.metrics)
        prev = self._latest
        if prev is not None and self._undrawn:
            fr.carry_from(prev)  # a frame the timer never drew may hold layers sent only once
        self._latest = fr
        self._undrawn = True
        if self._step_goal is not None:
            self._show_queue(self._step_goal - fr.step)
        self.frameArrived.emit(fr)

    def redraw(self) -> None:
        fr = self._latest
        if fr is None or not self._undrawn:
            return
        self._undrawn = False
        t0 = time.perf_counter()
        self.frames_drawn += 1
        self.canvas.show_frame(fr)
        self.teaching.show_frame(fr)
        kind = chart_kind("image" if fr.images is not None else "2d", self.config.loss.name,
                          training_mode(self.config))
        if kind != self.charts.kind:
            self.charts.set_kind(kind)
        # while training, one chart per frame (each still redraws a few times a second): a
        # frame that repainted every chart would keep the event loop busy for tens of ms
        self.charts.refresh(max_plots=1 if fr.running else 0)
        self.timeline.set_steps(fr.rewind_steps)
        if fr.images is not None:
            if fr.class_hist is not None:
                self.charts.set_bars(fr.class_hist, None, "Generated digits per class")
        elif fr.mode_counts is not None:
            self.charts.set_bars(fr.mode_counts, fr.covered, "Samples per mode (this frame)")
        if fr.generator is not None and self.latent_panel is not None and self._bundle is None:
            try:
                self.latent_panel.set_generator(fr.generator)
            except Exception as exc:  # the explorer must never stop the playground
                self.statusBar().showMessage(f"Latent explorer: {exc}", 5000)
        self.model.set_step(fr.step)
        self.sps_label.setText(f"{fr.steps_per_sec:.0f} steps/s")
        self.redraw_ms.append((time.perf_counter() - t0) * 1000)

    # ------------------------------------------------------------------ events, by type
    def _event_table(self) -> dict[type, Any]:
        return {
            P.EngineReset: self._on_engine_reset,
            P.Loading: self._on_loading,
            P.DeviceFallback: self._on_device_fallback,
            P.ResetFailed: lambda ev: self._error("Cannot reset", ev.message),
            P.FieldSet: lambda ev: self.model.confirm(ev.path, ev.value),
            P.FieldRejected: self._on_field_rejected,
            P.Diverged: self._on_diverged,
            P.Restored: self._on_restored,
            P.StoppedAt: self._on_stopped_at,
            P.GeneratorExported: lambda ev: self._file_done(f"Exported the generator to {ev.path}"),
            P.SessionSaved: lambda ev: self._file_done(f"Saved the session to {ev.path}"),
            P.SessionLoaded: lambda ev: self._take_over(ev.config, ev.history, ev.points, f"Opened the session {ev.path}"),
            P.StateInstalled: lambda ev: self._take_over(ev.config, None, ev.points, f"Opened {ev.label}"),
            P.FileFailed: self._on_file_failed,
            P.Failed: lambda ev: self._error(ev.title, ev.message),
            P.WorkerFailed: self._on_worker_failed,
            P.WorkerDied: self._on_worker_died,
            P.Pong: lambda ev: None,
            P.Described: lambda ev: None,
            P.IterationTraced: lambda ev: self.teaching.on_trace(ev),
            P.Rewound: self._on_rewound,
            P.Branched: self._on_branched,
        }

    def _on_event(self, ev: P.Event) -> None:
        handler = self._events.get(type(ev))
        if handler is None:
            self._error("Unexpected message", f"The window has no handler for {type(ev).__name__}.")
            return
        handler(ev)
        self.eventHandled.emit(ev)

    def _on_engine_reset(self, ev: P.EngineReset) -> None:
        self._deaths = 0
        self._undrawn = False  # an old trainer's frame still waiting must not be drawn after this
        self.model.apply(ev.config)
        if not self._matches_any_preset():
            self.setup_panel.set_preset_name(None)
        self.history.clear()
        self.charts.clear()
        self.canvas.clear_layers()
        self.label_bar.set_config(ev.config)
        self._queue_steps(0)
        if self.model.step == 0:
            self._show_step(0)  # a reset at step 0 still says so
        self.model.set_step(0)
        self.model.set_device(ev.device)
        if ev.message:
            self._banner(ev.message, actions=False, kind="info")  # what the data changed: not a fault
        if not self.engine_ready:
            self.engine_ready = True
            if self.worker.backend == "process":
                import torch

                # this process only runs the latent explorer's small forward passes; more
                # threads would spin on the cores the training process needs
                torch.set_num_threads(1)
            from ganplay.engine.losses import DESCRIPTIONS  # torch is loaded by now

            self.setup_panel.set_loss_tooltips(DESCRIPTIONS)
            self._install_latent_panel()
            self.engineReady.emit()
        self.resetDone.emit()

    def _on_loading(self, ev: P.Loading) -> None:
        self.load_bar.setVisible(ev.fraction < 1.0)
        self.load_bar.setValue(int(100 * ev.fraction))
        if ev.text:
            self.load_bar.setToolTip(ev.text)
            self.statusBar().showMessage(f"Loading {ev.text}", 2000)

    def _on_device_fallback(self, ev: P.DeviceFallback) -> None:
        self.model.set_device(ev.device)
        self._banner(ev.message, actions=False, kind="warning")

    def _on_field_rejected(self, ev: P.FieldRejected) -> None:
        self.model.reject(ev.path)
        self._error("Cannot change setting", ev.message)

    def _on_diverged(self, ev: P.Diverged) -> None:
        self.model.set_running(False)
        self._banner(f"Training diverged: {ev.message}", actions=True, last_good=ev.last_good)

    def _on_restored(self, ev: P.Restored) -> None:
        if ev.config is not None:  # the trainer's settings went back too: the panel follows
            self.model.apply(ev.config)
        self.statusBar().showMessage(f"Back at step {ev.step}, the last good state", 5000)

    def _on_stopped_at(self, ev: P.StoppedAt) -> None:
        self.model.set_running(False)
        self.sps_label.setText("0 steps/s")
        self.statusBar().showMessage(f"Stopped at step {ev.step}", 5000)

    def _file_done(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _take_over(self, cfg: C.Config, history: Any, points: Any, text: str) -> None:
        """A trainer from a file or the compare window replaced the live one."""
        if points is not None:
            self.points = np.asarray(points, np.float32)
        self.model.apply(cfg)
        self.setup_panel.set_preset_name(None)
        self._forget_branches()
        self.history.load_any(history)
        self.charts.refresh()
        self.canvas.clear_layers()
        self.model.set_running(False)
        self._file_done(text)

    def _on_file_failed(self, ev: P.FileFailed) -> None:
        titles = {"export": "Export failed", "save_session": "Could not save the session",
                  "load_session": "Could not open the session"}
        self._error(titles.get(ev.what, "File error"), f"{Path(str(ev.path)).name}: {ev.message}\n\n"
                    "The current training session is unchanged.")

    def _on_worker_failed(self, ev: P.WorkerFailed) -> None:
        """No training process could be started: train in a thread."""
        self.statusBar().showMessage(f"Training in the window's process ({ev.message})", 10000)
        self._replace_worker("thread")

    def _on_worker_died(self, ev: P.WorkerDied) -> None:
        # a process that dies again before building its trainer would die forever: stop trying
        self._deaths += 1
        if self._deaths >= 2:
            self._error("The training process cannot start",
                        f"It ended twice in a row, the last time with {ev.message}\n\nNo new one was started; "
                        "change the settings and press Reset, or restart ganplay.")
            return
        self._replace_worker(self.backend)
        self._error("The training process stopped unexpectedly",
                    f"It ended with {ev.message}. A new one has started on the current settings; "
                    "what the old one had trained is lost.")

    def _matches_any_preset(self) -> bool:
        name = self.setup_panel.preset_combo.currentText()
        return name in PRESETS and self._matches_preset(name)

    def _banner(self, text: str, actions: bool, last_good: int = 0, kind: str = "error") -> None:
        """Show ``text`` above the views; ``kind`` (info, warning, error) sets its colours so a
        note on what the data changed does not read like a failure."""
        self.banner_kind = kind
        bg, fg = BANNER_COLOURS[kind]
        self.banner.setStyleSheet(f"QFrame#banner {{ background: {bg}; }} QLabel {{ color: {fg}; }}")
        self.banner_label.setText(text)
        self.banner_restore.setVisible(actions)
        self.banner_reset.setVisible(actions)
        if actions:
            self.banner_restore.setText(f"Go back to the last good state (step {last_good})")
        self.banner.show()

    def _error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    # ================================================================== help
    def show_guide(self) -> None:
        """Help -> Guide: one window that says what each view shows (made once, then raised)."""
        from PySide6.QtWidgets import QToolBar

        from .guide import GuideDialog

        if self.guide is None:
            bar = self.findChild(QToolBar, "training_toolbar")
            self.guide = GuideDialog(self, bar.actions() if bar is not None else ())
        self.guide.show()
        self.guide.raise_()

    def show_about(self) -> None:
        QMessageBox.about(self, "About ganplay", self.about_text())

    def about_text(self) -> str:
        import platform

        import pyqtgraph
        import PySide6

        import ganplay

        try:
            import torch

            torch_v = torch.__version__
        except Exception:
            torch_v = "not loaded"
        return (f"<b>ganplay {ganplay.__version__}</b>: watch Generative Adversarial Networks learn.<br><br>"
                f"Python {platform.python_version()}, PyTorch {torch_v}, PySide6 {PySide6.__version__}, "
                f"pyqtgraph {pyqtgraph.__version__}, NumPy {np.__version__}<br>"
                f"Device: {self.model.device}<br><br>{MNIST_CREDIT}")
