"""The training loop the GUI drives: owns the engine's Trainer, takes commands from one queue,
publishes numpy frames at a bounded rate. No Qt here, so the same loop runs in a thread of the GUI
process or in a process of its own (``worker.py`` holds both transports).

Training speed is independent of drawing: the loop steps as fast as allowed and only builds a
frame when the time budget says so.
"""
from __future__ import annotations

import operator
import os
import queue
import time
from typing import Any, Callable

import numpy as np

from . import frames as F

SPEEDS = (1, 2, 5, 10, 30, 100, 300, 0)  # steps per second; 0 = as fast as possible
ALL_LAYERS = frozenset({"surface", "optimal", "arrows", "mesh", "real", "fake", "centers"})


class Budget:
    """Schedules a costly job so that it takes at most ``fraction`` of the wall-clock time.

    After a job that took c seconds the next one waits at least max(min_interval, c / fraction):
    cheap frames go out at up to 30/s, expensive ones (big D, D*) slow down instead of slowing
    training.
    """

    def __init__(self, fraction: float, min_interval: float, max_interval: float = 1.0):
        self.fraction = fraction
        self.min_interval = min_interval
        # A one-off slow job (the first call warms up torch and scipy) must not freeze the view
        # for seconds: the wait never exceeds max_interval.
        self.max_interval = max_interval
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def spent(self, start: float, end: float) -> None:
        wait = max(self.min_interval, (end - start) / self.fraction - (end - start))
        self.next_at = end + min(wait, max(self.max_interval, self.min_interval))

    def force(self) -> None:
        self.next_at = 0.0


