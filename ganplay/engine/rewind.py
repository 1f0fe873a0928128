"""Rewind and branch: snapshots of recent training states, kept in memory under a byte cap.

A snapshot is ``Trainer.state_dict()`` (G, D, both optimisers, the RNG, the EMA of G, the config)
with every tensor copied to the CPU into one block (``pack_state``), so loading it continues bit for
bit (``Trainer.load_state_dict``). The training loop takes one after each step whose count is a
multiple of ``train.rewind_every``; the oldest are dropped first while the blocks' bytes exceed
``train.rewind_mb``.

Measured (a snapshot's block; packing it takes 1-4 ms on a shared 2-core CPU):
- the default ring GAN (MLPs 2 x 128, Adam): 416,320 bytes, so 50 steps between snapshots and
  128 MB keep 322 snapshots, the last 16,100 steps;
- the ``stable`` ring recipe (with the EMA of G): 516,736 bytes, 259 snapshots, 12,950 steps;
- the MNIST DCGAN (``dcgan`` preset, EMA): 11,220,864 bytes, 11 snapshots, the last 550 steps
  (about 4 minutes of CPU training at 0.45 s a step). The same two fields apply to image models;
  a longer reach costs memory in proportion (``train.rewind_mb``).
In resident memory the full 128 MB cost the training process about 147 MB (the skeletons, the
allocator), flat at the cap (``bench/rewind_memory.py``).

Qt-free.
"""
from __future__ import annotations

import bisect
import copy
import math
from collections import OrderedDict
from typing import Any, NamedTuple

import torch

from .config import LIVE_FIELDS, get_field

MB = 1024 * 1024


