"""ganplay train --tensorboard: the event files read back with TensorBoard's own reader."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ganplay.cli import main

SMALL = ["--set", "model.g_width=16", "--set", "model.d_width=16", "--set", "train.batch_size=32",
         "--set", "train.device=cpu", "--set", "model.latent_dim=2", "-q"]


def _events(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_train_writes_losses_metrics_and_pictures(tmp_path):
    pytest.importorskip("tensorboard")
    from PIL import Image

    torch.set_num_threads(1)
    run = tmp_path / "run"
    assert main(["train", "--steps", "40", "--set", "train.eval_every=20", "--set", "train.log_every=10",
                 "--tensorboard", "-o", str(run), *SMALL]) == 0
    acc = _events(run / "tensorboard")
    tags = acc.Tags()
    loss_d = acc.Scalars("loss/D")
    assert [e.step for e in loss_d] == [10, 20, 30, 40]
    history = np.genfromtxt(run / "history.csv", delimiter=",", names=True)
    np.testing.assert_allclose([e.value for e in loss_d], history["loss_d"][:4], rtol=1e-5)
    assert {"loss/G", "D/real", "D/fake", "grad_norm/D"} <= set(tags["scalars"])
    w1 = acc.Scalars("metrics/w1")   # the eval rows (the last one stands for the final metrics)
    assert [e.step for e in w1] == [20, 40] and all(np.isfinite(e.value) for e in w1)
    assert "metrics/modes_covered" in tags["scalars"]
    pics = acc.Images("D(x) and samples")
    assert [e.step for e in pics] == [0, 20, 40]   # the start, each evaluation, once a step
    img = np.asarray(Image.open(io.BytesIO(pics[-1].encoded_image_string)).convert("RGB")).astype(int)
    assert img.shape[0] > 300 and img.shape[1] > 300
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    assert ((g > r + 40) & (g > b + 40)).mean() > 0.001       # real points (and D's green side)
    assert "config" in " ".join(tags["tensors"])               # the config as text


def test_image_runs_get_sample_grids(tmp_path):
    pytest.importorskip("tensorboard")
    from PIL import Image

    from ganplay.engine import Config, Trainer
    from ganplay.engine.config import apply_overrides
    from ganplay.engine.tensorboard import RunLog

    cfg = apply_overrides(Config(), ["data.name=mnist", "data.limit=64", "model.arch=dcgan", "model.latent_dim=8",
                                     "model.g_width=8", "model.d_width=8", "train.batch_size=8", "train.device=cpu"])
    tr = Trainer(cfg)
    log = RunLog(tmp_path / "tb", cfg)
    log.pictures(tr)
    log.close()
    pics = _events(tmp_path / "tb").Images("samples")
    img = np.asarray(Image.open(io.BytesIO(pics[0].encoded_image_string)))
    assert img.shape[:2] == (8 * 30 + 2, 8 * 30 + 2)    # 8 x 8 digits of 28 px, 2 px apart


def test_without_tensorboard_the_flag_says_how_to_install(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    assert main(["train", "--steps", "5", "--tensorboard", "-o", str(tmp_path / "r"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "pip install 'ganplay[tensorboard]'" in err


def test_the_window_loop_logs_its_frames(tmp_path, monkeypatch):
    """train.tensorboard set in the window: the training loop writes what its frames carry into
    runs/<time>-window-<loss>-<data>/tensorboard (a new folder per trainer)."""
    pytest.importorskip("tensorboard")
    import queue

    from ganplay.engine.config import Config
    from ganplay.live import protocol as P
    from ganplay.live.loop import TrainLoop

    monkeypatch.chdir(tmp_path)
    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    cfg.train.tensorboard, cfg.train.log_every = True, 1
    inbox: queue.Queue = queue.Queue()
    frames: list = []
    events: list = []
    loop = TrainLoop(inbox, frames.append, events.append, stopped=lambda: bool(frames), torch_threads=1)
    for cmd in (P.SetBudgets((("frame", 1.0),)), P.Step("both"), P.Step("both"), P.Step("both")):
        inbox.put(cmd)
    loop.run(P.Reset(cfg))
    assert not [e for e in events if isinstance(e, P.Failed)]
    (logdir,) = list((tmp_path / "runs").glob("*-window-ns-ring/tensorboard"))
    acc = _events(logdir)
    # the queued steps run before the first frame, which carries their statistics and metrics
    assert [e.step for e in acc.Scalars("loss/D")] == [1, 2, 3]
    assert [e.step for e in acc.Images("D(x) and samples")] == [3]
    assert "metrics/w1" in acc.Tags()["scalars"]