class TrainLoop:
    """Owns the Trainer: reads commands from ``inbox``, steps, and publishes frames and events.

    ``emit_frame(frame)`` and ``emit_event(kind, payload)`` are the only ways out; the transport
    behind them (a Qt signal in a thread, a pipe to the GUI process) is the caller's business.
    """

    def __init__(self, inbox: "queue.Queue[tuple[str, Any]]", emit_frame: Callable[[Any], None],
                 emit_event: Callable[[str, Any], None], stopped: Callable[[], bool] = lambda: False,
                 torch_threads: int | None = None):
        self._queue = inbox
        self.emit_frame = emit_frame
        self.emit_event = emit_event
        self._stopped = stopped
        # Leave the GUI a core by default.
        self.torch_threads = torch_threads or max(1, (os.cpu_count() or 2) - 1)
        self.trainer: Any = None
        self.running = False
        self.speed = 0
        self.stop_at = 0
        self.layers: set[str] = set(ALL_LAYERS)
        # Fractions of wall-clock time the worker may spend on frames, D* and metrics.
        # Together at most 7.3 %, so the window trains at >= 90 % of the headless speed with room
        # for sending the frames.
        self.frame_budget = Budget(0.05, 1 / 30)
        self.optimal_budget = Budget(0.008, 0.25)
        self.metrics_budget = Budget(0.01, 0.5)
        self.generator_budget = Budget(0.005, 0.25)
        self._stat_get: Any = None
        self._stats: list[tuple] = []
        self._real_version = 0
        self._real_sent = -1
        self._z: Any = None
        self._y: Any = None
        self._cols: int | None = None
        self._classify: Any = None
        self._rate_t = time.perf_counter()
        self._rate_steps = 0
        self._sps = 0.0
        self._next_step_at = 0.0
        self._last_metrics_step = -1
        self._dirty = True
        # Back-pressure from the transport: while it says no, stats pile up for the next frame.
        self.ready: Callable[[], bool] = lambda: True

    # ------------------------------------------------------------------ the loop
    def run(self, config: Any, points: np.ndarray | None = None, data: Any = None) -> None:
        import torch

        # interop threads can only be set once per process, so not here
        torch.set_num_threads(self.torch_threads)
        from ganplay.engine.trainer import STAT_NAMES

        self._stat_get = operator.attrgetter(*STAT_NAMES)
        self._stat_names = STAT_NAMES
        try:
            from ganplay.engine import image_metrics  # written with the MNIST engine

            self._classify = getattr(image_metrics, "classify", None)
        except Exception:
            self._classify = None
        self._reset(config, points, data, initial=True)
        while not self._stopped():
            if not self._handle_commands():
                break
            if self.running and self.trainer is not None:
                self._train_a_little()
            self._maybe_publish()
        self.running = False

    def _handle_commands(self) -> bool:
        block = not self.running or self.trainer is None
        timeout = 0.02
        if self.running and self.speed:
            # slow motion: wait for the next step's time slot, but keep answering commands
            wait = self._next_step_at - time.perf_counter()
            block, timeout = wait > 0, max(0.0, min(wait, 0.05))
        while True:
            try:
                cmd, payload = self._queue.get(block=block, timeout=timeout) if block else self._queue.get_nowait()
            except queue.Empty:
                return True
            block = False
            if cmd == "stop":
                return False
            self._dirty = True
            try:
                self._dispatch(cmd, payload)
            except Exception as exc:  # a bad command must never kill the thread
                self.emit_event("error", (f"'{cmd}' failed", f"{type(exc).__name__}: {exc}"))

    def _dispatch(self, cmd: str, payload: Any) -> None:
        from ganplay.engine.config import ConfigError

        if cmd == "start":
            if self.trainer is not None:
                self.running = True
                self._next_step_at = 0.0
                self._rate_t, self._rate_steps = time.perf_counter(), 0
        elif cmd == "pause":
            self.running = False
            self._force_all()  # the paused picture gets fresh metrics and D*
        elif cmd == "step":
            self.running = False
            self._do_steps(1, payload or "both")
            self.frame_budget.force()
        elif cmd == "reset":
            self._reset(payload["config"], payload.get("points"), payload.get("data"))
        elif cmd == "set":
            path, value = payload
            try:
                self.trainer.set(path, value)
            except ConfigError as exc:
                self.emit_event("set_failed", (path, str(exc)))
            else:
                self.emit_event("set_ok", (path, self.trainer.get(path)))
        elif cmd == "speed":
            self.speed = int(payload)
            self._next_step_at = 0.0
        elif cmd == "stop_at":
            self.stop_at = int(payload)
        elif cmd == "layers":
            self.layers = set(payload)
            self.frame_budget.force()
        elif cmd == "restore_good":
            step = self.trainer.restore_last_good()
            self.emit_event("restored", step)
            self._force_all()
        elif cmd == "budget":
            for name, frac in dict(payload).items():
                getattr(self, f"{name}_budget").fraction = float(frac)
        elif cmd == "export":
            from ganplay.engine.export import export_bundle

            path, formats = payload
            try:
                export_bundle(self.trainer, path, formats=tuple(formats))
            except Exception as exc:
                self.emit_event("file_failed", ("export", path, str(exc)))
            else:
                self.emit_event("file_done", ("export", path, None))
        elif cmd == "save_session":
            from ganplay.engine.session import save_session

            path, history = payload
            try:
                save_session(self.trainer, history, path)
            except Exception as exc:
                self.emit_event("file_failed", ("save_session", path, str(exc)))
            else:
                self.emit_event("file_done", ("save_session", path, None))
        elif cmd == "load_session":
            from ganplay.engine.session import load_session

            try:
                trainer, history = load_session(payload)
            except Exception as exc:  # the live session stays as it was
                self.emit_event("file_failed", ("load_session", payload, str(exc)))
            else:
                self.running = False
                self._install(trainer)
                self.emit_event("file_done", ("load_session", payload,
                                              (trainer.cfg.copy(), history, getattr(trainer, "points", None))))
        elif cmd == "install_state":  # a recipe opened from the compare window
            from ganplay.engine.trainer import Trainer

            cfg, state, points = payload
            try:
                trainer = Trainer(cfg, points=points if cfg.data.name == "points" else None)
                trainer.load_state_dict(state)
            except Exception as exc:  # the live session stays as it was
                self.emit_event("file_failed", ("install_state", "compared recipe", str(exc)))
            else:
                self.running = False
                self._install(trainer)
                self.emit_event("file_done", ("install_state", f"{cfg.loss.name} at step {trainer.step_count}",
                                              (trainer.cfg.copy(), None, points)))
        elif cmd == "ping":
            self.emit_event("pong", payload)
        elif cmd == "describe":  # a small, picklable summary of the live trainer (tests, tools)
            self.emit_event("described", self.describe())
        else:
            raise ValueError(f"unknown command '{cmd}'")

    def describe(self) -> dict[str, Any]:
        tr = self.trainer
        if tr is None:
            return {"step": None}
        return {"step": tr.step_count, "config": tr.cfg.copy(), "data": getattr(tr.data, "name", None),
                "device": str(tr.device), "running": self.running, "last_good": tr.last_good_step,
                "lr_d": [g["lr"] for g in tr.opt_d.param_groups],
                "lr_g": [g["lr"] for g in tr.opt_g.param_groups]}

    def _reset(self, config: Any, points: Any, data: Any, initial: bool = False) -> None:
        from ganplay.engine.fallback import build_trainer

        loading = data is None and config.data.name in ("mnist", "stacked_mnist") and bool(config.data.path)
        try:
            if loading:
                # the user's own MNIST files (60,000 images take seconds): load with progress
                from ganplay.engine.mnist import make_image_dataset

                data = make_image_dataset(config.data, progress=self._loading_progress())
            trainer = build_trainer(config, points=points, data=data)
        except Exception as exc:  # keep the current trainer: a bad setting must not lose it
            self.emit_event("reset_failed", f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
            if initial:
                self.trainer = None
            return
        finally:
            if loading:
                self.emit_event("loading", (1.0, ""))
        self._install(trainer)
        self.emit_event("reset", {"device": str(trainer.device), "message": trainer.device_message,
                                  "config": trainer.cfg.copy()})

    def _loading_progress(self) -> Callable[[float, str], None]:
        """A progress callback that sends at most ten 'loading' events a second."""
        last = [0.0]

        def report(fraction: float, text: str) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.1:
                last[0] = now
                self.emit_event("loading", (float(fraction), str(text)))

        return report

    def _install(self, trainer: Any) -> None:
        self.trainer = trainer
        self._stats.clear()
        self._real_version += 1
        image = F.is_image_data(trainer.data)
        if image:
            self._z, self._y, self._cols = F.image_grid_inputs(trainer)
        else:
            self._z, self._y, self._cols = F.fixed_z(trainer, F.N_FAKE), None, None
        self._last_metrics_step = -1
        self._rate_t, self._rate_steps, self._sps = time.perf_counter(), 0, 0.0
        self._force_all()

    def _force_all(self) -> None:
        for b in (self.frame_budget, self.optimal_budget, self.metrics_budget, self.generator_budget):
            b.force()
        # also when no step ran since the last frame: a stop right after a frame must still
        # reach the window as a frame with running=False
        self._dirty = True

    def _train_a_little(self) -> None:
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
        from ganplay.engine.trainer import TrainingDiverged

        tr = self.trainer
        if tr is None:
            return
        get = self._stat_get
        for _ in range(n):
            if self.stop_at and tr.step_count >= self.stop_at and mode == "both" and self.running:
                self.running = False
                self.emit_event("stopped_at", tr.step_count)
                self._force_all()
                return
            try:
                tr, s, fallback = step_with_fallback(tr, mode)
            except TrainingDiverged as exc:
                self.running = False
                self.emit_event("diverged", {"message": str(exc), "last_good": tr.last_good_step,
                                             "step": tr.step_count})
                self._force_all()
                return
            if fallback:  # CUDA failed mid-training: the same run goes on on the CPU
                self._install(tr)
                self.emit_event("device_fallback", {"message": fallback, "device": str(tr.device)})
            self._stats.append(get(s))
            self._rate_steps += 1
            self._dirty = True

    def _maybe_publish(self) -> None:
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
                     device=str(tr.device))
        image = F.is_image_data(tr.data)
        if image:
            F.build_images(tr, fr, self._z, self._classify, self._y, self._cols)
        else:
            if self._real_sent != self._real_version:
                fr.real = F.real_points(tr)
            fr.real_version = self._real_version
            with_opt = self.optimal_budget.due(now)
            t_opt = time.perf_counter()
            F.build_2d(tr, fr, self._z, self.layers, with_opt)
            if with_opt and fr.optimal is not None:
                # D* is a KDE per grid cell: charge its own budget, not the frame's
                t1 = time.perf_counter()
                self.optimal_budget.spent(t_opt, t1)
                side += t1 - t_opt
        if self.metrics_budget.due(now) and tr.step_count != self._last_metrics_step:
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
        end = time.perf_counter()
        self.frame_budget.spent(now, end - side)
        if fr.real is not None:
            self._real_sent = self._real_version
        self.emit_frame(fr)


