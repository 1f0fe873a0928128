"""Run folders: the headless training loop and what it leaves on disk.

A run folder holds ``config.toml`` (resolved config), ``history.csv`` (losses every log_every
steps, metrics every eval_every steps), ``metrics.json`` (final metrics) and ``checkpoint.pt``
(the trainer's state dict, loaded back with ``weights_only=True``: no pickle of objects).

Every file is written atomically (a temporary name, fsync, rename), in the order history.csv,
checkpoint.pt, config.toml, metrics.json: a failure part way leaves each file whole, the
checkpoint never behind the config, and ``read_history`` drops history rows past the
checkpoint's step, so the folder always resumes. A failed save raises ``RunError`` saying what
the folder still holds.
"""
from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .config import ConfigError, from_dict, load_toml, to_toml
from .history import History, parse_csv_rows
from .metrics import evaluate_2d, scalar_metrics
from .trainer import STAT_NAMES, Trainer, TrainingDiverged

METRIC_COLUMNS = ("modes_covered", "hq_fraction", "reverse_kl", "w1", "energy",
                  "mnist_score", "fid", "precision", "recall", "classes_covered", "label_accuracy",
                  "kl_uniform")
HISTORY_COLUMNS = STAT_NAMES + METRIC_COLUMNS


class RunError(RuntimeError):
    """A run folder that cannot be written or read; the message names the path."""


def read_history(path: Path, upto_step: int | None = None) -> tuple[History, int]:
    """The history of a run folder's ``history.csv`` (empty when absent), without rows past
    ``upto_step`` (the checkpoint's step: rows a failed save wrote ahead of it); also the number
    of rows dropped (malformed or past the checkpoint)."""
    if not path.exists():
        return History(), 0
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read '{path}': {exc}") from None
    rows, bad = parse_csv_rows(text)
    if upto_step is not None:
        kept = [r for r in rows if r.get("step") is None or r["step"] <= upto_step]
        bad += len(rows) - len(kept)
        rows = kept
    return History(rows), bad


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


def _write_file(path: Path, data: bytes) -> None:
    """Write one run file atomically (the engine's one atomic writer; tests make it fail)."""
    from .export import write_file_atomic  # export imports this module

    write_file_atomic(path, data, RunError)


def _checkpoint_bytes(trainer: Trainer) -> bytes:
    buf = io.BytesIO()
    torch.save(trainer.state_dict(), buf)
    return buf.getvalue()


def _kept(run_dir: Path, done: list[str], failed: str, step: int, saved_step: int | None) -> str:
    """What the run folder holds after a save that failed at ``failed``."""
    if "checkpoint.pt" in done:
        msg = f"the training state of step {step} is saved ({', '.join(done)})"
        if failed == "config.toml":
            return msg + "; config.toml is the previous one, which resumes the checkpoint all the same"
        return msg + f"; only metrics.json is not updated ('ganplay eval {run_dir}' measures them again)"
    if saved_step is not None:
        if saved_step == step:
            return f"'{run_dir}' still holds the run as saved at step {saved_step}"
        return (f"'{run_dir}' still holds the run as saved at step {saved_step} (--resume continues from "
                f"there); steps {saved_step + 1}-{step} are not saved")
    if (run_dir / "checkpoint.pt").exists():
        return f"'{run_dir}' keeps its previous checkpoint; the {step} steps of this run are not saved"
    return f"nothing of this run's {step} steps could be saved"


def write_run(run_dir: Path, trainer: Trainer, history: History, metrics: dict[str, Any] | None,
              *, saved_step: int | None = None) -> None:
    """Write the run folder, each file atomically: history.csv, checkpoint.pt, config.toml and,
    unless ``metrics`` is None (an interrupted or periodic save), metrics.json.

    ``saved_step`` is the step of the state the folder already holds (None: none), for the
    message of a ``RunError`` that says what was kept when a write fails.
    """
    step = trainer.step_count
    files: list[tuple[str, Callable[[], bytes]]] = [
        ("history.csv", lambda: history.to_csv(HISTORY_COLUMNS).encode("utf-8")),
        ("checkpoint.pt", lambda: _checkpoint_bytes(trainer)),
        ("config.toml", lambda: to_toml(trainer.cfg).encode("utf-8")),
    ]
    if metrics is not None:
        files.append(("metrics.json", lambda: (json.dumps({k: _clean(v) for k, v in metrics.items()}, indent=2)
                                               + "\n").encode("utf-8")))
    done: list[str] = []
    for name, make in files:
        try:
            data = make()
        except Exception as exc:  # e.g. out of memory while serialising: still say what was kept
            raise RunError(f"cannot write '{run_dir / name}': {type(exc).__name__}: {exc}; "
                           f"{_kept(run_dir, done, name, step, saved_step)}") from None
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            _write_file(run_dir / name, data)
        except (OSError, RunError) as exc:
            why = str(exc) if isinstance(exc, RunError) else (
                f"cannot write '{run_dir / name}': {exc.strerror or exc}")
            raise RunError(f"{why}; {_kept(run_dir, done, name, step, saved_step)}") from None
        done.append(name)


