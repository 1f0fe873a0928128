"""The two ways a window runs its live loop (``ganplay.live``): in a process of its own (the
default) or in a thread of the GUI process. Both take typed commands through ``send(command)``
and hand back frames through ``frameReady`` and events through ``event``, one signal each.

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
import queue
import threading
from typing import Any

from PySide6.QtCore import QThread, Signal

from ganplay.live import protocol as P
from ganplay.live.command_loop import CommandLoop
from ganplay.live.loop import TrainLoop
from ganplay.live.transport import serve

BACKENDS = ("process", "thread")


def default_backend() -> str:
    """``GANPLAY_WORKER=thread`` keeps training in the GUI process; anything else uses a process."""
    return "thread" if os.environ.get("GANPLAY_WORKER", "").strip().lower() == "thread" else "process"


class ThreadWorker(QThread):
    """The loop in a QThread of the GUI process; ``loop`` (and its engine) is reachable for
    in-process tests. Stop asks politely: never ``terminate()``, which can leave torch mid-call."""

    backend = "thread"
    frameReady = Signal(object)      # a frame
    event = Signal(object)           # a protocol.Event

    def __init__(self, loop_cls: type[CommandLoop], first: P.Command | None, parent: Any = None,
                 **loop_kwargs: Any):
        super().__init__(parent)
        self._queue: queue.Queue[P.Command] = queue.Queue()
        self._first = first
        self.loop = loop_cls(self._queue, self.frameReady.emit, self.event.emit,
                             self.isInterruptionRequested, **loop_kwargs)

    @property
    def trainer(self) -> Any:
        return getattr(self.loop, "trainer", None)

    def send(self, command: P.Command) -> None:
        """Queue a command; the loop handles it between two training steps."""
        self._queue.put(command)

    def run(self) -> None:
        self.loop.run(self._first)

    def stop(self, timeout_ms: int = 2000) -> bool:
        if not self.isRunning():
            return True
        self.requestInterruption()
        self.send(P.Stop())
        return self.wait(timeout_ms)


class ProcessWorker(QThread):
    """The loop in a child process (multiprocessing 'spawn': no fork of a Qt process).

    This QThread only relays: it starts the child, then reads its pipe and re-emits each frame and
    event as a Qt signal. ``send`` writes commands straight to the pipe from the GUI thread.
    """

    backend = "process"
    frameReady = Signal(object)
    event = Signal(object)

    def __init__(self, loop_cls: type[CommandLoop], first: P.Command, parent: Any = None):
        super().__init__(parent)
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=serve, args=(child, loop_cls, first),
                                 name="ganplay-trainer", daemon=True)
        self._child_conn = child
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._started = False
        self._stopping = False
        self.trainer = None  # lives in the child; ask with send(Describe())

    def send(self, command: P.Command) -> None:
        try:
            msg = pickle.dumps(command, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # e.g. a data set class defined inside a function
            self.event.emit(P.Failed(f"'{type(command).__name__}' failed", "cannot send it to the training "
                                     f"process: {type(exc).__name__}: {exc}"))
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
            self.event.emit(P.WorkerFailed(f"{type(exc).__name__}: {exc}"))
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
        clean = self._relay()
        # after Bye the child only tears its interpreter down; it need not be waited for
        self._proc.join(0.2 if clean else 1.0)
        if not clean and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        if not clean and not self._stopping:
            self.event.emit(P.WorkerDied(f"exit code {self._proc.exitcode}"))

    def _relay(self) -> bool:
        """Re-emit the child's messages until it says Bye (True) or its pipe ends (False)."""
        while True:
            try:
                msg = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                return False
            except Exception as exc:  # a message that cannot be read must not end the relay
                self.event.emit(P.Failed("a message from the training process was unreadable",
                                         f"{type(exc).__name__}: {exc}"))
                continue
            if isinstance(msg, P.Bye):
                return True
            if isinstance(msg, P.Event):
                self.event.emit(msg)
            else:
                self.frameReady.emit(msg)

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Ask the child to finish; a child that does not answer in time is killed (a process,
        unlike a thread, can be ended without leaving this one in a bad state)."""
        self._stopping = True
        if not self.isRunning():
            return True
        self.send(P.Stop())
        if self.wait(timeout_ms):
            return True
        if self._proc.is_alive():
            self._proc.kill()
        return self.wait(2000)

    @property
    def pid(self) -> int | None:
        return self._proc.pid


def make_worker(backend: str, first: P.Command, loop_cls: type[CommandLoop] = TrainLoop,
                **loop_kwargs: Any) -> Any:
    """A worker running ``loop_cls`` on ``first`` (``Reset`` or ``BuildComparison``)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown worker backend '{backend}' (choose from {', '.join(BACKENDS)})")
    if backend == "process":
        return ProcessWorker(loop_cls, first)
    return ThreadWorker(loop_cls, first, **loop_kwargs)


class PreviewWorker(QThread):
    """Builds the real-data picture (``frames.data_preview``) off the GUI thread while the
    training process starts, so the window shows the data within seconds, not after the engine."""

    ready = Signal(object)   # a Frame with the real points and density, or None

    def __init__(self, data_cfg: Any, points: Any = None, parent: Any = None):
        super().__init__(parent)
        self._args = (data_cfg, points)

    def run(self) -> None:
        from ganplay.live.frames import data_preview

        self.ready.emit(data_preview(*self._args))


class FileTask(QThread):
    """Reads a user's file off the GUI thread (a 200 MB CSV froze the window for 4 s; a bundle's
    checks took seconds): ``done(result)`` or ``failed(message)`` arrive back on the GUI thread."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Any, parent: Any = None):
        super().__init__(parent)
        self._work = work

    def run(self) -> None:
        try:
            result = self._work()
        except Exception as exc:  # the window shows it in a dialog that names the file
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.done.emit(result)
