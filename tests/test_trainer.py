import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from ganplay.engine import Config, NeedsReset, Trainer, TrainingDiverged
from ganplay.engine.config import LOSSES, apply_overrides
from ganplay.engine.data2d import _mixture_dataset
from ganplay.engine.metrics import (
    decision_surface, gaussian_density, gradient_field, grid_points, manifold_mesh, optimal_surface,
)


def small(*overrides):
    cfg = apply_overrides(Config(), ["model.g_width=32", "model.d_width=32", "train.batch_size=64",
                                     "train.device=cpu", *overrides])
    return cfg


class FixedGaussianG(nn.Module):
    """A generator frozen at N(mean, I): its density is known exactly."""

    def __init__(self, mean):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))

    def forward(self, z):
        return z + self.mean


def test_d_converges_to_analytic_d_star_against_fixed_generator():
    cfg = apply_overrides(Config(), ["loss.name=minimax", "train.lr_d=2e-3", "train.batch_size=512",
                                     "model.d_width=64", "train.seed=3", "train.device=cpu"])
    data = _mixture_dataset("shifted", np.array([[1.0, 0.0]]), 1.0)
    tr = Trainer(cfg, data=data)
    tr.G = FixedGaussianG([-1.0, 0.0])
    for _ in range(1500):
        tr.step("d")
    bounds = (-3.0, 3.0, -3.0, 3.0)
    res = 41
    _, _, pts = grid_points(bounds, res)
    p_data = gaussian_density(pts, np.array([1.0, 0.0]), np.eye(2))
    p_g = gaussian_density(pts, np.array([-1.0, 0.0]), np.eye(2))
    d_star = p_data / (p_data + p_g)
    d = decision_surface(tr, bounds, res).ravel()
    mae = np.abs(d - d_star).mean()
    assert mae < 0.05, mae


def test_same_seed_same_numbers_and_other_seed_differs():
    a, b, c = Trainer(small()), Trainer(small()), Trainer(small("train.seed=1"))
    sa = [a.step().as_dict() for _ in range(25)]
    sb = [b.step().as_dict() for _ in range(25)]
    sc = [c.step().as_dict() for _ in range(25)]
    assert sa == sb
    assert sa != sc
    assert np.array_equal(a.sample(100, seed=1), b.sample(100, seed=1))


def test_trainer_does_not_disturb_global_rng():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    Trainer(small()).step()
    assert torch.equal(torch.rand(3), before)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_and_reports_stats(loss):
    tr = Trainer(small(f"loss.name={loss}"))
    for _ in range(3):
        s = tr.step()
    assert s.step == 3
    for v in (s.loss_d, s.loss_g, s.d_real, s.d_fake, s.grad_d, s.grad_g, s.jsd):
        assert math.isfinite(v)
    assert 0 <= s.d_real <= 1 and s.grad_d > 0 and s.grad_g > 0


@pytest.mark.parametrize("extra", [
    ["model.spectral_norm=true"], ["loss.r1=1.0"], ["loss.gp=5.0"], ["loss.real_label=0.9"],
    ["train.d_steps=3"], ["train.opt_d=sgd", "train.opt_g=sgd"], ["train.opt_d=rmsprop", "train.opt_g=rmsprop"],
    ["train.ema=0.99"], ["train.unrolled=3"], ["train.pack=4"], ["model.prior=uniform"],
    ["model.init=orthogonal", "model.spectral_norm=true"], ["model.g_norm=batch", "model.d_norm=layer"],
    ["model.g_activation=tanh", "model.d_activation=leaky_relu"], ["model.latent_dim=8"],
    ["train.unrolled=2", "train.pack=2", "model.spectral_norm=true", "model.d_norm=batch"],
])
def test_stabilisers_run(extra):
    tr = Trainer(small(*extra))
    g0 = [p.detach().clone() for p in tr.G.parameters()]
    for _ in range(3):
        s = tr.step()
    assert math.isfinite(s.loss_d) and math.isfinite(s.loss_g)
    assert any(not torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))


def test_wgan_clipping_bounds_weights():
    tr = Trainer(small("loss.name=wgan", "loss.clip=0.01", "train.lr_d=0.1"))
    tr.step()
    assert max(p.abs().max().item() for p in tr.D.parameters()) <= 0.01 + 1e-9