def copy_state(obj: Any) -> Any:
    """A deep copy of a state dict with every tensor cloned to the CPU (a snapshot must not
    share storage with the live networks, nor hold GPU memory)."""
    if torch.is_tensor(obj):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return type(obj)((k, copy_state(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [copy_state(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(copy_state(v) for v in obj)
    return copy.deepcopy(obj)


ALIGN = 64   # bytes: every tensor of a packed snapshot starts on a cache line (and any dtype's size)


def _tensors(obj: Any) -> list[torch.Tensor]:
    if torch.is_tensor(obj):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


class _Slot(NamedTuple):
    """Where a tensor lies in a packed snapshot's block."""
    offset: int
    dtype: torch.dtype
    shape: tuple[int, ...]


def pack_state(obj: Any) -> tuple[Any, torch.Tensor]:
    """``obj`` with every tensor copied into one CPU byte block: returns (its skeleton, the block),
    the skeleton holding a ``_Slot`` where each tensor was (``unpack_state`` reverses it). A
    snapshot is some 30 tensors of 1-64 KB; kept one by one they cost 1.35x their bytes in resident
    memory (measured on the default ring GAN: 108 MB of RSS for 79 MB of tensors)."""
    tensors = _tensors(obj)
    offsets, total = [], 0
    for t in tensors:
        offsets.append(total)
        total += -(-t.numel() * t.element_size() // ALIGN) * ALIGN
    block = torch.empty(total, dtype=torch.uint8)
    slots: dict[int, _Slot] = {}
    for t, off in zip(tensors, offsets):
        slot = _Slot(off, t.dtype, tuple(t.shape))
        _view(block, slot).copy_(t.detach())
        slots[id(t)] = slot

    def build(o: Any) -> Any:
        if torch.is_tensor(o):
            return slots[id(o)]
        if isinstance(o, dict):
            return type(o)((k, build(v)) for k, v in o.items())
        if isinstance(o, list):
            return [build(v) for v in o]
        if isinstance(o, tuple):
            return tuple(build(v) for v in o)
        return copy.deepcopy(o)

    return build(obj), block


def _view(block: torch.Tensor, slot: _Slot) -> torch.Tensor:
    n = math.prod(slot.shape) * slot.dtype.itemsize
    return block[slot.offset:slot.offset + n].view(slot.dtype).view(slot.shape)


def unpack_state(skeleton: Any, block: torch.Tensor) -> Any:
    """The state dict of a packed snapshot, each tensor a copy of its own."""
    if isinstance(skeleton, _Slot):
        return _view(block, skeleton).clone()
    if isinstance(skeleton, dict):
        return type(skeleton)((k, unpack_state(v, block)) for k, v in skeleton.items())
    if isinstance(skeleton, list):
        return [unpack_state(v, block) for v in skeleton]
    if isinstance(skeleton, tuple):
        return tuple(unpack_state(v, block) for v in skeleton)
    return copy.deepcopy(skeleton)


def state_bytes(obj: Any) -> int:
    """Bytes held by the tensors of a (nested) state: what a snapshot costs. The config and the
    step counters beside them are a few kilobytes and are not counted."""
    if torch.is_tensor(obj):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(state_bytes(v) for v in obj)
    return 0


class RewindBuffer:
    """Snapshots by step, oldest first, within ``cap_bytes`` (``every`` 0 or a cap of 0: off)."""

    def __init__(self, every: int = 50, cap_bytes: int = 128 * MB):
        self.every = int(every)
        self.cap_bytes = int(cap_bytes)
        self._snaps: OrderedDict[int, tuple[Any, torch.Tensor]] = OrderedDict()   # step -> packed
        self.nbytes = 0

    @property
    def on(self) -> bool:
        return self.every > 0 and self.cap_bytes > 0

    def configure(self, every: int, cap_bytes: int) -> None:
        """New spacing and cap (live settings); a smaller cap drops the oldest at once."""
        self.every, self.cap_bytes = int(every), int(cap_bytes)
        if not self.on:
            self.clear()
        self._shrink()

    def due(self, step: int) -> bool:
        return self.on and step % self.every == 0

    def take(self, trainer: Any) -> bool:
        """Keep a snapshot of ``trainer`` at its step; False when it alone exceeds the cap. Its
        size is its block's bytes: the tensors' plus at most ``ALIGN`` - 1 of padding each."""
        skeleton, block = pack_state(trainer.state_dict())
        size = block.numel()
        if size > self.cap_bytes:
            return False
        step = int(trainer.step_count)
        self.drop_after(step - 1)   # a step taken again (after a rewind) ends the old future
        self._snaps[step] = (skeleton, block)
        self.nbytes += size
        self._shrink()
        return True

    def _shrink(self) -> None:
        while self._snaps and self.nbytes > self.cap_bytes:
            _, (_, block) = self._snaps.popitem(last=False)
            self.nbytes -= block.numel()

    def steps(self) -> tuple[int, ...]:
        return tuple(self._snaps)

    def __len__(self) -> int:
        return len(self._snaps)

    def __contains__(self, step: object) -> bool:
        return step in self._snaps

    def nearest(self, step: int) -> int | None:
        """The latest snapshot at or before ``step`` (the oldest one when ``step`` is earlier);
        None when there is none."""
        steps = self.steps()
        if not steps:
            return None
        i = bisect.bisect_right(steps, int(step))
        return steps[max(0, i - 1)]

    def state(self, step: int) -> dict[str, Any]:
        """The snapshot at ``step`` as a state dict of tensors of their own (a copy: the kept one's
        tensors share one block, which a live optimiser must not hold)."""
        return unpack_state(*self._snaps[step])

    def drop_after(self, step: int) -> None:
        """Forget the snapshots later than ``step``: the future of a branch that is not taken."""
        while self._snaps and next(reversed(self._snaps)) > step:
            _, (_, block) = self._snaps.popitem(last=True)
            self.nbytes -= block.numel()

    def clear(self) -> None:
        self._snaps.clear()
        self.nbytes = 0


def load_keeping_settings(trainer: Any, state: dict[str, Any]) -> None:
    """Put ``trainer`` back to ``state`` (networks, optimisers, RNG, EMA, step) but keep the live
    settings it runs now: a rewind goes back in the weights, not in the user's choices, so
    "branch from here" continues with the loss, learning rates, k, ... set at this moment. The
    optimisers' learning rates and betas come back from the state dict, so each live field is
    applied again (``Trainer.set``: the optimisers and the EMA follow ``cfg``). With unchanged
    settings this changes nothing, and training on equals the run that never rewound."""
    current = {path: get_field(trainer.cfg, path) for path in sorted(LIVE_FIELDS)}
    trainer.load_state_dict(state)
    for path, value in current.items():
        trainer.set(path, value)
