"""Each loss against a hand computation on fixed logits (THEORY.md's table, written naively)."""
import math

import numpy as np
import pytest
import torch

from ganplay.engine import losses as L

V_R = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
V_F = np.array([-1.5, -0.2, 0.3, 1.1, -3.0])


def sig(v):
    return 1 / (1 + np.exp(-v))


def t(a):
    return torch.tensor(a, dtype=torch.float64)


HAND_D = {
    "minimax": lambda r, f: np.mean(-np.log(sig(r))) + np.mean(-np.log(1 - sig(f))),
    "lsgan": lambda r, f: np.mean(0.5 * (r - 1) ** 2) + np.mean(0.5 * f**2),
    "wgan": lambda r, f: np.mean(f) - np.mean(r),
    "hinge": lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
}
HAND_G = {
    "minimax": lambda f: np.mean(np.log(1 - sig(f))),
    "ns": lambda f: np.mean(-np.log(sig(f))),
    "ml": lambda f: np.mean(-np.exp(np.log(sig(f) / (1 - sig(f))))),  # -exp(sigma^-1(D))
    "lsgan": lambda f: np.mean(0.5 * (f - 1) ** 2),
    "wgan": lambda f: np.mean(-f),
    "wgan-gp": lambda f: np.mean(-f),
    "hinge": lambda f: np.mean(-f),
}

# f-GAN: (g_f(v), f*(t)) written exactly as in THEORY.md's table
F_TABLE = {
    "kl": (lambda v: v, lambda t_: np.exp(t_ - 1)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t_: -1 - np.log(-t_)),
    "pearson": (lambda v: v, lambda t_: t_**2 / 4 + t_),
    "neyman": (lambda v: 1 - np.exp(-v), lambda t_: 2 - 2 * np.sqrt(1 - t_)),
    "hellinger": (lambda v: 1 - np.exp(-v), lambda t_: t_ / (1 - t_)),
    "js": (lambda v: np.log(2) - np.log1p(np.exp(-v)), lambda t_: -np.log(2 - np.exp(t_))),
    "tv": (lambda v: 0.5 * np.tanh(v), lambda t_: t_),
    "gan": (lambda v: -np.log1p(np.exp(-v)), lambda t_: -np.log(1 - np.exp(t_))),
}


@pytest.mark.parametrize("name", ["minimax", "ns", "ml"])
def test_bce_family_d_loss(name):
    got = L.d_loss(name, t(V_R), t(V_F)).item()
    assert got == pytest.approx(HAND_D["minimax"](V_R, V_F), rel=1e-12)


@pytest.mark.parametrize("name", ["lsgan", "wgan", "hinge"])
def test_other_d_losses(name):
    got = L.d_loss(name, t(V_R), t(V_F)).item()
    assert got == pytest.approx(HAND_D[name](V_R, V_F), rel=1e-12)


def test_wgan_gp_d_loss_without_penalty_is_wgan():
    assert L.d_loss("wgan-gp", t(V_R), t(V_F)).item() == pytest.approx(HAND_D["wgan"](V_R, V_F))


@pytest.mark.parametrize("name", sorted(HAND_G))
def test_g_losses(name):
    assert L.g_loss(name, t(V_F)).item() == pytest.approx(HAND_G[name](V_F), rel=1e-10)


@pytest.mark.parametrize("div", sorted(F_TABLE))
def test_f_gan_losses_match_table(div):
    g, fstar = F_TABLE[div]
    want_d = -np.mean(g(V_R)) + np.mean(fstar(g(V_F)))
    want_g = -np.mean(g(V_F))
    assert L.d_loss(f"f-{div}", t(V_R), t(V_F)).item() == pytest.approx(want_d, rel=1e-10)
    assert L.g_loss(f"f-{div}", t(V_F)).item() == pytest.approx(want_g, rel=1e-10)


def test_label_smoothing_is_cross_entropy_with_soft_target():
    s = 0.9
    want = np.mean(-(s * np.log(sig(V_R)) + (1 - s) * np.log(1 - sig(V_R)))) + np.mean(-np.log(1 - sig(V_F)))
    assert L.d_loss("ns", t(V_R), t(V_F), real_label=s).item() == pytest.approx(want, rel=1e-12)
    want_ls = np.mean(0.5 * (V_R - s) ** 2) + np.mean(0.5 * V_F**2)
    assert L.d_loss("lsgan", t(V_R), t(V_F), real_label=s).item() == pytest.approx(want_ls, rel=1e-12)


def test_minimax_value_at_equilibrium_is_minus_log4():
    zero = torch.zeros(7, dtype=torch.float64)
    # V = -L_D; at D = 1/2 everywhere V = -log 4 and the implied JSD is 0
    assert -L.d_loss("minimax", zero, zero).item() == pytest.approx(-math.log(4))
    assert L.implied_jsd(zero, zero) == pytest.approx(0.0, abs=1e-12)


def test_every_loss_has_a_description():
    from ganplay.engine.config import LOSSES

    assert set(L.DESCRIPTIONS) == set(LOSSES)


@pytest.mark.parametrize("div", sorted(F_TABLE))
def test_f_gan_losses_are_exact_inside_the_clamp(div):
    """The score clamp (losses.F_CLAMP) leaves the closed forms alone where scores normally lie."""
    g, fstar = F_TABLE[div]
    c = L.F_CLAMP
    v = np.array([-c, -0.9 * c, -3.0, 0.0, 3.0, 0.9 * c, c])
    want_d = -np.mean(g(v)) + np.mean(fstar(g(v[::-1])))
    assert L.d_loss(f"f-{div}", t(v), t(v[::-1].copy())).item() == pytest.approx(want_d, rel=1e-10)
    assert L.g_loss(f"f-{div}", t(v)).item() == pytest.approx(-np.mean(g(v)), rel=1e-10)


@pytest.mark.parametrize("div", sorted(F_TABLE))
def test_f_gan_losses_and_gradients_stay_finite_at_extreme_scores(div):
    """Scores D can reach where data and samples do not overlap: float32 losses and gradients
    stay finite (unclamped, reverse KL's G loss exp(-v) overflows below v = -88)."""
    for scale in (100.0, 1e4):
        v_r = (scale * torch.tensor([-1.0, 1.0, 0.5])).requires_grad_(True)
        v_f = (scale * torch.tensor([-1.0, 1.0, -0.5])).requires_grad_(True)
        ld = L.d_loss(f"f-{div}", v_r, v_f)
        lg = L.g_loss(f"f-{div}", v_f)
        gr, gf = torch.autograd.grad(ld + lg, (v_r, v_f))
        assert torch.isfinite(ld) and torch.isfinite(lg), (div, scale, ld, lg)
        assert torch.isfinite(gr).all() and torch.isfinite(gf).all(), (div, scale)
    if div in L.F_CLAMPED:  # beyond the bound the score has no effect: D stops pushing it
        far = torch.tensor([-2 * L.F_CLAMP, 2 * L.F_CLAMP])
        assert L.g_loss(f"f-{div}", far).item() == pytest.approx(
            L.g_loss(f"f-{div}", far.clamp(-L.F_CLAMP, L.F_CLAMP)).item())


def test_the_clamped_divergences_are_named_in_their_descriptions():
    for div in L.F_CLAMPED:
        assert f"clamp(v, -{L.F_CLAMP:g}, {L.F_CLAMP:g})" in L.DESCRIPTIONS[f"f-{div}"], div
