"""Slow motion changes nothing: a traced iteration leaves exactly the weights, optimiser state
and random stream of a normal step; and the formulas' numbers are the trainer's losses."""
from __future__ import annotations

import pytest
import torch

from ganplay.engine import Config, Trainer
from ganplay.engine.config import LOSSES, apply_overrides
from ganplay.engine.iteration import NODES, formula_step, trace_step

SMALL = ["model.g_width=32", "model.d_width=32", "train.batch_size=32", "train.device=cpu"]
CASES = {
    "ns": [],
    "minimax, k=2, smoothing": ["loss.name=minimax", "train.d_steps=2", "loss.real_label=0.9"],
    "wgan-gp": ["loss.name=wgan-gp"],
    "r1 + gp, BN in G, SN in D": ["loss.r1=1.0", "loss.gp=0.5", "model.g_norm=batch", "model.spectral_norm=true"],
    "unrolled, EMA, sgd": ["train.unrolled=2", "train.ema=0.9", "train.opt_g=sgd"],
    "f-kl, packed": ["loss.name=f-kl", "train.pack=2"],
}


def _trainer(extra):
    return Trainer(apply_overrides(Config(), SMALL + extra))


def _same(a: Trainer, b: Trainer) -> None:
    for net in ("G", "D"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{net}.{k}"
    for opt in ("opt_g", "opt_d"):
        for pa, pb in zip(getattr(a, opt).state_dict()["state"].values(), getattr(b, opt).state_dict()["state"].values()):
            for k in pa:
                assert torch.equal(torch.as_tensor(pa[k]), torch.as_tensor(pb[k])), f"{opt}.{k}"
    assert torch.equal(a.gen.get_state(), b.gen.get_state())
    if a.G_ema is not None:
        for x, y in zip(a.G_ema.state_dict().values(), b.G_ema.state_dict().values()):
            assert torch.equal(x, y)


@pytest.mark.parametrize("case", list(CASES))
def test_slow_motion_equals_normal_steps(case, one_torch_thread):
    a, b = _trainer(CASES[case]), _trainer(CASES[case])
    for i in range(4):
        sa = a.step()
        if i % 2:
            tr = trace_step(b, surface_area=(-2, 2, -2, 2), surface_res=12)
            sb = tr.stats
            assert len(tr.d_tracks) == b.cfg.train.d_steps and tr.g_track is not None
            assert len(tr.substeps()) == 5 * (b.cfg.train.d_steps + 1)
        else:
            sb, _ = formula_step(b)
        assert sa == sb
    _same(a, b)


@pytest.mark.parametrize("loss", LOSSES)
def test_formula_numbers_are_the_trainers_losses(loss, one_torch_thread):
    extra = [f"loss.name={loss}"] + (["loss.r1=0.5"] if loss == "ns" else [])
    tr = _trainer(extra)
    for _ in range(3):
        stats, trace = formula_step(tr)
        fd, fg = trace.d_tracks[-1].formula, trace.g_track.formula
        assert fd.total == pytest.approx(stats.loss_d, abs=1e-6)
        assert fg.total == pytest.approx(stats.loss_g, abs=1e-6)
        assert sum(t.value for t in fd.terms) == pytest.approx(fd.total, abs=1e-9)
        assert fd.text().startswith("L_D = ") and fg.text().startswith("L_G = ")
    if loss == "ns":
        assert "−E[log D(x)]" in fd.symbolic() and "0.5/2·E[‖∇D(x)‖²]" in fd.symbolic()
        assert len(fd.terms) == 3


def test_a_trace_holds_what_each_substep_shows(one_torch_thread):
    tr = _trainer([])
    tr.step()
    before = tr.generate(torch.zeros(1, tr.latent_dim))
    trace = trace_step(tr, surface_area=(-2, 2, -2, 2), surface_res=16)
    d, g = trace.d_tracks[0], trace.g_track
    B = tr.cfg.train.batch_size
    assert d.z.shape == (B, tr.latent_dim) and d.real.shape == (B, 2) and d.fake.shape == (B, 2)
    assert d.score_real.shape == (B,) and d.dl_dscore_real.shape == (B,)
    # the non-saturating D loss pulls every real score up and every fake score down
    assert (d.dl_dscore_real < 0).all() and (d.dl_dscore_fake > 0).all()
    assert d.surface_before.shape == (16, 16) and not (d.surface_before == d.surface_after).all()
    assert g.push.shape == (B, 2) and g.fake_after.shape == (B, 2)
    assert not (g.fake_before == g.fake_after).all()
    # the picture of the moved samples is G's own output for the same z (train mode, BN-free G)
    with torch.no_grad():
        assert torch.allclose(tr.G(torch.as_tensor(g.z)), torch.as_tensor(g.fake_after), atol=1e-6)
    assert not (before == tr.generate(torch.zeros(1, tr.latent_dim))).all()
    steps = trace.substeps()
    assert [s.track for s in steps] == ["D"] * 5 + ["G"] * 5
    assert [s.number for s in steps] == [1, 2, 3, 4, 5] * 2
    assert all(set(s.active) <= set(NODES) for s in steps)
    assert "non-saturating" in steps[2].caption and d.formula.text() in steps[2].caption
    assert g.formula.text() in steps[7].caption