def test_unrolled_g_gradient_differs_from_plain():
    def grad_after(unrolled):
        tr = Trainer(small(f"train.unrolled={unrolled}"))
        tr.step("g")
        return torch.cat([p.detach().flatten() for p in tr.G.parameters()])

    assert not torch.allclose(grad_after(0), grad_after(3))


def test_d_only_and_g_only_steps():
    tr = Trainer(small())
    g0 = [p.detach().clone() for p in tr.G.parameters()]
    d0 = [p.detach().clone() for p in tr.D.parameters()]
    tr.step("d")
    assert all(torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    d1 = [p.detach().clone() for p in tr.D.parameters()]
    tr.step("g")
    assert all(torch.equal(a, b) for a, b in zip(d1, tr.D.parameters()))
    assert tr.step_count == 2


def test_live_changes_apply_next_step_and_structural_need_reset():
    tr = Trainer(small())
    tr.step()
    tr.set("train.lr_d", "1e-3")
    tr.set("loss.name", "hinge")
    tr.set("train.d_steps", 2)
    tr.set("train.ema", 0.9)
    assert tr.opt_d.param_groups[0]["lr"] == 1e-3 and tr.G_ema is not None
    s = tr.step()
    assert math.isfinite(s.loss_d)
    with pytest.raises(NeedsReset, match="model.latent_dim"):
        tr.set("model.latent_dim", 4)


def test_nan_stops_with_reason_and_keeps_weights():
    tr = Trainer(small("loss.name=ml", "train.lr_g=10", "train.lr_d=10", "train.opt_d=sgd", "train.opt_g=sgd",
                       "train.momentum=0"))
    with pytest.raises(TrainingDiverged) as e:
        for _ in range(200):
            before = [p.detach().clone() for p in list(tr.G.parameters()) + list(tr.D.parameters())]
            tr.step()
    assert "update was not applied" in str(e.value)
    after = list(tr.G.parameters()) + list(tr.D.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    # the failing step changed nothing that was not already changed by its successful half
    assert all(torch.isfinite(b).all() for b in before)
    step = tr.restore_last_good()
    assert step == tr.last_good_step and np.isfinite(tr.sample(10)).all()


def test_state_dict_continues_bit_for_bit():
    a = Trainer(small("train.ema=0.9"))
    for _ in range(10):
        a.step()
    sd = a.state_dict()
    b = Trainer(small("train.ema=0.9"))
    b.load_state_dict(sd)
    ra = [a.step().as_dict() for _ in range(10)]
    rb = [b.step().as_dict() for _ in range(10)]
    assert ra == rb


def test_views_as_numpy_arrays():
    tr = Trainer(small("data.std=0.1"))
    for _ in range(5):
        tr.step()
    b = tr.data.bounds
    surf = decision_surface(tr, b, 32)
    assert surf.shape == (32, 32) and surf.dtype == np.float32 and surf.flags.c_contiguous
    assert ((surf >= 0) & (surf <= 1)).all()
    dstar = optimal_surface(tr, b, 32)
    assert dstar.shape == (32, 32) and np.isfinite(dstar).all()
    pts = tr.sample(20, seed=3)
    assert gradient_field(tr, pts).shape == (20, 2)
    assert manifold_mesh(tr, 11).shape == (11, 11, 2)
    tr1 = Trainer(small("model.latent_dim=1"))
    assert manifold_mesh(tr1, 11).shape == (11, 2)
    assert manifold_mesh(Trainer(small("model.latent_dim=5")), 11) is None


def test_engine_never_imports_qt():
    code = ("import sys, ganplay.engine.trainer, ganplay.engine.metrics, ganplay.engine.runs;"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','PyQt5','PyQt6')];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_d_only_step_leaves_gs_figures_as_gaps_not_zeros():
    """A D step computes no G loss: the charts must show a gap, not a G loss of 0."""
    import math

    from ganplay.engine.config import Config
    from ganplay.engine.trainer import Trainer

    cfg = Config()
    cfg.train.batch_size, cfg.model.g_width, cfg.model.d_width = 32, 16, 16
    tr = Trainer(cfg)
    s = tr.step("d")
    assert math.isnan(s.loss_g) and math.isnan(s.grad_g) and math.isfinite(s.loss_d)
    s = tr.step("g")
    assert math.isfinite(s.loss_g) and math.isfinite(s.loss_d)  # D is evaluated, not updated
