"""The training process's side of the process transport: a live loop fed and drained through a
pipe. The GUI's side is ``ganplay.ui.worker.ProcessWorker``.

Messages are plain pickles of ``protocol`` dataclasses and frames, not multiprocessing's
reducers (which would move tensors through shared memory and file descriptors).
"""
from __future__ import annotations

import os
import pickle
import queue
import threading
import traceback
from typing import Any

from . import protocol as P

MAX_FRAMES_QUEUED = 4  # frames waiting for the GUI; beyond this the loop keeps stats and waits
TRAINER_NICENESS = 10


def serve(conn: Any, loop_cls: type, first: P.Command) -> None:
    """Entry point of the training process: ``loop_cls`` (a ``CommandLoop``) run on ``first``.

    A reader thread turns pipe messages into the loop's queue; a writer thread pickles frames and
    events onto the pipe in order, so a GUI that is busy painting never blocks a training step.
    """
    inbox: queue.Queue[P.Command] = queue.Queue()
    outbox: queue.Queue[Any] = queue.Queue()
    frames_waiting = [0]

    def reader() -> None:
        try:
            while True:
                cmd = pickle.loads(conn.recv_bytes())
                inbox.put(cmd)
                if isinstance(cmd, P.Stop):
                    return
        except Exception:  # EOF: the GUI process has gone; stop as if asked
            inbox.put(P.Stop())

    def writer() -> None:
        while True:
            msg = outbox.get()
            if msg is None:
                return
            is_frame = not isinstance(msg, (P.Event, P.Bye))
            if is_frame:
                frames_waiting[0] -= 1
            try:
                conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
            except (OSError, ValueError):
                return
            except Exception as exc:  # something unpicklable: say so instead of dying
                err = P.Failed(f"could not send {type(msg).__name__}", f"{type(exc).__name__}: {exc}")
                conn.send_bytes(pickle.dumps(err))

    def emit_frame(frame: Any) -> None:
        frames_waiting[0] += 1
        outbox.put(frame)

    try:
        # Training is the background job: when the window needs a core to paint, it gets it at
        # once (an idle GUI costs training nothing). GANPLAY_TRAINER_NICE overrides it (benches).
        os.nice(int(os.environ.get("GANPLAY_TRAINER_NICE", TRAINER_NICENESS)))
    except (AttributeError, OSError, ValueError):  # not on this platform, not allowed, or a bad value
        pass
    threading.Thread(target=reader, name="ganplay-commands", daemon=True).start()
    out = threading.Thread(target=writer, name="ganplay-frames", daemon=True)
    out.start()
    try:
        loop = loop_cls(inbox, emit_frame, outbox.put)
        loop.ready = lambda: frames_waiting[0] < MAX_FRAMES_QUEUED
        loop.run(first)
    except BaseException as exc:  # noqa: BLE001  the GUI must hear why its trainer is gone
        # WorkerDied, not Failed: the window then starts a new training process
        outbox.put(P.WorkerDied("the training process failed:\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]))
    finally:
        outbox.put(P.Bye())
        outbox.put(None)
        out.join(5.0)
        conn.close()
