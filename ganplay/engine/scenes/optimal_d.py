"""The optimal discriminator and the JSD, in 1D.

For a fixed G the discriminator that maximises V(D, G) = E_data[log D] + E_g[log(1 − D)] is
D*(x) = p_data(x) / (p_data(x) + p_g(x)), and V(D*, G) = 2·JSD(p_data, p_g) − log 4, whose minimum
−log 4 is reached only at p_g = p_data, where D* ≡ ½ (THEORY.md, "The game").

Here every density is known in closed form (p_data: one Gaussian, two Gaussians or a uniform; p_g:
a Gaussian, set by hand or trained as G(z) = μ + σz), so V and the JSD are integrals computed by
quadrature (composite Gauss-Legendre, split at the uniform's edges, where its density jumps): no
sampling noise in the numbers. A small MLP D trains live on samples of both with the engine's D
loss, and the scene shows how close it gets to D* and to the bound V(D*, G).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ganplay.engine.losses import d_loss, g_loss

from . import LECTURE_1
from .base import Curve, Param, Plot, Scene, SceneFrame, fmt
from .optim import Adam, on_one_thread

DATA = ("one Gaussian", "two Gaussians", "uniform")
GENERATORS = ("gaussian (set by hand)", "trained")
LOG4 = math.log(4.0)
VIEW = (-6.0, 6.0)          # the x range the plots show and D's inputs are scaled by
QUAD = (-40.0, 40.0)        # the quadrature's range: p_g's widest setting (σ = 3 at μ = ±4) is < 1e-30 beyond
QUAD_PANELS = 320           # panels of 0.25: 8-point Gauss-Legendre is exact to ~1e-10 for σ ≥ 0.1 there
QUAD_ORDER = 8
UNIFORM = (-1.5, 1.5)
TWO_MODES = ((-2.0, 0.6), (2.0, 0.6))
ONE = (0.0, 1.0)
SIGMA_RANGE = (0.05, 5.0)   # a trained G's width is kept here (its log-width is clamped)
HISTORY = 1000              # points kept per curve of the value chart (then every other one is dropped)
HISTORY_STRIDE = 5


# ---- closed forms and quadrature ----------------------------------------------------------------
def log_gauss(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)


def log_p_data(kind: str, x: np.ndarray) -> np.ndarray:
    """log p_data(x) of the data set ``kind`` (−inf where the density is 0)."""
    x = np.asarray(x, dtype=float)
    if kind == "one Gaussian":
        return log_gauss(x, *ONE)
    if kind == "two Gaussians":
        return np.logaddexp(*(log_gauss(x, m, s) for m, s in TWO_MODES)) - math.log(2)
    if kind == "uniform":
        a, b = UNIFORM
        inside = (x >= a) & (x <= b)
        with np.errstate(divide="ignore"):
            return np.where(inside, -math.log(b - a), -np.inf)
    raise ValueError(f"unknown data {kind!r}; data: {', '.join(DATA)}")


def breaks(kind: str) -> tuple[float, ...]:
    """Where p_data is not smooth: the quadrature's panels end there."""
    return UNIFORM if kind == "uniform" else ()


def quadrature(lo: float = QUAD[0], hi: float = QUAD[1], cuts: tuple[float, ...] = (),
               panels: int = QUAD_PANELS, order: int = QUAD_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss-Legendre on [lo, hi], with panel ends at ``cuts`` too."""
    edges = np.linspace(lo, hi, panels + 1)
    edges = np.unique(np.concatenate([edges, [c for c in cuts if lo < c < hi]]))
    t, w = np.polynomial.legendre.leggauss(order)
    a, b = edges[:-1, None], edges[1:, None]
    nodes = (a + b) / 2 + (b - a) / 2 * t[None, :]
    weights = (b - a) / 2 * w[None, :]
    return nodes.ravel(), weights.ravel()


def _xlogy_sum(weights: np.ndarray, logp: np.ndarray, logy: np.ndarray) -> float:
    """Σ w·p·log y with p = exp(logp), and 0·log 0 = 0 where p vanishes."""
    p = np.exp(logp)
    terms = np.where(p > 0, p * np.where(p > 0, logy, 0.0), 0.0)
    return float(np.sum(weights * terms))


def value(d_logit: np.ndarray, logp: np.ndarray, logq: np.ndarray, weights: np.ndarray) -> float:
    """V(D, G) = ∫ p_data log D + ∫ p_g log(1 − D), with D = σ(d_logit) at the quadrature nodes
    (log σ(v) = −softplus(−v) keeps it finite where D saturates)."""
    v = np.asarray(d_logit, dtype=float)
    log_d = -np.logaddexp(0.0, -v)
    log_1md = -np.logaddexp(0.0, v)
    return _xlogy_sum(weights, logp, log_d) + _xlogy_sum(weights, logq, log_1md)


def d_star_logit(logp: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """σ⁻¹(D*) = log p_data − log p_g (−inf where p_data = 0: D* = 0 there)."""
    return np.asarray(logp, dtype=float) - np.asarray(logq, dtype=float)


def d_star(logp: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """D* = p_data / (p_data + p_g), computed from the log densities (no 0/0 in the far tails)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-d_star_logit(logp, logq)))


