"""TensorBoard event files of a run (``ganplay train --tensorboard``, ``train.tensorboard``).

Written with ``torch.utils.tensorboard.SummaryWriter``, which needs the ``tensorboard`` package
(the ``tensorboard`` extra): the losses and D's outputs of every logged step, the metrics when
they are measured, the config as text, and pictures: for 2D data D(x) with its D = 1/2 line under
the real and generated points (the canvas, drawn by ``figures.scatter_png``), for images a grid
of samples from a fixed z. Look at them with ``tensorboard --logdir RUN_FOLDER``.
"""
from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .config import ConfigError, to_toml

INSTALL_HINT = ("TensorBoard logging needs the tensorboard package: pip install 'ganplay[tensorboard]' "
                "(or pip install tensorboard)")
LOGDIR = "tensorboard"   # the event files' folder inside a run folder
SURFACE_RES = 64
N_POINTS = 1000

# the step statistics under TensorBoard's groups: the loss charts apart from D's outputs
_GROUPS = {"loss_d": "loss/D", "loss_g": "loss/G", "d_real": "D/real", "d_fake": "D/fake",
           "score_real": "D/score_real", "score_fake": "D/score_fake", "grad_d": "grad_norm/D",
           "grad_g": "grad_norm/G", "jsd": "D/jsd"}


class TensorBoardMissing(ConfigError):
    """TensorBoard logging was asked for, but the tensorboard package is not installed."""


def check_available() -> None:
    """Raise ``TensorBoardMissing`` (saying how to install it) unless TensorBoard can be written."""
    if importlib.util.find_spec("tensorboard") is None:
        raise TensorBoardMissing(INSTALL_HINT)


def _tag(key: str) -> str:
    return _GROUPS.get(key, f"metrics/{key}")


class RunLog:
    """One run's event files in ``logdir``; ``scalars`` for each logged row, ``pictures`` now and
    then (they cost a figure each: about 0.3 s for 2D, a forward pass for images)."""

    def __init__(self, logdir: str | Path, cfg: Any = None):
        check_available()
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        # flushed every 10 s (not 120), so a TensorBoard open beside the window follows it
        self.writer = SummaryWriter(log_dir=str(self.logdir), flush_secs=10)
        self._pictured = -1   # the step of the last pictures
        self._measured = -1   # the step of the last row with metrics
        if cfg is not None:   # TensorBoard's text tab renders markdown
            self.writer.add_text("config", "```toml\n" + to_toml(cfg) + "```", 0)

    def scalars(self, row: Mapping[str, Any], step: int | None = None) -> None:
        """Every finite number of ``row`` (a history row or the final metrics) at ``step``
        (default: the row's own)."""
        at = int(row["step"] if step is None else step)
        for key, v in row.items():
            if key == "step" or isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                continue
            if math.isfinite(float(v)):
                self.writer.add_scalar(_tag(key), float(v), at)

    def callback(self, trainer: Any, then: Callable[[dict[str, Any]], None] | None = None
                 ) -> Callable[[dict[str, Any]], None]:
        """An ``on_log`` for ``runs.train``: each row's numbers, pictures on the rows that carry
        metrics (every train.eval_every steps), then ``then(row)``."""
        def on_log(row: dict[str, Any]) -> None:
            self.scalars(row)
            if any(k != "step" and k not in _GROUPS for k in row):
                self._measured = int(row["step"])
                self.pictures(trainer, self._measured)
            if then is not None:
                then(row)

        return on_log

    def finish(self, trainer: Any, metrics: Mapping[str, Any]) -> None:
        """The final metrics (unless the last row measured this step already) and pictures of a
        run, written out."""
        if self._measured != trainer.step_count:
            self.scalars({k: v for k, v in metrics.items() if k not in ("steps", "wall_s")}, trainer.step_count)
        self.pictures(trainer)
        self.flush()

    def pictures(self, trainer: Any, step: int | None = None) -> None:
        """D(x) with the samples (2D data) or a grid of samples (images) at ``step`` (once a step)."""
        at = int(trainer.step_count if step is None else step)
        if at == self._pictured:
            return
        self._pictured = at
        data = trainer.data
        if getattr(data, "image_shape", None) is not None:
            self.writer.add_image("samples", sample_grid(trainer), at, dataformats="HWC")
            return
        self.writer.add_image("D(x) and samples", surface_picture(trainer, at), at, dataformats="HWC")

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def sample_grid(trainer: Any, n: int = 64, seed: int = 4242) -> np.ndarray:
    """An 8 x 8 grid of samples from a fixed z, (H, W, 3) uint8 (grey digits repeated in RGB)."""
    from .png import image_grid

    x = trainer.sample(n, seed=seed)
    grid = image_grid(x.reshape((len(x),) + tuple(trainer.data.image_shape)), nrow=8)
    return np.repeat(grid[:, :, None], 3, axis=2) if grid.ndim == 2 else grid


def surface_picture(trainer: Any, step: int, size_px: int = 480) -> np.ndarray:
    """The canvas as a figure: D(x) on the data's bounds, its D = 1/2 line, real and generated
    points; (H, W, 3) uint8."""
    from PIL import Image

    from . import metrics as M
    from .figures import scatter_png

    bounds = tuple(float(b) for b in trainer.data.bounds)
    surface = M.decision_surface(trainer, bounds, SURFACE_RES)
    fake = trainer.sample(N_POINTS, seed=10_000)
    real = trainer.data.sample_numpy(N_POINTS, seed=20_000)
    png = scatter_png(fake, real, bounds, f"step {step:,}", surface=surface, size_px=size_px)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))
