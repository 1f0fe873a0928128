"""CUDA missing, broken or out of memory: training falls back to the CPU with a message and goes on."""
from __future__ import annotations

import math

import pytest
import torch

from ganplay.engine import fallback
from ganplay.engine.config import Config
from ganplay.engine.device import resolve_device
from ganplay.engine.fallback import build_trainer, is_gpu_failure, move_trainer_to_cpu, step_with_fallback
from ganplay.engine.trainer import Trainer, TrainingDiverged


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_cfg(device: str = "cuda") -> Config:
    cfg = Config()
    cfg.train.device = device
    cfg.train.batch_size = 64
    cfg.model.g_width = cfg.model.d_width = 32
    return cfg


def _broken_driver():
    raise RuntimeError("CUDA driver initialization failed, you might not have a CUDA gpu.")


def test_cuda_check_raising_falls_back_with_a_message(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", _broken_driver)
    tr = Trainer(small_cfg("cuda"))
    assert tr.device == torch.device("cpu")
    assert "CUDA check failed" in tr.device_message and "CPU" in tr.device_message
    losses = [tr.step().loss_d for _ in range(30)]
    assert tr.step_count == 30
    assert all(math.isfinite(v) for v in losses)


def test_cuda_missing_gives_cpu_and_says_so_only_when_asked_for(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tr = Trainer(small_cfg("cuda"))
    assert tr.device.type == "cpu"
    assert "not available" in tr.device_message
    assert tr.sample(10).shape == (10, 2)
    assert resolve_device("auto") == (torch.device("cpu"), None)  # 'auto' is not a failed request
    assert resolve_device("cpu") == (torch.device("cpu"), None)


def test_out_of_memory_in_a_step_moves_the_training_to_the_cpu(monkeypatch):
    tr = Trainer(small_cfg("cpu"))
    for _ in range(25):
        tr.step()
    before = {k: v.clone() for k, v in tr.G.state_dict().items()}
    adam_before = tr.opt_d.state_dict()["state"][0]["exp_avg"].clone()
    # pretend this trainer lives on a GPU whose memory runs out on the next step
    tr.device = torch.device("cuda")

    def oom(mode: str = "both", target=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(tr, "step", oom)
    new, stats, msg = step_with_fallback(tr)
    assert new is not tr and new.device.type == "cpu"
    assert "ran out of memory" in msg and "CPU" in msg and "step 26" in msg
    assert new.device_message == msg
    assert stats.step == 26 and new.step_count == 26
    assert math.isfinite(stats.loss_d) and math.isfinite(stats.loss_g)
    # the state carried over: rebuild once more from the pre-step state and compare
    again = move_trainer_to_cpu(tr)
    assert again.step_count == 25
    for k, v in again.G.state_dict().items():
        torch.testing.assert_close(v, before[k])
    torch.testing.assert_close(again.opt_d.state_dict()["state"][0]["exp_avg"], adam_before)
    assert again.cfg.train.device == "cpu" and new.last_good_step == tr.last_good_step
    # and training goes on
    for _ in range(10):
        new, s, m = step_with_fallback(new)
        assert m is None
    assert new.step_count == 36


def test_cuda_generator_state_is_reseeded_deterministically():
    tr = Trainer(small_cfg("cpu"))
    sd = tr.state_dict()
    sd["rng"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA Philox state is this short
    a = fallback._cpu_state(sd, seed=3)["rng"]
    b = fallback._cpu_state(sd, seed=3)["rng"]
    assert torch.equal(a, b) and a.numel() == torch.Generator().get_state().numel()
    assert not torch.equal(a, fallback._cpu_state(sd, seed=4)["rng"])


def test_other_errors_are_not_swallowed(monkeypatch):
    tr = Trainer(small_cfg("cpu"))

    def diverge(mode: str = "both", target=None):
        raise TrainingDiverged("discriminator loss became nan")

    monkeypatch.setattr(tr, "step", diverge)
    tr.device = torch.device("cuda")
    with pytest.raises(TrainingDiverged):
        step_with_fallback(tr)

    def oom(mode: str = "both", target=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    tr.device = torch.device("cpu")  # already on the CPU: nowhere to fall back to
    monkeypatch.setattr(tr, "step", oom)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        step_with_fallback(tr)
    assert is_gpu_failure(RuntimeError("CUDA error: an illegal memory access was encountered"))
    assert not is_gpu_failure(ValueError("bad setting"))
    assert not is_gpu_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_build_trainer_falls_back_when_building_on_the_gpu_fails(monkeypatch):
    calls = []

    class FlakyTrainer(Trainer):
        def __init__(self, cfg, **kw):
            calls.append(kw.get("device"))
            if kw.get("device") is None:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
            super().__init__(cfg, **kw)

    monkeypatch.setattr(fallback, "Trainer", FlakyTrainer)
    tr = build_trainer(small_cfg("cuda"))
    assert calls == [None, "cpu"]
    assert tr.device.type == "cpu" and "ran out of memory" in tr.device_message
    assert math.isfinite(tr.step().loss_g)