# ---------------------------------------------------------------------- the child process side
MAX_FRAMES_QUEUED = 4  # frames waiting for the GUI; beyond this the loop keeps stats and waits
TRAINER_NICENESS = 10


def serve(conn: Any, init: tuple[Any, Any, Any]) -> None:
    """Entry point of the training process: the loop, fed and drained through ``conn``.

    A reader thread turns pipe messages into the loop's queue; a writer thread pickles frames and
    events onto the pipe in order, so a GUI that is busy painting never blocks a training step.
    """
    import pickle
    import threading
    import traceback

    inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
    outbox: queue.Queue[Any] = queue.Queue()
    frames_waiting = [0]

    def reader() -> None:
        try:
            while True:
                cmd, payload = pickle.loads(conn.recv_bytes())
                inbox.put((cmd, payload))
                if cmd == "stop":
                    return
        except Exception:  # EOF: the GUI process has gone; stop as if asked
            inbox.put(("stop", None))

    def writer() -> None:
        while True:
            msg = outbox.get()
            if msg is None:
                return
            if msg[0] == "frame":
                frames_waiting[0] -= 1
            try:
                conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
            except (OSError, ValueError):
                return
            except Exception as exc:  # something unpicklable: say so instead of dying
                err = ("event", "error", (f"could not send '{msg[1] if msg[0] == 'event' else 'frame'}'",
                                          f"{type(exc).__name__}: {exc}"))
                conn.send_bytes(pickle.dumps(err))

    def emit_frame(frame: Any) -> None:
        frames_waiting[0] += 1
        outbox.put(("frame", frame))

    def emit_event(kind: str, payload: Any) -> None:
        outbox.put(("event", kind, payload))

    try:
        # Training is the background job: when the window needs a core to paint, it gets it at
        # once (an idle GUI costs training nothing).
        os.nice(TRAINER_NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass
    threading.Thread(target=reader, name="ganplay-commands", daemon=True).start()
    out = threading.Thread(target=writer, name="ganplay-frames", daemon=True)
    out.start()
    loop = TrainLoop(inbox, emit_frame, emit_event)
    loop.ready = lambda: frames_waiting[0] < MAX_FRAMES_QUEUED
    try:
        loop.run(*init)
    except BaseException as exc:  # noqa: BLE001  the GUI must hear why its trainer is gone
        emit_event("error", ("The training process failed", "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]))
    finally:
        outbox.put(("bye",))
        outbox.put(None)
        out.join(5.0)
        conn.close()
