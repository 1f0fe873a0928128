"""Run folders: the headless training loop and what it leaves on disk.

A run folder holds ``config.toml`` (resolved config), ``history.csv`` (losses every log_every
steps, metrics every eval_every steps), ``metrics.json`` (final metrics) and ``checkpoint.pt``
(the trainer's state dict, loaded back with ``weights_only=True``: no pickle of objects).
"""
from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .config import ConfigError, load_toml, to_toml
from .metrics import evaluate_2d, scalar_metrics
from .trainer import STAT_NAMES, Trainer, TrainingDiverged

METRIC_COLUMNS = ("modes_covered", "hq_fraction", "reverse_kl", "w1", "energy",
                  "mnist_score", "fid", "precision", "recall", "classes_covered", "label_accuracy",
                  "kl_uniform")
HISTORY_COLUMNS = STAT_NAMES + METRIC_COLUMNS


class RunError(RuntimeError):
    """A run folder that cannot be written or read; the message names the path."""


@dataclass
class History:
    """Rows of per-step statistics and metrics, as the CLI writes them and the GUI charts them."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(HISTORY_COLUMNS), extrasaction="ignore")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> "History":
        rows = []
        for r in csv.DictReader(io.StringIO(text)):
            row: dict[str, Any] = {k: (float(v) if v not in ("", None) else None) for k, v in r.items()}
            if row.get("step") is not None:
                row["step"] = int(row["step"])
            rows.append(row)
        return cls(rows)

    def column(self, name: str) -> np.ndarray:
        return np.array([r.get(name) if r.get(name) is not None else np.nan for r in self.rows], dtype=float)


def evaluate(trainer: Trainer, n: int = 2500) -> dict[str, Any]:
    """The metrics that fit the trainer's data: 2D protocol, or image metrics for MNIST."""
    if getattr(trainer.data, "image_shape", None) is not None:
        from .image_metrics import evaluate_images  # only image runs need the classifier

        return scalar_metrics(evaluate_images(trainer, n=min(n, 2000)))
    return scalar_metrics(evaluate_2d(trainer, n=n))


def check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write the run folder '{run_dir}': {exc.strerror or exc}") from None


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _clean(v.item())
    return v


def write_run(run_dir: Path, trainer: Trainer, history: History, metrics: dict[str, Any]) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.toml").write_text(to_toml(trainer.cfg), encoding="utf-8")
        (run_dir / "history.csv").write_text(history.to_csv(), encoding="utf-8")
        (run_dir / "metrics.json").write_text(
            json.dumps({k: _clean(v) for k, v in metrics.items()}, indent=2) + "\n", encoding="utf-8")
        tmp = run_dir / "checkpoint.pt.tmp"
        torch.save(trainer.state_dict(), tmp)
        tmp.replace(run_dir / "checkpoint.pt")  # never leave a half-written checkpoint behind
    except OSError as exc:
        raise RunError(f"cannot write the run folder '{run_dir}': {exc.strerror or exc}") from None


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise RunError(f"no checkpoint at '{path}'") from None
    except Exception as exc:  # truncated zip, foreign pickle, ... : refuse, never execute
        raise RunError(f"checkpoint '{path}' cannot be loaded safely: {exc}") from None


def load_run(run_dir: str | Path, device: str | None = None) -> tuple[Trainer, dict[str, Any]]:
    """Rebuild the trainer of a run folder from its config and checkpoint; also its metrics."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"'{d}' is not a run folder (no such directory)")
    try:
        cfg = load_toml(d / "config.toml")
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    trainer = Trainer(cfg, device=device)
    sd = load_checkpoint(d / "checkpoint.pt", trainer.device)
    try:
        trainer.load_state_dict(sd)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise RunError(f"checkpoint '{d / 'checkpoint.pt'}' does not fit the run's config: {exc}") from None
    metrics: dict[str, Any] = {}
    mp = d / "metrics.json"
    if mp.exists():
        try:
            metrics = json.loads(mp.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"'{mp}' is not valid JSON: {exc}") from None
    return trainer, metrics


def train(trainer: Trainer, steps: int, history: History | None = None,
          on_log: Callable[[dict[str, Any]], None] | None = None) -> tuple[History, dict[str, Any]]:
    """Train ``steps`` more steps, logging and evaluating as the config says.

    Returns the history and the final metrics. A divergence stops the loop; the trainer keeps
    its last good weights and the metrics carry ``stopped`` with the reason.
    """
    tc = trainer.cfg.train
    history = history or History()
    stopped = None
    t0 = time.perf_counter()
    done = 0
    eval_time = 0.0
    for _ in range(steps):
        try:
            s = trainer.step()
        except TrainingDiverged as exc:
            stopped = str(exc)
            break
        done += 1
        n = s.step
        row: dict[str, Any] | None = None
        if n % tc.log_every == 0:
            row = s.as_dict()
        if tc.eval_every and n % tc.eval_every == 0:
            te = time.perf_counter()
            row = row or s.as_dict()
            row.update(evaluate(trainer, n=1000))
            eval_time += time.perf_counter() - te
        if row is not None:
            history.add(row)
            if on_log:
                on_log(row)
    wall = time.perf_counter() - t0
    metrics = evaluate(trainer)
    metrics.update(
        steps=trainer.step_count,
        steps_per_s=done / max(wall - eval_time, 1e-9),
        wall_s=wall,
        loss=trainer.cfg.loss.name,
        data=trainer.cfg.data.name,
        device=str(trainer.device),
    )
    if stopped:
        metrics["stopped"] = stopped
    return history, metrics