def jsd(logp: np.ndarray, logq: np.ndarray, weights: np.ndarray) -> float:
    """JSD(p, q) = ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2, by quadrature (in nats: at most log 2)."""
    logm = np.logaddexp(logp, logq) - math.log(2)
    return 0.5 * _xlogy_sum(weights, logp, logp - logm) + 0.5 * _xlogy_sum(weights, logq, logq - logm)


def step_span(step: int, least: int = 100) -> tuple[float, float]:
    """A step axis's range, (0, the next 1-2-5 number ≥ step): it changes a few times per decade,
    not every frame, so the view does not lay out and grid its axes again on each frame."""
    top = float(max(step, least))
    decade = 10.0 ** math.floor(math.log10(top))
    return 0.0, next(m * decade for m in (1, 2, 5, 10) if m * decade >= top)


# ---- the live pieces ------------------------------------------------------------------------------
def sample_data(kind: str, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` samples of p_data, shape (n, 1)."""
    if kind == "one Gaussian":
        return ONE[0] + ONE[1] * torch.randn(n, 1, generator=gen)
    if kind == "two Gaussians":
        means = torch.tensor([m for m, _ in TWO_MODES])
        sds = torch.tensor([s for _, s in TWO_MODES])
        k = torch.randint(0, len(TWO_MODES), (n,), generator=gen)
        return (means[k] + sds[k] * torch.randn(n, generator=gen)).unsqueeze(1)
    if kind == "uniform":
        a, b = UNIFORM
        return a + (b - a) * torch.rand(n, 1, generator=gen)
    raise ValueError(f"unknown data {kind!r}; data: {', '.join(DATA)}")


class Discriminator1D(nn.Module):
    """A 1D D: two hidden layers of ``width``, output a logit. Inputs are scaled by the view's
    half-width so the first layer starts in its useful range."""

    def __init__(self, width: int = 32, scale: float = VIEW[1]):
        super().__init__()
        self.scale = scale
        self.net = nn.Sequential(nn.Linear(1, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                                 nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x / self.scale)


def logits_at(d: nn.Module, x: np.ndarray) -> np.ndarray:
    """D's logits at the points ``x`` (1D numpy), without a graph."""
    with torch.no_grad():
        return d(torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(-1, 1)).reshape(-1).double().numpy()


class OptimalD(Scene):
    name = "optimal_d"
    title = "The optimal discriminator and the JSD"
    group = LECTURE_1
    caption = (
        "Green: the data's density p_data; purple: the generator's p_g, a Gaussian (drag in the left "
        "plot to move its mean, or let a G train). Orange dashed: the optimal discriminator "
        "D* = p_data / (p_data + p_g); red: a small D network training live on samples of both, which "
        "bends towards D*. Its value V(D, G) (right, by quadrature) climbs to the bound "
        "V(D*, G) = 2·JSD(p_data, p_g) − log 4 and never above it. Move p_g onto p_data: D* flattens to "
        "½ everywhere, the JSD to 0 and V to −log 4 ≈ −1.386, the lowest value the game can reach. "
        "With two modes or the uniform, a Gaussian p_g cannot reach p_data and the JSD stays above 0; a "
        "<i>trained</i> G (non-saturating loss) on two modes settles on one of them."
    )
    params = (
        Param("data", "p_data", DATA[0], "the data's density", choices=DATA),
        Param("generator", "generator", GENERATORS[0],
              "p_g: a Gaussian you set (mean and width below), or G(z) = μ + σz trained against the live D "
              "with the non-saturating loss, from that mean and width", choices=GENERATORS),
        Param("g_mean", "p_g mean", 2.5, "p_g's mean (drag in the densities plot); with a trained G, moves it",
              range=(-4.0, 4.0), resets=False),
        Param("g_width", "p_g width σ", 1.0, "p_g's standard deviation; with a trained G, sets it",
              range=(0.1, 3.0), log=True, resets=False),
        Param("lr_d", "D learning rate", 1e-2, "Adam's learning rate for D", range=(1e-4, 3e-2), log=True,
              resets=False),
        Param("lr_g", "G learning rate", 1e-2, "Adam's learning rate for the trained G", range=(1e-4, 1e-1),
              log=True, resets=False),
        Param("k", "D steps per G step", 2, "with a trained G: D steps for each G step", range=(1, 10),
              resets=False),
        Param("batch", "batch", 256, "samples of each density per D step", range=(16, 1024)),
    )
    drag = {"densities": ("g_mean", None)}

    @on_one_thread
    def reset(self) -> None:
        super().reset()
        self.gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.d = Discriminator1D()
        # optim.Adam, not torch.optim's: the first of those in a process imports torch._dynamo (seconds)
        self.opt_d = Adam(self.d.parameters(), lr=float(self.values["lr_d"]), betas=(0.5, 0.999))
        self.mu = torch.tensor([float(self.values["g_mean"])], requires_grad=True)
        self.log_sd = torch.tensor([math.log(float(self.values["g_width"]))], requires_grad=True)
        self.opt_g = Adam([self.mu, self.log_sd], lr=float(self.values["lr_g"]), betas=(0.5, 0.999))
        kind = str(self.values["data"])
        self.qx, self.qw = quadrature(cuts=breaks(kind))
        self.q_logp = log_p_data(kind, self.qx)
        self.px = np.unique(np.concatenate([np.linspace(*VIEW, 481), np.array(breaks(kind)) + 1e-9,
                                            np.array(breaks(kind)) - 1e-9]))
        self.p_logp = log_p_data(kind, self.px)
        self.history: list[tuple[int, float, float]] = []
        self.stride = HISTORY_STRIDE   # a point every few steps: a quadrature costs about one D step
        self._record()

    @property
    def trained_g(self) -> bool:
        return self.values["generator"] == GENERATORS[1]

    def g_params(self) -> tuple[float, float]:
        """p_g's mean and width now."""
        if self.trained_g:
            return float(self.mu.detach()), float(torch.exp(self.log_sd.detach()))
        return float(self.values["g_mean"]), float(self.values["g_width"])

    def changed(self, name: str) -> None:
        if name == "lr_d":
            self.opt_d.lr = float(self.values["lr_d"])
        elif name == "lr_g":
            self.opt_g.lr = float(self.values["lr_g"])
        elif name in ("g_mean", "g_width") and self.trained_g:
            # the user grabs the trained G and puts it here; it trains on from there
            with torch.no_grad():
                self.mu.fill_(float(self.values["g_mean"]))
                self.log_sd.fill_(math.log(float(self.values["g_width"])))

    def sample_g(self, n: int) -> torch.Tensor:
        z = torch.randn(n, 1, generator=self.gen)
        if self.trained_g:
            return self.mu + torch.exp(self.log_sd) * z
        m, s = self.g_params()
        return m + s * z

    def d_step(self) -> None:
        n = int(self.values["batch"])
        real = sample_data(str(self.values["data"]), n, self.gen)
        fake = self.sample_g(n).detach()
        v = self.d(torch.cat([real, fake]))   # one pass for both halves
        loss = d_loss("minimax", v[:n], v[n:])
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()

    def g_step(self) -> None:
        loss = g_loss("ns", self.d(self.sample_g(int(self.values["batch"]))))
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()
        with torch.no_grad():
            self.log_sd.clamp_(math.log(SIGMA_RANGE[0]), math.log(SIGMA_RANGE[1]))

    @on_one_thread
    def advance(self, n: int = 1) -> None:
        for _ in range(max(n, 0)):
            if self.trained_g:
                for _ in range(int(self.values["k"])):
                    self.d_step()
                self.g_step()
            else:
                self.d_step()
            self.step += 1
            if self.step % self.stride == 0:
                self._record()

    # ---- what the numbers say ---------------------------------------------------------------------
    def q_logq(self) -> np.ndarray:
        return log_gauss(self.qx, *self.g_params())

    @on_one_thread
    def measures(self) -> dict[str, float]:
        """V of the live D, V(D*, G) = 2·JSD − log 4 and the JSD, all by quadrature."""
        logq = self.q_logq()
        v_d = value(logits_at(self.d, self.qx), self.q_logp, logq, self.qw)
        j = jsd(self.q_logp, logq, self.qw)
        v_star = value(d_star_logit(self.q_logp, logq), self.q_logp, logq, self.qw)
        return {"V(D, G)": v_d, "V(D*, G)": v_star, "JSD": j, "2·JSD − log 4": 2 * j - LOG4}

    @on_one_thread
    def d_error(self, x: np.ndarray | None = None) -> float:
        """Mean |D − D*| over the points ``x`` (default: where the mixture (p_data + p_g)/2 > 0.02,
        i.e. where D sees samples to learn from)."""
        if x is None:
            logq = log_gauss(self.px, *self.g_params())
            keep = 0.5 * (np.exp(self.p_logp) + np.exp(logq)) > 0.02
            x = self.px[keep]
        logq = log_gauss(x, *self.g_params())
        d = 1.0 / (1.0 + np.exp(-logits_at(self.d, x)))
        return float(np.mean(np.abs(d - d_star(log_p_data(str(self.values["data"]), x), logq))))

    def _record(self) -> None:
        m = self.measures()
        self.history.append((self.step, m["V(D, G)"], m["V(D*, G)"]))
        if len(self.history) > HISTORY:
            self.history = self.history[::2]
            self.stride *= 2

    @on_one_thread
    def frame(self) -> SceneFrame:
        mean, sd = self.g_params()
        x = self.px
        p = np.exp(self.p_logp)
        logq = log_gauss(x, mean, sd)
        q = np.exp(logq)
        ds = d_star(self.p_logp, logq)
        d = 1.0 / (1.0 + np.exp(-logits_at(self.d, x)))
        m = self.measures()
        top = max(float(p.max()), float(q.max()))
        dens = [Curve("p_data", x, p, color="real", fill=0.0), Curve("p_g", x, q, color="fake", fill=0.0)]
        disc = [Curve("D (trained)", x, d, color="d"),
                Curve("D* = p_data/(p_data+p_g)", x, ds, color="dstar", style="dash"),
                Curve("½", np.array(VIEW), np.array([0.5, 0.5]), color="grey", style="dot")]
        h = np.array(self.history, dtype=float)
        steps = np.append(h[:, 0], self.step) if h[-1, 0] != self.step else h[:, 0]
        v_d = np.append(h[:, 1], m["V(D, G)"]) if len(steps) > len(h) else h[:, 1]
        v_s = np.append(h[:, 2], m["V(D*, G)"]) if len(steps) > len(h) else h[:, 2]
        span = np.array(step_span(self.step))
        chart = [Curve("V(D, G), trained D", steps, v_d, color="d"),
                 Curve("V(D*, G) = 2·JSD − log 4", steps, v_s, color="dstar", style="dash"),
                 Curve("−log 4", span, np.full(2, -LOG4), color="grey", style="dot")]
        gap = m["V(D*, G)"] - m["V(D, G)"]
        numbers = [
            ("step", str(self.step)),
            ("p_g", f"N({mean:.3f}, {sd:.3f}²)" + ("  (trained G)" if self.trained_g else "")),
            ("V(D, G) of the trained D", fmt(m["V(D, G)"])),
            ("2·JSD(p_data, p_g) − log 4 = V(D*, G)", fmt(m["2·JSD − log 4"])),
            ("gap V(D*, G) − V(D, G)", fmt(gap, 3)),
            ("JSD(p_data, p_g)", f"{fmt(m['JSD'])} nats (max log 2 = 0.6931)"),
            ("mean |D − D*| where p_data + p_g > 0.04", fmt(self.d_error(), 3)),
        ]
        if m["JSD"] < 1e-3:
            status = "p_g ≈ p_data: D* is ½ everywhere and V(D*, G) = −log 4"
        elif m["JSD"] > math.log(2) - 1e-3:
            status = "p_g and p_data barely overlap: the JSD is at its ceiling log 2 and V(D*, G) ≈ 0"
        else:
            status = ""
        return SceneFrame(
            plots=[Plot("densities", "Densities (drag to move p_g)", dens, xlabel="x", ylabel="density",
                        xrange=VIEW, yrange=(0.0, min(1.3 * top, 4.5))),
                   # the head room above D = 1 holds the legend, clear of a D that saturates at 1
                   Plot("discriminator", "D and the optimal D*", disc, xlabel="x", ylabel="D(x)", xrange=VIEW,
                        yrange=(0.0, 1.35)),
                   Plot("value", "The game's value V, by quadrature", chart, xlabel="step", ylabel="V",
                        xrange=step_span(self.step), yrange=(-1.6, 0.35))],
            numbers=numbers,
            step=self.step,
            status=status,
        )
