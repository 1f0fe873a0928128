"""GAN losses on raw discriminator scores (logits), as tabulated in THEORY.md.

Every function returns the batch mean. ``v_r = D(x)``, ``v_f = D(G(z))``.
The f-GAN losses use the output activation g_f and conjugate f* of each divergence, written
in closed forms of v that stay finite (e.g. f*(g(v)) = softplus(v) for the GAN divergence).
Where g_f or f*(g_f) grows exponentially or without bound (kl, reverse_kl, pearson, neyman,
hellinger), the raw score is first clamped to [-F_CLAMP, F_CLAMP]: see ``f_score``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch.nn.functional import softplus as sp

Tensor = torch.Tensor

# divergence -> (g_f(v), f*(g_f(v))) as functions of the raw score v
F_GAN: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "kl": (lambda v: v, lambda v: torch.exp(v - 1)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    "pearson": (lambda v: v, lambda v: v * v / 4 + v),
    "neyman": (lambda v: 1 - torch.exp(-v), lambda v: 2 - 2 * torch.exp(-v / 2)),
    "hellinger": (lambda v: 1 - torch.exp(-v), lambda v: torch.exp(v) - 1),
    "js": (lambda v: math.log(2) - sp(-v), lambda v: sp(v) - math.log(2)),
    "tv": (lambda v: 0.5 * torch.tanh(v), lambda v: 0.5 * torch.tanh(v)),
    "gan": (lambda v: -sp(-v), lambda v: sp(v)),
}

# The raw score bound of the f-GANs whose g_f or f*(g_f(v)) is exponential or unbounded in v.
# D can push those terms without end where the data and the samples do not overlap (the optimal
# T = f'(p/q) is infinite there): reverse KL's fake term v - 1 falls linearly, so exp(-v) in G's
# loss overflowed (two_gaussians, step 474); Neyman's 2 - 2 exp(-v/2) has no lower bound at all.
# Clamping v bounds the critic T = g_f(clamp(v)): the game is the same variational lower bound
# on D_f over a smaller set of critics, D's gradient stops at the bound (so it stops pushing) and
# G's loss stays finite (at most e^10 per sample). Scores inside [-F_CLAMP, F_CLAMP] are
# untouched, so the losses keep their closed forms there. With the default settings on ring and
# two_gaussians the clamp changed no figure in 2,000 steps except for Neyman on two_gaussians,
# which diverged at step 964 without it. On the reported case (two_gaussians, linear G) a clamp
# at 5 gave the same mode coverage as 10, with a 100 times smaller G loss once D saturates.
# (the constants live in loss_kinds.py, which imports no torch: the window's formulas read them)
from .loss_kinds import CRITIC_LOSSES, F_CLAMP, F_CLAMPED  # noqa: E402,F401


_CLAMP_NOTE = f"; v is first clamped: clamp(v, -{F_CLAMP:g}, {F_CLAMP:g}), so D cannot push it without end."

# One sentence and formula per loss, shared by the CLI's help and the GUI's tooltips.
DESCRIPTIONS: dict[str, str] = {
    "minimax": "Goodfellow's original game: L_D = sp(-v_r) + sp(v_f), L_G = -sp(v_f) = log(1 - D(G(z))); G's gradient vanishes when D wins.",
    "ns": "Non-saturating: same L_D, L_G = sp(-v_f) = -log D(G(z)); strong gradients early, the usual default.",
    "ml": "Maximum-likelihood G: L_G = -exp(v_f); with the optimal D its expected gradient is that of KL(p_data||p_g).",
    "lsgan": "Least squares: L_D = 1/2(v_r - 1)^2 + 1/2 v_f^2, L_G = 1/2(v_f - 1)^2.",
    "wgan": "Wasserstein: L_D = v_f - v_r with D's weights clipped to [-c, c], L_G = -v_f.",
    "wgan-gp": "WGAN-GP: L_D = v_f - v_r + lambda(||grad D(x_hat)|| - 1)^2 on interpolates, L_G = -v_f.",
    "hinge": "Hinge: L_D = relu(1 - v_r) + relu(1 + v_f), L_G = -v_f.",
    "f-kl": "f-GAN, Kullback-Leibler: f(u) = u log u, g_f(v) = v, f*(t) = exp(t - 1)" + _CLAMP_NOTE,
    "f-reverse_kl": "f-GAN, reverse KL: f(u) = -log u, g_f(v) = -exp(-v), f*(t) = -1 - log(-t)" + _CLAMP_NOTE,
    "f-pearson": "f-GAN, Pearson chi^2: f(u) = (u - 1)^2, g_f(v) = v, f*(t) = t^2/4 + t" + _CLAMP_NOTE,
    "f-neyman": "f-GAN, Neyman chi^2: f(u) = (1 - u)^2/u, g_f(v) = 1 - exp(-v), f*(t) = 2 - 2 sqrt(1 - t)" + _CLAMP_NOTE,
    "f-hellinger": "f-GAN, squared Hellinger: f(u) = (sqrt u - 1)^2, g_f(v) = 1 - exp(-v), f*(t) = t/(1 - t)" + _CLAMP_NOTE,
    "f-js": "f-GAN, Jensen-Shannon: g_f(v) = log 2 - sp(-v), f*(t) = -log(2 - exp(t)).",
    "f-tv": "f-GAN, total variation: f(u) = 1/2|u - 1|, g_f(v) = 1/2 tanh(v), f*(t) = t.",
    "f-gan": "f-GAN, GAN divergence: g_f(v) = -sp(-v), f*(t) = -log(1 - exp(t)).",
}


def f_score(div: str, v: Tensor) -> Tensor:
    """The raw score an f-GAN's g_f and f* are evaluated at: ``v`` clamped to
    [-F_CLAMP, F_CLAMP] for the divergences in F_CLAMPED, ``v`` itself for js, tv and gan (whose
    terms grow at most linearly, with gradients at most 1)."""
    return v.clamp(-F_CLAMP, F_CLAMP) if div in F_CLAMPED else v


def d_loss(name: str, v_r: Tensor, v_f: Tensor, real_label: float = 1.0) -> Tensor:
    """Discriminator loss to minimise. ``real_label`` < 1 is one-sided label smoothing."""
    t = real_label
    if name in ("minimax", "ns", "ml"):
        real = sp(-v_r) if t == 1.0 else t * sp(-v_r) + (1 - t) * sp(v_r)
        return real.mean() + sp(v_f).mean()
    if name == "lsgan":
        return 0.5 * ((v_r - t) ** 2).mean() + 0.5 * (v_f**2).mean()
    if name in ("wgan", "wgan-gp"):
        return v_f.mean() - v_r.mean()
    if name == "hinge":
        return torch.relu(1 - v_r).mean() + torch.relu(1 + v_f).mean()
    if name.startswith("f-"):
        div = name[2:]
        g, fstar = F_GAN[div]
        return -g(f_score(div, v_r)).mean() + fstar(f_score(div, v_f)).mean()
    raise ValueError(f"unknown loss {name!r}")


def g_loss(name: str, v_f: Tensor) -> Tensor:
    """Generator loss to minimise. f-GANs use the non-saturating form -E[g_f(v_f)]."""
    if name == "minimax":
        return -sp(v_f).mean()
    if name == "ns":
        return sp(-v_f).mean()
    if name == "ml":
        return -torch.exp(v_f).mean()
    if name == "lsgan":
        return 0.5 * ((v_f - 1) ** 2).mean()
    if name in ("wgan", "wgan-gp", "hinge"):
        return -v_f.mean()
    if name.startswith("f-"):
        div = name[2:]
        g, _ = F_GAN[div]
        return -g(f_score(div, v_f)).mean()
    raise ValueError(f"unknown loss {name!r}")


def is_critic(name: str) -> bool:
    """True when D's score is an unbounded critic rather than a logit of P(real)."""
    return name in CRITIC_LOSSES


def implied_jsd(v_r: Tensor, v_f: Tensor) -> float:
    """(V(D, G) + log 4) / 2 with D = sigmoid(score): the JSD as this D sees it (clamped at 0)."""
    value = (-sp(-v_r)).mean() + (-sp(v_f)).mean()
    return max(0.0, float((value + math.log(4)) / 2))
