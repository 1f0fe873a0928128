"""A frozen CPU copy of a generator that views can call from any thread.

The GUI's latent explorer and sample views read one of these, never the live training weights;
an exported bundle loads into the same interface, so exploring needs no trainer at all.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class GeneratorSnapshot:
    module: nn.Module                 # eval-mode copy on the CPU, no grad
    latent_dim: int
    prior: str                        # "gaussian" | "uniform"
    n_classes: int = 0                # > 0 for a conditional generator G(z, y)
    image_shape: tuple[int, ...] | None = None   # (C, H, W) for image data, None for 2D points
    step: int = 0
    config: dict[str, Any] | None = None         # the full config dict (to_dict), so a snapshot can be exported

    @torch.no_grad()
    def __call__(self, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        z_t = torch.as_tensor(np.asarray(z, dtype=np.float32).reshape(-1, self.latent_dim))
        if self.n_classes:
            y_t = torch.as_tensor(np.zeros(len(z_t), np.int64) if y is None else np.asarray(y, np.int64).reshape(-1))
            out = self.module(z_t, y_t)
        else:
            out = self.module(z_t)
        out = out.float().numpy().copy()
        if self.image_shape is not None:
            out = out.reshape((len(z_t),) + tuple(self.image_shape))
        return out


def snapshot_generator(trainer: Any) -> GeneratorSnapshot:
    """Copy the trainer's evaluation generator (EMA when on) to the CPU."""
    G = copy.deepcopy(trainer.eval_generator()).cpu().eval()
    for p in G.parameters():
        p.requires_grad_(False)
    return GeneratorSnapshot(G, trainer.latent_dim, trainer.cfg.model.prior, trainer.n_classes,
                             getattr(trainer.data, "image_shape", None), trainer.step_count,
                             dataclasses.asdict(trainer.cfg))
