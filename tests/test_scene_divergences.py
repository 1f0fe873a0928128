"""Divergence explorer (engine/scenes/divergences.py): every exact fit at the optimum of its
divergence (against a brute-force grid), KL(p‖q)'s optimum is moment matching, MMD²'s closed form
against quadrature, and the critics: the f-GAN bound below the truth, W1's critic near W1, a fit
through the KL critic near the exact fit."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ganplay.engine.scenes import make_scene
from ganplay.engine.scenes.divergences import (
    DIVS,
    LOGS_BOX,
    MMD_BANDWIDTH,
    MU_BOX,
    CriticFit,
    Mixture,
    divergence,
    exact_fit,
    gauss_logpdf,
)

P = Mixture(4.0, 0.6, 0.6)
GRID = (81, 61)            # brute force over the (μ, log σ) box: spacing 0.125 in μ, 0.05 in log σ
GRID_SLACK = 1e-9          # no grid point may beat the exact fit by more than this
BOUND_STEPS = 600          # critic steps (q held) before the f-GAN bound is read
BOUND_TOL = 1e-3           # bound ≤ true divergence + this (the quadrature's error)
BOUND_FLOOR = 0.8          # ... and ≥ this share of it: the critic has learned
W1_STEPS, W1_RTOL = 400, 0.10
FIT_STEPS, FIT_TOL = 500, 0.15   # q steps through the KL critic, and how near the exact fit it lands


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # conftest.py: tiny networks, one thread


@pytest.mark.parametrize("name", DIVS)
def test_each_exact_fit_is_at_the_optimum_of_its_divergence(name):
    fit = exact_fit(name, P)
    mus, logs = np.linspace(*MU_BOX, GRID[0]), np.linspace(*LOGS_BOX, GRID[1])
    brute = divergence(name, P, mus[None, :], np.exp(logs)[:, None])
    j, i = np.unravel_index(int(np.argmin(brute)), brute.shape)
    assert fit.value <= brute.min() + GRID_SLACK
    assert fit.value == pytest.approx(float(divergence(name, P, fit.mu, fit.sigma)))
    assert abs(fit.mu - mus[i]) <= 2 * (mus[1] - mus[0])
    assert abs(math.log(fit.sigma) - logs[j]) <= 2 * (logs[1] - logs[0])


def test_where_the_fits_land():
    """KL(p‖q) covers both modes; reverse KL sits on one (the heavier, left one)."""
    kl, rkl = exact_fit("kl", P), exact_fit("reverse_kl", P)
    assert kl.sigma > 2 * P.width and abs(kl.mu - P.mean()) < 1e-3
    assert rkl.mu == pytest.approx(-P.sep / 2, abs=0.05) and rkl.sigma == pytest.approx(P.width, rel=0.05)


@pytest.mark.parametrize("sep,weight,width", [(4.0, 0.6, 0.6), (2.0, 0.5, 1.0), (5.5, 0.2, 0.4), (0.0, 0.5, 0.8)])
def test_kl_optimum_is_moment_matching(sep, weight, width):
    p = Mixture(sep, weight, width)
    mean = weight * (-sep / 2) + (1 - weight) * sep / 2
    var = width ** 2 + weight * (1 - weight) * sep ** 2
    fit = exact_fit("kl", p)
    assert fit.mu == pytest.approx(mean, abs=1e-3)
    assert fit.sigma == pytest.approx(math.sqrt(var), abs=1e-3)


@pytest.mark.parametrize("mu,sigma", [(1.0, 1.0), (-0.4, 2.0), (3.0, 0.5)])
def test_mmd_closed_form_matches_quadrature(mu, sigma):
    x = np.linspace(-12, 12, 1201)
    dx = x[1] - x[0]
    diff = np.exp(P.logpdf(x)) - np.exp(gauss_logpdf(x, mu, sigma))
    k = np.exp(-(x[:, None] - x[None, :]) ** 2 / (2 * MMD_BANDWIDTH ** 2))
    assert float(divergence("mmd", P, mu, sigma)) == pytest.approx(float(diff @ k @ diff) * dx * dx, rel=1e-6)


@pytest.mark.parametrize("name", ["kl", "js", "pearson"])
def test_the_f_gan_bound_lies_below_the_divergence(name):
    fit = CriticFit(name, P, -0.4, 2.0, seed=0, fit_q=False)
    true = fit.true_value()
    for k in range(BOUND_STEPS):
        fit.step(1)
        if (k + 1) % 100 == 0:
            assert fit.estimate() <= true + BOUND_TOL
    assert fit.estimate() >= BOUND_FLOOR * true


@pytest.mark.parametrize("mu,sigma", [(1.0, 1.0), (-0.4, 2.0), (2.0, 0.6)])
def test_the_w1_critic_estimates_w1(mu, sigma):
    fit = CriticFit("w1", P, mu, sigma, seed=0, fit_q=False)
    for _ in range(W1_STEPS):
        fit.step(1)
    assert fit.estimate() == pytest.approx(fit.true_value(), rel=W1_RTOL)


def test_the_fit_through_the_kl_critic_lands_at_the_exact_fit():
    scene = make_scene("divergences", divergence="kl")
    scene.advance(FIT_STEPS)
    best = exact_fit("kl", P)
    assert scene.fit.mean == pytest.approx(best.mu, abs=FIT_TOL)
    assert scene.fit.sigma == pytest.approx(best.sigma, abs=FIT_TOL)
    frame = scene.frame()
    assert len(frame.plot("densities").items) == len(DIVS) + 2   # p, 7 other optima, the exact fit, the critic fit
    est = frame.item("bound", "critic's estimate (bound)").y
    true = frame.item("bound", "true KL(p‖q) at q_t").y
    assert len(est) == FIT_STEPS and (est <= true + BOUND_TOL).all()
