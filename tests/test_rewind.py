"""Rewind and branch (engine/rewind.py, the TrainLoop's Rewind / Branch): bit-exact resumption,
the byte cap, the branch dropping the old future, the live settings kept across a rewind."""
from __future__ import annotations

import queue

import pytest
import torch

from ganplay.engine.config import Config, apply_overrides
from ganplay.engine.rewind import (RewindBuffer, copy_state, load_keeping_settings, pack_state, state_bytes,
                                   unpack_state)
from ganplay.engine.trainer import Trainer
from ganplay.live import protocol as P
from ganplay.live.loop import TrainLoop


def small_config(*extra: str) -> Config:
    # BatchNorm in G and the EMA of G: their buffers and the average must come back too
    return apply_overrides(Config(), ["model.g_width=16", "model.d_width=16", "train.batch_size=32",
                                      "train.device=cpu", "train.ema=0.9", "model.g_norm=batch",
                                      "train.rewind_every=10", *extra])


def assert_same_state(a: Trainer, b: Trainer) -> None:
    """Every parameter, buffer, optimiser state tensor, the EMA and the RNG, bit for bit."""
    assert a.step_count == b.step_count
    for net in ("G", "D"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{net}.{k}"
    for opt in ("opt_g", "opt_d"):
        oa, ob = getattr(a, opt).state_dict(), getattr(b, opt).state_dict()
        assert oa["param_groups"] == ob["param_groups"], opt
        assert oa["state"].keys() == ob["state"].keys()
        for i in oa["state"]:
            for k, v in oa["state"][i].items():
                assert torch.equal(v, ob["state"][i][k]), f"{opt}[{i}].{k}"
    assert (a.G_ema is None) == (b.G_ema is None)
    if a.G_ema is not None:
        for (k, v), (_, w) in zip(a.G_ema.state_dict().items(), b.G_ema.state_dict().items()):
            assert torch.equal(v, w), f"G_ema.{k}"
    assert torch.equal(a.gen.get_state(), b.gen.get_state())


class Loop:
    """A TrainLoop driven by hand: commands dispatched in order, events collected."""

    def __init__(self, cfg: Config):
        self.events: list[P.Event] = []
        self.frames: list = []
        self.loop = TrainLoop(queue.Queue(), self.frames.append, self.events.append, torch_threads=1)
        self.loop.setup()
        self.send(P.Reset(cfg))

    def send(self, *cmds: P.Command) -> list[P.Event]:
        n = len(self.events)
        for c in cmds:
            self.loop.dispatch(c)
        new = self.events[n:]
        assert not [e for e in new if isinstance(e, (P.Failed, P.ResetFailed))], new
        return new

    @property
    def trainer(self) -> Trainer:
        return self.loop.trainer


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def test_rewinding_and_training_on_equals_the_uninterrupted_run():
    cfg = small_config()
    lp = Loop(cfg)
    lp.send(P.Step("both", 40))
    assert lp.loop.rewind.steps() == (0, 10, 20, 30, 40)
    (ev,) = [e for e in lp.send(P.Rewind(27)) if isinstance(e, P.Rewound)]
    assert ev.step == 20 and lp.trainer.step_count == 20   # the latest snapshot at or before 27
    assert ev.snapshot_steps == (0, 10, 20, 30, 40)        # scrubbing keeps the future until a branch
    lp.send(P.Step("both", 20))
    straight = Trainer(cfg)
    for _ in range(40):
        straight.step()
    assert_same_state(lp.trainer, straight)
    # and the same against a fresh trainer restored at s from a saved state, then trained on
    restored = Trainer(cfg)
    restored.load_state_dict(lp.loop.rewind.state(20))
    for _ in range(20):
        restored.step()
    assert_same_state(restored, straight)


def test_the_buffer_stays_under_its_byte_cap_oldest_dropped_first():
    tr = Trainer(small_config())
    # what one snapshot holds, counted from the networks and optimisers, not from the buffer
    n_g = sum(p.numel() for p in tr.G.parameters())
    n_d = sum(p.numel() for p in tr.D.parameters())
    n_bn = sum(b.numel() * b.element_size() for b in tr.G.buffers())
    tr.step()
    adam_steps = sum(v.numel() * v.element_size() for o in (tr.opt_g, tr.opt_d)
                     for st in o.state.values() for k, v in st.items() if k == "step")
    expected = 4 * (3 * n_g + 3 * n_d + n_g) + 2 * n_bn + adam_steps + tr.gen.get_state().numel()
    assert state_bytes(copy_state(tr.state_dict())) == expected   # G, D, 2 Adam moments each, EMA of G

    # a snapshot is one block: the tensors' bytes plus under 64 bytes of alignment each
    skeleton, block = pack_state(tr.state_dict())
    n_tensors = len([t for net in (tr.G, tr.D, tr.G_ema) for t in net.state_dict().values()]) + adam_steps // 4 * 3 + 1
    size = block.numel()
    assert expected <= size < expected + 64 * n_tensors
    back = unpack_state(skeleton, block)
    for a, b in ((back["G"], tr.G.state_dict()), (back["opt_d"]["state"][0], tr.opt_d.state_dict()["state"][0])):
        assert all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in b)
    assert torch.equal(back["rng"], tr.gen.get_state())

    buf = RewindBuffer(every=1, cap_bytes=int(3.5 * size))
    for _ in range(10):
        tr.step()
        assert buf.due(tr.step_count)
        assert buf.take(tr)
        assert buf.nbytes <= buf.cap_bytes
    assert buf.steps() == (9, 10, 11)
    assert buf.nbytes == 3 * size
    # a snapshot is a copy: training on does not change it, nor does changing what state() gave
    kept = buf.state(11)["G"]
    tr.step()
    kept["net.0.weight"].add_(1.0)
    assert all(torch.equal(kept[k], v) for k, v in buf.state(11)["G"].items() if k != "net.0.weight")
    assert not torch.equal(kept["net.0.weight"], buf.state(11)["G"]["net.0.weight"])
    assert not all(torch.equal(buf.state(11)["G"][k], v) for k, v in tr.G.state_dict().items())
    buf.configure(every=1, cap_bytes=int(1.5 * size))    # a smaller cap drops the oldest at once
    assert buf.steps() == (11,) and buf.nbytes == size
    assert not RewindBuffer(every=1, cap_bytes=size - 1).take(tr)  # one alone over the cap: none kept


