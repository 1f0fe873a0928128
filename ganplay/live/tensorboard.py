"""The window's TensorBoard log (train.tensorboard switched on in the setup panel): what the
frames carry, written as event files by ``engine.tensorboard.RunLog``.

Each trainer (a reset starts a new one) gets its own run folder, ``runs/<time>-window-<loss>-<data>``
under the folder ganplay was started from. The step statistics of every train.log_every-th step
and each frame's metrics are written; the pictures (a matplotlib figure, ~0.3 s) at most every
train.eval_every steps and every ``PICTURE_SECONDS``, so the window keeps its training speed.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

from . import protocol as P

PICTURE_SECONDS = 10.0


def window_run_dir(cfg: Any, root: str | Path = "runs") -> Path:
    """A new run folder name for the window's trainer (the CLI's naming, marked 'window')."""
    return Path(root) / time.strftime(f"%Y%m%d-%H%M%S-window-{cfg.loss.name}-{cfg.data.name}")


class LoopLog:
    """A RunLog fed by frames, tied to one trainer."""

    def __init__(self, trainer: Any, log: Any = None):
        self.trainer = trainer
        self.log = log                  # None: refused (no tensorboard package), said once
        self._pictured_step = -(10 ** 9)
        self._pictured_at = 0.0

    @classmethod
    def update(cls, current: "LoopLog | None", trainer: Any, frame: Any,
               emit: Callable[[P.Event], None]) -> "LoopLog | None":
        """Write ``frame`` when train.tensorboard is on; returns the log to keep (None when off).
        A new trainer, or the field switched off, closes the old log."""
        on = bool(trainer.cfg.train.tensorboard)
        if current is not None and (not on or current.trainer is not trainer):
            current.close()
            current = None
        if not on:
            return None
        if current is None:
            current = cls._open(trainer, emit)
        current.write(frame)
        return current

    @classmethod
    def _open(cls, trainer: Any, emit: Callable[[P.Event], None]) -> "LoopLog":
        from ganplay.engine.tensorboard import LOGDIR, RunLog

        logdir = window_run_dir(trainer.cfg) / LOGDIR
        try:
            log = RunLog(logdir, trainer.cfg)
        except Exception as exc:  # no tensorboard package, an unwritable folder: say so, keep training
            emit(P.Failed("TensorBoard", str(exc)))
            return cls(trainer, None)
        print(f"ganplay: TensorBoard events in '{logdir}'", file=sys.stderr, flush=True)
        return cls(trainer, log)

    def write(self, frame: Any) -> None:
        if self.log is None:
            return
        tc = self.trainer.cfg.train
        steps = frame.stats.get("step")
        if steps is not None:
            for i, step in enumerate(steps):
                if int(step) % tc.log_every == 0:
                    self.log.scalars({k: v[i] for k, v in frame.stats.items()})
        if frame.metrics:
            self.log.scalars(frame.metrics, frame.metrics_step)
            now = time.perf_counter()
            if (frame.metrics_step - self._pictured_step >= max(1, tc.eval_every)
                    and now - self._pictured_at >= PICTURE_SECONDS):
                self.log.pictures(self.trainer, frame.metrics_step)
                self._pictured_step, self._pictured_at = frame.metrics_step, time.perf_counter()

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
