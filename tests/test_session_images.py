"""A conditional DCGAN session on MNIST continues bit for bit (convolutions, BatchNorm, EMA)."""
from __future__ import annotations

import numpy as np
import torch

from ganplay.engine import Config, Trainer
from ganplay.engine.config import apply_overrides
from ganplay.engine.session import load_session, save_session


def test_dcgan_session_continues_exactly(tmp_path):
    torch.set_num_threads(1)
    cfg = apply_overrides(Config(), [
        "data.name=mnist", "data.limit=256", "model.arch=dcgan", "model.conditional=true",
        "model.latent_dim=8", "model.g_width=8", "model.d_width=8", "model.g_norm=batch",
        "model.d_norm=batch", "train.batch_size=8", "train.device=cpu", "train.ema=0.9"])
    straight, split = Trainer(cfg), Trainer(cfg)
    for _ in range(3):
        straight.step()
        split.step()
    cols = {"loss_d": np.array([0.7, 0.6, 0.5])}
    resumed, got = load_session(save_session(split, cols, tmp_path / "digits.gpsession"))
    assert np.array_equal(got["loss_d"], cols["loss_d"])
    assert [straight.step().as_dict() for _ in range(4)] == [resumed.step().as_dict() for _ in range(4)]
    for net in ("G", "D", "G_ema"):
        a, b = getattr(straight, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(v, b[k]) for k, v in a.items()), net
    z, y = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32), np.arange(10)
    assert np.array_equal(resumed.generate(z, y), straight.generate(z, y))
