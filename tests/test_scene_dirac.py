"""The Dirac GAN scene against its closed forms: the analytic gradients are autograd's through
ganplay's own losses and penalties, near (0, 0) the unregularised GANs are the bilinear game, and
the paper's outcomes hold within stated step budgets (plain GANs and WGAN do not converge, WGAN-GP
does not converge either, R1 does)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganplay.engine.scenes import make_scene
from ganplay.engine.scenes import bilinear
from ganplay.engine.scenes.dirac import LABELS, LOSSES, gradients, rate, trajectory

START = (1.0, 0.5)
R0 = math.hypot(*START)


def _radius(path: np.ndarray) -> np.ndarray:
    return np.hypot(path[:, 0], path[:, 1])


def _engine_gradients(loss: str, theta: float, psi: float, gamma: float, lam: float) -> tuple[float, float]:
    """(∂L_G/∂θ, ∂L_D/∂ψ) by autograd through the trainer's d_objective / g_objective, with
    D(x) = ψ·x, one real sample at 0 and G's sample at θ."""
    from ganplay.engine.trainer import d_objective, g_objective

    name = {"minimax": "minimax", "ns": "ns", "r1": "ns", "wgan": "wgan", "wgan_gp": "wgan-gp"}[loss]
    lc = SimpleNamespace(name=name, real_label=1.0, gp_lambda=lam, gp=0.0, r1=gamma if loss == "r1" else 0.0)
    psi_t = torch.tensor(psi, dtype=torch.float64, requires_grad=True)
    theta_t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    x = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    xf = theta_t.detach().reshape(1, 1)                     # D's update does not move G
    v_r = (psi_t * x).reshape(1)
    v_f = (psi_t * xf).reshape(1)
    gp_grad = r1_grad = None
    if name == "wgan-gp":
        eps = torch.rand(1, 1, dtype=torch.float64)
        xh = (eps * x.detach() + (1 - eps) * xf).requires_grad_(True)
        (gp_grad,) = torch.autograd.grad((psi_t * xh).sum(), xh, create_graph=True)
    if lc.r1 > 0:
        (r1_grad,) = torch.autograd.grad(v_r.sum(), x, create_graph=True)
    (d_psi,) = torch.autograd.grad(d_objective(lc, v_r, v_f, gp_grad, r1_grad), psi_t)
    (g_theta,) = torch.autograd.grad(g_objective(lc, (psi_t.detach() * theta_t).reshape(1)), theta_t)
    return float(g_theta), float(d_psi)


@pytest.mark.parametrize("loss", LOSSES)
def test_the_closed_form_gradients_are_autograds_through_the_engines_losses(loss):
    rng = np.random.default_rng(0)
    for theta, psi in rng.uniform(-3, 3, size=(20, 2)):
        for gamma, lam in ((0.3, 0.5), (2.0, 10.0)):
            closed = gradients(loss, float(theta), float(psi), gamma, lam)
            auto = _engine_gradients(loss, float(theta), float(psi), gamma, lam)
            np.testing.assert_allclose(closed, auto, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["minimax", "ns"])
@pytest.mark.parametrize("eta", [0.05, 0.2])
def test_near_the_equilibrium_the_gan_is_the_bilinear_game_at_half_the_rate(loss, eta):
    """The same spiral: the GAN's field near (0, 0) is the x·y game's with (x, y) = (θ, ψ), scaled
    by σ(0) = ½, so simultaneous steps at η follow the x·y game's at η/2 and grow by its closed form."""
    start = (1e-4, 5e-5)
    gan = trajectory(loss, eta, start, 100)
    xy = bilinear.trajectory("simultaneous", eta / 2, start, 100)
    np.testing.assert_allclose(gan, xy, rtol=1e-6, atol=1e-14)
    r = _radius(gan)
    closed = bilinear.radius_after("simultaneous", eta / 2, r[0], 100)
    assert r[-1] == pytest.approx(closed, rel=1e-6)
    assert rate(loss, eta) == pytest.approx(math.sqrt(1 + eta ** 2 / 4), rel=1e-12)


def test_unclipped_wgan_is_exactly_the_bilinear_game():
    path = trajectory("wgan", 0.1, START, 300, clip=0.0)
    np.testing.assert_allclose(path, bilinear.trajectory("simultaneous", 0.1, START, 300), rtol=1e-12)
    assert rate("wgan", 0.1) == pytest.approx(math.sqrt(1 + 0.1 ** 2), rel=1e-12)


def test_minimax_simultaneous_steps_spiral_out_by_their_closed_form_until_they_saturate():
    """|(θ, ψ)|² grows by exactly 1 + η²σ(ψθ)² a step: never shrinks, and stalls only where D rejects
    G's sample with certainty (σ(ψθ) → 0), which is the minimax loss saturating."""
    eta = 0.1
    path = trajectory("minimax", eta, START, 4000)
    r = _radius(path)
    s = 1 / (1 + np.exp(-path[:-1, 0] * path[:-1, 1]))
    np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1 + eta ** 2 * s ** 2), rtol=1e-12)
    assert r[1000] > 2 * R0 and r[-1] > 3 * R0
    assert path[-1, 0] * path[-1, 1] < -5   # D's score of the fake: σ < 0.7 %


