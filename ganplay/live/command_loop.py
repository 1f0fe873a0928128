"""The shape both live loops share: typed commands in from one queue, dispatched through a
handler table; frames and events out through two callables; a polite stop.

A loop knows nothing of its transport: ``transport.serve`` runs it in a process of its own, and
``ganplay.ui.worker`` in a thread of the GUI process. Both call ``run(first)`` with the command
that builds the engine (``Reset`` or ``BuildComparison``), handled like any later one.
"""
from __future__ import annotations

import os
import queue
import time
from collections import Counter
from typing import Any, Callable

from . import protocol as P

# While the loop works through a queue of commands (300 quick clicks on "D step"), it offers a
# frame every PUBLISH_EVERY_S, so the window shows the work as it is done, not one jump at the end;
# costly frames (a DCGAN's grid and metrics) are spaced out to take at most PUBLISH_SHARE of the
# time, but never more than PUBLISH_MAX_GAP_S apart.
PUBLISH_EVERY_S = 0.1
PUBLISH_SHARE = 0.15
PUBLISH_MAX_GAP_S = 3.0


def default_threads() -> int:
    """The most threads a window's loop gives torch on its own: all cores but one, left to the
    GUI. Within it, ``engine.threads.choose_threads`` picks per workload (one for the 2D MLPs)."""
    return max(1, (os.cpu_count() or 2) - 1)


class CommandLoop:
    """Subclasses list their commands in ``commands`` and return a handler for each from
    ``handlers()``; a command without one is an error, checked when the loop is built."""

    commands: tuple[type[P.Command], ...] = P.COMMON_COMMANDS

    def __init__(self, inbox: "queue.Queue[P.Command]", emit_frame: Callable[[Any], None],
                 emit_event: Callable[[P.Event], None], stopped: Callable[[], bool] = lambda: False,
                 torch_threads: int | None = None):
        self._queue = inbox
        self.emit_frame = emit_frame
        self.emit = emit_event
        self._stopped = stopped
        # None: chosen per workload (fit_threads) up to default_threads(); a number: fixed
        self._auto_threads = torch_threads is None
        self.torch_threads = torch_threads or default_threads()
        self._threads_for: Any = None
        # engine.threads.ThreadTuner while the engine may use several threads; fed by the loop's steps
        self.tuner: Any = None
        self.running = False
        self.handled: Counter[str] = Counter()   # commands handled, by type name (Describe shows it)
        self._dirty = True
        self._handlers: dict[type, Callable[[Any], None]] = {
            P.Ping: lambda c: self.emit(P.Pong(c.payload)),
            P.Echo: lambda c: self.emit(c.event),
            P.Describe: lambda c: self.emit(P.Described(self.describe())),
            **self.handlers(),
        }
        missing = [c.__name__ for c in self.commands if c is not P.Stop and c not in self._handlers]
        if missing:
            raise TypeError(f"{type(self).__name__} has no handler for {', '.join(missing)}")
        # Back-pressure from the transport: while it says no, the loop holds its frames back.
        self.ready: Callable[[], bool] = lambda: True

    # ------------------------------------------------------------------ for subclasses
    def handlers(self) -> dict[type, Callable[[Any], None]]:
        return {}

    def describe(self) -> dict[str, Any]:
        return {"running": self.running, "handled": dict(self.handled)}

    def setup(self) -> None:
        """Runs first in the loop's own thread or process (torch threads, imports)."""
        import torch

        # interop threads can only be set once per process, so not here; with automatic threads,
        # one until a command builds an engine (fit_threads)
        torch.set_num_threads(1 if self._auto_threads else self.torch_threads)

    def engine_configs(self) -> list[Any]:
        """The configs of what the loop trains: its ``trainer``'s or its ``pop``'s (none yet: [])."""
        trainer, pop = getattr(self, "trainer", None), getattr(self, "pop", None)
        if trainer is not None:
            return [trainer.cfg]
        return list(pop.configs) if pop is not None else []

    def fit_threads(self) -> None:
        """Torch's threads for the engine the last command built or changed (Reset, a session, a
        comparison, ``SetField('train.threads')``): ``engine.threads.choose_threads``, at most
        ``torch_threads`` unless the config sets ``train.threads``. Fixed threads stay as given."""
        if not self._auto_threads:
            return
        cfgs = self.engine_configs()
        key = tuple((id(c), c.train.threads, c.train.device) for c in cfgs)
        if not cfgs or key == self._threads_for:
            return
        self._threads_for = key
        from ganplay.engine.threads import choose_threads, tuner_for, use_threads

        self.tuner = None
        asked = max(c.train.threads for c in cfgs)
        if len(cfgs) == 1:   # one or more threads, measured while it trains (the DCGAN)
            self.tuner = tuner_for(cfgs[0], limit=self.torch_threads)
        else:
            use_threads(asked if asked > 0 else min(self.torch_threads, max(choose_threads(c) for c in cfgs)))

    def busy(self) -> bool:
        """True while there is training to do (the queue is then polled, not waited on)."""
        return self.running

    def wait_timeout(self) -> float | None:
        """How long to wait for a command when busy (None: do not wait)."""
        return None

    def train_a_little(self) -> None:
        """A few training steps between two looks at the queue."""

    def maybe_publish(self) -> None:
        """Send a frame if one is due."""

    def teardown(self) -> None:
        """Runs last, however the loop ended (worker processes, files)."""

    # ------------------------------------------------------------------ the loop
    def run(self, first: P.Command | None = None) -> None:
        try:
            self.setup()
            if first is not None:
                self.dispatch(first)
            while not self._stopped():
                if not self._handle_commands():
                    break
                if self.busy():
                    self.train_a_little()
                self.maybe_publish()
        finally:
            self.running = False
            self.teardown()

    def _handle_commands(self) -> bool:
        busy = self.busy()
        timeout = 0.02 if not busy else self.wait_timeout()
        block = timeout is not None and timeout > 0
        since, gap = time.perf_counter(), PUBLISH_EVERY_S
        while True:
            try:
                cmd = self._queue.get(timeout=timeout) if block else self._queue.get_nowait()
            except queue.Empty:
                return True
            block = False
            if isinstance(cmd, P.Stop):
                return False
            self.dispatch(cmd)
            t0 = time.perf_counter()
            if t0 - since >= gap:
                self.maybe_publish()   # (it still asks the frame budget and the transport)
                since = time.perf_counter()
                cost = since - t0
                gap = min(PUBLISH_MAX_GAP_S, max(PUBLISH_EVERY_S, cost / PUBLISH_SHARE - cost))

    def dispatch(self, cmd: P.Command) -> None:
        """Handle one command; a failing or unknown one is reported, never fatal to the loop."""
        self._dirty = True
        name = type(cmd).__name__
        handler = self._handlers.get(type(cmd))
        if handler is None:
            self.emit(P.Failed(f"'{name}' failed", f"{type(self).__name__} does not take {name}"))
            return
        try:
            handler(cmd)
        except Exception as exc:  # a bad command must never kill the loop
            self.emit(P.Failed(f"'{name}' failed", f"{type(exc).__name__}: {exc}"))
        else:
            self.handled[name] += 1
            self.fit_threads()
