"""The two ways the window runs its ``TrainLoop``: in a process of its own (the default) or in a
thread of the GUI process. Both take commands through ``send(command, payload)`` and hand back
numpy ``Frame``s through ``frameReady`` and everything else through ``event(kind, payload)``.

Why a process: the loop spends most of its time in small torch calls that hold the GIL, and the
window's repaint needs the GIL too. In one process each slows the other (measured: the window
trained at 0.56x the headless speed); in two processes each has a core of its own. The thread
transport stays for tests that patch the engine in-process, and as the fallback when a process
cannot be started.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import threading
from typing import Any

from PySide6.QtCore import QThread, Signal

from .command_thread import CommandThread
from .train_loop import ALL_LAYERS, SPEEDS, Budget, TrainLoop, serve  # noqa: F401  (re-exported)

BACKENDS = ("process", "thread")


def default_backend() -> str:
    """``GANPLAY_WORKER=thread`` keeps training in the GUI process; anything else uses a process."""
    return "thread" if os.environ.get("GANPLAY_WORKER", "").strip().lower() == "thread" else "process"


class TrainWorker(CommandThread):
    """The loop in a QThread of the GUI process; ``trainer`` is reachable for in-process tests."""

    backend = "thread"
    frameReady = Signal(object)      # Frame
    event = Signal(str, object)      # (kind, payload)

    def __init__(self, config: Any, points: Any = None, data: Any = None, parent: Any = None):
        super().__init__(parent)
        self._init = (config, points, data)
        self.loop = TrainLoop(self._queue, self.frameReady.emit, self.event.emit,
                              self.isInterruptionRequested)

    @property
    def trainer(self) -> Any:
        return self.loop.trainer

    def run(self) -> None:
        self.loop.run(*self._init)


class ProcessTrainWorker(QThread):
    """The loop in a child process (multiprocessing 'spawn': no fork of a Qt process).

    This QThread only relays: it starts the child, then reads its pipe and re-emits each frame and
    event as a Qt signal. ``send`` writes commands straight to the pipe from the GUI thread.
    Messages are plain pickles (not multiprocessing's reducers, which would move tensors through
    shared memory and file descriptors).
    """

    backend = "process"
    frameReady = Signal(object)
    event = Signal(str, object)

    def __init__(self, config: Any, points: Any = None, data: Any = None, parent: Any = None):
        super().__init__(parent)
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=serve, args=(child, (config, points, data)),
                                 name="ganplay-trainer", daemon=True)
        self._child_conn = child
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._started = False
        self._stopping = False
        self.trainer = None  # lives in the child; ask with send("describe")

    def send(self, command: str, payload: Any = None) -> None:
        try:
            msg = pickle.dumps((command, payload), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # e.g. a data set class defined inside a function
            self.event.emit("error", (f"'{command}' failed", f"cannot send it to the training process: "
                                      f"{type(exc).__name__}: {exc}"))
            return
        with self._lock:
            if not self._started:
                self._pending.append(msg)
                return
            try:
                self._conn.send_bytes(msg)
            except (OSError, ValueError):  # the child is gone; run() reports why
                pass

    def run(self) -> None:
        try:
            self._proc.start()
        except Exception as exc:
            self.event.emit("worker_failed", f"{type(exc).__name__}: {exc}")
            return
        self._child_conn.close()  # the child holds its end; EOF then means it has gone
        with self._lock:
            self._started = True
            try:
                for msg in self._pending:
                    self._conn.send_bytes(msg)
            except OSError:
                pass
            self._pending.clear()
        clean = False
        while True:
            try:
                msg = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                break
            except Exception as exc:  # a message that cannot be read must not end the relay
                self.event.emit("error", ("a message from the training process was unreadable",
                                          f"{type(exc).__name__}: {exc}"))
                continue
            kind = msg[0]
            if kind == "frame":
                self.frameReady.emit(msg[1])
            elif kind == "event":
                self.event.emit(msg[1], msg[2])
            elif kind == "bye":
                clean = True
                break
        # after "bye" the child only tears its interpreter down; it need not be waited for
        self._proc.join(0.2 if clean else 1.0)
        if not clean and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        if not clean and not self._stopping:
            self.event.emit("worker_died", f"exit code {self._proc.exitcode}")

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Ask the child to finish; a child that does not answer in time is killed (a process,
        unlike a thread, can be ended without leaving this one in a bad state)."""
        self._stopping = True
        if not self.isRunning():
            return True
        self.send("stop")
        if self.wait(timeout_ms):
            return True
        if self._proc.is_alive():
            self._proc.kill()
        return self.wait(2000)

    @property
    def pid(self) -> int | None:
        return self._proc.pid


def make_worker(backend: str, config: Any, points: Any = None, data: Any = None) -> Any:
    if backend not in BACKENDS:
        raise ValueError(f"unknown worker backend '{backend}' (choose from {', '.join(BACKENDS)})")
    cls = ProcessTrainWorker if backend == "process" else TrainWorker
    return cls(config, points=points, data=data)
