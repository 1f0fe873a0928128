"""Divergence never poisons what is kept (issue 16, items 4 and 5): BatchNorm statistics are
checked and rolled back with the failed update, and going back to the last good state brings its
live settings along, so the optimisers and the config agree."""
from __future__ import annotations


import pytest
import torch

from ganplay.engine.config import Config
from ganplay.engine.trainer import Trainer, TrainingDiverged


def bn_sgd_config(lr: float) -> Config:
    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 64, 32, 32
    cfg.model.g_norm = cfg.model.d_norm = "batch"
    cfg.train.opt_d = cfg.train.opt_g = "sgd"
    cfg.train.lr_d = cfg.train.lr_g = lr
    return cfg


def finite_state(tr: Trainer) -> bool:
    return all(bool(torch.isfinite(t).all()) for m in (tr.G, tr.D) for t in m.state_dict().values()
               if t.is_floating_point())


def test_a_blown_up_batch_stops_with_finite_buffers_and_a_session_that_reopens(tmp_path):
    """The forward pass of the failing update moved BatchNorm's running statistics to inf; the
    update is refused and the statistics go back with it, so the state saved at the divergence
    banner reopens (it used to fail with 'D.net.1.running_var holds NaN or infinite values')."""
    from ganplay.engine.session import load_session, save_session

    tr = Trainer(bn_sgd_config(1e-3))
    for _ in range(3):
        tr.step()
    real_batch = tr.d_batch

    def blown_up():
        batch = list(real_batch())
        batch[0] = batch[0] * 1e30     # the real points: D's first BatchNorm variance overflows
        return tuple(batch)

    tr.d_batch = blown_up
    with pytest.raises(TrainingDiverged):
        tr.step()
    assert finite_state(tr), "a divergence left NaN/inf in the networks' buffers"
    path = tmp_path / "at_the_banner.gpsession"
    save_session(tr, None, path)
    again, _ = load_session(path)
    assert again.step_count == tr.step_count == 3


def test_a_poisoned_buffer_is_caught_even_when_the_loss_stays_finite():
    tr = Trainer(bn_sgd_config(1e-3))
    tr.step()
    bn = next(m for m in tr.D.modules() if isinstance(m, torch.nn.BatchNorm1d))
    bn.running_var.fill_(float("inf"))  # training mode normalises with batch statistics: losses stay finite
    with pytest.raises(TrainingDiverged, match="running_var"):
        tr.step()


def test_restoring_the_last_good_state_brings_its_learning_rates_back():
    tr = Trainer(bn_sgd_config(1e-3))
    for _ in range(3):
        tr.step()
    tr._remember_good()                   # the last good state, at lr 1e-3
    tr.set("train.lr_d", 10.0)
    tr.step()
    tr.restore_last_good()
    assert tr.cfg.train.lr_d == 1e-3
    assert [g["lr"] for g in tr.opt_d.param_groups] == [1e-3]
    tr.set("train.lr_g", 5e-4)            # a later edit does not re-apply lr_d = 10
    assert [g["lr"] for g in tr.opt_d.param_groups] == [1e-3]


def test_the_cli_keeps_the_last_good_state_of_a_diverged_run_where_every_command_finds_it(
        tmp_path, capsys, monkeypatch):
    """eval and sample used the diverged weights (samples of size 2e8); now a diverged run folder
    holds last_good/, a run folder of its own."""
    import numpy as np

    from ganplay.cli import main
    from ganplay.engine import trainer as T

    real_step = T.Trainer.step

    def blows_up_at_250(self, mode="both"):
        if self.step_count >= 250:
            raise TrainingDiverged(f"generator loss became nan at step {self.step_count + 1} (test)")
        return real_step(self, mode)

    monkeypatch.setattr(T.Trainer, "step", blows_up_at_250)
    run = tmp_path / "run"
    rc = main(["train", "--steps", "400", "-q", "-o", str(run), "--set", "model.g_width=16",
               "--set", "model.d_width=16", "--set", "train.batch_size=32", "--set", "train.device=cpu"])
    assert rc != 0
    err = capsys.readouterr().err
    good = run / "last_good"
    assert "last good state (step 200)" in err and str(good) in err
    monkeypatch.undo()
    assert main(["eval", str(good), "--json"]) == 0
    assert '"steps": 200' in capsys.readouterr().out
    assert main(["sample", str(good), "-n", "50", "-o", str(tmp_path / "s.npy"), "-q"]) == 0
    assert np.load(tmp_path / "s.npy").shape == (50, 2)
