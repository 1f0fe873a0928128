"""Divergence explorer: fit one Gaussian q = N(μ, σ²) to a 1D mixture of two Gaussians p by
minimising each of eight divergences, once exactly and once through a trained critic.

Exactly: every divergence of q from p is a sum over a fine grid of x (``X``, step ``DX``) of the two
log densities (W1 through the two CDFs, W1 = ∫|F_p − F_q|; MMD² in closed form, since the Gaussian
kernel's mean embeddings of Gaussians are Gaussians). The optimum over (μ, log σ) is a coarse grid
search refined by zooming grids (``exact_fit``); the tests check it against a finer brute-force grid,
and the KL(p‖q) optimum against moment matching.

Through a critic (``CriticFit``): the f-divergences use the f-GAN bound of ``engine/losses.py``,
D_f(p‖q) ≥ E_p[g_f(v)] − E_q[f*(g_f(v))], maximised by a small MLP critic v(x) while q (μ, log σ,
reparameterised samples) minimises the same bound; W1 a WGAN critic with a one-sided gradient penalty, and MMD² its unbiased
sample estimate (its critic, the witness function, has a closed form from the samples). The
critic's bound is evaluated by quadrature on ``X``, so it is the bound of that critic, free of batch
noise: by Fenchel's inequality it lies below the true divergence.

Conventions (the f-GAN table of THEORY.md): KL = ∫p log(p/q), reverse KL = ∫q log(q/p), JSD the
symmetric one (at most log 2; the f-GAN "js" critic bounds 2·JSD), TV = ½∫|p − q|, Pearson
χ² = ∫(p − q)²/q, squared Hellinger H² = ∫(√p − √q)² (no ½), MMD² with the Gaussian kernel of
bandwidth ``MMD_BANDWIDTH``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import torch
from scipy.special import ndtr

from .. import losses
from . import LECTURE_1
from .optim import Adam, on_one_thread
from .optimal_d import step_span
from .base import Curve, Heatmap, Param, Plot, Points, Scene, SceneFrame, fmt

DIVS = ("kl", "reverse_kl", "js", "tv", "pearson", "hellinger", "w1", "mmd")
LABELS = {"kl": "KL(p‖q)", "reverse_kl": "KL(q‖p)", "js": "JSD", "tv": "TV", "pearson": "χ²(p‖q)",
          "hellinger": "H²", "w1": "W1", "mmd": "MMD²"}
COLOURS = {"kl": "c0", "reverse_kl": "c4", "js": "c2", "tv": "c1", "pearson": "c5", "hellinger": "c6",
           "w1": "c3", "mmd": "c7"}
F_DIVS = ("kl", "reverse_kl", "js", "tv", "pearson", "hellinger")
MMD_BANDWIDTH = 1.0

X = np.linspace(-26.0, 26.0, 521)   # wide enough for q's tails at μ = ±5, σ = 4; see DX
# A step of 0.1 is 2 points per σ of the narrowest q (0.2) and 3 per mode of the narrowest p (0.3):
# sums of smooth, decaying integrands on such a grid are exact to ~exp(−2π²σ²/DX²) < 1e-30; the
# kinks of |p − q| (TV) and |F_p − F_q| (W1) cost O(DX²). Half the step doubled every fit's time.
DX = float(X[1] - X[0])
MU_BOX = (-5.0, 5.0)
LOGS_BOX = (math.log(0.2), math.log(4.0))
MAX_STEPS = 3000
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Mixture:
    """p = weight·N(−sep/2, width²) + (1 − weight)·N(sep/2, width²)."""
    sep: float
    weight: float
    width: float

    @property
    def means(self) -> np.ndarray:
        return np.array([-self.sep / 2, self.sep / 2])

    @property
    def weights(self) -> np.ndarray:
        return np.array([self.weight, 1 - self.weight])

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        c = math.log(self.width * math.sqrt(2 * math.pi))
        a, b = self.means
        return np.logaddexp(math.log(self.weight) - 0.5 * ((x - a) / self.width) ** 2,
                            math.log(1 - self.weight) - 0.5 * ((x - b) / self.width) ** 2) - c

    @cached_property
    def on_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log p, p and F_p on ``X`` (every divergence on the grid needs some of them)."""
        lp = self.logpdf(X)
        return lp, np.exp(lp), self.cdf(X)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)[..., None]
        return (self.weights * ndtr((x - self.means) / self.width)).sum(-1)

    def mean(self) -> float:
        return float(self.weights @ self.means)

    def var(self) -> float:
        return float(self.width ** 2 + self.weights @ self.means ** 2 - self.mean() ** 2)

    def sample(self, n: int, g: torch.Generator) -> torch.Tensor:
        left = torch.rand(n, generator=g) < self.weight
        centre = torch.where(left, -self.sep / 2, self.sep / 2)
        return (centre + self.width * torch.randn(n, generator=g)).unsqueeze(1)