def test_a_branch_drops_the_old_future_and_continues_with_the_current_settings():
    lp = Loop(small_config())
    lp.send(P.Step("both", 40))
    old_30 = copy_state(lp.loop.rewind.state(30))
    # the user changes the settings at step 40, then goes back to step 20
    lp.send(P.SetField("train.lr_d", 1e-3), P.SetField("loss.name", "hinge"))
    (ev,) = [e for e in lp.send(P.Rewind(20)) if isinstance(e, P.Rewound)]
    assert ev.config.loss.name == "ns" and ev.config.train.lr_d == 2e-4   # what step 20 was trained with
    tr = lp.trainer
    # ... but the trainer keeps the settings of now: the loaded optimiser state does not bring 2e-4 back
    assert tr.cfg.loss.name == "hinge" and tr.cfg.train.lr_d == 1e-3
    assert [g["lr"] for g in tr.opt_d.param_groups] == [1e-3]
    branched = [e for e in lp.send(P.Step("both", 15)) if isinstance(e, P.Branched)]
    assert [(e.step, e.snapshot_steps) for e in branched] == [(20, (0, 10, 20))]
    assert lp.loop.rewind.steps() == (0, 10, 20, 30)
    assert not torch.equal(lp.loop.rewind.state(30)["D"]["net.0.weight"], old_30["D"]["net.0.weight"])
    # exactly the run that switched the loss and D's learning rate at step 20
    ref = Trainer(small_config())
    for _ in range(20):
        ref.step()
    ref.set("train.lr_d", 1e-3)
    ref.set("loss.name", "hinge")
    for _ in range(15):
        ref.step()
    assert_same_state(tr, ref)


def test_scrubbing_forward_again_before_a_branch_and_play_branches():
    lp = Loop(small_config())
    lp.send(P.Step("both", 30))
    lp.loop.maybe_publish()
    assert lp.frames[-1].formulas is not None   # the formulas of step 30
    lp.send(P.Rewind(10))
    lp.loop.maybe_publish()                     # the picture of step 10: no formulas of step 30 with it
    fr = lp.frames[-1]
    assert (fr.step, fr.running, fr.formulas, fr.rewind_steps) == (10, False, None, (0, 10, 20, 30))
    lp.send(P.Rewind(30))                       # forward again: nothing was dropped by scrubbing
    assert lp.trainer.step_count == 30
    lp.send(P.Rewind(0))
    events = lp.send(P.Branch())                # Branch = play from here; the branch starts at the first step
    assert lp.loop.running and not [e for e in events if isinstance(e, P.Branched)]
    lp.loop.train_a_little()
    lp.send(P.Pause())
    (br,) = [e for e in lp.events if isinstance(e, P.Branched)]
    assert br.step == 0 and br.snapshot_steps == (0,)
    assert lp.loop.rewind.steps()[0] == 0 and max(lp.loop.rewind.steps()) <= lp.trainer.step_count


def test_rewind_settings_are_live_and_zero_turns_it_off():
    lp = Loop(small_config())
    lp.send(P.Step("both", 20))
    assert lp.loop.describe()["rewind"]["steps"] == (0, 10, 20)
    lp.send(P.SetField("train.rewind_every", 0), P.Step())
    assert lp.loop.rewind.steps() == ()
    lp.loop.dispatch(P.Rewind(5))
    assert isinstance(lp.events[-1], P.Failed) and "Cannot rewind" in lp.events[-1].title
    lp.send(P.SetField("train.rewind_every", 1), P.Step("both", 3))
    assert lp.loop.rewind.steps() == (22, 23, 24)
    one = lp.loop.rewind.nbytes // 3
    lp.send(P.SetField("train.rewind_mb", 0))
    assert lp.loop.rewind.steps() == () and one > 0


def test_a_new_trainer_starts_a_new_timeline_and_restore_good_cuts_it():
    lp = Loop(small_config())
    lp.trainer.good_every = 15
    lp.send(P.Step("both", 40))
    assert lp.loop.rewind.steps()[-1] == 40
    lp.send(P.RestoreGood())                    # back to step 30, the last good state (2 x 15)
    assert lp.trainer.step_count == 30 and lp.loop.rewind.steps() == (0, 10, 20, 30)
    lp.send(P.Reset(small_config()))
    assert lp.loop.rewind.steps() == (0,)


def test_load_keeping_settings_with_unchanged_settings_is_a_plain_load():
    cfg = small_config()
    a = Trainer(cfg)
    for _ in range(5):
        a.step()
    state = copy_state(a.state_dict())
    for _ in range(5):
        a.step()
    b = Trainer(cfg)
    load_keeping_settings(a, state)
    b.load_state_dict(copy_state(state))
    assert_same_state(a, b)
