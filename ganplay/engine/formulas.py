"""The losses as formulas with this batch's numbers in them: ``L_D = −E[log D(x)] − E[log(1 −
D(G(z)))] = 0.41 + 0.73 = 1.14``.

Each term is computed from the very tensors the trainer's update used (``iteration.Recorder``
hands them over), so the terms add up to the trainer's loss (tested to 1e-6 for every loss). The
symbols follow the lecture: D(x) is the probability D gives for the losses that read D as one
(minimax, NS, ML), otherwise D's raw score (critics, least squares, hinge, f-GANs), and the
caption says which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typing import TYPE_CHECKING

from .loss_kinds import F_CLAMPED

if TYPE_CHECKING:   # the tensor functions import torch when called: the window imports this module
    from torch import Tensor
PROB_LOSSES = frozenset({"minimax", "ns", "ml"})

# f-GAN divergences: how g_f and f* read in symbols
F_SYMBOLS = {
    "kl": ("v", "exp(v − 1)"), "reverse_kl": ("−exp(−v)", "v − 1"), "pearson": ("v", "v²/4 + v"),
    "neyman": ("1 − exp(−v)", "2 − 2·exp(−v/2)"), "hellinger": ("1 − exp(−v)", "exp(v) − 1"),
    "js": ("log 2 − sp(−v)", "sp(v) − log 2"), "tv": ("½·tanh(v)", "½·tanh(v)"), "gan": ("−sp(−v)", "sp(v)"),
}
LOSS_NAMES = {"minimax": "the minimax GAN", "ns": "the non-saturating GAN", "ml": "the maximum-likelihood G",
              "lsgan": "least squares (LSGAN)", "wgan": "WGAN (weight clipping)", "wgan-gp": "WGAN-GP",
              "hinge": "the hinge loss"}


@dataclass(frozen=True)
class Term:
    symbol: str
    value: float


@dataclass(frozen=True)
class Formula:
    """``lhs = symbol₁ + symbol₂ + … = value₁ + value₂ + … = total``."""
    lhs: str
    terms: tuple[Term, ...]
    total: float

    def symbolic(self) -> str:
        return f"{self.lhs} = " + _join([t.symbol for t in self.terms])

    def numeric(self, digits: int = 3) -> str:
        return _join([f"{t.value:.{digits}f}" for t in self.terms]) + f" = {self.total:.{digits}f}"

    def text(self, digits: int = 3) -> str:
        if len(self.terms) == 1:
            return f"{self.symbolic()} = {self.total:.{digits}f}"
        return f"{self.symbolic()} = {self.numeric(digits)}"


def _join(parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out += f" − {p[1:]}" if p.startswith("−") else f" + {p}"
    return out


def loss_title(name: str) -> str:
    if name.startswith("f-"):
        return f"the f-GAN with the {name[2:].replace('_', ' ')} divergence"
    return LOSS_NAMES.get(name, name)


def d_term_tensors(lc: Any, v_r: Tensor, v_f: Tensor, gp_grad: Tensor | None = None,
                   r1_grad: Tensor | None = None) -> list[tuple[str, Tensor]]:
    """D's loss as (symbol, value) terms whose sum is ``trainer.d_objective`` of the same tensors."""
    import torch
    from torch.nn.functional import softplus as sp

    from . import losses as L

    name, t = lc.name, lc.real_label
    if name in PROB_LOSSES:
        if t == 1.0:
            real = ("−E[log D(x)]", sp(-v_r).mean())
        else:
            real = (f"−E[{t:g}·log D(x) + {1 - t:g}·log(1 − D(x))]", (t * sp(-v_r) + (1 - t) * sp(v_r)).mean())
        terms = [real, ("−E[log(1 − D(G(z)))]", sp(v_f).mean())]
    elif name == "lsgan":
        terms = [(f"½·E[(D(x) − {t:g})²]", 0.5 * ((v_r - t) ** 2).mean()), ("½·E[D(G(z))²]", 0.5 * (v_f ** 2).mean())]
    elif name in ("wgan", "wgan-gp"):
        terms = [("E[D(G(z))]", v_f.mean()), ("−E[D(x)]", -v_r.mean())]
    elif name == "hinge":
        terms = [("E[relu(1 − D(x))]", torch.relu(1 - v_r).mean()), ("E[relu(1 + D(G(z)))]", torch.relu(1 + v_f).mean())]
    elif name.startswith("f-"):
        div = name[2:]
        g, fstar = L.F_GAN[div]
        terms = [("−E[g(D(x))]", -g(L.f_score(div, v_r)).mean()),
                 ("E[f*(g(D(G(z))))]", fstar(L.f_score(div, v_f)).mean())]
    else:
        raise ValueError(f"unknown loss {name!r}")
    w = (lc.gp_lambda if name == "wgan-gp" else 0.0) + lc.gp
    if w > 0 and gp_grad is not None:
        per = gp_grad.reshape(v_r.shape[0], -1).norm(2, dim=1)
        terms.append((f"{w:g}·E[(‖∇D(x̂)‖ − 1)²]", w * ((per - 1) ** 2).mean()))
    if lc.r1 > 0 and r1_grad is not None:
        terms.append((f"{lc.r1:g}/2·E[‖∇D(x)‖²]", lc.r1 / 2 * r1_grad.pow(2).reshape(r1_grad.shape[0], -1).sum(1).mean()))
    return terms


def g_term_tensors(lc: Any, v_f: Tensor) -> list[tuple[str, Tensor]]:
    """G's loss as (symbol, value) terms whose sum is ``trainer.g_objective``."""
    import torch
    from torch.nn.functional import softplus as sp

    from . import losses as L

    name = lc.name
    if name == "minimax":
        return [("E[log(1 − D(G(z)))]", -sp(v_f).mean())]
    if name == "ns":
        return [("−E[log D(G(z))]", sp(-v_f).mean())]
    if name == "ml":
        return [("−E[D(G(z)) / (1 − D(G(z)))]", -torch.exp(v_f).mean())]
    if name == "lsgan":
        return [("½·E[(D(G(z)) − 1)²]", 0.5 * ((v_f - 1) ** 2).mean())]
    if name in ("wgan", "wgan-gp", "hinge"):
        return [("−E[D(G(z))]", -v_f.mean())]
    if name.startswith("f-"):
        div = name[2:]
        g, _ = L.F_GAN[div]
        return [("−E[g(D(G(z)))]", -g(L.f_score(div, v_f)).mean())]
    raise ValueError(f"unknown loss {name!r}")


def formula(lhs: str, terms: list[tuple[str, Tensor]]) -> Formula:
    """Read the term tensors back (one transfer) into a ``Formula``."""
    import torch

    vals = torch.stack([v.detach().reshape(()) for _, v in terms]).double().tolist()
    return Formula(lhs, tuple(Term(s, float(v)) for (s, _), v in zip(terms, vals)), float(sum(vals)))


def score_note(name: str) -> str:
    """What D(x) means in the formulas of loss ``name``."""
    if name in PROB_LOSSES:
        return "D(x) = σ(v), the probability D gives that x is real (v: D's raw score)"
    if name.startswith("f-"):
        gs, fs = F_SYMBOLS[name[2:]]
        return (f"D(x) = v, D's raw score; g(v) = {gs} is the divergence's output activation and "
                f"f*(g(v)) = {fs} its convex conjugate" + ("; v is clamped to ±10" if name[2:] in F_CLAMPED else ""))
    return "D(x) is D's raw score (a critic's value, not a probability)"
