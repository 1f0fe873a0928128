"""Carry on on the CPU when the GPU fails (out of memory, driver errors) without losing training.

``Trainer`` already picks the CPU when CUDA is missing (``device.resolve_device``). This module
covers failures that happen later: building the networks on the GPU, or a step running out of
GPU memory. The trainer is rebuilt on the CPU from its own ``state_dict()`` (networks, EMA copy,
both optimisers' moments, step count, last good state), so the curves just continue.

The CUDA random generator's state cannot be loaded into a CPU generator, so the CPU stream is
reseeded from (seed, step): the run stays reproducible from that point, not bit-identical to a
GPU run. If a step failed halfway (after the D update, say), that step is run again on the CPU.
"""
from __future__ import annotations

import gc
from typing import Any

import numpy as np
import torch

from .config import Config
from .trainer import StepStats, Trainer


def is_gpu_failure(exc: BaseException) -> bool:
    """True for errors that mean "the GPU cannot do this" rather than a bug or a bad setting."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    accel = getattr(torch, "AcceleratorError", None)  # CUDA runtime errors in recent torch
    if accel is not None and isinstance(exc, accel):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc)
        return any(s in text for s in ("CUDA error", "CUDA out of memory", "CUBLAS_STATUS", "cuDNN error",
                                       "CUDA driver", "no kernel image is available"))
    return False


def _short(exc: BaseException) -> str:
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc):
        return "the GPU ran out of memory"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the GPU failed ({first[:120]})"


def _to_cpu(obj: Any) -> Any:
    if torch.is_tensor(obj):
        return obj.detach().to("cpu")
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _cpu_state(sd: dict[str, Any], seed: int) -> dict[str, Any]:
    sd = _to_cpu(sd)
    rng = sd.get("rng")
    cpu_len = torch.Generator().get_state().numel()
    if rng is None or rng.numel() != cpu_len:  # a CUDA generator's state: reseed deterministically
        sd["rng"] = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(sd["step"])).get_state()
    return sd


def release_gpu_memory() -> None:
    """Give cached GPU blocks back after a failure (a no-op without CUDA)."""
    try:
        if not torch.cuda.is_available():
            # nothing to give back; and a collection forced from a training thread of the GUI
            # process can finalise dead Qt objects there and deadlock with the window's painting
            return
        gc.collect()
        torch.cuda.empty_cache()
    except Exception:  # the driver may be what failed; nothing more to free then
        pass


def move_trainer_to_cpu(trainer: Trainer, message: str | None = None) -> Trainer:
    """A new CPU ``Trainer`` with everything ``trainer`` had; ``device_message`` says why."""
    seed = trainer.cfg.train.seed
    state = _cpu_state(trainer.state_dict(), seed)
    last_good = getattr(trainer, "_last_good", None)
    last_good = _cpu_state(last_good, seed) if last_good is not None else None
    cpu = Trainer(trainer.cfg, points=trainer.points, data=trainer.data, device="cpu")
    cpu.good_every = trainer.good_every
    cpu.load_state_dict(state)
    if last_good is not None:
        cpu._last_good = last_good  # "go back to the last good state" still reaches the GPU's one
    cpu.device_message = message or f"moved from {trainer.device} to the CPU"
    return cpu


def step_with_fallback(trainer: Trainer, mode: str = "both", target: Any = None) -> tuple[Trainer, StepStats, str | None]:
    """``trainer.step(mode, target)``; on a GPU failure, continue on the CPU (a plain step).

    Returns (the trainer to keep using, the step's stats, a message for the user or None). Other
    errors (``TrainingDiverged``, bugs) propagate unchanged, as do failures already on the CPU.
    """
    try:
        stats = trainer.step(mode) if target is None else trainer.step(mode, target=target)
        return trainer, stats, None
    except Exception as exc:
        if trainer.device.type == "cpu" or not is_gpu_failure(exc):
            raise
        msg = (f"{_short(exc)} at step {trainer.step_count + 1}; training continues on the CPU "
               "(slower). Smaller batches or networks may fit on the GPU.")
        cpu = move_trainer_to_cpu(trainer, msg)
        release_gpu_memory()
        return cpu, cpu.step(mode), msg


def build_trainer(cfg: Config, *, points: np.ndarray | None = None, data: Any = None) -> Trainer:
    """``Trainer(cfg, ...)``, but a GPU failure while building it gives a CPU trainer and a message."""
    try:
        return Trainer(cfg, points=points, data=data)
    except Exception as exc:
        if not is_gpu_failure(exc):
            raise
        release_gpu_memory()
        tr = Trainer(cfg, points=points, data=data, device="cpu")
        tr.device_message = f"{_short(exc)} while building the networks; using the CPU"
        return tr