LAST_GOOD = "last_good"


def write_last_good(run_dir: Path, trainer: Trainer) -> Path:
    """After a divergence: the trainer's last good state as a run folder of its own inside
    ``run_dir`` (checkpoint.pt + config.toml), so eval, sample, export and --resume take it as
    they take any run."""
    sd = trainer.last_good_state()
    out = run_dir / LAST_GOOD
    buf = io.BytesIO()
    torch.save(sd, buf)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_file(out / "checkpoint.pt", buf.getvalue())
        _write_file(out / "config.toml", to_toml(from_dict(sd["config"])).encode("utf-8"))
    except OSError as exc:
        raise RunError(f"cannot write the last good state to '{out}': {exc.strerror or exc}") from None
    return out


_PICKLE_REFUSAL = ("holds pickled Python objects (a legacy or foreign checkpoint). ganplay refuses pickles "
                   "for safety: loading one can run any code its author chose. Use a checkpoint written by "
                   "'ganplay train', a session (.gpsession) or a bundle (.ganplay); if you trust the file and "
                   "made it yourself, re-save just its tensors (a dict of tensors, as Trainer.state_dict() gives)")


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    import pickle

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise RunError(f"no checkpoint at '{path}'") from None
    except pickle.UnpicklingError:  # a pickle of objects: refused, never executed
        raise RunError(f"checkpoint '{path}' cannot be loaded safely: it {_PICKLE_REFUSAL}") from None
    except Exception as exc:  # truncated zip, foreign file, ...: refuse, never execute
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights_only" in why:  # never pass on torch's advice to unpickle
            raise RunError(f"checkpoint '{path}' cannot be loaded safely: it {_PICKLE_REFUSAL}") from None
        raise RunError(f"checkpoint '{path}' cannot be loaded safely: it is damaged or not a ganplay "
                       f"checkpoint ({why})") from None


def load_run(run_dir: str | Path, device: str | None = None) -> tuple[Trainer, dict[str, Any]]:
    """Rebuild the trainer of a run folder from its config and checkpoint; also its metrics."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"'{d}' is not a run folder (no such directory)")
    sd = None
    if (d / "config.toml").exists() or not (d / "checkpoint.pt").exists():
        try:
            cfg = load_toml(d / "config.toml")
        except ConfigError as exc:
            raise RunError(str(exc)) from None
    else:  # config.toml lost: the checkpoint carries the config it was trained with
        sd = load_checkpoint(d / "checkpoint.pt")
        try:
            cfg = from_dict(sd["config"]).validate()
        except (ConfigError, KeyError, TypeError) as exc:
            raise RunError(f"'{d}' has no config.toml and its checkpoint holds no valid config: {exc}") from None
    trainer = Trainer(cfg, device=device)
    if sd is None:
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
        if not isinstance(metrics, dict) or metrics.get("steps") != trainer.step_count:
            metrics = {}  # measured at another step (the save after it failed or was interrupted)
    return trainer, metrics


def train(trainer: Trainer, steps: int, history: History | None = None,
          on_log: Callable[[dict[str, Any]], None] | None = None, *,
          stop: Callable[[], bool] | None = None, save: Callable[[History], None] | None = None,
          save_every: float = 0.0, tuner: Any = None) -> tuple[History, dict[str, Any]]:
    """Train ``steps`` more steps, logging and evaluating as the config says.

    Returns the history and the final metrics. A divergence stops the loop; the trainer keeps
    its last good weights and the metrics carry ``stopped`` with the reason. ``stop`` is asked
    after every step: when it says True the loop ends there, between two steps, and the metrics
    are only ``steps`` and ``interrupted`` (no evaluation). ``save(history)`` is called between
    steps every ``save_every`` seconds of training (0: never). ``tuner`` (an
    ``engine.threads.ThreadTuner``) is told how long each step took and sets torch's threads.
    """
    tc = trainer.cfg.train
    history = history or History()
    stopped = None
    t0 = time.perf_counter()
    last_save = t0
    done = 0
    eval_time = 0.0
    for _ in range(steps):
        if stop is not None and stop():
            break
        ts = time.perf_counter()
        try:
            s = trainer.step()
        except TrainingDiverged as exc:
            stopped = str(exc)
            break
        if tuner is not None:
            tuner.observe(time.perf_counter() - ts)
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
        if save is not None and save_every > 0 and time.perf_counter() - last_save >= save_every:
            save(history)
            last_save = time.perf_counter()
    if stop is not None and stop():
        return history, {"steps": trainer.step_count, "interrupted": True}
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
