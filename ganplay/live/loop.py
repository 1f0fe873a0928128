"""The playground's live loop: owns the engine's Trainer, takes typed commands from one queue,
publishes numpy frames at a bounded rate. No Qt here, so the same loop runs in a process of its
own (``transport.serve``, the default) or in a thread of the GUI process (``ganplay.ui.worker``).

Training speed is independent of drawing: the loop steps as fast as allowed and only builds a
frame when the time budget says so.
"""
from __future__ import annotations

import operator
import time
from typing import Any, Callable

import numpy as np

from . import frames as F
from . import protocol as P
from .budget import Budget
from .command_loop import CommandLoop
from . import layers as L
from .layers import LAYER_NAMES, LAYERS

SPEEDS = (1, 2, 5, 10, 30, 100, 300, 0)  # steps per second; 0 = as fast as possible
ALL_LAYERS = frozenset(LAYER_NAMES)
SLOW_LAYERS = frozenset(s.name for s in LAYERS if s.cadence == "slow")


class TrainLoop(CommandLoop):
    """Owns the Trainer: reads commands, steps, and publishes ``Frame``s and events."""

    commands = P.PLAYGROUND_COMMANDS

    def __init__(self, *args: Any, **kwargs: Any):
        self.trainer: Any = None
        self.speed = 0
        self.stop_at = 0
        self.layers: set[str] = set(ALL_LAYERS)
        self.view: tuple[float, float, float, float] | None = None  # the canvas's visible area (SetView)
        # Fractions of wall-clock time the loop may spend on frames, slow layers (D*), metrics and
        # generator copies.
        # Together at most 7.3 %, so the window trains at >= 90 % of the headless speed with room
        # for sending the frames.
        self.frame_budget = Budget(0.05, 1 / 30)
        self.slow_budget = Budget(0.008, 0.25)
        self.metrics_budget = Budget(0.01, 0.5)
        self.generator_budget = Budget(0.005, 0.25)
        self._stat_get: Any = None
        self._stat_names: tuple[str, ...] = ()
        self._stats: list[tuple] = []
        self._once_due = True
        self._z: Any = None
        self._y: Any = None
        self._cols: int | None = None
        self._classify: Any = None
        self._rate_t = time.perf_counter()
        self._rate_steps = 0
        self._sps = 0.0
        self._next_step_at = 0.0
        self._last_metrics_step = -1
        self.tensorboard: Any = None   # live/tensorboard.LoopLog: the frames into event files (train.tensorboard)
        self._formulas: tuple | None = None   # (step, loss, L_D formula, L_G formula) of a recent step
        self.rewind: Any = None        # engine.rewind.RewindBuffer (made in setup: it needs torch)
        self._rewound = False          # the trainer was rewound and has not trained since
        super().__init__(*args, **kwargs)

    def handlers(self) -> dict[type, Callable[[Any], None]]:
        return {
            P.Play: self._play, P.Pause: self._pause, P.Step: self._step, P.Reset: self._reset,
            P.SetField: self._set_field, P.SetSpeed: self._set_speed,
            P.StopAt: lambda c: setattr(self, "stop_at", int(c.step)),
            P.ShowLayers: self._show_layers, P.SetView: self._set_view, P.RestoreGood: self._restore_good,
            P.SetBudgets: self._set_budgets, P.ExportGenerator: self._export,
            P.SaveSession: self._save_session, P.LoadSession: self._load_session,
            P.InstallState: self._install_state,
            P.Rewind: self._rewind, P.Branch: self._play,
            P.TraceStep: self._trace_step,
            P.ShowLabel: self._show_label,
        }

    # ------------------------------------------------------------------ the loop's hooks
    def setup(self) -> None:
        super().setup()
        from ganplay.engine.trainer import STAT_NAMES

        self._stat_get = operator.attrgetter(*STAT_NAMES)
        self._stat_names = STAT_NAMES
        from ganplay.engine.rewind import RewindBuffer

        self.rewind = RewindBuffer()
        try:
            from ganplay.engine import image_metrics  # written with the MNIST engine

            self._classify = getattr(image_metrics, "classify", None)
        except Exception:
            self._classify = None

    def run(self, first: P.Command | None = None) -> None:
        self._initial = True
        try:
            super().run(first)
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()   # the last events reach the file

    def busy(self) -> bool:
        return self.running and self.trainer is not None

    def wait_timeout(self) -> float | None:
        if not self.speed:
            return None
        # slow motion: wait for the next step's time slot, but keep answering commands
        wait = self._next_step_at - time.perf_counter()
        return max(0.0, min(wait, 0.05)) if wait > 0 else None

    def describe(self) -> dict[str, Any]:
        tr = self.trainer
        out = {**super().describe(), "view": self.view}
        if tr is None:
            return {**out, "step": None}
        return {**out, "step": tr.step_count, "config": tr.cfg.copy(), "data": getattr(tr.data, "name", None),
                "device": str(tr.device), "last_good": tr.last_good_step,
                "lr_d": [g["lr"] for g in tr.opt_d.param_groups],
                "lr_g": [g["lr"] for g in tr.opt_g.param_groups],
                "rewind": {"steps": self.rewind.steps(), "bytes": self.rewind.nbytes,
                           "cap_bytes": self.rewind.cap_bytes}}

    # ------------------------------------------------------------------ handlers
    def _play(self, cmd: P.Play) -> None:
        if self.trainer is not None:
            self.running = True
            self._next_step_at = 0.0
            self._rate_t, self._rate_steps = time.perf_counter(), 0

    def _pause(self, cmd: P.Pause) -> None:
        self.running = False
        self._force_all()  # the paused picture gets fresh metrics and D*

    def _step(self, cmd: P.Step) -> None:
        self.running = False
        for _ in range(max(1, int(cmd.n))):
            self._do_steps(1, cmd.mode or "both")
        self.frame_budget.force()

    def _set_field(self, cmd: P.SetField) -> None:
        from ganplay.engine.config import ConfigError

        try:
            self.trainer.set(cmd.path, cmd.value)
        except ConfigError as exc:
            self.emit(P.FieldRejected(cmd.path, str(exc)))
        else:
            self._sync_rewind(self.trainer)
            self.emit(P.FieldSet(cmd.path, self.trainer.get(cmd.path)))

    def _set_speed(self, cmd: P.SetSpeed) -> None:
        self.speed = int(cmd.steps_per_sec)
        self._next_step_at = 0.0

    def _show_layers(self, cmd: P.ShowLayers) -> None:
        new = set(cmd.names)
        if new - self.layers:
            self._once_due = True   # a "once" layer switched on needs its payload again
        self.layers = new
        self.frame_budget.force()

    def _show_label(self, cmd: P.ShowLabel) -> None:
        """A 2D cGAN's canvas samples: one label for every fixed z, or (-1) the labels in turn."""
        self.label = int(cmd.label)
        self.frame_budget.force()
        self._dirty = True   # paused: the picture still changes

    def _labels_2d(self) -> Any:
        K = int(getattr(self.trainer, "n_classes", 0) or 0)
        label = getattr(self, "label", -1)
        return np.full(len(self._z), label) if K and 0 <= label < K else None

    def _set_view(self, cmd: P.SetView) -> None:
        """Grid layers are sampled on the canvas's visible area from the next frame on."""
        view = tuple(float(v) for v in cmd.bounds)
        if len(view) != 4 or not np.isfinite(view).all() or view[1] <= view[0] or view[3] <= view[2]:
            return  # a degenerate range (a canvas of no size): keep the last good one
        if view == self.view:
            return
        self.view = view
        self._once_due = True   # the real density is sampled on the view too
        self.frame_budget.force()
        self.slow_budget.force()
        self._dirty = True      # paused: the picture still follows the canvas

    def _restore_good(self, cmd: P.RestoreGood) -> None:
        step = self.trainer.restore_last_good()
        self.rewind.drop_after(step)
        self.emit(P.Restored(step, self.trainer.cfg.copy()))
        self._force_all()

    def _rewind(self, cmd: P.Rewind) -> None:
        from ganplay.engine.config import from_dict
        from ganplay.engine.rewind import load_keeping_settings

        self.running = False
        at = self.rewind.nearest(cmd.step) if self.trainer is not None else None
        if at is None:
            self.emit(P.Failed("Cannot rewind", "No snapshots are kept: set train.rewind_every and "
                               "train.rewind_mb above 0, then train a few steps."))
            return
        state = self.rewind.state(at)
        load_keeping_settings(self.trainer, state)
        self._rewound = True   # the snapshots after it stay until training goes on (scrub forward)
        self._last_metrics_step = -1
        self._formulas = None  # they were of a later step; the next step taken brings its own
        self.emit(P.Rewound(at, from_dict(state["config"]), self.rewind.steps()))
        self._force_all()

    def _sync_rewind(self, tr: Any) -> None:
        """The buffer follows ``train.rewind_every`` and ``train.rewind_mb`` (live: a smaller cap
        frees the memory at once)."""
        tc, rw = tr.cfg.train, self.rewind
        if (rw.every, rw.cap_bytes) != (tc.rewind_every, tc.rewind_mb * 1024 * 1024):
            rw.configure(tc.rewind_every, tc.rewind_mb * 1024 * 1024)

    def _snapshot(self, tr: Any, always: bool = False) -> None:
        """Keep the state for rewinding when its step is due."""
        self._sync_rewind(tr)
        if self.rewind.on and (always or self.rewind.due(tr.step_count)):
            self.rewind.take(tr)

    def _branch_if_rewound(self, tr: Any) -> None:
        """The first step after a rewind starts a new branch: the old one's snapshots go."""
        if self._rewound:
            self._rewound = False
            # old-branch statistics not yet sent stay out of the new branch's frames
            self._stats[:] = [row for row in self._stats if row[0] <= tr.step_count]
            self.rewind.drop_after(tr.step_count)
            self.emit(P.Branched(tr.step_count, self.rewind.steps()))

    def _set_budgets(self, cmd: P.SetBudgets) -> None:
        for name, frac in cmd.fractions:
            getattr(self, f"{name}_budget").fraction = float(frac)

    def _file_op(self, what: str, path: str, work: Callable[[], Any], done: P.Event) -> None:
        """Run a file operation; a failure leaves the live session as it was and says why."""
        try:
            work()
        except Exception as exc:
            self.emit(P.FileFailed(what, path, str(exc)))
        else:
            self.emit(done)

    def _export(self, cmd: P.ExportGenerator) -> None:
        from ganplay.engine.export import export_bundle

        self._file_op("export", cmd.path, lambda: export_bundle(self.trainer, cmd.path, formats=tuple(cmd.formats)),
                      P.GeneratorExported(cmd.path))

    def _save_session(self, cmd: P.SaveSession) -> None:
        from ganplay.engine.session import save_session

        self._file_op("save_session", cmd.path, lambda: save_session(self.trainer, cmd.history, cmd.path),
                      P.SessionSaved(cmd.path))

    def _load_session(self, cmd: P.LoadSession) -> None:
        from ganplay.engine.session import load_session

        try:
            trainer, history = load_session(cmd.path)
        except Exception as exc:  # the live session stays as it was
            self.emit(P.FileFailed("load_session", cmd.path, str(exc)))
            return
        self.running = False
        self._install(trainer)
        self.emit(P.SessionLoaded(cmd.path, trainer.cfg.copy(), history, getattr(trainer, "points", None)))

    def _install_state(self, cmd: P.InstallState) -> None:
        from ganplay.engine.trainer import Trainer

        cfg = cmd.config
        try:
            trainer = Trainer(cfg, points=cmd.points if cfg.data.name == "points" else None)
            trainer.load_state_dict(cmd.state)
        except Exception as exc:  # the live session stays as it was
            self.emit(P.FileFailed("install_state", "compared recipe", str(exc)))
            return
        self.running = False
        self._install(trainer)
        self.emit(P.StateInstalled(f"{cfg.loss.name} at step {trainer.step_count}", trainer.cfg.copy(), cmd.points))

    def _reset(self, cmd: P.Reset) -> None:
        from ganplay.engine.fallback import build_trainer

        config, data = cmd.config, cmd.data
        initial, self._initial = getattr(self, "_initial", False), False
        loading = data is None and config.data.name in ("mnist", "stacked_mnist") and bool(config.data.path)
        try:
            if loading:
                # the user's own MNIST files (60,000 images take seconds): load with progress
                from ganplay.engine.mnist import make_image_dataset

                data = make_image_dataset(config.data, progress=self._loading_progress())
            trainer = build_trainer(config, points=cmd.points, data=data)
        except Exception as exc:  # keep the current trainer: a bad setting must not lose it
            self.emit(P.ResetFailed(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)))
            if initial:
                self.trainer = None
            return
        finally:
            if loading:
                self.emit(P.Loading(1.0, ""))
        self._install(trainer)
        # the panel shows the recipe as asked; what the data changed of it is said in the banner
        notes = [m for m in (trainer.device_message, getattr(trainer, "budget_note", "")) if m]
        asked = getattr(trainer, "requested_cfg", trainer.cfg)
        self.emit(P.EngineReset(str(trainer.device), asked.copy(), " ".join(notes)))

    def _loading_progress(self) -> Callable[[float, str], None]:
        """A progress callback that sends at most ten ``Loading`` events a second."""
        last = [0.0]

        def report(fraction: float, text: str) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.1:
                last[0] = now
                self.emit(P.Loading(float(fraction), str(text)))

        return report

    # ------------------------------------------------------------------ training
    def _install(self, trainer: Any) -> None:
        self.trainer = trainer
        self._stats.clear()
        self._once_due = True
        if F.is_image_data(trainer.data):
            self._z, self._y, self._cols = F.image_grid_inputs(trainer)
        else:
            self._z, self._y, self._cols = F.fixed_z(trainer, F.N_FAKE), None, None
        self._last_metrics_step = -1
        self._rate_t, self._rate_steps, self._sps = time.perf_counter(), 0, 0.0
        self._rewound = False
        self.rewind.clear()
        self._snapshot(trainer, always=True)
        self._force_all()

    def _force_all(self) -> None:
        for b in (self.frame_budget, self.slow_budget, self.metrics_budget, self.generator_budget):
            b.force()
        # also when no step ran since the last frame: a stop right after a frame must still
        # reach the window as a frame with running=False
        self._dirty = True

    def train_a_little(self) -> None:
        if self.speed:
            now = time.perf_counter()
            if now < self._next_step_at:
                return
            self._next_step_at = max(now, self._next_step_at) + 1.0 / self.speed
            self._do_steps(1, "both")
            if self.speed <= 30:
                self.frame_budget.force()  # slow motion: show every step
        else:
            self._do_steps(8, "both")  # a few steps between checks of the queue and the clock

    def _do_steps(self, n: int, mode: str) -> None:
        from ganplay.engine.fallback import step_with_fallback
        from ganplay.engine.iteration import Recorder
        from ganplay.engine.trainer import TrainingDiverged

        tr = self.trainer
        if tr is None:
            return
        get = self._stat_get
        for i in range(n):
            if self.stop_at and tr.step_count >= self.stop_at and mode == "both" and self.running:
                self.running = False
                self.emit(P.StoppedAt(tr.step_count))
                self._force_all()
                return
            self._branch_if_rewound(tr)
            # the step a frame will show keeps its loss formulas (a few small ops, same arithmetic)
            # (and a single step, or the last before a stop, which the paused picture shows)
            last = not self.running or (self.stop_at and tr.step_count + 1 >= self.stop_at)
            rec = (Recorder(tr, "formulas") if last or (i == n - 1 and self.frame_budget.due(time.perf_counter()))
                   else None)
            ts = time.perf_counter()
            try:
                tr, s, fallback = step_with_fallback(tr, mode, rec)
            except TrainingDiverged as exc:
                self.running = False
                self.emit(P.Diverged(str(exc), tr.step_count, tr.last_good_step))
                self._force_all()
                return
            except Exception as exc:  # e.g. out of memory: keep the trainer, stop and say why
                self.running = False
                self.emit(P.Failed("Training stopped", f"{type(exc).__name__}: {exc}\n\nThe trainer is kept at "
                                   f"step {tr.step_count}; change the settings and press Reset, or save the session."))
                self._force_all()
                return
            if fallback:  # CUDA failed mid-training: the same run goes on on the CPU
                self._install(tr)
                self.emit(P.DeviceFallback(fallback, str(tr.device)))
            elif self.tuner is not None and mode == "both" and self.running and not self.speed:
                self.tuner.observe(time.perf_counter() - ts)   # full-speed play only: a real rate
            self._stats.append(get(s))
            if rec is not None and not fallback:
                self._keep_formulas(rec.trace)
            self._snapshot(tr)
            self._rate_steps += 1
            self._dirty = True

    def _keep_formulas(self, trace: Any) -> None:
        d = trace.d_tracks[-1].formula if trace.d_tracks else None
        g = trace.g_track.formula if trace.g_track is not None else None
        self._formulas = (trace.step, trace.loss, d, g)

    def _trace_step(self, cmd: P.TraceStep) -> None:
        """Slow motion: one step taken apart, sent whole; D's surfaces on the canvas's view."""
        from ganplay.engine.iteration import trace_step
        from ganplay.engine.trainer import TrainingDiverged

        tr = self.trainer
        if tr is None or F.is_image_data(tr.data):
            return
        self.running = False
        self._branch_if_rewound(tr)
        area = self.view or tuple(float(b) for b in tr.data.bounds)
        try:
            trace = trace_step(tr, area)
        except TrainingDiverged as exc:
            self.emit(P.Diverged(str(exc), tr.step_count, tr.last_good_step))
            self._force_all()
            return
        self._stats.append(self._stat_get(trace.stats))
        self._keep_formulas(trace)
        self._snapshot(tr)
        self._dirty = True
        self.emit(P.IterationTraced(trace))
        self._force_all()

    # ------------------------------------------------------------------ frames
    def maybe_publish(self) -> None:
        tr = self.trainer
        if tr is None:
            return
        now = time.perf_counter()
        if not self._dirty or not self.frame_budget.due(now) or not self.ready():
            return
        self._dirty = False
        side = 0.0  # time charged to the other budgets
        dt = now - self._rate_t
        if dt > 0.25:
            inst = self._rate_steps / dt
            self._sps = inst if self._sps == 0 else 0.5 * self._sps + 0.5 * inst
            self._rate_t, self._rate_steps = now, 0
        if not self.running:
            self._sps = 0.0
        if self._stats:
            arr = np.asarray(self._stats, dtype=np.float64)
            stats = {name: arr[:, i].copy() for i, name in enumerate(self._stat_names)}
            self._stats.clear()
        else:
            stats = {}
        fr = F.Frame(step=tr.step_count, running=self.running, steps_per_sec=self._sps, stats=stats,
                     device=str(tr.device), rewind_steps=self.rewind.steps(), formulas=self._formulas)
        image = F.is_image_data(tr.data)
        if image:
            F.build_images(tr, fr, self._z, self._classify, self._y, self._cols)
        else:
            ctx = F.build_2d(tr, fr, self._z, self.layers, {"frame"} | ({"once"} if self._once_due else set()),
                             self.view, y=self._labels_2d())
            self._once_due = False
            if self.slow_budget.due(now) and self.layers & SLOW_LAYERS:
                # D* is a KDE per grid cell: slow layers are charged to their own budget
                t1 = time.perf_counter()
                fr.layers.update(L.compute_layers(ctx, self.layers, {"slow"}))   # same samples, own budget
                t2 = time.perf_counter()
                self.slow_budget.spent(t1, t2)
                side += t2 - t1
        # while queued commands are still being worked through (300 clicks on D step), their
        # progress frames skip the metrics: on MNIST those cost ~0.4 s a frame
        if self.metrics_budget.due(now) and tr.step_count != self._last_metrics_step and self._queue.empty():
            t0 = time.perf_counter()
            eval_every = max(1, int(getattr(tr.cfg.train, "eval_every", 500) or 500))
            if self._last_metrics_step < 0 or tr.step_count - self._last_metrics_step >= min(eval_every, 100) or not self.running:
                try:
                    fr.metrics = F.image_metrics(tr, self._classify) if image else F.live_metrics(tr)
                    fr.metrics_step = tr.step_count
                except Exception:
                    fr.metrics = None
                self._last_metrics_step = tr.step_count
                t1 = time.perf_counter()
                self.metrics_budget.spent(t0, t1)
                side += t1 - t0
        if self.generator_budget.due(now):
            t0 = time.perf_counter()
            from ganplay.engine.snapshot import snapshot_generator

            fr.generator = snapshot_generator(tr)
            t1 = time.perf_counter()
            self.generator_budget.spent(t0, t1)
            side += t1 - t0
        if tr.cfg.train.tensorboard or self.tensorboard is not None:
            from .tensorboard import LoopLog

            self.tensorboard = LoopLog.update(self.tensorboard, tr, fr, self.emit)
        end = time.perf_counter()
        self.frame_budget.spent(now, end - side)
        self.emit_frame(fr)