def test_minimax_alternating_steps_cycle():
    r = _radius(trajectory("minimax", 0.1, START, 4000, updates="alternating"))
    assert 0.95 * R0 < r.min() and r.max() < 1.05 * R0
    assert rate("minimax", 0.1, "alternating") == pytest.approx(1.0, abs=1e-12)


def test_non_saturating_steps_do_not_converge():
    """Simultaneous: a cycle at 0.4 of the start (η = 0.1, 4,000 steps); alternating: the
    linearisation cycles (rate 1) and the non-saturating pull inwards is of fourth order, so the
    path creeps: after 4,000 steps it is still above 0.1 of its start and halving it takes about
    four times as many steps again, while R1 shrinks it a millionfold in 1,000 steps."""
    r = _radius(trajectory("ns", 0.1, START, 4000))
    assert r.min() > 0.35 * R0
    tail = r[-1000:]
    assert tail.max() - tail.min() < 0.02 * tail.mean()
    r = _radius(trajectory("ns", 0.1, START, 4000, updates="alternating"))
    assert r[-1] > 0.1 * R0 and r[4000] / r[1000] > 0.4
    assert rate("ns", 0.1, "alternating") == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
def test_clipped_wgan_orbits(updates):
    path = trajectory("wgan", 0.05, START, 4000, updates=updates, clip=1.0)
    r = _radius(path)
    assert np.abs(path[1:, 1]).max() <= 1.0
    assert r.min() > 0.85 * R0 and r.max() < 1.1 * R0


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
@pytest.mark.parametrize("gamma, within", [(0.1, 0.02), (0.3, 1e-5), (3.0, 1e-3)])
def test_r1_converges_at_its_linear_rate(updates, gamma, within):
    """η = 0.1, 1,000 steps: within 2 % of the start for γ = 0.1, 1e-5 for the paper's γ = 0.3,
    1e-3 for γ = 3 (overdamped: the slow eigenvalue, (−γ + √(γ² − 1))/2, shrinks as γ grows)."""
    eta = 0.1
    r = _radius(trajectory("r1", eta, START, 1000, updates=updates, gamma=gamma))
    rho = rate("r1", eta, updates, gamma=gamma)
    assert rho < 1
    assert r[-1] < within * R0
    # the observed rate over the last 500 steps is the linearisation's
    assert (r[-1] / r[-501]) ** (1 / 500) == pytest.approx(rho, rel=2e-3)


def test_r1_converges_with_several_d_steps():
    r = _radius(trajectory("r1", 0.1, START, 1000, updates="alternating", d_steps=5))
    assert r[-1] < 1e-5 * R0 and rate("r1", 0.1, "alternating", d_steps=5) < 1


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
def test_wgan_gp_orbits_on_one_cycle_for_a_small_lambda(updates):
    """λ = 0.5 (the paper's figure: weight 1 = 2λ), η = 0.05: from three starts, over steps
    4,000-6,000 the distance stays above 1.1 and sweeps the same range."""
    ranges = []
    for start in ((1.0, 0.5), (-0.5, 1.5), (0.2, -0.3)):
        r = _radius(trajectory("wgan_gp", 0.05, start, 6000, updates=updates, lam=0.5))[4000:]
        assert r.min() > 1.1
        ranges.append((r.min(), r.max()))
    np.testing.assert_allclose(ranges, [ranges[0]] * 3, rtol=0.01)


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
def test_wgan_gp_stops_at_two_lambda_for_a_large_lambda(updates):
    for start in ((1.0, 0.5), (-0.5, 1.5), (0.2, -0.3)):
        end = trajectory("wgan_gp", 0.05, start, 4000, updates=updates, lam=1.5)[-1]
        assert abs(abs(end[0]) - 3.0) < 1e-6 and abs(end[1]) < 1e-6


def test_the_wgan_gp_equilibrium_repels():
    r = _radius(trajectory("wgan_gp", 0.05, (0.0, 1e-6), 200, lam=0.5))
    assert r[-1] > 0.5
    assert rate("wgan_gp", 0.05) is None


def test_the_scene_draws_each_loss_and_reports_its_rate():
    scene = make_scene("dirac", updates="alternating", d_steps=2)
    scene.advance(50)
    frame = scene.frame()
    assert {c.name for c in frame.plot("distance").items} == set(LABELS.values())
    shown = frame.number("|(θ, ψ)| GAN + R1")
    assert f"×{rate('r1', 0.1, 'alternating', 2, 0.3):.6g} a step" in shown
    assert "±1" in frame.number("|(θ, ψ)| WGAN-GP")
    direct = trajectory("ns", 0.1, (1.0, 0.5), 50, updates="alternating", d_steps=2)
    np.testing.assert_allclose(frame.item("plane", "non-saturating").x, direct[:, 0])
    names = {i.name for i in frame.plot("plane").items}
    assert "_clip" in names and "_gp_rest" in names
    scene.set("clip", 0.0)
    scene.set("show_wgan_gp", False)
    names = {i.name for i in scene.frame().plot("plane").items}
    assert "_clip" not in names and "_gp_rest" not in names and "WGAN-GP" not in names
    for loss in LOSSES:   # every loss's field draws, finite
        scene.set("field", loss)
        arrows = scene.frame().item("plane", "_field")
        assert np.isfinite(arrows.delta).all() and np.abs(arrows.delta).max() > 0