def gauss_logpdf(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma * math.sqrt(2 * math.pi))


def _gauss_kernel_mean(a: np.ndarray, s1: np.ndarray, b: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """E k(X, Y) for X ~ N(a, s1²), Y ~ N(b, s2²), k the Gaussian kernel of bandwidth h."""
    v = MMD_BANDWIDTH ** 2 + s1 ** 2 + s2 ** 2
    return MMD_BANDWIDTH / np.sqrt(v) * np.exp(-(a - b) ** 2 / (2 * v))


def divergence(name: str, p: Mixture, mu: np.ndarray | float, sigma: np.ndarray | float) -> np.ndarray:
    """The divergence ``name`` between p and q = N(mu, sigma²), for arrays of (mu, sigma) alike."""
    mu_a, sig_a = np.broadcast_arrays(np.asarray(mu, float), np.asarray(sigma, float))
    shape = mu_a.shape
    mu_f, sig_f = mu_a.reshape(-1, 1), sig_a.reshape(-1, 1)
    if name == "mmd":
        m, w, s = p.means, p.weights, p.width
        pp = float(w @ _gauss_kernel_mean(m[:, None], s, m[None, :], s) @ w)
        pq = (w * _gauss_kernel_mean(m, s, mu_f, sig_f)).sum(1)
        qq = _gauss_kernel_mean(mu_f[:, 0], sig_f[:, 0], mu_f[:, 0], sig_f[:, 0])
        return np.maximum(pp - 2 * pq + qq, 0.0).reshape(shape)
    out = np.empty(mu_f.shape[0])
    lp, pd, fp = p.on_grid
    for i in range(0, len(out), 256):   # chunks keep the (k, len(X)) arrays small
        m, s = mu_f[i:i + 256], sig_f[i:i + 256]
        if name == "w1":
            out[i:i + 256] = np.abs(fp - ndtr((X - m) / s)).sum(1) * DX
            continue
        lq = gauss_logpdf(X, m, s)
        qd = np.exp(lq)
        if name == "kl":
            v = pd * (lp - lq)
        elif name == "reverse_kl":
            v = qd * (lq - lp)
        elif name == "js":
            lm = np.logaddexp(lp, lq) - LOG2
            v = 0.5 * (pd * (lp - lm) + qd * (lq - lm))
        elif name == "tv":
            v = 0.5 * np.abs(pd - qd)
        elif name == "pearson":
            v = np.exp(np.minimum(2 * lp - lq, 700.0)) - pd   # ∫p²/q − 1, finite on the grid
        elif name == "hellinger":
            v = (np.sqrt(pd) - np.sqrt(qd)) ** 2
        else:
            raise ValueError(f"unknown divergence {name!r}; divergences: {', '.join(DIVS)}")
        out[i:i + 256] = v.sum(1) * DX
    return out.reshape(shape)


def surface_grid(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(*MU_BOX, nx), np.linspace(*LOGS_BOX, ny)


def surface(name: str, p: Mixture, nx: int = 51, ny: int = 41) -> np.ndarray:
    """The divergence over the (μ, log σ) box: (ny, nx), row 0 at the smallest log σ."""
    mus, logs = surface_grid(nx, ny)
    return divergence(name, p, mus[None, :], np.exp(logs)[:, None])


@dataclass(frozen=True)
class Fit:
    mu: float
    sigma: float
    value: float


def exact_fit(name: str, p: Mixture) -> Fit:
    """The q minimising ``name``: the best point of a 21 × 17 grid over the (μ, log σ) box, refined
    by grids zooming in on it."""
    return _exact_fit(name, p.sep, p.weight, p.width)


@lru_cache(maxsize=64)
def _exact_fit(name: str, sep: float, weight: float, width: float) -> Fit:
    # A zooming grid rather than scipy.optimize: importing scipy.optimize alone took 0.9 s on the
    # course machine, most of a scene's first-paint budget. Each round evaluates an 11 × 11 grid
    # over ±1.5 of the last spacing around the best point, so the spacing shrinks 0.3× a round:
    # after 10 rounds it is 3e-6 in μ and 1e-6 in log σ.
    p = Mixture(sep, weight, width)
    mus, logs = surface_grid(21, 17)
    coarse = divergence(name, p, mus[None, :], np.exp(logs)[:, None])
    j, i = np.unravel_index(int(np.argmin(coarse)), coarse.shape)
    m, ls = float(mus[i]), float(logs[j])
    dm, dl = float(mus[1] - mus[0]), float(logs[1] - logs[0])
    for _ in range(10):
        gm = np.clip(m + np.linspace(-1.5, 1.5, 11) * dm, *MU_BOX)
        gl = np.clip(ls + np.linspace(-1.5, 1.5, 11) * dl, *LOGS_BOX)
        vals = divergence(name, p, gm[None, :], np.exp(gl)[:, None])
        j, i = np.unravel_index(int(np.argmin(vals)), vals.shape)
        m, ls = float(gm[i]), float(gl[j])
        dm, dl = 0.3 * dm, 0.3 * dl
    return Fit(m, math.exp(ls), float(divergence(name, p, m, math.exp(ls))))


def optimal_critic(name: str, p: Mixture, mu: float, sigma: float) -> np.ndarray:
    """The critic that attains the divergence on ``X``: T* = f'(p/q) for the f-divergences, the
    Kantorovich potential for W1 (its slope is sign(F_q − F_p)), the witness function for MMD²."""
    lp, lq = p.logpdf(X), gauss_logpdf(X, mu, sigma)
    if name == "kl":
        return 1 + lp - lq
    if name == "reverse_kl":
        return -np.exp(lq - lp)
    if name == "pearson":
        return 2 * (np.exp(lp - lq) - 1)
    if name == "hellinger":
        return 1 - np.exp((lq - lp) / 2)
    if name == "js":
        return LOG2 + lp - np.logaddexp(lp, lq)
    if name == "tv":
        return 0.5 * np.sign(np.exp(lp) - np.exp(lq))
    if name == "w1":
        return np.cumsum(np.sign(ndtr((X - mu) / sigma) - p.cdf(X))) * DX
    if name == "mmd":
        return (p.weights * _gauss_kernel_mean(X[:, None], 0.0, p.means, p.width)).sum(1) \
            - _gauss_kernel_mean(X, 0.0, mu, sigma)
    raise ValueError(f"unknown divergence {name!r}")


# ---- the fit through a critic ---------------------------------------------------------------------

def _mlp(width: int = 32) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(1, width), torch.nn.LeakyReLU(0.2), torch.nn.Linear(width, width),
                               torch.nn.LeakyReLU(0.2), torch.nn.Linear(width, 1))


def _mmd2_unbiased(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    def k(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(u - v.T) ** 2 / (2 * MMD_BANDWIDTH ** 2))
    n, m = len(a), len(b)
    kaa, kbb = k(a, a), k(b, b)
    return ((kaa.sum() - kaa.diagonal().sum()) / (n * (n - 1)) + (kbb.sum() - kbb.diagonal().sum()) / (m * (m - 1))
            - 2 * k(a, b).mean())


class CriticFit:
    """q = N(μ, σ²) fitted to p through a critic of divergence ``name`` (the module docstring says
    which). ``fit_q=False`` trains the critic against a fixed q: the tests' variational estimate."""

    LP_LAMBDA = 100.0   # W1's penalty weight: at 10 the estimate overshot W1 by up to 25 %, at 100 by 3 %
    SCALE = 4.0       # the critic sees x / SCALE: inputs of order one

    def __init__(self, name: str, p: Mixture, mu: float, sigma: float, seed: int = 0, batch: int = 128,
                 lr_critic: float = 2e-3, lr_q: float = 0.01, fit_q: bool = True):
        if name not in DIVS:
            raise ValueError(f"unknown divergence {name!r}; divergences: {', '.join(DIVS)}")
        self.name, self.p, self.batch, self.fit_q = name, p, batch, fit_q
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.critic = _mlp()
        self.g = torch.Generator().manual_seed(seed + 1)
        self.mu = torch.tensor(float(mu), requires_grad=fit_q)
        self.log_sigma = torch.tensor(math.log(sigma), requires_grad=fit_q)
        self.opt_d = Adam(self.critic.parameters(), lr=lr_critic, betas=(0.5, 0.9))
        self.opt_q = Adam([self.mu, self.log_sigma], lr=lr_q, betas=(0.5, 0.9)) if fit_q else None
        self.xs = torch.tensor(X, dtype=torch.float32).unsqueeze(1)
        self.last_sample_mmd2 = float("nan")

    @property
    def mean(self) -> float:
        return float(self.mu.detach())

    @property
    def sigma(self) -> float:
        return math.exp(float(self.log_sigma.detach()))

    def _q_sample(self) -> torch.Tensor:
        z = torch.randn(self.batch, 1, generator=self.g)
        return self.mu + torch.exp(self.log_sigma) * z

    def _v(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x / self.SCALE).squeeze(1)

    def _critic_loss(self, xr: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        if self.name == "w1":
            loss = losses.d_loss("wgan-gp", self._v(xr), self._v(xf))
            eps = torch.rand(len(xr), 1, generator=self.g)
            xh = (eps * xr + (1 - eps) * xf).requires_grad_(True)
            (grad,) = torch.autograd.grad(self._v(xh).sum(), xh, create_graph=True)
            # One-sided (Lipschitz) penalty: the two-sided GP's (|T'| - 1)^2 makes slope 0 a barrier, and a 1D
            # critic then keeps the sign of slope it started with: it settled on T = x, an estimate of −W1.
            return loss + self.LP_LAMBDA * (torch.relu(grad.abs().squeeze(1) - 1) ** 2).mean()
        return losses.d_loss("f-" + self.name, self._v(xr), self._v(xf))

    def step(self, d_steps: int = 5) -> None:
        """``d_steps`` critic steps, then one step of q (when it is fitted)."""
        if self.name != "mmd":
            for _ in range(d_steps):
                xr, xf = self.p.sample(self.batch, self.g), self._q_sample().detach()
                self.opt_d.zero_grad()
                self._critic_loss(xr, xf).backward()
                self.opt_d.step()
        xr = self.p.sample(self.batch, self.g)
        if self.opt_q is None:
            if self.name == "mmd":
                self.last_sample_mmd2 = float(_mmd2_unbiased(xr, self._q_sample()))
            return
        xf = self._q_sample()
        if self.name == "mmd":
            loss = _mmd2_unbiased(xr, xf)
            self.last_sample_mmd2 = float(loss.detach())
        elif self.name == "w1":
            loss = losses.g_loss("wgan-gp", self._v(xf))
        else:   # q minimises the bound itself: its gradient is that of the divergence at the optimal critic
            loss = -losses.d_loss("f-" + self.name, self._v(xr), self._v(xf))
        self.opt_q.zero_grad()
        loss.backward()
        self.opt_q.step()
        with torch.no_grad():
            self.mu.clamp_(*MU_BOX)
            self.log_sigma.clamp_(*LOGS_BOX)

    def critic_on_grid(self) -> np.ndarray:
        """The critic's T on ``X`` (g_f(v) for the f-divergences, v for W1, the witness for MMD²)."""
        if self.name == "mmd":
            return optimal_critic("mmd", self.p, self.mean, self.sigma)
        with torch.no_grad():
            v = self._v(self.xs)
            if self.name == "w1":
                return v.double().numpy()
            g, _ = losses.F_GAN[self.name]
            return g(losses.f_score(self.name, v)).double().numpy()

    def estimate(self) -> float:
        """The critic's estimate of the divergence, by quadrature on ``X``: the f-GAN bound
        E_p[T] − E_q[f*(T)] (halved for the JSD), E_p[T] − E_q[T] for W1; for MMD², the last
        batch's unbiased estimate."""
        if self.name == "mmd":
            return self.last_sample_mmd2
        pd = np.exp(self.p.logpdf(X))
        qd = np.exp(gauss_logpdf(X, self.mean, self.sigma))
        with torch.no_grad():
            v = self._v(self.xs)
            if self.name == "w1":
                t = v.double().numpy()
                return float(((pd - qd) * t).sum() * DX)
            g, fstar = losses.F_GAN[self.name]
            s = losses.f_score(self.name, v)
            t, ft = g(s).double().numpy(), fstar(s).double().numpy()
        bound = float((pd * t).sum() * DX - (qd * ft).sum() * DX)
        return bound / 2 if self.name == "js" else bound

    def true_value(self) -> float:
        return float(divergence(self.name, self.p, self.mean, self.sigma))


def _outward(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) widened to multiples of a round step (a tenth of the span's decade): a range that
    changes now and then, not every frame (a new range makes the view lay out its axes again)."""
    unit = 10.0 ** math.floor(math.log10(max(hi - lo, 1e-9))) / 2
    return math.floor(lo / unit) * unit, math.ceil(hi / unit) * unit


class DivergenceExplorer(Scene):
    name = "divergences"
    title = "Divergence explorer (f-GAN)"
    group = LECTURE_1
    caption = (
        "One Gaussian q fitted to a two-mode mixture p (grey) by minimising a divergence. Top left: the dotted "
        "curves are <i>every</i> divergence's exact optimum (quadrature over (μ, σ)). <b>KL(p‖q)</b> spreads q "
        "over both modes (its optimum matches p's mean and variance); at the default separation χ², the JSD, "
        "H² and W1 land close to it; <b>reverse KL(q‖p)</b> picks one mode, TV leans to the heavier one, and "
        "MMD² (Gaussian kernel, bandwidth 1) is wider still. The chosen divergence's exact fit is solid, the "
        "fit through a trained critic (the f-GAN bound; a WGAN critic for W1; the sample MMD²) dashed purple. "
        "Top right: log10 of the divergence over (μ, log σ), its optimum (star) and the critic fit's path "
        "(drag there to move its start). Bottom: the critic's estimate stays under the true divergence at "
        "the current q, and the learned critic T beside the optimal one, T* = f′(p/q)."
    )
    params = (
        Param("divergence", "divergence", "kl", "the divergence fitted exactly and through a critic", choices=DIVS),
        Param("sep", "separation", 4.0, "distance between the mixture's two modes", range=(0.0, 6.0)),
        Param("weight", "left weight", 0.6, "weight of the left mode", range=(0.1, 0.9)),
        Param("width", "mode width", 0.6, "standard deviation of each mode", range=(0.3, 1.2)),
        Param("q0_mean", "start μ", 1.5, "where the critic fit starts: q's mean", range=MU_BOX),
        Param("q0_logw", "start log σ", -0.3, "where the critic fit starts: q's log width", range=LOGS_BOX),
        Param("d_steps", "critic steps", 5, "critic steps per step of q", range=(1, 20), resets=False),
    )
    drag = {"surface": ("q0_mean", "q0_logw")}

    def _bound_range(self, optimum: float) -> tuple[float, float] | None:
        """The estimate chart's y range: from 0 (or the lowest estimate) to the highest true value,
        capped at 20× the optimum (χ² of a narrow q is astronomical), rounded outward."""
        if not self.true_hist:
            return None
        lo = min(0.0, float(np.nanmin(self.est_hist)))
        hi = min(max(self.true_hist), 20 * optimum + 1.0)
        return _outward(lo, hi)

    @property
    def steps_per_tick(self) -> int:
        # a step is 5 critic steps and one of q (4.5 ms of CPU): more a tick would overrun the view's 12 ms budget
        # before it has measured the cost (it sizes ticks from the last ones).
        return 2

    @on_one_thread
    def reset(self) -> None:
        super().reset()
        v = self.values
        self.p = Mixture(float(v["sep"]), float(v["weight"]), float(v["width"]))
        self.div = str(v["divergence"])
        self.fits = {d: exact_fit(d, self.p) for d in DIVS}
        self.surf = surface(self.div, self.p)
        self.fit = CriticFit(self.div, self.p, float(v["q0_mean"]), math.exp(float(v["q0_logw"])), seed=self.seed)
        self.pd = np.exp(self.p.logpdf(X))
        self.path = [(self.fit.mean, math.log(self.fit.sigma))]
        self.true_hist: list[float] = []
        self.est_hist: list[float] = []

    @on_one_thread
    def advance(self, n: int = 1) -> None:
        n = min(n, MAX_STEPS - self.step)
        for _ in range(n):
            self.fit.step(int(self.values["d_steps"]))
            self.path.append((self.fit.mean, math.log(self.fit.sigma)))
            self.true_hist.append(self.fit.true_value())
            self.est_hist.append(self.fit.estimate())
        self.step += max(n, 0)

    def values_for_lessons(self) -> dict[str, float]:
        """Short names for a lesson's conditions (``ganplay scene divergences --values``)."""
        best = self.fits[self.div]
        mu, sigma = self.fit.mean, self.fit.sigma
        return {"divergence_now": float(self.fit.true_value()), "estimate": float(self.fit.estimate()),
                "q_mean": float(mu), "q_sd": float(sigma), "exact_mean": float(best.mu), "exact_sd": float(best.sigma),
                "exact_value": float(best.value),
                "fit_error": abs(float(mu) - float(best.mu)) + abs(float(sigma) - float(best.sigma))}

    @on_one_thread
    def frame(self) -> SceneFrame:
        lab = LABELS[self.div]
        view = np.abs(X) <= 8.0
        xv = X[view]
        dens: list = [Curve("_p", xv, self.pd[view], color="grey", fill=0.0)]   # the caption names it: one legend row less
        for d in DIVS:
            if d != self.div:
                f = self.fits[d]
                dens.append(Curve(LABELS[d], xv, np.exp(gauss_logpdf(xv, f.mu, f.sigma)),
                                  color=COLOURS[d], style="dot"))
        best = self.fits[self.div]
        dens.append(Curve(f"{lab} exact fit", xv, np.exp(gauss_logpdf(xv, best.mu, best.sigma)),
                          color=COLOURS[self.div]))
        mu, sigma = self.fit.mean, self.fit.sigma
        qd = np.exp(gauss_logpdf(X, mu, sigma))
        dens.append(Curve(f"{lab} critic fit", xv, qd[view], color="fake", style="dash"))
        ymax = 1.1 * max(float(c.y.max()) for c in dens)

        # The heat map shows log10 D: the divergences span many decades (χ² and KL blow up for a narrow
        # q); the levels stop at the 80th percentile so the valley around the optimum keeps its contrast.
        shown = np.log10(np.maximum(self.surf, 1e-6))
        lo, hi = float(shown.min()), float(np.quantile(shown, 0.8))
        path = np.array(self.path)
        surf_items: list = [
            Heatmap("_surface", shown, (*MU_BOX, *LOGS_BOX), levels=(lo, max(hi, lo + 1e-9)), cmap="viridis"),
            Curve("critic fit's path", path[:, 0], path[:, 1], color="fake"),
            Points("_now", path[-1:], color="fake", size=9),
            Points("exact optimum", np.array([[best.mu, math.log(best.sigma)]]), color="real", size=16,
                   symbol="star"),
        ]

        steps = np.arange(1, len(self.true_hist) + 1, dtype=float)
        est_name = "sample MMD² (q's loss)" if self.div == "mmd" else "critic's estimate (bound)"
        chart = [Curve(f"true {lab} at q_t", steps, np.array(self.true_hist), color=COLOURS[self.div]),
                 Curve(est_name, steps, np.array(self.est_hist), color="black", style="dash"),
                 Curve(f"exact optimum {lab}", steps[[0, -1]] if len(steps) else steps,
                       np.full(2 if len(steps) else 0, best.value), color="grey", style="dot")]

        # Critics are defined up to a constant for W1 and MMD²: both are centred under (p + q)/2 to compare.
        t_star, t = optimal_critic(self.div, self.p, mu, sigma), self.fit.critic_on_grid()
        mass = self.pd + qd
        where = mass > 1e-3 * mass.max()
        if self.div in ("w1", "mmd"):
            wts = mass / mass.sum()
            t_star, t = t_star - wts @ t_star, t - wts @ t
        lo_t, hi_t = float(t[where].min()), float(t[where].max())
        lo_t, hi_t = min(lo_t, float(np.quantile(t_star[where], 0.05))), max(hi_t, float(np.quantile(t_star[where], 0.95)))
        pad = 0.1 * (hi_t - lo_t) + 1e-6
        crit_range = _outward(lo_t - pad, hi_t + pad)
        crit = [Curve("optimal critic T*", X[where], np.clip(t_star[where], lo_t - pad, hi_t + pad), color="dstar"),
                Curve("learned critic T", X[where], t[where], color="d", style="dash")]

        est = fmt(self.fit.estimate()) if self.step else "—"
        optima = [f"{LABELS[d]} {self.fits[d].mu:.2f}, {self.fits[d].sigma:.2f}" for d in DIVS]
        numbers = [("step", str(self.step)),
                   (f"{lab} at q now / critic's estimate", f"{fmt(self.fit.true_value())} / {est}"),
                   ("exact fit / critic fit (μ, σ)", f"{best.mu:.3f}, {best.sigma:.3f} ({lab} = {fmt(best.value)}) / "
                                                    f"{mu:.3f}, {sigma:.3f}"),
                   ("p's mean, sd (KL's optimum)", f"{self.p.mean():.3f}, {math.sqrt(self.p.var()):.3f}"),
                   ("every optimum (μ, σ)", " · ".join(optima[:4])),
                   ("", " · ".join(optima[4:]))]
        return SceneFrame(
            plots=[Plot("densities", "p and the fitted q's", dens, xlabel="x", ylabel="density",
                        xrange=(-8.0, 8.0), yrange=(0.0, ymax), legend_corner="top-right"),
                   Plot("surface", f"log10 {lab} over (μ, log σ)", surf_items, xlabel="μ",
                        ylabel="log σ", xrange=MU_BOX, yrange=LOGS_BOX, legend_corner="bottom-right"),
                   Plot("bound", f"{lab}: the critic's estimate below the truth", chart, xlabel="step of q",
                        ylabel=lab, legend_corner="top-right", xrange=step_span(self.step),
                        yrange=self._bound_range(best.value)),
                   Plot("critic", "the critic on x", crit, xlabel="x", ylabel="T(x)", legend_corner="bottom-right",
                        xrange=(-8.0, 8.0), yrange=crit_range)],
            numbers=numbers, step=self.step,
            status=f"stopped after {MAX_STEPS} steps" if self.step >= MAX_STEPS else "",
        )
