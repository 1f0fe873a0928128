"""Parallel segments (engine/scenes/segments.py): the closed-form curves, the WGAN-GP critic's W1,
θ trained against WGAN-GP (reaches 0) and against a minimax D (its gradient vanishes)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganplay.engine.scenes import make_scene
from ganplay.engine.scenes.optim import Adam
from ganplay.engine.scenes.segments import GP_LAMBDA, SegmentRun, closed_forms, closed_gradients, gp_bias

CRITIC_STEPS = 400        # critic steps before its W1 estimate is read (θ held)
W1_RTOL = 0.10            # the bound on the critic's W1
GP_RTOL = 0.04            # the estimate against its closed-form optimum |θ| + θ²/(2λ)
WGAN_BUDGET = 300         # θ steps (5 critic steps each) for WGAN-GP to bring |θ| from 1 below 0.05
THETA_TOL = 0.05
MINIMAX_WARMUP = 100      # θ steps (5 D steps each) after which the minimax D has won
MINIMAX_GRAD_MAX = 1e-4   # |dL_G/dθ| against that D, over the next 100 steps


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # conftest.py: tiny networks, one thread


@pytest.mark.parametrize("theta", [-1.5, -0.2, 0.3, 2.0])
def test_closed_forms_away_from_zero(theta):
    d = closed_forms(theta)
    assert d["W1"] == abs(theta)
    assert d["JSD"] == pytest.approx(math.log(2))
    assert d["KL"] == math.inf and d["TV"] == 1.0
    g = closed_gradients(theta)
    assert g == {"W1": math.copysign(1.0, theta), "JSD": 0.0, "KL": 0.0, "TV": 0.0}


def test_closed_forms_at_zero_and_the_scene_draws_them():
    assert closed_forms(0.0) == {"W1": 0.0, "JSD": 0.0, "KL": 0.0, "TV": 0.0}
    frame = make_scene("segments").frame()
    w1 = frame.item("divergences", "W1 = |θ|")
    np.testing.assert_allclose(w1.y, np.abs(w1.x))
    jsd = frame.item("divergences", "JSD = log 2")
    assert set(np.round(jsd.y[jsd.x != 0], 12)) == {round(math.log(2), 12)} and jsd.y[jsd.x == 0] == 0
    grad = frame.item("gradients", "dW1/dθ = sign θ")
    np.testing.assert_array_equal(grad.y, np.sign(grad.x))


@pytest.mark.parametrize("theta", [0.5, 1.0, 2.0])
def test_the_critic_estimates_w1_within_ten_percent(theta):
    run = SegmentRun("wgan-gp", theta, seed=0, train_theta=False)
    for _ in range(CRITIC_STEPS):
        run.d_step()
    est = run.w1_estimate()
    assert est == pytest.approx(theta, rel=W1_RTOL)
    assert est == pytest.approx(gp_bias(theta, GP_LAMBDA), rel=GP_RTOL)


def test_wgan_gp_brings_theta_to_zero():
    run = SegmentRun("wgan-gp", 1.0, seed=0)
    for _ in range(WGAN_BUDGET):
        run.step(5)
    assert abs(run.thetas[-1]) < THETA_TOL, run.thetas[-20:]


def test_the_minimax_gradient_vanishes_once_d_is_trained():
    run = SegmentRun("minimax", 1.0, seed=0)
    for _ in range(MINIMAX_WARMUP):
        run.step(5)
    theta = run.thetas[-1]
    for _ in range(100):
        run.step(5)
    assert max(abs(g) for g in run.grads[-100:]) < MINIMAX_GRAD_MAX
    assert abs(run.thetas[-1] - theta) < 1e-3 and abs(theta) > 0.3, "θ stalls away from 0"


def test_scene_adam_follows_kingma_and_ba():
    """The scenes' Adam (no torch.optim: its first use imports torch._dynamo, seconds) against the
    paper's update written out for one scalar on f(w) = w² (gradient 2w)."""
    w = torch.tensor(1.5, requires_grad=True)
    opt = Adam([w], lr=0.1, betas=(0.5, 0.9))
    ref, m, v = 1.5, 0.0, 0.0
    for t in range(1, 31):
        opt.zero_grad()
        (w * w).backward()
        opt.step()
        g = 2 * ref
        m, v = 0.5 * m + 0.5 * g, 0.9 * v + 0.1 * g * g
        ref -= 0.1 * (m / (1 - 0.5 ** t)) / (math.sqrt(v / (1 - 0.9 ** t)) + 1e-8)
        assert float(w.detach()) == pytest.approx(ref, rel=1e-5, abs=1e-6)
